//! Recurrent layers (`rnn`, `lstm`) over batch-first sequences, trained by backpropagation
//! through time (BPTT), optionally truncated.
//!
//! Per example the input is [T, I] and the output [H] (the last step's hidden state) or
//! [T, H] (every step's, `return_sequences`), from the zero state h₋₁ = c₋₁ = 0. The
//! recurrence itself, forward and backward, and how its work is laid out, is
//! [`crate::recurrence`] (shared with the eager ops); this file is the layer: its parameters
//! and their initialisation.
//!
//! Parameters follow PyTorch's `nn.RNN` / `nn.LSTM`: `weight_ih` [G, I], `weight_hh` [G, H],
//! `bias_ih` [G], `bias_hh` [G] (G = H for the RNN, 4H for the LSTM), all drawn from
//! U(−1/√H, 1/√H).

use super::activation::Activation;
use super::health::Signals;
use super::init::uniform_values;
use super::layer::{Layer, Mode, Param, Role};
use crate::error::Result;
use crate::recurrence::{CellKind, InitialState, InputGradients, Scratch, Trace, Unroll, Upstream, WeightGradients, Weights};
use crate::rng::Rng;
use crate::size::{self, Count};

/// What a recurrent layer is, beyond its name and input shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecurrentOptions {
    pub cell: CellKind,
    /// H, the size of the hidden state.
    pub units: usize,
    /// Output every step's hidden state ([T, H]) instead of the last one ([H]).
    pub return_sequences: bool,
    /// Added to the forget gate's slice of `bias_ih` at initialisation (LSTM; 0 = PyTorch).
    pub forget_bias: f32,
    /// Truncated BPTT: `Some(k)` sends gradients back through only the last k time steps
    /// (see [`Recurrent`]); `None` is full BPTT.
    pub bptt_steps: Option<usize>,
}

/// An `rnn` or `lstm` layer.
///
/// **Truncated BPTT.** With `bptt_steps = Some(k)` and k < T, the backward pass covers only the
/// last k steps, t ∈ [T−k, T): it computes the exact gradient of the loss as if the first T−k
/// steps were constants (run under `torch.no_grad()`, the state h_{T−k−1}, c_{T−k−1} entering
/// the window detached). So ∂L/∂h_{T−k−1} is not propagated, the parameters get nothing from
/// steps before the window, and for t < T−k both ∂L/∂x_t and the reported ‖∂L/∂h_t‖ are 0;
/// with `return_sequences`, the gradient reaching outputs before the window is ignored.
/// With k ≥ T it is full BPTT.
pub struct Recurrent {
    name: String,
    unroll: Unroll,
    return_sequences: bool,
    bptt_steps: Option<usize>,
    output_dims: Vec<usize>,
    weight_ih: Param,
    weight_hh: Param,
    bias_ih: Param,
    bias_hh: Param,
    trace: Trace,
    scratch: Scratch,
    /// ‖∂L/∂h_t‖ over the batch for every step of the last backward pass: [T].
    time_grad_norms: Vec<f32>,
}

impl Recurrent {
    /// `input_dims` = [T, I] (the builder checks the rank); parameters drawn from `rng` in
    /// PyTorch's order weight_ih, weight_hh, bias_ih, bias_hh.
    pub fn new(name: String, input_dims: &[usize], options: RecurrentOptions, rng: &mut Rng) -> Result<Recurrent> {
        let (steps, input_features) = (input_dims[0], input_dims[1]);
        let RecurrentOptions { cell, units, return_sequences, forget_bias, bptt_steps } = options;
        let gates = cell.gates_per_unit() * units;
        let bound = 1.0 / (units as f32).sqrt();
        let param = |suffix: &str, shape: Vec<usize>, role: Role, rng: &mut Rng| {
            let name = format!("{}.{}", name, suffix);
            let len = Count::product(&shape).at_most("createModel", &name, usize::MAX)?;
            Param::new(name, shape, role, uniform_values(rng, len, bound)?)
        };
        let weight_ih = param("weight_ih", vec![gates, input_features], Role::Weight, rng)?;
        let weight_hh = param("weight_hh", vec![gates, units], Role::Weight, rng)?;
        let mut bias_ih = param("bias_ih", vec![gates], Role::Bias, rng)?;
        let bias_hh = param("bias_hh", vec![gates], Role::Bias, rng)?;
        if cell == CellKind::Lstm {
            // A positive forget bias starts f near 1: remember by default (Jozefowicz et al. 2015).
            bias_ih.value[units..2 * units].iter_mut().for_each(|b| *b += forget_bias);
        }
        let output_dims = if return_sequences { vec![steps, units] } else { vec![units] };
        let time_grad_norms = size::zeros("createModel", &name, steps)?;
        let unroll = Unroll { cell, steps, input_features, units };
        let scratch = Scratch::new("createModel", unroll)?;
        Ok(Recurrent {
            name,
            unroll,
            return_sequences,
            bptt_steps,
            output_dims,
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
            trace: Trace::default(),
            scratch,
            time_grad_norms,
        })
    }

    /// The first time step the backward pass reaches.
    fn window_start(&self) -> usize {
        match self.bptt_steps {
            Some(k) => self.unroll.steps.saturating_sub(k),
            None => 0,
        }
    }
}

impl Layer for Recurrent {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        self.unroll.cell.kind()
    }

    fn output_dims(&self) -> &[usize] {
        &self.output_dims
    }

    fn forward(&mut self, input: &[f32], batch: usize, _mode: Mode, output: &mut [f32]) {
        let weights = Weights { weight_ih: &self.weight_ih.value, weight_hh: &self.weight_hh.value, bias_ih: &self.bias_ih.value, bias_hh: &self.bias_hh.value };
        self.unroll.forward(&weights, input, batch, InitialState::default(), &mut self.trace, &mut self.scratch);
        if self.return_sequences {
            output.copy_from_slice(self.trace.hidden());
        } else {
            self.unroll.last_step(self.trace.hidden(), output);
        }
    }

    fn backward(&mut self, input: &[f32], _output: &[f32], grad_output: &[f32], batch: usize, grad_input: Option<&mut [f32]>) {
        let start = self.window_start();
        let upstream = if self.return_sequences { Upstream { sequence: Some(grad_output), ..Upstream::default() } } else { Upstream { last_hidden: Some(grad_output), ..Upstream::default() } };
        let weights = Weights { weight_ih: &self.weight_ih.value, weight_hh: &self.weight_hh.value, bias_ih: &self.bias_ih.value, bias_hh: &self.bias_hh.value };
        let params = WeightGradients {
            weight_ih: Some(&mut self.weight_ih.grad),
            weight_hh: Some(&mut self.weight_hh.grad),
            bias_ih: Some(&mut self.bias_ih.grad),
            bias_hh: Some(&mut self.bias_hh.grad),
        };
        let outputs = InputGradients { input: grad_input, time_norms: Some(&mut self.time_grad_norms), ..InputGradients::default() };
        self.unroll.backward(&weights, input, batch, InitialState::default(), &self.trace, upstream, start, &mut self.scratch, params, outputs);
    }

    fn visit_params<'a>(&'a mut self, visit: &mut dyn FnMut(&'a mut Param)) {
        visit(&mut self.weight_ih);
        visit(&mut self.weight_hh);
        visit(&mut self.bias_ih);
        visit(&mut self.bias_hh);
    }

    /// Every step's z_t and h_t; an RNN's h_t = tanh(z_t), an LSTM's mixes its gates.
    fn signals<'a>(&'a self, _input: &'a [f32], _output: &'a [f32]) -> Option<Signals<'a>> {
        let activation = match self.unroll.cell {
            CellKind::Rnn => Some(Activation::Tanh),
            CellKind::Lstm => None,
        };
        Some(Signals { activation, pre_activation: self.trace.pre_activations(), output: self.trace.hidden(), units: self.unroll.units })
    }

    fn time_grad_norms(&self) -> Option<&[f32]> {
        Some(&self.time_grad_norms)
    }

    fn workspace_per_example(&self) -> Count {
        self.unroll.cell.workspace_per_example(self.unroll.steps, self.unroll.units)
    }
}
