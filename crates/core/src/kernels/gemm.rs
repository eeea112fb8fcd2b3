//! Single-precision general matrix multiply, row-major.

/// `C = alpha · op(A) · op(B) + beta · C`, all row-major.
///
/// `op(A)` is m×k: `A[i·lda + p]` when `!trans_a`, `A[p·lda + i]` (A stored k×m) when `trans_a`.
/// `op(B)` is k×n: `B[p·ldb + j]` when `!trans_b`, `B[j·ldb + p]` (B stored n×k) when `trans_b`.
/// `C[i·ldc + j]` is m×n. When `beta == 0`, C is overwritten and its old contents (even NaN)
/// are ignored. Callers guarantee the slices are long enough for the given strides.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let av = if trans_a { a[p * lda + i] } else { a[i * lda + p] };
                let bv = if trans_b { b[j * ldb + p] } else { b[p * ldb + j] };
                acc += av * bv;
            }
            let cij = &mut c[i * ldc + j];
            *cij = if beta == 0.0 { alpha * acc } else { alpha * acc + beta * *cij };
        }
    }
}
