//! The activation functions as the model spec names them. Applying one inside a layer (with
//! PReLU's learned slope) is [`super::activation_fn`]'s: this file imports no layer, so the
//! health measurements can name activations without a module cycle.

use crate::kernels::activation::Kind;

/// An activation function as the model spec names it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Identity,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu(f32),
    /// PReLU with its initial slope (PyTorch: 0.25); one learned slope per layer.
    Prelu(f32),
    Elu(f32),
    /// Softmax over the last axis.
    Softmax,
}

impl Activation {
    /// The name the model spec gives it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leakyRelu",
            Activation::Prelu(_) => "prelu",
            Activation::Elu(_) => "elu",
            Activation::Softmax => "softmax",
        }
    }

    /// The elementwise kernel that computes this activation: `None` for softmax (which works
    /// on rows) and PReLU (whose slope is a learned parameter, see [`super::activation_fn::ActivationFn`]).
    pub fn kernel(self) -> Option<Kind> {
        match self {
            Activation::Identity => Some(Kind::Identity),
            Activation::Sigmoid => Some(Kind::Sigmoid),
            Activation::Tanh => Some(Kind::Tanh),
            Activation::Relu => Some(Kind::Relu),
            Activation::LeakyRelu(alpha) => Some(Kind::LeakyRelu(alpha)),
            Activation::Elu(alpha) => Some(Kind::Elu(alpha)),
            Activation::Prelu(_) | Activation::Softmax => None,
        }
    }
}
