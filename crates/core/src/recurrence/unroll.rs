//! A recurrent cell unrolled over a batch of sequences: the forward pass through time and
//! backpropagation through time (BPTT), shared by the `rnn`/`lstm` layers
//! ([`crate::nn::recurrent`]) and the eager ops ([`crate::autograd::ops::recurrent`]).
//!
//! For t = 0…T−1, from the initial state h₋₁, c₋₁ (zeros unless given):
//!
//! ```text
//! z_t = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh      z_t: [G], G = H (rnn) or 4H (lstm)
//! h_t (and c_t) = cell(z_t, c_{t−1})                  rnn_cell.rs / lstm_cell.rs
//! ```
//!
//! How the work is laid out: the input projections of all steps are one sgemm
//! ([B·T, I]·W_ihᵀ); each step then adds its recurrent term with one [B, H]·[H, G] product for
//! all G = 4H gates at once. Backward runs one [B, G]·[G, H] product per step for ∂L/∂h_{t−1};
//! the weight gradients wait until every step's ∂L/∂z_t is known and take a few large sgemms.
//! The per-step products share their right operand, W_hh, which each pass packs once
//! ([`PackedMatrix`]) instead of once per step.
//! Every buffer is batch-major ([B, T, ·]: row b·T + t), the layout of the input and of the
//! returned sequence, so nothing is transposed: one step's rows lie T rows apart, which
//! sgemm's leading dimensions express. Buffers grow on the first batch and are reused.

use super::{lstm_cell, rnn_cell, CellKind};
use crate::error::Result;
use crate::kernels::gemm::{sgemm_packed, PackedMatrix};
use crate::kernels::{sgemm, vector};

/// The sizes of an unrolled cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unroll {
    pub cell: CellKind,
    /// T, the number of time steps.
    pub steps: usize,
    /// I, the features of one step's input.
    pub input_features: usize,
    /// H, the size of the hidden state.
    pub units: usize,
}

/// The parameters, in PyTorch's layout: `weight_ih` [G, I], `weight_hh` [G, H], biases [G].
pub struct Weights<'a> {
    pub weight_ih: &'a [f32],
    pub weight_hh: &'a [f32],
    pub bias_ih: &'a [f32],
    pub bias_hh: &'a [f32],
}

/// Where the parameters' gradients are accumulated (`+=`), shaped like [`Weights`]; `None`
/// skips one.
pub struct WeightGradients<'a> {
    pub weight_ih: Option<&'a mut [f32]>,
    pub weight_hh: Option<&'a mut [f32]>,
    pub bias_ih: Option<&'a mut [f32]>,
    pub bias_hh: Option<&'a mut [f32]>,
}

/// The state before the first step, h₋₁ and (LSTM) c₋₁, each [B, H]; `None` is zeros.
#[derive(Clone, Copy, Default)]
pub struct InitialState<'a> {
    pub hidden: Option<&'a [f32]>,
    pub cell: Option<&'a [f32]>,
}

/// The gradient of the loss arriving from outside: with respect to every hidden state
/// ([B, T, H]), to the last one h_{T−1} ([B, H]), and (LSTM) to the last cell state c_{T−1}
/// ([B, H]). `None` is zeros.
#[derive(Clone, Copy, Default)]
pub struct Upstream<'a> {
    pub sequence: Option<&'a [f32]>,
    pub last_hidden: Option<&'a [f32]>,
    pub last_cell: Option<&'a [f32]>,
}

/// Where backward writes the gradients that are not parameters (overwritten, not
/// accumulated); `None` skips one.
#[derive(Default)]
pub struct InputGradients<'a> {
    /// ∂L/∂x: [B, T, I].
    pub input: Option<&'a mut [f32]>,
    /// ∂L/∂h₋₁: [B, H].
    pub initial_hidden: Option<&'a mut [f32]>,
    /// ∂L/∂c₋₁ (LSTM): [B, H].
    pub initial_cell: Option<&'a mut [f32]>,
    /// ‖∂L/∂h_t‖ over the batch for every step: [T].
    pub time_norms: Option<&'a mut [f32]>,
}

/// Values saved by the forward pass for backward, all batch-major.
#[derive(Default)]
pub struct Trace {
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
    /// b_ih + b_hh, added to every step's projection at once: [G].
    bias_sum: Vec<f32>,
}

impl Trace {
    /// Every step's hidden state h_t: [B, T, H].
    pub fn hidden(&self) -> &[f32] {
        &self.hidden
    }

    /// Every step's pre-activations z_t: [B, T, G].
    pub fn pre_activations(&self) -> &[f32] {
        &self.pre
    }

    /// Every step's cell state c_t: [B, T, H] (LSTM; empty for the RNN).
    pub fn cells(&self) -> &[f32] {
        &self.cells
    }
}

/// Scratch of the forward and backward passes.
pub struct Scratch {
    /// W_hh packed for the per-step products: as W_hhᵀ [H, G] during forward, as W_hh [G, H]
    /// during backward.
    recurrent_weights: PackedMatrix,
    /// ∂L/∂z_t for every step: [B, T, G].
    pre: Vec<f32>,
    /// ∂L/∂h_t of the step being processed: [B, H].
    hidden: Vec<f32>,
    /// LSTM ∂L/∂c_t of the step being processed: [B, H].
    cell: Vec<f32>,
    /// LSTM ∂L/∂(i, f, g, o) of one example: [G].
    gates: Vec<f32>,
}

impl Scratch {
    /// Scratch for `unroll`, with room for packed W_hh allocated now and fallibly
    /// (`OutOfMemory` for `weightHh` of `op`); the other buffers grow with the first batch.
    pub fn new(op: &str, unroll: Unroll) -> Result<Scratch> {
        let (gates, units) = (unroll.gate_width(), unroll.units);
        // The larger of forward's W_hhᵀ and backward's W_hh (they differ in padding only).
        let (k, n) = if PackedMatrix::len(units, gates) >= PackedMatrix::len(gates, units) { (units, gates) } else { (gates, units) };
        let recurrent_weights = PackedMatrix::zeros(op, "weightHh", k, n)?;
        Ok(Scratch { recurrent_weights, pre: Vec::new(), hidden: Vec::new(), cell: Vec::new(), gates: Vec::new() })
    }
}

impl Unroll {
    /// G, the pre-activations per step: H (rnn) or 4H (lstm).
    pub fn gate_width(self) -> usize {
        self.cell.gates_per_unit() * self.units
    }

    /// Copies the last step's rows of `sequence` [B, T, H] to `last` [B, H].
    pub fn last_step(self, sequence: &[f32], last: &mut [f32]) {
        let (steps, units) = (self.steps, self.units);
        for (b, out) in last.chunks_exact_mut(units).enumerate() {
            let row = b * steps + steps - 1;
            out.copy_from_slice(&sequence[row * units..(row + 1) * units]);
        }
    }

    fn grow_trace(self, batch: usize, trace: &mut Trace) {
        let (rows, gates, units) = (batch * self.steps, self.gate_width(), self.units);
        trace.pre.resize(rows * gates, 0.0);
        trace.hidden.resize(rows * units, 0.0);
        trace.bias_sum.resize(gates, 0.0);
        if self.cell == CellKind::Lstm {
            trace.gates.resize(rows * gates, 0.0);
            trace.cells.resize(rows * units, 0.0);
            trace.cell_tanh.resize(rows * units, 0.0);
        }
    }

    fn grow_scratch(self, batch: usize, scratch: &mut Scratch) {
        let (rows, gates, units) = (batch * self.steps, self.gate_width(), self.units);
        scratch.pre.resize(rows * gates, 0.0);
        scratch.hidden.resize(batch * units, 0.0);
        scratch.hidden.iter_mut().for_each(|v| *v = 0.0);
        if self.cell == CellKind::Lstm {
            scratch.cell.resize(batch * units, 0.0);
            scratch.cell.iter_mut().for_each(|v| *v = 0.0);
            scratch.gates.resize(gates, 0.0);
        }
    }

    /// Runs `batch` sequences `input` [B, T, I] from `initial`, saving into `trace` what
    /// backward needs; the hidden states are then in [`Trace::hidden`].
    pub fn forward(self, weights: &Weights, input: &[f32], batch: usize, initial: InitialState, trace: &mut Trace, scratch: &mut Scratch) {
        let (steps, inputs, gates, units) = (self.steps, self.input_features, self.gate_width(), self.units);
        self.grow_trace(batch, trace);
        // z = x·W_ihᵀ + (b_ih + b_hh) for every step of every example at once: [B·T, G].
        sgemm(false, true, batch * steps, gates, inputs, 1.0, input, inputs, weights.weight_ih, inputs, 0.0, &mut trace.pre, gates);
        vector::add(weights.bias_ih, weights.bias_hh, &mut trace.bias_sum);
        vector::add_row(&mut trace.pre, &trace.bias_sum);
        if steps > 1 || initial.hidden.is_some() {
            scratch.recurrent_weights.pack(true, units, gates, weights.weight_hh, units);
        }
        for t in 0..steps {
            // z_t += h_{t−1}·W_hhᵀ for the whole batch: rows b·T + t, T rows apart.
            let previous = if t > 0 { Some((&trace.hidden[(t - 1) * units..], steps * units)) } else { initial.hidden.map(|h| (h, units)) };
            if let Some((previous, stride)) = previous {
                sgemm_packed(false, batch, 1.0, previous, stride, &scratch.recurrent_weights, 1.0, &mut trace.pre[t * gates..], steps * gates);
            }
            self.cell_forward(t, batch, initial.cell, trace);
        }
    }

    /// Runs the cell of step `t` for every example, from the pre-activations in `trace.pre`.
    fn cell_forward(self, t: usize, batch: usize, initial_cell: Option<&[f32]>, trace: &mut Trace) {
        let (steps, gates, units) = (self.steps, self.gate_width(), self.units);
        for b in 0..batch {
            let row = b * steps + t;
            let pre = &trace.pre[row * gates..(row + 1) * gates];
            let hidden = &mut trace.hidden[row * units..(row + 1) * units];
            match self.cell {
                CellKind::Rnn => rnn_cell::forward(pre, hidden),
                CellKind::Lstm => {
                    let (earlier, current) = trace.cells.split_at_mut(row * units);
                    let cell_prev = if t > 0 { Some(&earlier[(row - 1) * units..]) } else { initial_cell.map(|c| &c[b * units..(b + 1) * units]) };
                    let gate_values = &mut trace.gates[row * gates..(row + 1) * gates];
                    let cell_tanh = &mut trace.cell_tanh[row * units..(row + 1) * units];
                    lstm_cell::forward(pre, gate_values, cell_prev, &mut current[..units], cell_tanh, hidden);
                }
            }
        }
    }

    /// Backpropagates `upstream` through the steps [start, T) of the last [`Unroll::forward`]
    /// (same `weights`, `input`, `batch` and `initial`, whose values `trace` holds).
    ///
    /// With start > 0 (truncated BPTT) the state entering step `start` is treated as a
    /// constant: steps before it get no gradient (their ∂L/∂x_t and time norms are 0, the
    /// parameters get nothing from them) and neither does the initial state.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        self,
        weights: &Weights,
        input: &[f32],
        batch: usize,
        initial: InitialState,
        trace: &Trace,
        upstream: Upstream,
        start: usize,
        scratch: &mut Scratch,
        params: WeightGradients,
        outputs: InputGradients,
    ) {
        let (steps, inputs, gates, units) = (self.steps, self.input_features, self.gate_width(), self.units);
        let InputGradients { input: grad_input, initial_hidden, initial_cell, mut time_norms } = outputs;
        self.grow_scratch(batch, scratch);
        if let Some(last_cell) = upstream.last_cell {
            scratch.cell.copy_from_slice(last_cell);
        }
        // Steps before the window contribute nothing (truncated BPTT).
        for example in scratch.pre.chunks_exact_mut(steps * gates) {
            example[..start * gates].iter_mut().for_each(|v| *v = 0.0);
        }
        if let Some(norms) = time_norms.as_deref_mut() {
            norms.iter_mut().for_each(|n| *n = 0.0);
        }
        if steps - start > 1 || initial_hidden.is_some() {
            scratch.recurrent_weights.pack(false, gates, units, weights.weight_hh, units);
        }
        // Walk back in time; `scratch.hidden` holds what step t+1 sent to h_t.
        for t in (start..steps).rev() {
            self.add_output_gradient(upstream, t, batch, &mut scratch.hidden);
            if let Some(norms) = time_norms.as_deref_mut() {
                norms[t] = vector::sum_squares(&scratch.hidden).sqrt() as f32;
            }
            self.cell_backward(t, batch, initial.cell, trace, scratch);
            if t > start {
                // ∂L/∂h_{t−1} = ∂L/∂z_t · W_hh for the whole batch ([B, G]·[G, H]).
                sgemm_packed(false, batch, 1.0, &scratch.pre[t * gates..], steps * gates, &scratch.recurrent_weights, 0.0, &mut scratch.hidden, units);
            }
        }
        let grad_pre = &scratch.pre;
        let rows = batch * steps;
        if let Some(grad) = initial_hidden {
            if start == 0 {
                // ∂L/∂h₋₁ = ∂L/∂z_0 · W_hh, as for any other step.
                sgemm_packed(false, batch, 1.0, grad_pre, steps * gates, &scratch.recurrent_weights, 0.0, grad, units);
            } else {
                grad.iter_mut().for_each(|v| *v = 0.0);
            }
        }
        if let Some(grad) = initial_cell {
            // lstm_cell::backward of step 0 left ∂L/∂c₋₁ in `scratch.cell`.
            if start == 0 {
                grad.copy_from_slice(&scratch.cell);
            } else {
                grad.iter_mut().for_each(|v| *v = 0.0);
            }
        }
        if let Some(grad) = params.weight_ih {
            // ∂L/∂W_ih += Σ_{b,t} ∂L/∂z_tᵀ · x_t, all steps at once ([G, B·T]·[B·T, I]).
            sgemm(true, false, gates, inputs, rows, 1.0, grad_pre, gates, input, inputs, 1.0, grad, inputs);
        }
        if let Some(grad) = params.weight_hh {
            // ∂L/∂W_hh += Σ_{b,t≥1} ∂L/∂z_tᵀ · h_{t−1}: per example, steps 1.. against hidden 0..T−2.
            let first = start.max(1);
            if first < steps {
                for b in 0..batch {
                    let row = b * steps + first;
                    let (grad_rows, previous) = (&grad_pre[row * gates..], &trace.hidden[(row - 1) * units..]);
                    sgemm(true, false, gates, units, steps - first, 1.0, grad_rows, gates, previous, units, 1.0, &mut *grad, units);
                }
            }
            // … and ∂L/∂z_0ᵀ · h₋₁ for the whole batch when the initial state is not zero.
            if let (0, Some(initial_hidden)) = (start, initial.hidden) {
                sgemm(true, false, gates, units, batch, 1.0, grad_pre, steps * gates, initial_hidden, units, 1.0, grad, units);
            }
        }
        if let Some(grad) = params.bias_ih {
            vector::accumulate_column_sums(grad_pre, grad);
        }
        if let Some(grad) = params.bias_hh {
            vector::accumulate_column_sums(grad_pre, grad);
        }
        if let Some(grad_input) = grad_input {
            // ∂L/∂x = ∂L/∂z · W_ih ([B·T, G]·[G, I]).
            sgemm(false, false, rows, inputs, gates, 1.0, grad_pre, gates, weights.weight_ih, inputs, 0.0, grad_input, inputs);
        }
    }

    /// Runs the cell of step `t` backwards for every example: ∂L/∂h_t (and ∂L/∂c_t) in
    /// `scratch` → ∂L/∂z_t into `scratch.pre` (and ∂L/∂c_{t−1} into `scratch.cell`).
    fn cell_backward(self, t: usize, batch: usize, initial_cell: Option<&[f32]>, trace: &Trace, scratch: &mut Scratch) {
        let (steps, gates, units) = (self.steps, self.gate_width(), self.units);
        for b in 0..batch {
            let row = b * steps + t;
            let grad_hidden = &scratch.hidden[b * units..(b + 1) * units];
            let grad_pre = &mut scratch.pre[row * gates..(row + 1) * gates];
            match self.cell {
                CellKind::Rnn => rnn_cell::backward(&trace.hidden[row * units..(row + 1) * units], grad_hidden, grad_pre),
                CellKind::Lstm => {
                    let cell_prev = if t > 0 { Some(&trace.cells[(row - 1) * units..row * units]) } else { initial_cell.map(|c| &c[b * units..(b + 1) * units]) };
                    lstm_cell::backward(
                        &trace.gates[row * gates..(row + 1) * gates],
                        cell_prev,
                        &trace.cell_tanh[row * units..(row + 1) * units],
                        grad_hidden,
                        &mut scratch.cell[b * units..(b + 1) * units],
                        grad_pre,
                        &mut scratch.gates,
                    );
                }
            }
        }
    }

    /// Adds to `grad_hidden` [B, H] what arrives from outside at h_t.
    fn add_output_gradient(self, upstream: Upstream, t: usize, batch: usize, grad_hidden: &mut [f32]) {
        let (steps, units) = (self.steps, self.units);
        let last = if t + 1 == steps { upstream.last_hidden } else { None };
        for b in 0..batch {
            let target = &mut grad_hidden[b * units..(b + 1) * units];
            if let Some(sequence) = upstream.sequence {
                let from = (b * steps + t) * units;
                target.iter_mut().zip(&sequence[from..from + units]).for_each(|(g, &d)| *g += d);
            }
            if let Some(last) = last {
                target.iter_mut().zip(&last[b * units..(b + 1) * units]).for_each(|(g, &d)| *g += d);
            }
        }
    }
}
