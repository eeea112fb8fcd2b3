//! NumPy broadcasting: two shapes are aligned at their last dimension, and each pair of
//! dimensions must be equal or one of them 1 (a missing leading dimension counts as 1).
//! A size-1 dimension is repeated along the other. The gradient of a broadcast input is the
//! output gradient summed back over the repeated dimensions ([`sum_to`]).

use crate::error::{shape_str, Error, Result};
use crate::kernels::vector;
use crate::tensor::Tensor;
use std::borrow::Cow;

/// The shape two operands broadcast to, or a `ShapeMismatch` naming `op` and operand `b`.
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut shape = vec![0; rank];
    for d in 0..rank {
        // Dimension d counted from the right; a missing one is 1.
        let dim_a = if d < a.len() { a[a.len() - 1 - d] } else { 1 };
        let dim_b = if d < b.len() { b[b.len() - 1 - d] } else { 1 };
        shape[rank - 1 - d] = if dim_a == dim_b || dim_b == 1 {
            dim_a
        } else if dim_a == 1 {
            dim_b
        } else {
            return Err(Error::shape(op, "b", format!("a shape that broadcasts with {}", shape_str(a)), shape_str(b)));
        };
    }
    Ok(shape)
}

/// `x` repeated along its size-1 (or missing) dimensions to `shape`; borrowed when `x`
/// already has that shape. `shape` must be one `x` broadcasts to.
pub fn expand<'a>(op: &str, x: &'a Tensor, shape: &[usize]) -> Result<Cow<'a, Tensor>> {
    if x.shape() == shape {
        return Ok(Cow::Borrowed(x));
    }
    let mut out = Tensor::zeros(op, shape.to_vec())?;
    let source = x.data();
    let target = out.data_mut();
    for_each_run(shape, x.shape(), |run| {
        let row = &mut target[run.index..run.index + run.len];
        if run.repeated {
            row.fill(source[run.offset]);
        } else {
            row.copy_from_slice(&source[run.offset..run.offset + run.len]);
        }
    });
    Ok(Cow::Owned(out))
}

/// `grad` (shaped like a broadcast output) summed over the dimensions along which an input
/// of `shape` was repeated: the gradient of that input. The inverse of [`expand`].
pub fn sum_to(op: &str, grad: Tensor, shape: &[usize]) -> Result<Tensor> {
    if grad.shape() == shape {
        return Ok(grad);
    }
    let mut out = Tensor::zeros(op, shape.to_vec())?;
    let source = grad.data();
    let target = out.data_mut();
    for_each_run(grad.shape(), shape, |run| {
        let row = &source[run.index..run.index + run.len];
        if run.repeated {
            target[run.offset] += vector::sum(row);
        } else {
            vector::axpy(1.0, row, &mut target[run.offset..run.offset + run.len]);
        }
    });
    Ok(out)
}

/// A stretch of the last dimension of a broadcast output and where it reads its operand.
struct Run {
    /// Where the run starts in the output.
    index: usize,
    /// Where it starts in the operand.
    offset: usize,
    len: usize,
    /// The operand has size 1 in the last dimension: every element reads `offset`.
    /// Otherwise the run reads `len` consecutive elements from `offset`.
    repeated: bool,
}

/// Calls `visit` for every run of the last dimension of an output of shape `out`, in
/// row-major order, with where the broadcast operand of shape `source` is read.
fn for_each_run(out: &[usize], source: &[usize], mut visit: impl FnMut(Run)) {
    let rank = out.len();
    if rank == 0 {
        return visit(Run { index: 0, offset: 0, len: 1, repeated: false });
    }
    // Row-major strides of `source` aligned to `out`'s dimensions; 0 where it is repeated.
    let mut strides = vec![0; rank];
    let mut stride = 1;
    for d in (0..source.len()).rev() {
        let aligned = rank - source.len() + d;
        strides[aligned] = if source[d] == 1 { 0 } else { stride };
        stride *= source[d];
    }
    let len = out[rank - 1];
    let repeated = strides[rank - 1] == 0;
    let runs: usize = out[..rank - 1].iter().product();
    if len == 0 {
        return;
    }
    let mut position = vec![0; rank - 1];
    let mut offset = 0;
    for run in 0..runs {
        visit(Run { index: run * len, offset, len, repeated });
        // Advance the multi-index of the leading dimensions like an odometer, keeping
        // `offset` in step.
        for d in (0..rank - 1).rev() {
            position[d] += 1;
            offset += strides[d];
            if position[d] < out[d] {
                break;
            }
            offset -= strides[d] * out[d];
            position[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_numpy_rules() {
        assert_eq!(broadcast_shapes("t", &[4, 3], &[3]).unwrap(), vec![4, 3]);
        assert_eq!(broadcast_shapes("t", &[4, 1], &[1, 5]).unwrap(), vec![4, 5]);
        assert_eq!(broadcast_shapes("t", &[], &[2, 2]).unwrap(), vec![2, 2]);
        assert_eq!(broadcast_shapes("t", &[2, 1, 3], &[5, 1]).unwrap(), vec![2, 5, 3]);
        assert_eq!(broadcast_shapes("t", &[0, 3], &[1, 3]).unwrap(), vec![0, 3]);
        let error = broadcast_shapes("add", &[4, 3], &[2]).unwrap_err();
        assert_eq!(error.code(), "ShapeMismatch");
        assert!(error.to_string().contains("[4, 3]") && error.to_string().contains("[2]"));
    }

    #[test]
    fn expand_repeats_and_sum_to_adds_back() {
        let column = Tensor::new(vec![2, 1], vec![1.0, 2.0]).unwrap();
        let expanded = expand("t", &column, &[2, 3]).unwrap();
        assert_eq!(expanded.data(), &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        let grad = Tensor::new(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(sum_to("t", grad.clone(), &[2, 1]).unwrap().data(), &[6.0, 15.0]);
        assert_eq!(sum_to("t", grad.clone(), &[3]).unwrap().data(), &[5.0, 7.0, 9.0]);
        assert_eq!(sum_to("t", grad, &[]).unwrap().data(), &[21.0]);
        // A middle dimension repeated: [2, 1, 2] → [2, 3, 2].
        let x = Tensor::new(vec![2, 1, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let expanded = expand("t", &x, &[2, 3, 2]).unwrap();
        assert_eq!(expanded.data(), &[1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 3.0, 4.0]);
        assert_eq!(sum_to("t", expanded.into_owned(), &[2, 1, 2]).unwrap().data(), &[3.0, 6.0, 9.0, 12.0]);
        let scalar = Tensor::scalar(5.0);
        assert_eq!(expand("t", &scalar, &[2, 2]).unwrap().data(), &[5.0; 4]);
    }
}
