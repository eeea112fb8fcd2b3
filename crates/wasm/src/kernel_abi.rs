//! Kernel ABI: the raw kernels over buffers staged with `gl_alloc`, for the kernel tests and
//! benchmarks (models call the kernels inside the core, not through here). Each export checks
//! its flags, sizes (with overflow-checked products) and buffers, then makes one kernel call.

use crate::args::{finite, flag};
use crate::{read_f32, run, write_f32};
use gradlab_core::kernels::{activation, gemm, vector, SIMD};
use gradlab_core::Error;

/// 1 when the kernels were compiled with SIMD128, else 0.
#[no_mangle]
pub extern "C" fn gl_simd_enabled() -> i32 {
    SIMD as i32
}

/// `C = alpha · op(A) · op(B) + beta · C` on dense row-major buffers: op(A) is m×k (A stored
/// k×m when `trans_a` is 1), op(B) is k×n (B stored n×k when `trans_b` is 1), C is m×n.
/// The lengths must equal those sizes; C may not overlap A or B.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_sgemm(
    trans_a: i32,
    trans_b: i32,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a_ptr: *const f32,
    a_len: usize,
    b_ptr: *const f32,
    b_len: usize,
    beta: f32,
    c_ptr: *mut f32,
    c_len: usize,
) -> i32 {
    const OP: &str = "sgemm";
    run(|| {
        let trans_a = flag(OP, "transA", trans_a.into())?;
        let trans_b = flag(OP, "transB", trans_b.into())?;
        finite(OP, "alpha", alpha)?;
        finite(OP, "beta", beta)?;
        expect_len(OP, "a", a_len, m, k)?;
        expect_len(OP, "b", b_len, k, n)?;
        expect_len(OP, "c", c_len, m, n)?;
        disjoint(OP, "c", c_ptr, c_len, &[("a", a_ptr, a_len), ("b", b_ptr, b_len)])?;
        let a = read_f32(OP, "a", a_ptr, a_len)?;
        let b = read_f32(OP, "b", b_ptr, b_len)?;
        let c = write_f32(OP, "c", c_ptr, c_len)?;
        let lda = if trans_a { m } else { k };
        let ldb = if trans_b { k } else { n };
        gemm::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
        Ok(())
    })
}

/// `y = f(x)` for an activation `kind`: 0 identity, 1 sigmoid, 2 tanh, 3 relu, 4 leaky relu
/// (slope `alpha`), 5 elu (`alpha`). `x` and `y` hold `len` values and may not overlap.
#[no_mangle]
pub extern "C" fn gl_kernel_unary(kind: i32, alpha: f32, x_ptr: *const f32, y_ptr: *mut f32, len: usize) -> i32 {
    const OP: &str = "kernelUnary";
    run(|| {
        finite(OP, "alpha", alpha)?;
        let kind = match kind {
            0 => activation::Kind::Identity,
            1 => activation::Kind::Sigmoid,
            2 => activation::Kind::Tanh,
            3 => activation::Kind::Relu,
            4 => activation::Kind::LeakyRelu(alpha),
            5 => activation::Kind::Elu(alpha),
            other => return Err(Error::invalid(OP, "kind", "an activation code in 0..=5", other.to_string())),
        };
        disjoint(OP, "y", y_ptr, len, &[("x", x_ptr, len)])?;
        let x = read_f32(OP, "x", x_ptr, len)?;
        let y = write_f32(OP, "y", y_ptr, len)?;
        activation::forward(kind, x, y);
        Ok(())
    })
}

/// `out = a ∘ b` elementwise for `kind`: 0 add, 1 sub, 2 mul, 3 div; `len` values each, `out`
/// overlapping neither input.
#[no_mangle]
pub extern "C" fn gl_kernel_binary(kind: i32, a_ptr: *const f32, b_ptr: *const f32, out_ptr: *mut f32, len: usize) -> i32 {
    const OP: &str = "kernelBinary";
    run(|| {
        let kernel: fn(&[f32], &[f32], &mut [f32]) = match kind {
            0 => vector::add,
            1 => vector::sub,
            2 => vector::mul,
            3 => vector::div,
            other => return Err(Error::invalid(OP, "kind", "a binary op code in 0..=3", other.to_string())),
        };
        disjoint(OP, "out", out_ptr, len, &[("a", a_ptr, len), ("b", b_ptr, len)])?;
        let a = read_f32(OP, "a", a_ptr, len)?;
        let b = read_f32(OP, "b", b_ptr, len)?;
        let out = write_f32(OP, "out", out_ptr, len)?;
        kernel(a, b, out);
        Ok(())
    })
}

/// Row-wise softmax (`log` = 0) or log-softmax (`log` = 1) of a rows×cols matrix into `y`.
#[no_mangle]
pub extern "C" fn gl_kernel_softmax(log: i32, x_ptr: *const f32, y_ptr: *mut f32, rows: usize, cols: usize) -> i32 {
    const OP: &str = "kernelSoftmax";
    run(|| {
        let log = flag(OP, "log", log.into())?;
        let len = checked_size(OP, "x", rows, cols)?;
        disjoint(OP, "y", y_ptr, len, &[("x", x_ptr, len)])?;
        let x = read_f32(OP, "x", x_ptr, len)?;
        let y = write_f32(OP, "y", y_ptr, len)?;
        if log {
            activation::log_softmax_forward(x, cols, y);
        } else {
            activation::softmax_forward(x, cols, y);
        }
        Ok(())
    })
}

/// `rows · cols`, or `TooLarge` when the product overflows.
fn checked_size(op: &str, arg: &str, rows: usize, cols: usize) -> Result<usize, Error> {
    rows.checked_mul(cols).ok_or_else(|| Error::TooLarge {
        op: op.into(),
        arg: arg.into(),
        requested: rows as u64 * cols as u64,
        limit: usize::MAX as u64,
    })
}

/// Checks that buffer `arg` holds exactly a rows×cols matrix.
fn expect_len(op: &str, arg: &str, len: usize, rows: usize, cols: usize) -> Result<(), Error> {
    let size = checked_size(op, arg, rows, cols)?;
    if len == size {
        Ok(())
    } else {
        Err(Error::shape(op, arg, format!("{} values ({}×{})", size, rows, cols), format!("{} values", len)))
    }
}

/// Checks that the output buffer shares no byte with any input (the kernels take `&` and
/// `&mut` slices, which may not alias).
fn disjoint(op: &str, arg: &str, out: *const f32, out_len: usize, inputs: &[(&str, *const f32, usize)]) -> Result<(), Error> {
    let range = |ptr: *const f32, len: usize| (ptr as usize, (ptr as usize).saturating_add(len.saturating_mul(4)));
    let (start, end) = range(out, out_len);
    for &(name, ptr, len) in inputs {
        let (input_start, input_end) = range(ptr, len);
        if out_len > 0 && len > 0 && start < input_end && input_start < end {
            return Err(Error::invalid(op, arg, format!("a buffer that does not overlap '{}'", name), format!("address {}", start)));
        }
    }
    Ok(())
}
