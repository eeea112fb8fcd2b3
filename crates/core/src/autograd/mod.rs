//! Reverse-mode automatic differentiation for the eager tensor API.
//!
//! - [`tape`]: [`Tape`] owns the tensors by id and records a node per op whose inputs need
//!   gradients; [`Tape::backward`] walks the nodes in reverse.
//! - [`ops`]: each op's forward and its [`Backward`] side by side, one file per concern.
//!
//! ```
//! use gradlab_core::autograd::{ops, Tape};
//! use gradlab_core::tensor::Tensor;
//! let mut tape = Tape::new();
//! let x = tape.leaf(Tensor::new(vec![2], vec![1.0, 2.0]).unwrap(), true).unwrap();
//! let y = ops::math::pointwise(&mut tape, ops::math::MathKind::Square, x).unwrap();
//! let loss = ops::reduce::reduce(&mut tape, ops::reduce::ReduceKind::Sum, y, None, false).unwrap();
//! tape.backward(loss).unwrap();
//! assert_eq!(tape.grad("doc", "x", x).unwrap().unwrap().data(), &[2.0, 4.0]);
//! ```

pub mod ops;
pub mod tape;

#[cfg(test)]
mod gradcheck;

pub use tape::{Tape, TensorId};

use crate::error::Result;
use crate::tensor::Tensor;

/// The backward half of an op: what it saved in its forward pass and how to turn the
/// gradient of its output into gradients of its inputs.
pub trait Backward {
    /// Given `grad` = ∂loss/∂output (shaped like the output), returns ∂loss/∂input for each
    /// input, in order: `Some` where `needed[i]`, `None` elsewhere (skipped, not computed).
    fn backward(&self, grad: &Tensor, needed: &[bool]) -> Result<Vec<Option<Tensor>>>;
}
