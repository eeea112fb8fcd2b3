//! The LSTM cell of one time step, for one example (Hochreiter & Schmidhuber 1997, with the
//! forget gate of Gers et al. 2000), in PyTorch's gate order i, f, g, o. From the layer's
//! pre-activations `z = [z_i, z_f, z_g, z_o]` (4 × H values):
//!
//! ```text
//! i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
//! c_t = f ⊙ c_{t−1} + i ⊙ g
//! h_t = o ⊙ tanh(c_t)
//! ```
//!
//! Why it learns long ranges: ∂c_t/∂c_{t−1} = f, with no squashing and no weight matrix in
//! between, so while the forget gate stays near 1 the error flows back along the cell state
//! unchanged (the "constant error carousel").

use crate::kernels::activation::{self, Kind};

/// Splits a [4H] row into its four gate slices i, f, g, o.
fn gate_slices(row: &[f32]) -> (&[f32], &[f32], &[f32], &[f32]) {
    let units = row.len() / 4;
    let (i, rest) = row.split_at(units);
    let (f, rest) = rest.split_at(units);
    let (g, o) = rest.split_at(units);
    (i, f, g, o)
}

/// One step forward. `pre` [4H] are the pre-activations; writes the gate activations `gates`
/// [4H], the cell state `cell` [H], `cell_tanh` = tanh(c_t) [H] (kept for backward) and the
/// hidden state `hidden` [H]. `cell_prev` is c_{t−1}, `None` for the zero initial state.
pub fn forward(pre: &[f32], gates: &mut [f32], cell_prev: Option<&[f32]>, cell: &mut [f32], cell_tanh: &mut [f32], hidden: &mut [f32]) {
    let units = hidden.len();
    let (sigmoid_if, rest) = pre.split_at(2 * units);
    let (tanh_g, sigmoid_o) = rest.split_at(units);
    {
        let (gates_if, rest) = gates.split_at_mut(2 * units);
        let (gates_g, gates_o) = rest.split_at_mut(units);
        activation::forward(Kind::Sigmoid, sigmoid_if, gates_if);
        activation::forward(Kind::Tanh, tanh_g, gates_g);
        activation::forward(Kind::Sigmoid, sigmoid_o, gates_o);
    }
    let (i, f, g, o) = gate_slices(gates);
    match cell_prev {
        Some(prev) => {
            for ((((c, &i), &f), &g), &p) in cell.iter_mut().zip(i).zip(f).zip(g).zip(prev) {
                *c = f * p + i * g;
            }
        }
        None => {
            for ((c, &i), &g) in cell.iter_mut().zip(i).zip(g) {
                *c = i * g;
            }
        }
    }
    activation::forward(Kind::Tanh, cell, cell_tanh);
    for ((h, &o), &t) in hidden.iter_mut().zip(o).zip(cell_tanh.iter()) {
        *h = o * t;
    }
}

/// One step backward. Given ∂L/∂h_t (`grad_hidden` [H]) and, in `grad_cell` [H], ∂L/∂c_t as
/// it arrives from step t+1 (through c_{t+1} = f_{t+1} ⊙ c_t + …), writes ∂L/∂z_t into
/// `grad_pre` [4H] and replaces `grad_cell` with ∂L/∂c_{t−1}. `gates`, `cell_prev` and
/// `cell_tanh` are what [`forward`] saved; `grad_gates` [4H] is scratch for ∂L/∂(i, f, g, o).
pub fn backward(gates: &[f32], cell_prev: Option<&[f32]>, cell_tanh: &[f32], grad_hidden: &[f32], grad_cell: &mut [f32], grad_pre: &mut [f32], grad_gates: &mut [f32]) {
    let units = grad_hidden.len();
    let (i, f, g, o) = gate_slices(gates);
    let cell_tanh = &cell_tanh[..units];
    {
        let (grad_i, rest) = grad_gates.split_at_mut(units);
        let (grad_f, rest) = rest.split_at_mut(units);
        let (grad_g, grad_o) = rest.split_at_mut(units);
        let grad_cell = &mut grad_cell[..units];
        // Equal lengths let the compiler drop bounds checks and vectorise the loop.
        for j in 0..units {
            let dh = grad_hidden[j];
            grad_o[j] = dh * cell_tanh[j];
            // ∂L/∂c_t: from c_{t+1} and through h_t = o ⊙ tanh(c_t)
            let dc = grad_cell[j] + dh * o[j] * (1.0 - cell_tanh[j] * cell_tanh[j]);
            grad_i[j] = dc * g[j];
            grad_g[j] = dc * i[j];
            grad_f[j] = dc;
            grad_cell[j] = dc * f[j];
        }
        // ∂L/∂f = ∂L/∂c_t ⊙ c_{t−1}, which is 0 from the zero initial state.
        match cell_prev {
            Some(prev) => grad_f.iter_mut().zip(prev).for_each(|(d, &p)| *d *= p),
            None => grad_f.iter_mut().for_each(|d| *d = 0.0),
        }
    }
    // σ' and tanh' need only the gate outputs, which stand in for the inputs too.
    let (gates_if, rest) = gates.split_at(2 * units);
    let (gates_g, gates_o) = rest.split_at(units);
    let (grad_if, rest) = grad_gates.split_at(2 * units);
    let (grad_g, grad_o) = rest.split_at(units);
    let (pre_if, rest) = grad_pre.split_at_mut(2 * units);
    let (pre_g, pre_o) = rest.split_at_mut(units);
    activation::backward(Kind::Sigmoid, gates_if, gates_if, grad_if, pre_if);
    activation::backward(Kind::Tanh, gates_g, gates_g, grad_g, pre_g);
    activation::backward(Kind::Sigmoid, gates_o, gates_o, grad_o, pre_o);
}
