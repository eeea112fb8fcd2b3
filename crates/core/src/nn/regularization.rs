//! Gradient transforms applied between backward and the optimiser: the L1/L2 weight penalty
//! (against explosion) and clipping by global norm or by value.

use super::layer::{Param, Role};
use crate::kernels::vector;

/// `l1·Σ|w| + l2·Σw²` over weight matrices only (not biases, BatchNorm or PReLU parameters).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Penalty {
    pub l1: f32,
    pub l2: f32,
}

impl Penalty {
    pub fn is_active(&self) -> bool {
        self.l1 != 0.0 || self.l2 != 0.0
    }

    /// Adds the penalty's gradient to every weight's `grad` and returns the penalty.
    pub fn apply(&self, params: &mut [&mut Param]) -> f64 {
        if !self.is_active() {
            return 0.0;
        }
        let mut penalty = 0.0f64;
        for param in params.iter_mut().filter(|p| p.role == Role::Weight) {
            penalty += self.l1 as f64 * vector::sum_abs(&param.value) + self.l2 as f64 * vector::sum_squares(&param.value);
            for (g, &w) in param.grad.iter_mut().zip(&param.value) {
                let sign = if w > 0.0 {
                    1.0
                } else if w < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                *g += self.l1 * sign + 2.0 * self.l2 * w;
            }
        }
        penalty
    }
}

/// Clipping as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_` (norm first).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Clip {
    pub max_norm: Option<f32>,
    pub max_value: Option<f32>,
}

/// The L2 norm of every gradient taken together.
pub fn global_grad_norm(params: &[&mut Param]) -> f64 {
    params.iter().map(|p| vector::sum_squares(&p.grad)).sum::<f64>().sqrt()
}

impl Clip {
    /// Clips the gradients whose global norm is `total_norm`.
    pub fn apply(&self, params: &mut [&mut Param], total_norm: f64) {
        if let Some(max_norm) = self.max_norm {
            let coefficient = max_norm as f64 / (total_norm + 1e-6);
            if coefficient < 1.0 {
                for param in params.iter_mut() {
                    vector::scale(coefficient as f32, &mut param.grad);
                }
            }
        }
        if let Some(max_value) = self.max_value {
            for param in params.iter_mut() {
                vector::clamp(max_value, &mut param.grad);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalty_skips_biases_and_matches_its_gradient() {
        let mut w = Param::new("0.weight".into(), vec![2], Role::Weight, vec![0.5, -2.0]).unwrap();
        let mut b = Param::new("0.bias".into(), vec![1], Role::Bias, vec![3.0]).unwrap();
        let penalty = Penalty { l1: 0.1, l2: 0.01 };
        let value = penalty.apply(&mut [&mut w, &mut b]);
        assert!((value - (0.1 * 2.5 + 0.01 * 4.25)).abs() < 1e-7);
        assert!((w.grad[0] - (0.1 + 0.01)).abs() < 1e-7 && (w.grad[1] - (-0.1 - 0.04)).abs() < 1e-7);
        assert_eq!(b.grad, vec![0.0]);
    }

    #[test]
    fn l1_has_no_direction_at_exactly_zero() {
        let mut w = Param::new("0.weight".into(), vec![3], Role::Weight, vec![0.0, -0.0, 1e-30]).unwrap();
        Penalty { l1: 0.5, l2: 0.0 }.apply(&mut [&mut w]);
        // PyTorch's sign(0) = 0: a zero weight gets no push, a tiny positive one the full l1.
        assert_eq!(w.grad, vec![0.0, 0.0, 0.5]);
        let mut w = Param::new("0.weight".into(), vec![2], Role::Weight, vec![-3.0, 2.0]).unwrap();
        assert_eq!(Penalty::default().apply(&mut [&mut w]), 0.0);
        assert!(!Penalty::default().is_active() && Penalty { l1: 0.0, l2: 1e-9 }.is_active());
        assert_eq!(w.grad, vec![0.0, 0.0]);
    }

    #[test]
    fn clipping_below_the_limit_leaves_gradients_unchanged() {
        let mut p = Param::new("w".into(), vec![2], Role::Weight, vec![0.0, 0.0]).unwrap();
        p.grad = vec![0.3, -0.4];
        let norm = global_grad_norm(&[&mut p]);
        assert!((norm - 0.5).abs() < 1e-7);
        // ‖g‖ + 1e-6 ≤ max_norm and |g| ≤ max_value: nothing moves, not even by rounding.
        Clip { max_norm: Some(0.501), max_value: Some(0.4) }.apply(&mut [&mut p], norm);
        assert_eq!(p.grad, vec![0.3, -0.4]);
        Clip { max_norm: Some(10.0), max_value: None }.apply(&mut [&mut p], norm);
        assert_eq!(p.grad, vec![0.3, -0.4]);
        // Just above the limit it scales by max/(‖g‖ + 1e-6), as clip_grad_norm_.
        Clip { max_norm: Some(0.25), max_value: None }.apply(&mut [&mut p], norm);
        let scale = (0.25 / (norm + 1e-6)) as f32;
        assert_eq!(p.grad, vec![0.3 * scale, -0.4 * scale]);
    }

    #[test]
    fn clipping_scales_to_max_norm_then_clamps() {
        let mut p = Param::new("w".into(), vec![2], Role::Weight, vec![0.0, 0.0]).unwrap();
        p.grad = vec![3.0, 4.0];
        let clip = Clip { max_norm: Some(1.0), max_value: Some(0.7) };
        let norm = global_grad_norm(&[&mut p]);
        clip.apply(&mut [&mut p], norm);
        assert!((p.grad[0] - 0.6).abs() < 1e-5 && (p.grad[1] - 0.7).abs() < 1e-6);
    }
}
