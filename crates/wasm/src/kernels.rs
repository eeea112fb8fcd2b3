//! The raw kernels on matrices staged in WASM memory, for the kernel tests and benchmarks
//! (models call the kernels inside the core, not through here). Each export checks its
//! operands' shapes and scalars, then makes one kernel call. Inputs and outputs are distinct
//! objects: wasm-bindgen refuses to lend one object as `&` and `&mut` at once.

use crate::args::{count, finite_f32, thrown, JsResult};
use gradlab_core::error::{shape_str, Error, Result};
use gradlab_core::kernels::{activation, gemm, vector, SIMD};
use gradlab_core::nn::Activation;
use gradlab_core::nn::spec::activation_named;
use gradlab_core::tensor::{element_count, MAX_ELEMENTS};
use wasm_bindgen::prelude::*;

/// Floats per 16 bytes. Staged data starts on a 16-byte boundary: from the allocator's 8-byte
/// one, a quarter of the v128 loads straddle cache lines, and relu on 1M values measured 7 %
/// slower.
const LANES: usize = 4;

/// True when the kernels were compiled with SIMD128.
#[wasm_bindgen(js_name = simdEnabled)]
pub fn simd_enabled() -> bool {
    SIMD
}

/// A rows×cols row-major f32 matrix in WASM memory, which JavaScript reads and writes through
/// a view at `ptr`.
#[wasm_bindgen]
pub struct StagedMatrixCore {
    rows: usize,
    cols: usize,
    /// rows·cols values from `start`, the first 16-byte boundary, in `LANES − 1` floats more.
    storage: Vec<f32>,
    start: usize,
}

#[wasm_bindgen]
impl StagedMatrixCore {
    /// A zero-filled rows×cols matrix, as large as a tensor may be.
    #[wasm_bindgen(constructor)]
    pub fn new(rows: f64, cols: f64) -> JsResult<StagedMatrixCore> {
        let op = "StagedMatrix";
        let build = || -> Result<StagedMatrixCore> {
            let rows = count(op, "rows", rows, 0, i32::MAX as usize)?;
            let cols = count(op, "cols", cols, 0, i32::MAX as usize)?;
            let len = element_count(op, "shape", &[rows, cols])?;
            let mut storage = Vec::new();
            let out_of_memory = |_| Error::TooLarge { op: op.into(), arg: "memory".into(), requested: len as u64, limit: MAX_ELEMENTS as u64 };
            storage.try_reserve_exact(len + LANES - 1).map_err(out_of_memory)?;
            storage.resize(len + LANES - 1, 0.0);
            let start = (storage.as_ptr() as usize / std::mem::size_of::<f32>()).wrapping_neg() % LANES;
            Ok(StagedMatrixCore { rows, cols, storage, start })
        };
        build().map_err(thrown)
    }

    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> u32 {
        self.rows as u32
    }

    #[wasm_bindgen(getter)]
    pub fn cols(&self) -> u32 {
        self.cols as u32
    }

    /// The byte offset of the data in WASM memory (0 when empty), a multiple of 16; it never
    /// moves.
    #[wasm_bindgen(getter)]
    pub fn ptr(&self) -> u32 {
        if self.data().is_empty() {
            0
        } else {
            self.data().as_ptr() as usize as u32
        }
    }
}

impl StagedMatrixCore {
    fn data(&self) -> &[f32] {
        &self.storage[self.start..self.start + self.rows * self.cols]
    }

    fn data_mut(&mut self) -> &mut [f32] {
        &mut self.storage[self.start..self.start + self.rows * self.cols]
    }

    /// The shape of op(X): X itself, or Xᵀ when `transposed`.
    fn operand(&self, transposed: bool) -> (usize, usize) {
        if transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    fn shape(&self) -> String {
        shape_str(&[self.rows, self.cols])
    }

    /// Checks that `other` (argument `arg`) holds as many values as this matrix.
    fn expect_same_len(&self, op: &str, arg: &str, other: &StagedMatrixCore) -> Result<()> {
        if other.data().len() == self.data().len() {
            Ok(())
        } else {
            Err(Error::shape(op, arg, format!("{} values", self.data().len()), format!("{} values", other.data().len())))
        }
    }

    /// Checks that `other` (argument `arg`) has this matrix's shape.
    fn expect_same_shape(&self, op: &str, arg: &str, other: &StagedMatrixCore) -> Result<()> {
        if (other.rows, other.cols) == (self.rows, self.cols) {
            Ok(())
        } else {
            Err(Error::shape(op, arg, self.shape(), other.shape()))
        }
    }
}

/// `C = alpha · op(A) · op(B) + beta · C`: op(A) is m×k (A stored k×m when `trans_a`), op(B)
/// is k×n (B stored n×k when `trans_b`), C is m×n. `beta` = 0 ignores C's old contents.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn sgemm(a: &StagedMatrixCore, b: &StagedMatrixCore, c: &mut StagedMatrixCore, trans_a: bool, trans_b: bool, alpha: f64, beta: f64) -> JsResult<()> {
    let op = "sgemm";
    let mut run = || -> Result<()> {
        let alpha = finite_f32(op, "alpha", alpha)?;
        let beta = finite_f32(op, "beta", beta)?;
        let (m, k) = a.operand(trans_a);
        let (k_b, n) = b.operand(trans_b);
        if k_b != k {
            return Err(Error::shape(op, "b", format!("{} rows in op(B) (op(A) is {})", k, shape_str(&[m, k])), shape_str(&[k_b, n])));
        }
        if (c.rows, c.cols) != (m, n) {
            return Err(Error::shape(op, "c", shape_str(&[m, n]), c.shape()));
        }
        gemm::sgemm(trans_a, trans_b, m, n, k, alpha, a.data(), a.cols, b.data(), b.cols, beta, c.data_mut(), n);
        Ok(())
    };
    run().map_err(thrown)
}

/// `y = f(x)` elementwise for the activation `kind` (`identity`, `sigmoid`, `tanh`, `relu`,
/// `leakyRelu` with slope `alpha`, `elu` with scale `alpha`); `y` holds as many values as `x`.
#[wasm_bindgen]
pub fn activation(kind: &str, alpha: f64, x: &StagedMatrixCore, y: &mut StagedMatrixCore) -> JsResult<()> {
    let op = "activation";
    let mut run = || -> Result<()> {
        let alpha = finite_f32(op, "alpha", alpha)?;
        let kernel = activation_named(kind, Some(alpha)).and_then(Activation::kernel);
        let kernel = kernel.ok_or_else(|| Error::invalid(op, "kind", "one of identity, sigmoid, tanh, relu, leakyRelu, elu", format!("{:?}", kind)))?;
        x.expect_same_len(op, "y", y)?;
        activation::forward(kernel, x.data(), y.data_mut());
        Ok(())
    };
    run().map_err(thrown)
}

/// `out = a ∘ b` elementwise for `kind` (`add`, `sub`, `mul`, `div`); all of one length.
#[wasm_bindgen]
pub fn binary(kind: &str, a: &StagedMatrixCore, b: &StagedMatrixCore, out: &mut StagedMatrixCore) -> JsResult<()> {
    let op = "binary";
    let mut run = || -> Result<()> {
        let kernel: fn(&[f32], &[f32], &mut [f32]) = match kind {
            "add" => vector::add,
            "sub" => vector::sub,
            "mul" => vector::mul,
            "div" => vector::div,
            other => return Err(Error::invalid(op, "kind", "one of add, sub, mul, div", format!("{:?}", other))),
        };
        a.expect_same_len(op, "b", b)?;
        a.expect_same_len(op, "out", out)?;
        kernel(a.data(), b.data(), out.data_mut());
        Ok(())
    };
    run().map_err(thrown)
}

/// Row-wise softmax (or log-softmax with `log`) of `x` into `y` (of `x`'s shape).
#[wasm_bindgen]
pub fn softmax(x: &StagedMatrixCore, y: &mut StagedMatrixCore, log: bool) -> JsResult<()> {
    x.expect_same_shape("softmax", "y", y).map_err(thrown)?;
    if log {
        activation::log_softmax_forward(x.data(), x.cols, y.data_mut());
    } else {
        activation::softmax_forward(x.data(), x.cols, y.data_mut());
    }
    Ok(())
}
