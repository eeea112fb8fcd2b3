//! The vanilla (Elman) RNN cell of one time step, for one example: `h_t = tanh(z_t)`, where
//! `z_t = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh` ([H] values) comes from the layer.
//!
//! Backward multiplies by tanh' = 1 − h_t² ≤ 1 at every step, and by W_hh on the way to
//! h_{t−1}: over many steps that product shrinks or grows exponentially — the vanishing and
//! exploding gradients of plain recurrent nets.

use crate::kernels::activation::{self, Kind};

/// `hidden = tanh(pre)`; both [H].
pub fn forward(pre: &[f32], hidden: &mut [f32]) {
    activation::forward(Kind::Tanh, pre, hidden);
}

/// `grad_pre = grad_hidden ⊙ (1 − hidden²)`: ∂L/∂z_t from ∂L/∂h_t; all [H]. tanh' needs only
/// the output, so `hidden` stands in for the forward input too.
pub fn backward(hidden: &[f32], grad_hidden: &[f32], grad_pre: &mut [f32]) {
    activation::backward(Kind::Tanh, hidden, hidden, grad_hidden, grad_pre);
}
