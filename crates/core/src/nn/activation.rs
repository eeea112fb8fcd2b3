//! Activations as parts of layers: the elementwise kernels plus softmax (per example row) and
//! PReLU, whose slope is a learned parameter.

use super::layer::{Param, Role};
use crate::kernels::activation::{self as kernel, Kind};

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
    /// The elementwise kernel that computes this activation: `None` for softmax (which works
    /// on rows) and PReLU (whose slope is a learned parameter, see [`ActivationFn`]).
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

/// An activation applied inside a layer. Owns PReLU's slope parameter `<layer>.alpha`.
pub struct ActivationFn {
    activation: Activation,
    slope: Option<Param>,
}

impl ActivationFn {
    pub fn new(activation: Activation, layer_name: &str) -> ActivationFn {
        let slope = match activation {
            Activation::Prelu(initial) => {
                Some(Param::new(format!("{}.alpha", layer_name), vec![1], Role::Slope, vec![initial]))
            }
            _ => None,
        };
        ActivationFn { activation, slope }
    }

    pub fn is_identity(&self) -> bool {
        self.activation == Activation::Identity
    }

    fn elementwise_kind(&self) -> Option<Kind> {
        match self.activation {
            Activation::Prelu(_) => self.slope.as_ref().map(|p| Kind::LeakyRelu(p.value[0])),
            other => other.kernel(),
        }
    }

    /// `y = f(x)`; `cols` is the length of the last axis (softmax's rows).
    pub fn forward(&self, x: &[f32], cols: usize, y: &mut [f32]) {
        match self.elementwise_kind() {
            Some(kind) => kernel::forward(kind, x, y),
            None => kernel::softmax_forward(x, cols, y),
        }
    }

    /// `dx = dy · f'(x)`; for PReLU also adds `Σ dy · min(x, 0)` to the slope's gradient.
    pub fn backward(&mut self, x: &[f32], y: &[f32], dy: &[f32], cols: usize, dx: &mut [f32]) {
        match self.elementwise_kind() {
            Some(kind) => kernel::backward(kind, x, y, dy, dx),
            None => kernel::softmax_backward(y, dy, cols, dx),
        }
        if let Some(slope) = self.slope.as_mut() {
            let mut total = 0.0f64;
            for (&xv, &g) in x.iter().zip(dy) {
                if xv < 0.0 {
                    total += (g as f64) * (xv as f64);
                }
            }
            slope.grad[0] += total as f32;
        }
    }

    pub fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param)) {
        if let Some(slope) = self.slope.as_mut() {
            visit(slope);
        }
    }
}
