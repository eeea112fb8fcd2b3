//! A residual block `y = x + f(x)`: the identity shortcut carries the gradient past f
//! unchanged, which is what keeps deep nets trainable.

use super::layer::{example_count, Buffer, Layer, Mode, Param};
use super::sequential::Sequential;
use crate::kernels::vector;
use crate::size::Count;

pub struct Residual {
    name: String,
    body: Sequential,
    /// ∂L/∂x through f, before the shortcut's gradient is added.
    grad_through_body: Vec<f32>,
}

impl Residual {
    /// `body` must keep the per-example shape (checked by the model builder).
    pub fn new(name: String, body: Sequential) -> Residual {
        Residual { name, body, grad_through_body: Vec::new() }
    }
}

impl Layer for Residual {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "residual"
    }

    fn output_dims(&self) -> &[usize] {
        self.body.input_dims()
    }

    fn forward(&mut self, input: &[f32], batch: usize, mode: Mode, output: &mut [f32]) {
        self.body.forward(input, batch, mode);
        vector::add(input, self.body.output(input), output);
    }

    fn backward(&mut self, input: &[f32], _output: &[f32], grad_output: &[f32], batch: usize, grad_input: Option<&mut [f32]>) {
        match grad_input {
            Some(grad_input) => {
                let mut through_body = std::mem::take(&mut self.grad_through_body);
                through_body.resize(input.len(), 0.0);
                self.body.backward(input, grad_output, batch, Some(&mut through_body));
                vector::add(grad_output, &through_body, grad_input);
                self.grad_through_body = through_body;
            }
            None => self.body.backward(input, grad_output, batch, None),
        }
    }

    fn visit_params<'a>(&'a mut self, visit: &mut dyn FnMut(&'a mut Param)) {
        self.body.visit_params(visit);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&mut Buffer)) {
        self.body.visit_buffers(visit);
    }

    /// Everything the body keeps (its layers' outputs, workspaces and gradient buffers) and
    /// ∂L/∂x through it, so a batch's memory bound covers nested layers too.
    fn workspace_per_example(&self) -> Count {
        self.body.values_per_example().plus(example_count(self.body.input_dims()))
    }

    fn sublayers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.body.layers
    }

    fn body_mut(&mut self) -> Option<&mut Sequential> {
        Some(&mut self.body)
    }
}
