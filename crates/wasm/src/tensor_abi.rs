//! The tensor ABI of the eager API: tensors behind handles on one [`Tape`] per instance, and
//! one export per op family. Each export validates its arguments (handles, kind codes, flags,
//! finite numbers, buffers), translates them, makes one call into
//! `gradlab_core::autograd` and returns a status code. No maths here.
//!
//! An export that creates a tensor writes its handle to `out` (one u32); it checks `out`
//! before creating anything, so a failed call never leaves a tensor nobody can free.
//! Flags are u32 0 or 1. Handles are u32; 0 names no tensor.

use crate::args::{finite, flag, read_dims};
use crate::{read_f32, read_i32, run, write_f32, write_u32};
use gradlab_core::autograd::ops::activation::{activation, softmax};
use gradlab_core::autograd::ops::elementwise::{binary, BinaryKind};
use gradlab_core::autograd::ops::loss::{mse, sigmoid_cross_entropy, softmax_cross_entropy};
use gradlab_core::autograd::ops::math::{pointwise, MathKind};
use gradlab_core::autograd::ops::matmul::matmul;
use gradlab_core::autograd::ops::recurrent::{recurrent, RecurrentParams};
use gradlab_core::autograd::ops::reduce::{reduce, ReduceKind};
use gradlab_core::autograd::{Tape, TensorId};
use gradlab_core::error::{Error, Result};
use gradlab_core::kernels::activation::Kind;
use gradlab_core::nn::recurrent::CellKind;
use gradlab_core::tensor::{Tensor, MAX_RANK};
use std::cell::RefCell;

thread_local! {
    static TAPE: RefCell<Tape> = RefCell::new(Tape::new());
}

fn with_tape<R>(body: impl FnOnce(&mut Tape) -> Result<R>) -> Result<R> {
    TAPE.with(|tape| body(&mut tape.borrow_mut()))
}

/// Runs `body`, which makes a tensor, and writes its handle to `out`.
fn create(op: &str, out: *mut u32, body: impl FnOnce(&mut Tape) -> Result<TensorId>) -> i32 {
    run(|| {
        let slot = write_u32(op, "out", out, 1)?;
        slot[0] = with_tape(body)?;
        Ok(())
    })
}

/// `rank` dimensions read as i32 at `ptr`, each ≥ 0.
fn read_shape(op: &str, ptr: *const i32, rank: usize) -> Result<Vec<usize>> {
    if rank > MAX_RANK {
        return Err(Error::invalid(op, "rank", format!("at most {}", MAX_RANK), rank.to_string()));
    }
    read_dims(op, "shape", ptr, rank)
}

/// A new leaf tensor of `shape` (`rank` i32 dimensions) holding the `len` f32 values at
/// `data`; with `requires_grad` 1, `gl_backward` accumulates its gradient.
#[no_mangle]
pub extern "C" fn gl_tensor_from(data: *const f32, len: usize, shape: *const i32, rank: usize, requires_grad: u32, out: *mut u32) -> i32 {
    const OP: &str = "tensor";
    create(OP, out, |tape| {
        let requires_grad = flag(OP, "requiresGrad", requires_grad.into())?;
        let shape = read_shape(OP, shape, rank)?;
        let values = read_f32(OP, "data", data, len)?;
        tape.leaf(Tensor::from_slice(shape, values)?, requires_grad)
    })
}

/// Writes the rank of `tensor` to `out_rank` and its dimensions to the `capacity` u32 slots
/// at `out_dims` (capacity ≥ rank; 8 always suffices).
#[no_mangle]
pub extern "C" fn gl_tensor_shape(tensor: u32, out_dims: *mut u32, capacity: usize, out_rank: *mut u32) -> i32 {
    const OP: &str = "shape";
    run(|| {
        let value = with_tape(|tape| tape.value(OP, "tensor", tensor))?;
        let rank = value.rank();
        if capacity < rank {
            return Err(Error::invalid(OP, "capacity", format!("at least the rank {}", rank), capacity.to_string()));
        }
        let rank_slot = write_u32(OP, "out_rank", out_rank, 1)?;
        let dims = write_u32(OP, "out_dims", out_dims, rank)?;
        for (slot, &dim) in dims.iter_mut().zip(value.shape()) {
            *slot = dim as u32; // dimensions are at most 2^28
        }
        rank_slot[0] = rank as u32;
        Ok(())
    })
}

/// Writes the number of elements of `tensor` to `out_len`.
#[no_mangle]
pub extern "C" fn gl_tensor_len(tensor: u32, out_len: *mut u32) -> i32 {
    const OP: &str = "len";
    run(|| {
        let len = with_tape(|tape| Ok(tape.value(OP, "tensor", tensor)?.len()))?;
        write_u32(OP, "out_len", out_len, 1)?[0] = len as u32;
        Ok(())
    })
}

/// Writes 1 to `out` when `tensor` requires a gradient, else 0.
#[no_mangle]
pub extern "C" fn gl_tensor_requires_grad(tensor: u32, out: *mut u32) -> i32 {
    const OP: &str = "requiresGrad";
    run(|| {
        let requires_grad = with_tape(|tape| tape.requires_grad(OP, "tensor", tensor))?;
        write_u32(OP, "out", out, 1)?[0] = requires_grad as u32;
        Ok(())
    })
}

/// Copies the values of `tensor` to the `len` f32 slots at `out_data`; `len` must equal its
/// element count.
#[no_mangle]
pub extern "C" fn gl_tensor_read(tensor: u32, out_data: *mut f32, len: usize) -> i32 {
    const OP: &str = "data";
    run(|| {
        let value = with_tape(|tape| tape.value(OP, "tensor", tensor))?;
        if len != value.len() {
            return Err(Error::invalid(OP, "len", format!("the tensor's {} elements", value.len()), len.to_string()));
        }
        write_f32(OP, "out_data", out_data, len)?.copy_from_slice(value.data());
        Ok(())
    })
}

/// Overwrites the values of `tensor` with the `len` f32 values at `data` (same element
/// count), outside autograd: as an optimiser step updates parameters.
#[no_mangle]
pub extern "C" fn gl_tensor_write(tensor: u32, data: *const f32, len: usize) -> i32 {
    const OP: &str = "assign";
    run(|| {
        let values = read_f32(OP, "data", data, len)?;
        with_tape(|tape| tape.assign(OP, "tensor", tensor, values))
    })
}

/// Frees `tensor`; the tape releases the nodes nothing live needs any more.
#[no_mangle]
pub extern "C" fn gl_tensor_free(tensor: u32) -> i32 {
    run(|| with_tape(|tape| tape.free("dispose", "tensor", tensor)))
}

/// The number of live tensors (for leak tests).
#[no_mangle]
pub extern "C" fn gl_tensor_count() -> u32 {
    TAPE.with(|tape| tape.borrow().len() as u32)
}

/// The number of nodes on the tape (for tests that prove nodes are released).
#[no_mangle]
pub extern "C" fn gl_tape_node_count() -> u32 {
    TAPE.with(|tape| tape.borrow().node_count() as u32)
}

/// Accumulates ∂loss/∂t into every live tensor t that requires a gradient. `loss` must hold
/// one element and depend on a tensor that requires a gradient.
#[no_mangle]
pub extern "C" fn gl_backward(loss: u32) -> i32 {
    run(|| with_tape(|tape| tape.backward(loss)))
}

/// Writes to `out` a new tensor (requiring no gradient) holding a copy of the gradient of
/// `tensor`, or 0 when no gradient has reached it.
#[no_mangle]
pub extern "C" fn gl_tensor_grad(tensor: u32, out: *mut u32) -> i32 {
    const OP: &str = "grad";
    create(OP, out, |tape| match tape.grad(OP, "tensor", tensor)?.cloned() {
        Some(grad) => tape.leaf(grad, false),
        None => Ok(0),
    })
}

/// Forgets the accumulated gradient of `tensor`.
#[no_mangle]
pub extern "C" fn gl_tensor_zero_grad(tensor: u32) -> i32 {
    run(|| with_tape(|tape| tape.zero_grad("zeroGrad", "tensor", tensor)))
}

/// `a ∘ b` with broadcasting; `kind`: 0 add, 1 sub, 2 mul, 3 div.
#[no_mangle]
pub extern "C" fn gl_op_binary(kind: u32, a: u32, b: u32, out: *mut u32) -> i32 {
    create("binary", out, |tape| {
        let kind = match kind {
            0 => BinaryKind::Add,
            1 => BinaryKind::Sub,
            2 => BinaryKind::Mul,
            3 => BinaryKind::Div,
            other => return Err(Error::invalid("binary", "kind", "a code in 0..=3", other.to_string())),
        };
        binary(tape, kind, a, b)
    })
}

/// `f(x)` elementwise, or softmax over the last axis. `kind`: 0 exp, 1 log, 2 sqrt,
/// 3 square, 4 pow (exponent `alpha`), 5 sigmoid, 6 tanh, 7 relu, 8 leakyRelu (slope
/// `alpha`), 9 elu (scale `alpha`), 10 softmax, 11 logSoftmax. `alpha` must be finite.
#[no_mangle]
pub extern "C" fn gl_op_unary(kind: u32, alpha: f32, x: u32, out: *mut u32) -> i32 {
    create("unary", out, |tape| {
        let alpha = finite("unary", "alpha", alpha)?;
        match kind {
            0 => pointwise(tape, MathKind::Exp, x),
            1 => pointwise(tape, MathKind::Log, x),
            2 => pointwise(tape, MathKind::Sqrt, x),
            3 => pointwise(tape, MathKind::Square, x),
            4 => pointwise(tape, MathKind::Pow(alpha), x),
            5 => activation(tape, Kind::Sigmoid, x),
            6 => activation(tape, Kind::Tanh, x),
            7 => activation(tape, Kind::Relu, x),
            8 => activation(tape, Kind::LeakyRelu(alpha), x),
            9 => activation(tape, Kind::Elu(alpha), x),
            10 => softmax(tape, x, false),
            11 => softmax(tape, x, true),
            other => Err(Error::invalid("unary", "kind", "a code in 0..=11", other.to_string())),
        }
    })
}

/// `op(a) · op(b)` for matrices, transposing an operand whose flag is 1.
#[no_mangle]
pub extern "C" fn gl_op_matmul(a: u32, b: u32, transpose_a: u32, transpose_b: u32, out: *mut u32) -> i32 {
    const OP: &str = "matmul";
    create(OP, out, |tape| {
        let transpose_a = flag(OP, "transposeA", transpose_a.into())?;
        let transpose_b = flag(OP, "transposeB", transpose_b.into())?;
        matmul(tape, a, b, transpose_a, transpose_b)
    })
}

/// Sum (`kind` 0) or mean (1) of `x`: over all elements when `has_axis` is 0, else along
/// `axis` (negative counts from the end); `keepdim` 1 keeps reduced dimensions with size 1.
#[no_mangle]
pub extern "C" fn gl_op_reduce(kind: u32, x: u32, has_axis: u32, axis: i32, keepdim: u32, out: *mut u32) -> i32 {
    const OP: &str = "reduce";
    create(OP, out, |tape| {
        let kind = match kind {
            0 => ReduceKind::Sum,
            1 => ReduceKind::Mean,
            other => return Err(Error::invalid(OP, "kind", "0 (sum) or 1 (mean)", other.to_string())),
        };
        let axis = if flag(OP, "hasAxis", has_axis.into())? { Some(axis as isize) } else { None };
        let keepdim = flag(OP, "keepdim", keepdim.into())?;
        reduce(tape, kind, x, axis, keepdim)
    })
}

/// A loss of `prediction` against a float `target` of the same shape; `kind`: 0 mse,
/// 1 sigmoidCrossEntropy (logits and targets in [0, 1]).
#[no_mangle]
pub extern "C" fn gl_op_loss(kind: u32, prediction: u32, target: u32, out: *mut u32) -> i32 {
    create("loss", out, |tape| match kind {
        0 => mse(tape, prediction, target),
        1 => sigmoid_cross_entropy(tape, prediction, target),
        other => Err(Error::invalid("loss", "kind", "0 (mse) or 1 (sigmoidCrossEntropy)", other.to_string())),
    })
}

/// Softmax cross-entropy of `logits` [B, C] against the `len` i32 class indices at `labels`
/// (len = B, each in [0, C)), averaged over the batch.
#[no_mangle]
pub extern "C" fn gl_op_softmax_cross_entropy(logits: u32, labels: *const i32, len: usize, out: *mut u32) -> i32 {
    const OP: &str = "softmaxCrossEntropy";
    create(OP, out, |tape| {
        let labels = read_i32(OP, "labels", labels, len)?;
        softmax_cross_entropy(tape, logits, labels)
    })
}

/// A recurrent layer's computation on the tape (PyTorch's `nn.RNN` / `nn.LSTM`, batch-first,
/// one layer): `cell` 0 rnn (tanh) or 1 lstm, over `x` [B, T, I] with `weight_ih` [G, I],
/// `weight_hh` [G, H], `bias_ih` and `bias_hh` [G] (G = H or 4H), from `h0` and (lstm) `c0`
/// [B, H], each 0 for zeros. Writes three handles to the three u32 slots at `out`: every
/// hidden state [B, T, H], the last hidden state [B, H] and the last cell state [B, H]
/// (lstm; 0 for rnn).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_op_recurrent(cell: u32, x: u32, weight_ih: u32, weight_hh: u32, bias_ih: u32, bias_hh: u32, h0: u32, c0: u32, out: *mut u32) -> i32 {
    run(|| {
        let cell = match cell {
            0 => CellKind::Rnn,
            1 => CellKind::Lstm,
            other => return Err(Error::invalid("recurrent", "cell", "0 (rnn) or 1 (lstm)", other.to_string())),
        };
        let slots = write_u32(cell.kind(), "out", out, 3)?;
        let params = RecurrentParams { weight_ih, weight_hh, bias_ih, bias_hh };
        let optional = |handle: u32| if handle == 0 { None } else { Some(handle) };
        let outputs = with_tape(|tape| recurrent(tape, cell, x, params, optional(h0), optional(c0)))?;
        slots.copy_from_slice(&[outputs.output, outputs.hidden, outputs.cell.unwrap_or(0)]);
        Ok(())
    })
}
