//! A chain of layers with the buffers that hold every layer's output and the gradients that
//! flow back through it. Used for the model's body and for residual blocks' bodies.

use super::layer::{example_count, example_len, Buffer, Layer, Mode, Param};
use crate::size::Count;

pub struct Sequential {
    pub layers: Vec<Box<dyn Layer>>,
    input_dims: Vec<usize>,
    /// `outputs[i]`: layer i's output for the last forward pass (batch × example length).
    outputs: Vec<Vec<f32>>,
    /// Two gradient buffers used in turn as ∂L/∂output and ∂L/∂input while walking back.
    grad_upstream: Vec<f32>,
    grad_downstream: Vec<f32>,
}

impl Sequential {
    pub fn new(input_dims: Vec<usize>, layers: Vec<Box<dyn Layer>>) -> Sequential {
        let outputs = layers.iter().map(|_| Vec::new()).collect();
        Sequential { layers, input_dims, outputs, grad_upstream: Vec::new(), grad_downstream: Vec::new() }
    }

    pub fn input_dims(&self) -> &[usize] {
        &self.input_dims
    }

    /// The per-example output shape (the input shape when there are no layers).
    pub fn output_dims(&self) -> &[usize] {
        match self.layers.last() {
            Some(layer) => layer.output_dims(),
            None => &self.input_dims,
        }
    }

    /// The output of the last forward pass.
    pub fn output<'a>(&'a self, input: &'a [f32]) -> &'a [f32] {
        match self.outputs.last() {
            Some(output) => output,
            None => input,
        }
    }

    /// The values one example occupies while a batch runs through the chain: every layer's
    /// output and workspace, and the two gradient buffers (each as long as the widest
    /// output they carry back).
    pub fn values_per_example(&self) -> Count {
        let widest = self.layers.iter().map(|layer| example_count(layer.output_dims())).max().unwrap_or(Count::ZERO);
        let layers = self.layers.iter().fold(Count::ZERO, |total, layer| total.plus(example_count(layer.output_dims())).plus(layer.workspace_per_example()));
        layers.plus(widest.times(2))
    }

    /// The outputs of every layer from the last forward pass.
    pub fn layer_outputs(&self) -> &[Vec<f32>] {
        &self.outputs
    }

    /// The layers, and their outputs of the last forward pass, borrowed apart.
    pub fn layers_and_outputs(&mut self) -> (&mut [Box<dyn Layer>], &[Vec<f32>]) {
        (&mut self.layers, &self.outputs)
    }

    /// Runs every layer in turn; read the result with [`Sequential::output`].
    pub fn forward(&mut self, input: &[f32], batch: usize, mode: Mode) {
        for i in 0..self.layers.len() {
            let (before, rest) = self.outputs.split_at_mut(i);
            let layer_input: &[f32] = if i == 0 { input } else { &before[i - 1] };
            let output = &mut rest[0];
            output.resize(batch * example_len(self.layers[i].output_dims()), 0.0);
            self.layers[i].forward(layer_input, batch, mode, output);
        }
    }

    /// Walks the chain backwards from `grad_output` = ∂L/∂output, accumulating parameter
    /// gradients and writing ∂L/∂input into `grad_input` when given.
    pub fn backward(&mut self, input: &[f32], grad_output: &[f32], batch: usize, grad_input: Option<&mut [f32]>) {
        let count = self.layers.len();
        if count == 0 {
            if let Some(grad_input) = grad_input {
                grad_input.copy_from_slice(grad_output);
            }
            return;
        }
        let mut grad_input = grad_input;
        let mut upstream = std::mem::take(&mut self.grad_upstream);
        let mut downstream = std::mem::take(&mut self.grad_downstream);
        for i in (0..count).rev() {
            let layer_input: &[f32] = if i == 0 { input } else { &self.outputs[i - 1] };
            let layer_output = &self.outputs[i];
            let layer_grad_output: &[f32] = if i + 1 == count { grad_output } else { &upstream };
            if i == 0 {
                self.layers[0].backward(layer_input, layer_output, layer_grad_output, batch, grad_input.take());
            } else {
                downstream.resize(layer_input.len(), 0.0);
                self.layers[i].backward(layer_input, layer_output, layer_grad_output, batch, Some(&mut downstream));
                std::mem::swap(&mut upstream, &mut downstream);
            }
        }
        self.grad_upstream = upstream;
        self.grad_downstream = downstream;
    }

    pub fn visit_params<'a>(&'a mut self, visit: &mut dyn FnMut(&'a mut Param)) {
        for layer in self.layers.iter_mut() {
            layer.visit_params(visit);
        }
    }

    /// Every trainable parameter, in state-dict order: the optimiser's slots.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut params = Vec::new();
        self.visit_params(&mut |p| params.push(p));
        params
    }

    pub fn visit_buffers(&mut self, visit: &mut dyn FnMut(&mut Buffer)) {
        for layer in self.layers.iter_mut() {
            layer.visit_buffers(visit);
        }
    }
}
