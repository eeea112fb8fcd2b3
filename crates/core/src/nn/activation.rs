//! Activations as parts of layers: the elementwise kernels plus softmax (per example row) and
//! PReLU, whose slope is a learned parameter.

use super::layer::{Param, Role};
use crate::error::Result;
use crate::kernels::activation::{self as kernel, Kind};
use crate::size::Count;

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
    pub fn new(activation: Activation, layer_name: &str) -> Result<ActivationFn> {
        let slope = match activation {
            Activation::Prelu(initial) => Some(Param::new(format!("{}.alpha", layer_name), vec![1], Role::Slope, vec![initial])?),
            _ => None,
        };
        Ok(ActivationFn { activation, slope })
    }

    /// The parameter values `activation` owns: PReLU's one slope.
    pub fn parameter_count(activation: Activation) -> Count {
        Count::of(usize::from(matches!(activation, Activation::Prelu(_))))
    }

    pub fn has_parameters(&self) -> bool {
        self.slope.is_some()
    }

    pub fn activation(&self) -> Activation {
        self.activation
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

    /// `dx = dy · f'(x)`; for PReLU also adds `Σ dy · x` over `x ≤ 0` to the slope's gradient.
    pub fn backward(&mut self, x: &[f32], y: &[f32], dy: &[f32], cols: usize, dx: &mut [f32]) {
        match self.elementwise_kind() {
            Some(kind) => kernel::backward(kind, x, y, dy, dx),
            None => kernel::softmax_backward(y, dy, cols, dx),
        }
        if let Some(slope) = self.slope.as_mut() {
            let mut total = 0.0f64;
            for (&xv, &g) in x.iter().zip(dy) {
                // `!(x > 0)`, as PyTorch's PReLU backward: a NaN input reaches the slope's
                // gradient (and the guard) instead of being skipped.
                if !(xv > 0.0) {
                    total += (g as f64) * (xv as f64);
                }
            }
            slope.grad[0] += total as f32;
        }
    }

    pub fn visit_params<'a>(&'a mut self, visit: &mut dyn FnMut(&'a mut Param)) {
        if let Some(slope) = self.slope.as_mut() {
            visit(slope);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch 1.13: `x = [nan, -1, 0, 2]`, `F.prelu(x, w=[0.25]).backward(ones)` gives
    /// `x.grad = [0.25, 0.25, 0.25, 1]` and `w.grad = [nan]`; without the NaN, `w.grad = [-1]`.
    #[test]
    fn prelu_backward_lets_nan_reach_the_slope_as_pytorch_does() {
        let mut prelu = ActivationFn::new(Activation::Prelu(0.25), "0").unwrap();
        let x = [f32::NAN, -1.0, 0.0, 2.0];
        let mut y = [0.0; 4];
        prelu.forward(&x, 4, &mut y);
        assert!(y[0].is_nan() && y[1..] == [-0.25, 0.0, 2.0]);
        let mut dx = [0.0; 4];
        prelu.backward(&x, &y, &[1.0; 4], 4, &mut dx);
        assert_eq!(dx, [0.25, 0.25, 0.25, 1.0]);
        let mut slope_grad = Vec::new();
        prelu.visit_params(&mut |p| slope_grad = p.grad.clone());
        assert!(slope_grad[0].is_nan());

        let mut prelu = ActivationFn::new(Activation::Prelu(0.25), "0").unwrap();
        prelu.backward(&x[1..], &y[1..], &[1.0; 3], 3, &mut dx[..3]);
        prelu.visit_params(&mut |p| slope_grad = p.grad.clone());
        assert_eq!(slope_grad, vec![-1.0]);
        assert_eq!(ActivationFn::parameter_count(Activation::Prelu(0.25)).get(), 1);
        assert_eq!(ActivationFn::parameter_count(Activation::LeakyRelu(0.25)).get(), 0);
    }

    /// PyTorch: `F.leaky_relu(x, 0.01)` at NaN is NaN with gradient 0.01; `torch.relu` keeps
    /// NaN with gradient 1.
    #[test]
    fn leaky_relu_and_relu_propagate_nan_with_pytorch_gradients() {
        for (activation, slope) in [(Activation::LeakyRelu(0.01), 0.01), (Activation::Relu, 1.0)] {
            let mut function = ActivationFn::new(activation, "0").unwrap();
            let mut y = [0.0; 1];
            function.forward(&[f32::NAN], 1, &mut y);
            assert!(y[0].is_nan(), "{:?}", activation);
            let mut dx = [0.0; 1];
            function.backward(&[f32::NAN], &y, &[1.0], 1, &mut dx);
            assert_eq!(dx, [slope], "{:?}", activation);
        }
    }
}
