//! gradlab-core: the numerics of gradlab with no dependencies.
//!
//! - [`kernels`]: SIMD128 hot loops with scalar twins (sgemm, elementwise, activations).
//! - [`loss`]: the three losses' values and gradients, and the rule on their targets.
//! - [`recurrence`]: the rnn/lstm recurrence through time, forward and backward.
//! - [`tensor`] and [`autograd`]: f32 tensors and the reverse-mode tape of the eager API.
//! - [`nn`]: layers, the model's loss, optimisers, clipping, regularisation and whole
//!   training steps.
//! - [`pretrain`]: restricted Boltzmann machines (CD-k) for greedy layer-wise pretraining.
//! - [`tasks`]: seeded long-range sequence tasks (the adding problem, remember the first symbol).
//! - [`error`]: the one error type every fallible path returns.
//! - [`size`]: checked size arithmetic and fallible allocation for sizes from outside.
//! - [`limits`]: what one model and one batch may ask of a WebAssembly instance.
//!
//! Lower modules never use higher ones: kernels ← loss, recurrence, tensor ← autograd, nn
//! (`tests/module_layers.rs` keeps it so).

pub mod autograd;
pub mod error;
pub mod kernels;
pub mod limits;
pub mod loss;
pub mod nn;
pub mod pretrain;
pub mod recurrence;
pub mod rng;
pub mod size;
pub mod tasks;
pub mod tensor;

pub use error::{Error, Result};
