//! Networks: layers, losses, initialisers, optimisers, clipping, regularisation, and the
//! model that runs whole training steps.

pub mod activation;
pub mod activation_layer;
pub mod batchnorm;
pub mod build;
pub mod dense;
pub mod health;
pub mod init;
pub mod layer;
pub mod loss;
pub mod model;
pub mod optimizer;
pub mod recurrent;
pub mod regularization;
pub mod residual;
pub mod sequential;
pub mod spec;

pub use activation::Activation;
pub use build::LayerConfig;
pub use init::Init;
pub use layer::{Layer, Mode, Param, Role};
pub use loss::{Loss, Target};
pub use model::{LayerStats, LossReport, Model, ModelConfig, StateEntry, StepReport};
pub use optimizer::{Method, Optimizer, Schedule};
pub use regularization::{Clip, Penalty};
