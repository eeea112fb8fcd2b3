//! The eager tensor API: tensors on one [`Tape`] per instance, each owned by an exported
//! [`TensorCore`], and one method per op family. Each method checks what JavaScript passes
//! (op names, numbers as the f32 or integers they become, class indices), makes one call
//! into `gradlab_core::autograd` and wraps the tensors it made. No maths here.
//!
//! Freeing a `TensorCore` (`free()`, or the glue's FinalizationRegistry) frees its tensor, and
//! the tape releases the nodes nothing live needs any more. Errors name the public op
//! (`matmul`, `sum`, `leakyRelu`) and its argument.

use crate::args::{class_indices, dims, finite_f32, thrown, JsResult};
use gradlab_core::autograd::ops::activation::{activation, softmax};
use gradlab_core::autograd::ops::elementwise::{binary, BinaryKind};
use gradlab_core::autograd::ops::loss::{mse, sigmoid_cross_entropy, softmax_cross_entropy};
use gradlab_core::autograd::ops::math::{pointwise, MathKind};
use gradlab_core::autograd::ops::matmul::matmul;
use gradlab_core::autograd::ops::recurrent::{recurrent, RecurrentParams};
use gradlab_core::autograd::ops::reduce::{reduce, ReduceKind};
use gradlab_core::autograd::{Tape, TensorId};
use gradlab_core::error::{js_number, Error, Result};
use gradlab_core::nn::spec::{activation_named, loss_named};
use gradlab_core::nn::{Activation, Loss};
use gradlab_core::recurrence::CellKind;
use gradlab_core::tensor::Tensor;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

thread_local! {
    static TAPE: RefCell<Tape> = RefCell::new(Tape::new());
}

/// Runs `body` on the tape. No `TensorCore` may be dropped inside: its drop needs the tape.
fn with_tape<R>(body: impl FnOnce(&mut Tape) -> Result<R>) -> JsResult<R> {
    TAPE.with(|tape| body(&mut tape.borrow_mut())).map_err(thrown)
}

/// A tensor on the tape, freed when the last `TensorCore` that shares it is dropped.
struct Owned(TensorId);

impl Drop for Owned {
    fn drop(&mut self) {
        // A drop must not panic; JavaScript frees objects only between calls, when the tape is free.
        let _ = TAPE.try_with(|tape| {
            if let Ok(mut tape) = tape.try_borrow_mut() {
                let _ = tape.free("dispose", "tensor", self.0);
            }
        });
    }
}

/// An f32 tensor of the eager API. The number of live ones is the tape's tensor count
/// ([`num_tensors`]): each tensor on the tape has exactly one owner.
#[wasm_bindgen]
pub struct TensorCore {
    owned: Rc<Owned>,
}

impl TensorCore {
    fn id(&self) -> TensorId {
        self.owned.0
    }

    /// The tensor that `body` makes on the tape, owned by a new `TensorCore`.
    fn made(body: impl FnOnce(&mut Tape) -> Result<TensorId>) -> JsResult<TensorCore> {
        with_tape(body).map(adopt)
    }
}

fn adopt(id: TensorId) -> TensorCore {
    TensorCore { owned: Rc::new(Owned(id)) }
}

/// A copy of `tensor`, allocated fallibly: a tensor may hold 1 GiB.
fn copy(op: &str, tensor: &Tensor) -> Result<Tensor> {
    let mut copy = tensor.zeros_like(op)?;
    copy.data_mut().copy_from_slice(tensor.data());
    Ok(copy)
}

/// The functions [`TensorCore::unary`] computes.
const UNARY: [&str; 12] = ["exp", "log", "sqrt", "square", "pow", "sigmoid", "tanh", "relu", "leakyRelu", "elu", "softmax", "logSoftmax"];

/// The error of `method` for a `name` that the TypeScript façade never passes.
fn unknown(method: &str, arg: &str, name: &str, known: &str) -> JsError {
    thrown(Error::invalid(method, arg, format!("one of {}", known), format!("'{}'", name)))
}

#[wasm_bindgen]
impl TensorCore {
    /// A new leaf tensor of `shape` holding a copy of `data` (as many values as `shape` has
    /// elements); with `requires_grad`, `backward` accumulates its gradient.
    #[wasm_bindgen(constructor)]
    pub fn new(data: &[f32], shape: &[f64], requires_grad: bool) -> JsResult<TensorCore> {
        TensorCore::made(|tape| tape.leaf(Tensor::from_slice(dims("tensor", "shape", shape)?, data)?, requires_grad))
    }

    /// The dimensions, row-major (`[]` for a scalar); each below 2^31.
    pub fn shape(&self) -> JsResult<Vec<u32>> {
        with_tape(|tape| Ok(tape.value("shape", "tensor", self.id())?.shape().iter().map(|&d| d as u32).collect()))
    }

    #[wasm_bindgen(js_name = requiresGrad)]
    pub fn requires_grad(&self) -> JsResult<bool> {
        with_tape(|tape| tape.requires_grad("requiresGrad", "tensor", self.id()))
    }

    /// A copy of the values, row-major.
    pub fn data(&self) -> JsResult<Vec<f32>> {
        with_tape(|tape| {
            let value = tape.value("data", "tensor", self.id())?;
            Ok(copy("data", &value)?.into_data())
        })
    }

    /// Overwrites the values (same element count) outside autograd, as an optimiser step does.
    pub fn assign(&self, values: &[f32]) -> JsResult<()> {
        with_tape(|tape| tape.assign("assign", "tensor", self.id(), values))
    }

    /// Accumulates ∂self/∂t into every live tensor t that requires a gradient. `self` must
    /// hold one element and depend on a tensor that requires a gradient.
    pub fn backward(&self) -> JsResult<()> {
        with_tape(|tape| tape.backward(self.id()))
    }

    /// A new tensor (requiring no gradient) holding a copy of the accumulated gradient, or
    /// `undefined` before any gradient has reached this one.
    pub fn grad(&self) -> JsResult<Option<TensorCore>> {
        const OP: &str = "grad";
        let id = with_tape(|tape| match tape.grad(OP, "tensor", self.id())? {
            Some(grad) => {
                let grad = copy(OP, grad)?;
                tape.leaf(grad, false).map(Some)
            }
            None => Ok(None),
        })?;
        Ok(id.map(adopt))
    }

    /// Forgets the accumulated gradient.
    #[wasm_bindgen(js_name = zeroGrad)]
    pub fn zero_grad(&self) -> JsResult<()> {
        with_tape(|tape| tape.zero_grad("zeroGrad", "tensor", self.id()))
    }

    /// Another owner of this tensor, for an argument passed by value: wasm-bindgen 0.2.105
    /// takes an optional exported object (`h0`, `c0` of [`TensorCore::recurrent`]) only as
    /// `Option<T>`, which consumes the object it is given.
    pub fn share(&self) -> TensorCore {
        TensorCore { owned: self.owned.clone() }
    }

    /// `self ∘ other` elementwise with NumPy broadcasting, for `op` add, sub, mul or div.
    pub fn binary(&self, op: &str, other: &TensorCore) -> JsResult<TensorCore> {
        let kind = match op {
            "add" => BinaryKind::Add,
            "sub" => BinaryKind::Sub,
            "mul" => BinaryKind::Mul,
            "div" => BinaryKind::Div,
            _ => return Err(unknown("binary", "op", op, "add, sub, mul, div")),
        };
        TensorCore::made(|tape| binary(tape, kind, self.id(), other.id()))
    }

    /// `f(self)` for the function named `op`: exp, log, sqrt, square, pow (exponent `alpha`),
    /// the activations sigmoid, tanh, relu, leakyRelu and elu (slope or scale `alpha`, by
    /// default the core's), and softmax or logSoftmax over the last axis.
    pub fn unary(&self, op: &str, alpha: Option<f64>) -> JsResult<TensorCore> {
        if !UNARY.contains(&op) {
            return Err(unknown("unary", "op", op, &UNARY.join(", ")));
        }
        let arg = if op == "pow" { "exponent" } else { "alpha" };
        let alpha = alpha.map(|value| finite_f32(op, arg, value)).transpose().map_err(thrown)?;
        let x = self.id();
        let math = |kind| TensorCore::made(|tape| pointwise(tape, kind, x));
        match op {
            "exp" => math(MathKind::Exp),
            "log" => math(MathKind::Log),
            "sqrt" => math(MathKind::Sqrt),
            "square" => math(MathKind::Square),
            "pow" => math(MathKind::Pow(alpha.ok_or_else(|| thrown(Error::invalid(op, arg, "a finite number", "undefined")))?)),
            "logSoftmax" => TensorCore::made(|tape| softmax(tape, x, true)),
            _ => match activation_named(op, alpha) {
                Some(Activation::Softmax) => TensorCore::made(|tape| softmax(tape, x, false)),
                named => match named.and_then(Activation::kernel) {
                    Some(kind) => TensorCore::made(|tape| activation(tape, kind, x)),
                    None => Err(unknown("unary", "op", op, &UNARY.join(", "))),
                },
            },
        }
    }

    /// The matrix product `op(self) · op(other)`, transposing an operand whose flag is set.
    pub fn matmul(&self, other: &TensorCore, transpose_a: bool, transpose_b: bool) -> JsResult<TensorCore> {
        TensorCore::made(|tape| matmul(tape, self.id(), other.id(), transpose_a, transpose_b))
    }

    /// The sum or mean (`op`) of all elements, or along `axis` (negative counts from the end);
    /// `keepdim` keeps reduced dimensions with size 1.
    pub fn reduce(&self, op: &str, axis: Option<f64>, keepdim: bool) -> JsResult<TensorCore> {
        let kind = match op {
            "sum" => ReduceKind::Sum,
            "mean" => ReduceKind::Mean,
            _ => return Err(unknown("reduce", "op", op, "sum, mean")),
        };
        // An integer here; the core checks it against the rank.
        let axis = match axis {
            Some(value) if value.fract() == 0.0 && value.abs() <= i32::MAX as f64 => Some(value as isize),
            Some(value) => return Err(thrown(Error::invalid(op, "axis", "an integer", js_number(value)))),
            None => None,
        };
        TensorCore::made(|tape| reduce(tape, kind, self.id(), axis, keepdim))
    }

    /// The loss named `name` of `self` against `target` of the same shape: `mse` (PyTorch's
    /// MSELoss) or `sigmoidCrossEntropy` (logits against targets in [0, 1]).
    pub fn loss(&self, name: &str, target: &TensorCore) -> JsResult<TensorCore> {
        match loss_named(name) {
            Some(Loss::Mse) => TensorCore::made(|tape| mse(tape, self.id(), target.id())),
            Some(Loss::SigmoidCrossEntropy) => TensorCore::made(|tape| sigmoid_cross_entropy(tape, self.id(), target.id())),
            _ => Err(unknown("loss", "name", name, "mse, sigmoidCrossEntropy")),
        }
    }

    /// Softmax cross-entropy of `self`, logits [B, C], against B class indices in [0, C)
    /// (as doubles, checked before narrowing), averaged over the batch.
    #[wasm_bindgen(js_name = softmaxCrossEntropy)]
    pub fn softmax_cross_entropy(&self, labels: &[f64]) -> JsResult<TensorCore> {
        const OP: &str = "softmaxCrossEntropy";
        let labels = class_indices(OP, "labels", labels).map_err(thrown)?;
        TensorCore::made(|tape| softmax_cross_entropy(tape, self.id(), &labels))
    }

    /// A recurrent layer's computation on the tape (PyTorch's `nn.RNN` / `nn.LSTM`,
    /// batch-first, one layer): `cell` rnn (tanh) or lstm over `self` [B, T, I] with
    /// `weight_ih` [G, I], `weight_hh` [G, H], `bias_ih` and `bias_hh` [G] (G = H or 4H), from
    /// `h0` and (lstm) `c0` [B, H], zeros when absent. Returns every hidden state [B, T, H],
    /// the last hidden state [B, H] and, for lstm, the last cell state [B, H].
    #[allow(clippy::too_many_arguments)]
    pub fn recurrent(
        &self,
        cell: &str,
        weight_ih: &TensorCore,
        weight_hh: &TensorCore,
        bias_ih: &TensorCore,
        bias_hh: &TensorCore,
        h0: Option<TensorCore>,
        c0: Option<TensorCore>,
    ) -> JsResult<Vec<TensorCore>> {
        let cell = match cell {
            "rnn" => CellKind::Rnn,
            "lstm" => CellKind::Lstm,
            _ => return Err(unknown("recurrent", "cell", cell, "rnn, lstm")),
        };
        let params = RecurrentParams { weight_ih: weight_ih.id(), weight_hh: weight_hh.id(), bias_ih: bias_ih.id(), bias_hh: bias_hh.id() };
        let (h0, c0) = (h0.as_ref().map(TensorCore::id), c0.as_ref().map(TensorCore::id));
        let outputs = with_tape(|tape| recurrent(tape, cell, self.id(), params, h0, c0))?;
        Ok([outputs.output, outputs.hidden].into_iter().chain(outputs.cell).map(adopt).collect())
    }
}

/// The number of live tensors, gradients included (for leak tests).
#[wasm_bindgen(js_name = numTensors)]
pub fn num_tensors() -> u32 {
    TAPE.with(|tape| tape.borrow().len() as u32)
}

/// The number of nodes on the tape (for tests that prove nodes are released).
#[wasm_bindgen(js_name = tapeNodeCount)]
pub fn tape_node_count() -> u32 {
    TAPE.with(|tape| tape.borrow().node_count() as u32)
}
