//! Matrix product of 2-D tensors, `C = op(A) · op(B)`, where `op` transposes when asked.
//! Forward and both backward products run on the one sgemm kernel, which reads transposed
//! operands in place, so no transpose is ever materialised.

use crate::autograd::{Backward, Tape, TensorId};
use crate::error::{shape_str, Error, Result};
use crate::kernels::gemm::sgemm;
use crate::tensor::Tensor;
use std::rc::Rc;

const OP: &str = "matmul";

/// `op(a) · op(b)`: `op(a)` is `[m, k]` (`a` is `[m, k]`, or `[k, m]` with `transpose_a`),
/// `op(b)` is `[k, n]` (`b` is `[k, n]`, or `[n, k]` with `transpose_b`); the output is `[m, n]`.
pub fn matmul(tape: &mut Tape, a: TensorId, b: TensorId, transpose_a: bool, transpose_b: bool) -> Result<TensorId> {
    let left = tape.value(OP, "a", a)?;
    let right = tape.value(OP, "b", b)?;
    let (m, k) = matrix_dims("a", &left, transpose_a)?;
    let (k_b, n) = matrix_dims("b", &right, transpose_b)?;
    if k != k_b {
        let expected = if transpose_b { format!("[*, {}] (transposed)", k) } else { format!("[{}, *]", k) };
        return Err(Error::shape(OP, "b", format!("{} to match a {}", expected, shape_str(left.shape())), shape_str(right.shape())));
    }
    let mut output = Tensor::zeros(OP, vec![m, n])?;
    sgemm(transpose_a, transpose_b, m, n, k, 1.0, left.data(), left.shape()[1], right.data(), right.shape()[1], 0.0, output.data_mut(), n);
    let saved = MatmulBackward { a: left, b: right, transpose_a, transpose_b, m, n, k };
    tape.record(&[a, b], Rc::new(output), saved)
}

/// `(rows, columns)` of `op(x)`; `x` must be 2-D.
fn matrix_dims(arg: &str, x: &Tensor, transpose: bool) -> Result<(usize, usize)> {
    match *x.shape() {
        [rows, columns] => Ok(if transpose { (columns, rows) } else { (rows, columns) }),
        _ => Err(Error::shape(OP, arg, "a matrix [rows, columns]", shape_str(x.shape()))),
    }
}

struct MatmulBackward {
    a: Rc<Tensor>,
    b: Rc<Tensor>,
    transpose_a: bool,
    transpose_b: bool,
    m: usize,
    n: usize,
    k: usize,
}

impl Backward for MatmulBackward {
    /// With G = ∂L/∂C `[m, n]`: ∂L/∂op(A) = G · op(B)ᵀ and ∂L/∂op(B) = op(A)ᵀ · G; a transposed
    /// operand gets the transpose of that, computed directly as the product in the other order.
    fn backward(&self, grad: &Tensor, needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let (m, n, k) = (self.m, self.n, self.k);
        let (a, b, g) = (self.a.data(), self.b.data(), grad.data());
        let (lda, ldb) = (self.a.shape()[1], self.b.shape()[1]);
        let grad_a = if needed[0] {
            let mut da = self.a.zeros_like(OP)?;
            if self.transpose_a {
                // A is [k, m]: dA = op(B) · Gᵀ
                sgemm(self.transpose_b, true, k, m, n, 1.0, b, ldb, g, n, 0.0, da.data_mut(), m);
            } else {
                // A is [m, k]: dA = G · op(B)ᵀ
                sgemm(false, !self.transpose_b, m, k, n, 1.0, g, n, b, ldb, 0.0, da.data_mut(), k);
            }
            Some(da)
        } else {
            None
        };
        let grad_b = if needed[1] {
            let mut db = self.b.zeros_like(OP)?;
            if self.transpose_b {
                // B is [n, k]: dB = Gᵀ · op(A)
                sgemm(true, self.transpose_a, n, k, m, 1.0, g, n, a, lda, 0.0, db.data_mut(), k);
            } else {
                // B is [k, n]: dB = op(A)ᵀ · G
                sgemm(!self.transpose_a, false, k, n, m, 1.0, a, lda, g, n, 0.0, db.data_mut(), n);
            }
            Some(db)
        } else {
            None
        };
        Ok(vec![grad_a, grad_b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::gradcheck::{check_gradients, leaf, random_shape, Domain, SEEDS};
    use crate::rng::Rng;

    #[test]
    fn values_for_every_layout() {
        let mut tape = Tape::new();
        // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [1, 1]]: A·B = [[4, 5], [10, 11]]
        let a = leaf(&mut tape, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let a_t = leaf(&mut tape, &[3, 2], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let b = leaf(&mut tape, &[3, 2], &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        let b_t = leaf(&mut tape, &[2, 3], &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0]);
        for (x, y, ta, tb) in [(a, b, false, false), (a_t, b, true, false), (a, b_t, false, true), (a_t, b_t, true, true)] {
            let c = matmul(&mut tape, x, y, ta, tb).unwrap();
            let c = tape.value("t", "c", c).unwrap();
            assert_eq!(c.shape(), &[2, 2]);
            assert_eq!(c.data(), &[4.0, 5.0, 10.0, 11.0], "transpose_a {} transpose_b {}", ta, tb);
        }
        let error = matmul(&mut tape, a, a, false, false).unwrap_err();
        assert_eq!(error.code(), "ShapeMismatch");
        assert!(error.to_string().contains("[2, 3]"), "{}", error);
        let vector = leaf(&mut tape, &[3], &[1.0, 2.0, 3.0]);
        assert_eq!(matmul(&mut tape, a, vector, false, false).unwrap_err().code(), "ShapeMismatch");
    }

    #[test]
    fn outputs_beyond_the_limit_are_too_large() {
        let mut tape = Tape::new();
        let column = tape.leaf(Tensor::zeros("t", vec![1 << 20, 1]).unwrap(), false).unwrap();
        let row = tape.leaf(Tensor::zeros("t", vec![1, 1 << 20]).unwrap(), false).unwrap();
        assert_eq!(matmul(&mut tape, column, row, false, false).unwrap_err().code(), "TooLarge");
    }

    #[test]
    fn gradients_match_finite_differences() {
        for seed in SEEDS {
            let dims = random_shape(&mut Rng::new(seed), 3..=3);
            let (m, k, n) = (dims[0], dims[1], dims[2]);
            for (transpose_a, transpose_b) in [(false, false), (true, false), (false, true), (true, true)] {
                let a_shape = if transpose_a { [k, m] } else { [m, k] };
                let b_shape = if transpose_b { [n, k] } else { [k, n] };
                check_gradients("matmul", seed, &[&a_shape, &b_shape], &[Domain::Any, Domain::Any], |tape, x| {
                    matmul(tape, x[0], x[1], transpose_a, transpose_b)
                });
            }
        }
    }
}
