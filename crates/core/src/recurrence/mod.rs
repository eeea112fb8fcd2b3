//! The recurrence of the `rnn` and `lstm` layers and of the eager recurrent ops, forward and
//! backward, written once: [`crate::nn::recurrent`] (the layer) and
//! [`crate::autograd::ops::recurrent`] (the op on the tape) both run [`Unroll`].
//!
//! - [`unroll`]: a cell unrolled over a batch of sequences, and backpropagation through time.
//! - [`rnn_cell`], [`lstm_cell`]: one time step of one example.

pub mod lstm_cell;
pub mod rnn_cell;
pub mod unroll;

pub use unroll::{InitialState, InputGradients, Scratch, Trace, Unroll, Upstream, WeightGradients, Weights};

use crate::size::Count;

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
    /// per step the pre-activations and their gradients (2G), the hidden state (H), and for
    /// the LSTM the gates, cell state and tanh(c) (G + 2H); per example backward's ∂L/∂h (H)
    /// and, for the LSTM, ∂L/∂c (H).
    pub fn workspace_per_example(self, steps: usize, units: usize) -> Count {
        let gates = Count::of(units).times(self.gates_per_unit());
        let (per_step, per_example) = match self {
            CellKind::Rnn => (gates.times(2).plus(units), Count::of(units)),
            CellKind::Lstm => (gates.times(3).plus(Count::of(units).times(3)), Count::of(units).times(2)),
        };
        per_step.times(steps).plus(per_example)
    }

    /// The parameter values of a layer of `units` on `input_features`: weight_ih [G, I],
    /// weight_hh [G, H] and the two biases [G].
    pub fn parameter_count(self, input_features: usize, units: usize) -> Count {
        let gates = Count::of(units).times(self.gates_per_unit());
        gates.times(input_features).plus(gates.times(units)).plus(gates.times(2))
    }
}
