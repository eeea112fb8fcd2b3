//! The ops of the eager API. Each file holds a family: the forward function, which checks
//! its arguments, computes with the kernels and records a node on the [`Tape`], and right
//! below it the node's [`Backward`].
//!
//! [`Tape`]: super::Tape
//! [`Backward`]: super::Backward

pub mod activation;
pub mod broadcast;
pub mod elementwise;
pub mod loss;
pub mod math;
pub mod matmul;
pub mod recurrent;
pub mod reduce;
