//! Fully connected layer `y = f(x·Wᵀ + b)` with PyTorch's layout: weight [out, in], bias [out].
//! On sequence inputs [time, in] it applies to every time step.

use super::activation::{Activation, ActivationFn};
use super::health::Signals;
use super::init::{self, Init};
use super::layer::{example_count, Layer, Mode, Param, Role};
use crate::error::Result;
use crate::kernels::{sgemm, vector};
use crate::rng::Rng;
use crate::size::Count;

pub struct Dense {
    name: String,
    in_features: usize,
    out_features: usize,
    output_dims: Vec<usize>,
    weight: Param,
    bias: Option<Param>,
    activation: ActivationFn,
    /// `x·Wᵀ + b` of the last forward pass (kept only when the activation is not identity).
    pre_activation: Vec<f32>,
    /// ∂L/∂(pre-activation), scratch for backward.
    grad_pre_activation: Vec<f32>,
}

impl Dense {
    /// The parameter values of a dense layer of `units` on inputs whose last axis is
    /// `in_features`: W, b when `bias`, and the activation's (PReLU's slope).
    pub fn parameter_count(in_features: usize, units: usize, bias: bool, activation: Activation) -> Count {
        let biases = if bias { Count::of(units) } else { Count::ZERO };
        Count::product(&[units, in_features]).plus(biases).plus(ActivationFn::parameter_count(activation))
    }

    /// `input_dims` is the per-example input shape; the last axis is the feature axis.
    pub fn new(name: String, input_dims: &[usize], units: usize, activation: Activation, initializer: Init, bias: bool, rng: &mut Rng) -> Result<Dense> {
        let in_features = *input_dims.last().unwrap_or(&1);
        let mut output_dims = input_dims.to_vec();
        if let Some(last) = output_dims.last_mut() {
            *last = units;
        }
        let (weight_values, bias_values) = init::dense(initializer, in_features, units, rng)?;
        let weight = Param::new(format!("{}.weight", name), vec![units, in_features], Role::Weight, weight_values)?;
        let bias = if bias { Some(Param::new(format!("{}.bias", name), vec![units], Role::Bias, bias_values)?) } else { None };
        let activation = ActivationFn::new(activation, &name)?;
        Ok(Dense {
            name,
            in_features,
            out_features: units,
            output_dims,
            weight,
            bias,
            activation,
            pre_activation: Vec::new(),
            grad_pre_activation: Vec::new(),
        })
    }

    fn rows(&self, input: &[f32]) -> usize {
        input.len() / self.in_features.max(1)
    }

    fn affine(&self, input: &[f32], rows: usize, z: &mut [f32]) {
        let (n, k) = (self.out_features, self.in_features);
        sgemm(false, true, rows, n, k, 1.0, input, k, &self.weight.value, k, 0.0, z, n);
        if let Some(bias) = &self.bias {
            vector::add_row(z, &bias.value);
        }
    }
}

impl Layer for Dense {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "dense"
    }

    fn output_dims(&self) -> &[usize] {
        &self.output_dims
    }

    fn forward(&mut self, input: &[f32], _batch: usize, _mode: Mode, output: &mut [f32]) {
        let rows = self.rows(input);
        if self.activation.is_identity() {
            self.affine(input, rows, output);
            return;
        }
        let mut z = std::mem::take(&mut self.pre_activation);
        z.resize(output.len(), 0.0);
        self.affine(input, rows, &mut z);
        self.activation.forward(&z, self.out_features, output);
        self.pre_activation = z;
    }

    fn backward(&mut self, input: &[f32], output: &[f32], grad_output: &[f32], _batch: usize, grad_input: Option<&mut [f32]>) {
        let rows = self.rows(input);
        let (n, k) = (self.out_features, self.in_features);
        let mut grad_z = std::mem::take(&mut self.grad_pre_activation);
        let dz: &[f32] = if self.activation.is_identity() {
            grad_output
        } else {
            grad_z.resize(grad_output.len(), 0.0);
            self.activation.backward(&self.pre_activation, output, grad_output, n, &mut grad_z);
            &grad_z
        };
        // ∂L/∂W += dzᵀ · x  ([n, rows] · [rows, k])
        sgemm(true, false, n, k, rows, 1.0, dz, n, input, k, 1.0, &mut self.weight.grad, k);
        if let Some(bias) = self.bias.as_mut() {
            vector::accumulate_column_sums(dz, &mut bias.grad);
        }
        if let Some(grad_input) = grad_input {
            // ∂L/∂x = dz · W  ([rows, n] · [n, k])
            sgemm(false, false, rows, k, n, 1.0, dz, n, &self.weight.value, k, 0.0, grad_input, k);
        }
        self.grad_pre_activation = grad_z;
    }

    fn visit_params<'a>(&'a mut self, visit: &mut dyn FnMut(&'a mut Param)) {
        visit(&mut self.weight);
        if let Some(bias) = self.bias.as_mut() {
            visit(bias);
        }
        self.activation.visit_params(visit);
    }

    fn signals<'a>(&'a self, _input: &'a [f32], output: &'a [f32]) -> Option<Signals<'a>> {
        let pre_activation = if self.activation.is_identity() { output } else { &self.pre_activation };
        Some(Signals { activation: Some(self.activation.activation()), pre_activation, output, units: self.out_features })
    }

    /// The pre-activations and their gradient, kept unless the activation is the identity.
    fn workspace_per_example(&self) -> Count {
        if self.activation.is_identity() {
            Count::ZERO
        } else {
            example_count(&self.output_dims).times(2)
        }
    }
}
