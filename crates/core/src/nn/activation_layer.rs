//! A layer that only applies an activation (`{ type: 'activation' }` in the spec).

use super::activation::{Activation, ActivationFn};
use super::health::Signals;
use super::layer::{example_count, Layer, Mode, Param};
use crate::error::Result;
use crate::size::Count;

pub struct ActivationLayer {
    name: String,
    dims: Vec<usize>,
    function: ActivationFn,
}

impl ActivationLayer {
    pub fn new(name: String, input_dims: &[usize], activation: Activation) -> Result<ActivationLayer> {
        let function = ActivationFn::new(activation, &name)?;
        Ok(ActivationLayer { name, dims: input_dims.to_vec(), function })
    }

    fn last_axis(&self) -> usize {
        *self.dims.last().unwrap_or(&1)
    }
}

impl Layer for ActivationLayer {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "activation"
    }

    fn output_dims(&self) -> &[usize] {
        &self.dims
    }

    fn forward(&mut self, input: &[f32], _batch: usize, _mode: Mode, output: &mut [f32]) {
        self.function.forward(input, self.last_axis(), output);
    }

    fn backward(&mut self, input: &[f32], output: &[f32], grad_output: &[f32], _batch: usize, grad_input: Option<&mut [f32]>) {
        let cols = self.last_axis();
        match grad_input {
            Some(grad_input) => self.function.backward(input, output, grad_output, cols, grad_input),
            None => {
                // The slope gradient (PReLU) is still needed when the input needs none.
                let mut scratch = vec![0.0; grad_output.len()];
                self.function.backward(input, output, grad_output, cols, &mut scratch);
            }
        }
    }

    fn visit_params<'a>(&'a mut self, visit: &mut dyn FnMut(&'a mut Param)) {
        self.function.visit_params(visit);
    }

    fn signals<'a>(&'a self, input: &'a [f32], output: &'a [f32]) -> Option<Signals<'a>> {
        Some(Signals { activation: Some(self.function.activation()), pre_activation: input, output, units: self.last_axis() })
    }

    /// PReLU's scratch for the input gradient nobody asked for (see `backward`).
    fn workspace_per_example(&self) -> Count {
        if self.function.has_parameters() {
            example_count(&self.dims)
        } else {
            Count::ZERO
        }
    }
}
