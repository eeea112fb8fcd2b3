//! The f32 tensor of the eager API: a shape and a contiguous row-major buffer.
//!
//! Every constructor that takes a shape from outside validates it: the element count is a
//! checked product ([`Count`]), at most [`MAX_ELEMENTS`], and the rank at most [`MAX_RANK`].
//! Buffers are reserved fallibly, so a request the instance cannot satisfy becomes
//! `Error::OutOfMemory` instead of an allocation failure, which would abort a WebAssembly
//! instance.

use crate::error::{shape_str, Error, Result};
use crate::size::{self, Count};

/// The most elements one tensor may hold (2^28 f32 = 1 GiB).
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The most dimensions a tensor may have.
pub const MAX_RANK: usize = 8;

/// A dense f32 tensor, row-major: element `[i0, …, ik]` is at `Σ i_d · stride_d`, where the
/// last dimension has stride 1. Rank 0 (shape `[]`) is a scalar with one element.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// A tensor of `shape` holding `data`; `data.len()` must equal the product of `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor> {
        let count = element_count("tensor", "shape", &shape)?;
        if data.len() != count {
            return Err(length_mismatch(&shape, count, data.len()));
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor of `shape` holding a copy of `values`. The shape is validated before anything
    /// is allocated, so an absurd shape is an error, not an attempt.
    pub fn from_slice(shape: Vec<usize>, values: &[f32]) -> Result<Tensor> {
        let count = element_count("tensor", "shape", &shape)?;
        if values.len() != count {
            return Err(length_mismatch(&shape, count, values.len()));
        }
        let mut tensor = Tensor::zeros("tensor", shape)?;
        tensor.data.copy_from_slice(values);
        Ok(tensor)
    }

    /// A tensor of `shape` filled with zeros; `op` names the caller in errors.
    pub fn zeros(op: &str, shape: Vec<usize>) -> Result<Tensor> {
        Tensor::full(op, shape, 0.0)
    }

    /// A tensor of `shape` filled with `value`; `op` names the caller in errors.
    pub fn full(op: &str, shape: Vec<usize>, value: f32) -> Result<Tensor> {
        let count = element_count(op, "shape", &shape)?;
        let data = size::filled(op, "shape", count, || value)?;
        Ok(Tensor { shape, data })
    }

    /// A rank-0 tensor holding `value`.
    pub fn scalar(value: f32) -> Tensor {
        Tensor { shape: Vec::new(), data: vec![value] }
    }

    /// A zero tensor with the shape of `self`.
    pub fn zeros_like(&self, op: &str) -> Result<Tensor> {
        Tensor::zeros(op, self.shape.clone())
    }

    /// A tensor with the shape of `self` and `value(x)` for each element `x` of `self`.
    pub fn map(&self, op: &str, value: impl Fn(f32) -> f32) -> Result<Tensor> {
        let mut out = self.zeros_like(op)?;
        for (o, &x) in out.data.iter_mut().zip(&self.data) {
            *o = value(x);
        }
        Ok(out)
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

/// The number of elements of `shape`, checked: rank at most [`MAX_RANK`], product without
/// overflow and at most [`MAX_ELEMENTS`]. `op` and `arg` name the caller in errors.
pub fn element_count(op: &str, arg: &str, shape: &[usize]) -> Result<usize> {
    if shape.len() > MAX_RANK {
        return Err(Error::invalid(op, arg, format!("at most {} dimensions", MAX_RANK), shape_str(shape)));
    }
    Count::product(shape).at_most(op, arg, MAX_ELEMENTS)
}

fn length_mismatch(shape: &[usize], count: usize, length: usize) -> Error {
    Error::shape("tensor", "data", format!("{} values for shape {}", count, shape_str(shape)), format!("{} values", length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_length_against_shape() {
        let t = Tensor::new(vec![2, 3], vec![0.0; 6]).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.len(), 6);
        let error = Tensor::new(vec![2, 3], vec![0.0; 5]).unwrap_err();
        assert_eq!(error.code(), "ShapeMismatch");
        assert!(error.to_string().contains("[2, 3]"));
        assert_eq!(Tensor::from_slice(vec![3], &[1.0, 2.0, 3.0]).unwrap().data(), &[1.0, 2.0, 3.0]);
        assert_eq!(Tensor::from_slice(vec![2], &[1.0]).unwrap_err().code(), "ShapeMismatch");
        assert_eq!(Tensor::from_slice(vec![1 << 30], &[1.0]).unwrap_err().code(), "TooLarge");
    }

    #[test]
    fn scalar_has_rank_zero_and_one_element() {
        let t = Tensor::scalar(4.0);
        assert_eq!(t.rank(), 0);
        assert_eq!(t.data(), &[4.0]);
        assert_eq!(element_count("t", "shape", &[]).unwrap(), 1);
        assert_eq!(element_count("t", "shape", &[3, 0, 5]).unwrap(), 0);
    }

    #[test]
    fn sizes_beyond_the_limit_are_too_large_not_overflow() {
        let error = element_count("t", "shape", &[1 << 20, 1 << 20]).unwrap_err();
        assert_eq!(error.code(), "TooLarge");
        let error = element_count("t", "shape", &[usize::MAX, usize::MAX, 2]).unwrap_err();
        assert_eq!(error.code(), "TooLarge");
        assert_eq!(Tensor::zeros("t", vec![MAX_ELEMENTS + 1]).unwrap_err().code(), "TooLarge");
        assert_eq!(element_count("t", "shape", &[1; MAX_RANK + 1]).unwrap_err().code(), "InvalidArgument");
    }
}
