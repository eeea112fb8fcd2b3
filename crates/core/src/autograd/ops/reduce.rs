//! Sum and mean, over all elements or along one axis.
//!
//! Over all elements the output is a scalar `[]`, or with `keepdim` all-ones `[1, …, 1]`.
//! Along axis `d` the output drops dimension `d`, or with `keepdim` keeps it with size 1
//! (PyTorch's `sum(dim, keepdim)`). Negative axes count from the end (−1 is the last).

use crate::autograd::{Backward, Tape, TensorId};
use crate::error::{shape_str, Error, Result};
use crate::kernels::vector;
use crate::tensor::Tensor;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReduceKind {
    Sum,
    Mean,
}

impl ReduceKind {
    pub fn name(self) -> &'static str {
        match self {
            ReduceKind::Sum => "sum",
            ReduceKind::Mean => "mean",
        }
    }
}

/// The sum or mean of `x` over all elements (`axis` = `None`) or along `axis`.
/// A mean over zero elements is an error rather than NaN.
pub fn reduce(tape: &mut Tape, kind: ReduceKind, x: TensorId, axis: Option<isize>, keepdim: bool) -> Result<TensorId> {
    let op = kind.name();
    let input = tape.value(op, "x", x)?;
    let layout = Layout::new(op, input.shape(), axis)?;
    if kind == ReduceKind::Mean && layout.reduced == 0 {
        return Err(Error::invalid(op, "x", "at least one element to average", shape_str(input.shape())));
    }
    let mut shape = input.shape().to_vec();
    match layout.axis {
        Some(d) if keepdim => shape[d] = 1,
        Some(d) => {
            shape.remove(d);
        }
        None if keepdim => shape.iter_mut().for_each(|dim| *dim = 1),
        None => shape.clear(),
    }
    let mut output = Tensor::zeros(op, shape)?;
    // Viewing x as [outer, reduced, inner], out[o, i] = Σ_r x[o, r, i].
    let block = layout.reduced * layout.inner;
    for (o, out_row) in output.data_mut().chunks_mut(layout.inner.max(1)).enumerate().take(layout.outer) {
        let x_block = &input.data()[o * block..(o + 1) * block];
        if layout.inner == 1 {
            out_row[0] = vector::sum(x_block);
        } else {
            vector::accumulate_column_sums(x_block, out_row);
        }
    }
    let scale = match kind {
        ReduceKind::Sum => 1.0,
        ReduceKind::Mean => 1.0 / layout.reduced as f32,
    };
    if kind == ReduceKind::Mean {
        vector::scale(scale, output.data_mut());
    }
    let saved = ReduceBackward { layout, scale, input_shape: input.shape().to_vec(), name: op };
    tape.record(&[x], Rc::new(output), saved)
}

/// `x` seen as `[outer, reduced, inner]` around the reduced axis (all of `x` is one block
/// when reducing everything).
#[derive(Clone, Copy)]
struct Layout {
    axis: Option<usize>,
    outer: usize,
    reduced: usize,
    inner: usize,
}

impl Layout {
    fn new(op: &str, shape: &[usize], axis: Option<isize>) -> Result<Layout> {
        let count: usize = shape.iter().product();
        let axis = match axis {
            None => return Ok(Layout { axis: None, outer: 1, reduced: count, inner: 1 }),
            Some(axis) => axis,
        };
        // A 0-d tensor counts as one dimension, as in PyTorch: axis 0 or -1 reduces it to itself.
        let rank = shape.len().max(1) as isize;
        let resolved = if axis < 0 { axis + rank } else { axis };
        if resolved < 0 || resolved >= rank {
            let expected = format!("an axis in [{}, {}] for shape {}", -rank, rank - 1, shape_str(shape));
            return Err(Error::invalid(op, "axis", expected, axis.to_string()));
        }
        if shape.is_empty() {
            return Ok(Layout { axis: None, outer: 1, reduced: count, inner: 1 });
        }
        let d = resolved as usize;
        Ok(Layout { axis: Some(d), outer: shape[..d].iter().product(), reduced: shape[d], inner: shape[d + 1..].iter().product() })
    }
}

struct ReduceBackward {
    layout: Layout,
    /// 1 for sum, 1/reduced for mean.
    scale: f32,
    input_shape: Vec<usize>,
    name: &'static str,
}

impl Backward for ReduceBackward {
    /// Every input element receives the gradient of the output element it was summed into,
    /// times `scale`: `dx[o, r, i] = scale · dy[o, i]`.
    fn backward(&self, grad: &Tensor, _needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let Layout { reduced, inner, .. } = self.layout;
        let mut dx = Tensor::zeros(self.name, self.input_shape.clone())?;
        if inner > 0 && reduced > 0 {
            for (x_block, g_row) in dx.data_mut().chunks_mut(reduced * inner).zip(grad.data().chunks(inner)) {
                if inner == 1 {
                    x_block.fill(self.scale * g_row[0]);
                } else {
                    for x_row in x_block.chunks_mut(inner) {
                        vector::axpy(self.scale, g_row, x_row);
                    }
                }
            }
        }
        Ok(vec![Some(dx)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::gradcheck::{check_gradients, leaf, random_shape, Domain, SEEDS};
    use crate::rng::Rng;

    fn reduced(tape: &mut Tape, kind: ReduceKind, x: TensorId, axis: Option<isize>, keepdim: bool) -> Tensor {
        let y = reduce(tape, kind, x, axis, keepdim).unwrap();
        tape.value("t", "y", y).unwrap().as_ref().clone()
    }

    #[test]
    fn values_and_shapes_follow_keepdim() {
        let mut tape = Tape::new();
        let x = leaf(&mut tape, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let all = reduced(&mut tape, ReduceKind::Sum, x, None, false);
        assert_eq!((all.shape(), all.data()), (&[][..], &[21.0][..]));
        let all_kept = reduced(&mut tape, ReduceKind::Mean, x, None, true);
        assert_eq!((all_kept.shape(), all_kept.data()), (&[1, 1][..], &[3.5][..]));
        let columns = reduced(&mut tape, ReduceKind::Sum, x, Some(0), false);
        assert_eq!((columns.shape(), columns.data()), (&[3][..], &[5.0, 7.0, 9.0][..]));
        let rows = reduced(&mut tape, ReduceKind::Mean, x, Some(-1), true);
        assert_eq!((rows.shape(), rows.data()), (&[2, 1][..], &[2.0, 5.0][..]));
        let error = reduce(&mut tape, ReduceKind::Sum, x, Some(2), false).unwrap_err();
        assert_eq!(error.code(), "InvalidArgument");
        assert!(error.to_string().contains("[-2, 1]"), "{}", error);
        assert_eq!(reduce(&mut tape, ReduceKind::Sum, x, Some(-3), false).unwrap_err().code(), "InvalidArgument");
    }

    /// PyTorch: `torch.tensor(5.).sum(0)`, `.mean(-1)` and `.sum(0, keepdim=True)` are all
    /// `tensor(5.)` (shape []); `.sum(1)` is an IndexError ("expected to be in range of [-1, 0]").
    #[test]
    fn a_scalar_reduces_along_axis_0_or_minus_1_to_itself() {
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::scalar(5.0), true).unwrap();
        for (kind, axis, keepdim) in [(ReduceKind::Sum, 0, false), (ReduceKind::Mean, -1, false), (ReduceKind::Sum, 0, true)] {
            let y = reduced(&mut tape, kind, x, Some(axis), keepdim);
            assert_eq!((y.shape(), y.data()), (&[][..], &[5.0][..]), "{:?} axis {}", kind, axis);
        }
        let y = reduce(&mut tape, ReduceKind::Mean, x, Some(0), false).unwrap();
        tape.backward(y).unwrap();
        assert_eq!(tape.grad("t", "x", x).unwrap().unwrap().data(), &[1.0]);
        for axis in [1, -2] {
            let error = reduce(&mut tape, ReduceKind::Sum, x, Some(axis), false).unwrap_err();
            assert!(error.to_string().contains("an axis in [-1, 0] for shape []"), "{}", error);
        }
    }

    #[test]
    fn empty_inputs_sum_to_zero_and_cannot_be_averaged() {
        let mut tape = Tape::new();
        let empty = leaf(&mut tape, &[0, 3], &[]);
        let sums = reduced(&mut tape, ReduceKind::Sum, empty, Some(0), false);
        assert_eq!(sums.data(), &[0.0, 0.0, 0.0]);
        assert_eq!(reduced(&mut tape, ReduceKind::Sum, empty, Some(1), false).shape(), &[0]);
        assert_eq!(reduce(&mut tape, ReduceKind::Mean, empty, None, false).unwrap_err().code(), "InvalidArgument");
    }

    #[test]
    fn gradients_match_finite_differences() {
        for kind in [ReduceKind::Sum, ReduceKind::Mean] {
            for seed in SEEDS {
                let shape = random_shape(&mut Rng::new(seed), 1..=3);
                let rank = shape.len() as isize;
                let mut axes: Vec<Option<isize>> = vec![None];
                axes.extend((-rank..rank).map(Some));
                for axis in axes {
                    for keepdim in [false, true] {
                        check_gradients(kind.name(), seed, &[&shape], &[Domain::Any], |tape, x| reduce(tape, kind, x[0], axis, keepdim));
                    }
                }
            }
        }
    }
}
