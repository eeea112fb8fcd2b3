//! Recurrent layers (`rnn`, `lstm`) over batch-first sequences, trained by backpropagation
//! through time (BPTT), optionally truncated.
//!
//! Per example the input is [T, I] and the output [H] (the last step's hidden state) or
//! [T, H] (every step's, `return_sequences`). For t = 0…T−1, from the zero state h₋₁ = c₋₁ = 0:
//!
//! ```text
//! z_t = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh      z_t: [G], G = H (rnn) or 4H (lstm)
//! h_t (and c_t) = cell(z_t, c_{t−1})                  rnn_cell.rs / lstm_cell.rs
//! ```
//!
//! Parameters follow PyTorch's `nn.RNN` / `nn.LSTM`: `weight_ih` [G, I], `weight_hh` [G, H],
//! `bias_ih` [G], `bias_hh` [G], all drawn from U(−1/√H, 1/√H).
//!
//! How the work is laid out: the input projections of all steps are one sgemm
//! ([B·T, I]·W_ihᵀ); each step then adds its recurrent term with one [B, H]·[H, G] sgemm for
//! all G = 4H gates at once. Backward runs one [B, G]·[G, H] sgemm per step for ∂L/∂h_{t−1};
//! the weight gradients wait until every step's ∂L/∂z_t is known and take a few large sgemms.
//! Every buffer is batch-major ([B, T, ·]: row b·T + t), the layout of the input and of the
//! returned sequence, so nothing is transposed: one step's rows lie T rows apart, which
//! sgemm's leading dimensions express. Buffers grow on the first batch and are reused.

use super::init::uniform_values;
use super::layer::{Layer, Mode, Param, Role};
use super::{lstm_cell, rnn_cell};
use crate::kernels::{sgemm, vector};
use crate::rng::Rng;

/// Which recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// Elman RNN: h_t = tanh(z_t).
    Rnn,
    /// LSTM with gates i, f, g, o.
    Lstm,
}

impl CellKind {
    /// Pre-activations per unit: 1 for the RNN, the 4 gates for the LSTM.
    pub fn gates_per_unit(self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Lstm => 4,
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Lstm => "lstm",
        }
    }

    /// Values one example keeps between forward and backward, over `steps` steps of `units`:
    /// pre-activations and their gradients (2G per step), the hidden state, and for the
    /// LSTM the gates, cell state and tanh(c) (G + 2H).
    pub fn workspace_per_example(self, steps: usize, units: usize) -> usize {
        let gates = self.gates_per_unit() * units;
        let per_step = match self {
            CellKind::Rnn => 2 * gates + units,
            CellKind::Lstm => 3 * gates + 3 * units,
        };
        steps.saturating_mul(per_step)
    }
}

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

/// Values saved by the forward pass for backward, all batch-major.
#[derive(Default)]
struct Trace {
    /// z_t for every step: [B, T, G].
    pre: Vec<f32>,
    /// LSTM gate activations (i, f, g, o): [B, T, G]; empty for the RNN.
    gates: Vec<f32>,
    /// LSTM cell states c_t: [B, T, H].
    cells: Vec<f32>,
    /// LSTM tanh(c_t): [B, T, H].
    cell_tanh: Vec<f32>,
    /// Hidden states h_t: [B, T, H].
    hidden: Vec<f32>,
}

/// Scratch of the backward pass.
#[derive(Default)]
struct Gradients {
    /// ∂L/∂z_t for every step: [B, T, G].
    pre: Vec<f32>,
    /// ∂L/∂h_t of the step being processed: [B, H].
    hidden: Vec<f32>,
    /// LSTM ∂L/∂c_t of the step being processed: [B, H].
    cell: Vec<f32>,
    /// LSTM ∂L/∂(i, f, g, o) of one example: [G].
    gates: Vec<f32>,
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
    cell: CellKind,
    steps: usize,
    input_features: usize,
    units: usize,
    return_sequences: bool,
    bptt_steps: Option<usize>,
    output_dims: Vec<usize>,
    weight_ih: Param,
    weight_hh: Param,
    bias_ih: Param,
    bias_hh: Param,
    /// b_ih + b_hh, added to every step's projection at once.
    bias_sum: Vec<f32>,
    trace: Trace,
    grads: Gradients,
    /// ‖∂L/∂h_t‖ over the batch for every step of the last backward pass: [T].
    time_grad_norms: Vec<f32>,
}

impl Recurrent {
    /// `input_dims` = [T, I] (the builder checks the rank); parameters drawn from `rng` in
    /// PyTorch's order weight_ih, weight_hh, bias_ih, bias_hh.
    pub fn new(name: String, input_dims: &[usize], options: RecurrentOptions, rng: &mut Rng) -> Recurrent {
        let (steps, input_features) = (input_dims[0], input_dims[1]);
        let RecurrentOptions { cell, units, return_sequences, forget_bias, bptt_steps } = options;
        let gates = cell.gates_per_unit() * units;
        let bound = 1.0 / (units as f32).sqrt();
        let param = |suffix: &str, shape: Vec<usize>, role: Role, rng: &mut Rng| {
            let values = uniform_values(rng, shape.iter().product(), bound);
            Param::new(format!("{}.{}", name, suffix), shape, role, values)
        };
        let weight_ih = param("weight_ih", vec![gates, input_features], Role::Weight, rng);
        let weight_hh = param("weight_hh", vec![gates, units], Role::Weight, rng);
        let mut bias_ih = param("bias_ih", vec![gates], Role::Bias, rng);
        let bias_hh = param("bias_hh", vec![gates], Role::Bias, rng);
        if cell == CellKind::Lstm {
            // A positive forget bias starts f near 1: remember by default (Jozefowicz et al. 2015).
            bias_ih.value[units..2 * units].iter_mut().for_each(|b| *b += forget_bias);
        }
        let output_dims = if return_sequences { vec![steps, units] } else { vec![units] };
        Recurrent {
            name,
            cell,
            steps,
            input_features,
            units,
            return_sequences,
            bptt_steps,
            output_dims,
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
            bias_sum: vec![0.0; gates],
            trace: Trace::default(),
            grads: Gradients::default(),
            time_grad_norms: vec![0.0; steps],
        }
    }

    fn gate_width(&self) -> usize {
        self.cell.gates_per_unit() * self.units
    }

    /// The first time step the backward pass reaches.
    fn window_start(&self) -> usize {
        match self.bptt_steps {
            Some(k) => self.steps.saturating_sub(k),
            None => 0,
        }
    }

    fn grow_trace(&mut self, batch: usize) {
        let (rows, gates, units) = (batch * self.steps, self.gate_width(), self.units);
        let trace = &mut self.trace;
        trace.pre.resize(rows * gates, 0.0);
        trace.hidden.resize(rows * units, 0.0);
        if self.cell == CellKind::Lstm {
            trace.gates.resize(rows * gates, 0.0);
            trace.cells.resize(rows * units, 0.0);
            trace.cell_tanh.resize(rows * units, 0.0);
        }
    }

    fn grow_gradients(&mut self, batch: usize) {
        let (rows, gates, units) = (batch * self.steps, self.gate_width(), self.units);
        let grads = &mut self.grads;
        grads.pre.resize(rows * gates, 0.0);
        grads.hidden.resize(batch * units, 0.0);
        grads.hidden.iter_mut().for_each(|v| *v = 0.0);
        if self.cell == CellKind::Lstm {
            grads.cell.resize(batch * units, 0.0);
            grads.cell.iter_mut().for_each(|v| *v = 0.0);
            grads.gates.resize(gates, 0.0);
        }
    }

    /// Runs the cell of step `t` for every example, from the pre-activations in `trace.pre`.
    fn cell_forward(&mut self, t: usize, batch: usize) {
        let (steps, gates, units) = (self.steps, self.gate_width(), self.units);
        let trace = &mut self.trace;
        for b in 0..batch {
            let row = b * steps + t;
            let pre = &trace.pre[row * gates..(row + 1) * gates];
            let hidden = &mut trace.hidden[row * units..(row + 1) * units];
            match self.cell {
                CellKind::Rnn => rnn_cell::forward(pre, hidden),
                CellKind::Lstm => {
                    let (earlier, current) = trace.cells.split_at_mut(row * units);
                    let cell_prev = if t > 0 { Some(&earlier[(row - 1) * units..]) } else { None };
                    let gate_values = &mut trace.gates[row * gates..(row + 1) * gates];
                    let cell_tanh = &mut trace.cell_tanh[row * units..(row + 1) * units];
                    lstm_cell::forward(pre, gate_values, cell_prev, &mut current[..units], cell_tanh, hidden);
                }
            }
        }
    }

    /// Runs the cell of step `t` backwards for every example: ∂L/∂h_t (and ∂L/∂c_t) in
    /// `grads` → ∂L/∂z_t into `grads.pre` (and ∂L/∂c_{t−1} into `grads.cell`).
    fn cell_backward(&mut self, t: usize, batch: usize) {
        let (steps, gates, units) = (self.steps, self.gate_width(), self.units);
        let (trace, grads) = (&self.trace, &mut self.grads);
        for b in 0..batch {
            let row = b * steps + t;
            let grad_hidden = &grads.hidden[b * units..(b + 1) * units];
            let grad_pre = &mut grads.pre[row * gates..(row + 1) * gates];
            match self.cell {
                CellKind::Rnn => rnn_cell::backward(&trace.hidden[row * units..(row + 1) * units], grad_hidden, grad_pre),
                CellKind::Lstm => {
                    let cell_prev = if t > 0 { Some(&trace.cells[(row - 1) * units..row * units]) } else { None };
                    lstm_cell::backward(
                        &trace.gates[row * gates..(row + 1) * gates],
                        cell_prev,
                        &trace.cell_tanh[row * units..(row + 1) * units],
                        grad_hidden,
                        &mut grads.cell[b * units..(b + 1) * units],
                        grad_pre,
                        &mut grads.gates,
                    );
                }
            }
        }
    }

    /// Adds to `grads.hidden` what the layer's output sends back to h_t.
    fn add_output_gradient(&mut self, grad_output: &[f32], t: usize, batch: usize) {
        let (steps, units) = (self.steps, self.units);
        for b in 0..batch {
            let from = if self.return_sequences {
                (b * steps + t) * units
            } else if t + 1 == steps {
                b * units
            } else {
                return;
            };
            let target = &mut self.grads.hidden[b * units..(b + 1) * units];
            for (g, &d) in target.iter_mut().zip(&grad_output[from..from + units]) {
                *g += d;
            }
        }
    }
}

impl Layer for Recurrent {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        self.cell.kind()
    }

    fn output_dims(&self) -> &[usize] {
        &self.output_dims
    }

    fn forward(&mut self, input: &[f32], batch: usize, _mode: Mode, output: &mut [f32]) {
        let (steps, inputs, gates, units) = (self.steps, self.input_features, self.gate_width(), self.units);
        self.grow_trace(batch);
        // z = x·W_ihᵀ + (b_ih + b_hh) for every step of every example at once: [B·T, G].
        sgemm(false, true, batch * steps, gates, inputs, 1.0, input, inputs, &self.weight_ih.value, inputs, 0.0, &mut self.trace.pre, gates);
        vector::add(&self.bias_ih.value, &self.bias_hh.value, &mut self.bias_sum);
        vector::add_row(&mut self.trace.pre, &self.bias_sum);
        for t in 0..steps {
            if t > 0 {
                // z_t += h_{t−1}·W_hhᵀ for the whole batch: rows b·T + t, T rows apart.
                let trace = &mut self.trace;
                let previous = &trace.hidden[(t - 1) * units..];
                sgemm(false, true, batch, gates, units, 1.0, previous, steps * units, &self.weight_hh.value, units, 1.0, &mut trace.pre[t * gates..], steps * gates);
            }
            self.cell_forward(t, batch);
        }
        let hidden = &self.trace.hidden;
        if self.return_sequences {
            output.copy_from_slice(hidden);
        } else {
            for (b, out) in output.chunks_exact_mut(units).enumerate() {
                let last = b * steps + steps - 1;
                out.copy_from_slice(&hidden[last * units..(last + 1) * units]);
            }
        }
    }

    fn backward(&mut self, input: &[f32], _output: &[f32], grad_output: &[f32], batch: usize, grad_input: Option<&mut [f32]>) {
        let (steps, inputs, gates, units) = (self.steps, self.input_features, self.gate_width(), self.units);
        let start = self.window_start();
        self.grow_gradients(batch);
        // Steps before the window contribute nothing (truncated BPTT).
        for example in self.grads.pre.chunks_exact_mut(steps * gates) {
            example[..start * gates].iter_mut().for_each(|v| *v = 0.0);
        }
        self.time_grad_norms.iter_mut().for_each(|n| *n = 0.0);
        // Walk back in time; `grads.hidden` holds what step t+1 sent to h_t.
        for t in (start..steps).rev() {
            self.add_output_gradient(grad_output, t, batch);
            self.time_grad_norms[t] = vector::sum_squares(&self.grads.hidden).sqrt() as f32;
            self.cell_backward(t, batch);
            if t > start {
                // ∂L/∂h_{t−1} = ∂L/∂z_t · W_hh for the whole batch ([B, G]·[G, H]).
                let grads = &mut self.grads;
                sgemm(false, false, batch, units, gates, 1.0, &grads.pre[t * gates..], steps * gates, &self.weight_hh.value, units, 0.0, &mut grads.hidden, units);
            }
        }
        let grad_pre = &self.grads.pre;
        let rows = batch * steps;
        // ∂L/∂W_ih += Σ_{b,t} ∂L/∂z_tᵀ · x_t, all steps at once ([G, B·T]·[B·T, I]).
        sgemm(true, false, gates, inputs, rows, 1.0, grad_pre, gates, input, inputs, 1.0, &mut self.weight_ih.grad, inputs);
        // ∂L/∂W_hh += Σ_{b,t≥1} ∂L/∂z_tᵀ · h_{t−1}: per example, steps 1.. against hidden 0..T−2.
        let first = start.max(1);
        if first < steps {
            for b in 0..batch {
                let row = b * steps + first;
                let (grad_rows, previous) = (&grad_pre[row * gates..], &self.trace.hidden[(row - 1) * units..]);
                sgemm(true, false, gates, units, steps - first, 1.0, grad_rows, gates, previous, units, 1.0, &mut self.weight_hh.grad, units);
            }
        }
        vector::accumulate_column_sums(grad_pre, &mut self.bias_ih.grad);
        vector::accumulate_column_sums(grad_pre, &mut self.bias_hh.grad);
        if let Some(grad_input) = grad_input {
            // ∂L/∂x = ∂L/∂z · W_ih ([B·T, G]·[G, I]).
            sgemm(false, false, rows, inputs, gates, 1.0, grad_pre, gates, &self.weight_ih.value, inputs, 0.0, grad_input, inputs);
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param)) {
        visit(&mut self.weight_ih);
        visit(&mut self.weight_hh);
        visit(&mut self.bias_ih);
        visit(&mut self.bias_hh);
    }

    fn time_grad_norms(&self) -> Option<&[f32]> {
        Some(&self.time_grad_norms)
    }

    fn workspace_per_example(&self) -> usize {
        self.cell.workspace_per_example(self.steps, self.units)
    }
}
