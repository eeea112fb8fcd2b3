//! Optimisers with PyTorch's semantics and defaults, and learning-rate schedules. One `step`
//! updates every parameter from its `grad` and records the size of the update.

use super::layer::Param;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// `torch.optim.SGD` (dampening 0).
    Sgd { momentum: f32, nesterov: bool, weight_decay: f32 },
    /// `torch.optim.Adam` (L2 weight decay added to the gradient).
    Adam { beta1: f32, beta2: f32, eps: f32, weight_decay: f32 },
    /// `torch.optim.AdamW` (decoupled weight decay).
    AdamW { beta1: f32, beta2: f32, eps: f32, weight_decay: f32 },
}

/// The learning rate as a function of the optimiser step (counted from 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    Constant,
    /// `lr · gamma^⌊step / step_size⌋` (PyTorch's StepLR, stepped every optimiser step).
    Step { step_size: u32, gamma: f32 },
    /// `eta_min + (lr − eta_min)(1 + cos(π·min(step, t_max)/t_max))/2` (CosineAnnealingLR).
    Cosine { t_max: u32, eta_min: f32 },
}

#[derive(Clone, Debug)]
pub struct Optimizer {
    pub method: Method,
    pub lr: f32,
    pub schedule: Schedule,
    /// Completed steps.
    pub steps: u64,
}

impl Optimizer {
    pub fn new(method: Method, lr: f32, schedule: Schedule) -> Optimizer {
        Optimizer { method, lr, schedule, steps: 0 }
    }

    /// The learning rate the next step uses.
    pub fn current_lr(&self) -> f32 {
        let step = self.steps as f64;
        let lr = self.lr as f64;
        let scheduled = match self.schedule {
            Schedule::Constant => lr,
            Schedule::Step { step_size, gamma } => lr * (gamma as f64).powf((step / step_size.max(1) as f64).floor()),
            Schedule::Cosine { t_max, eta_min } => {
                let t_max = t_max.max(1) as f64;
                let progress = step.min(t_max) / t_max;
                eta_min as f64 + (lr - eta_min as f64) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
            }
        };
        scheduled as f32
    }

    /// Applies one update to `param` from its `grad` with learning rate `lr` at step `t` (1-based).
    fn update(&self, param: &mut Param, lr: f32, t: u64) {
        let len = param.value.len();
        let mut update_sq = 0.0f64;
        match self.method {
            Method::Sgd { momentum, nesterov, weight_decay } => {
                if momentum != 0.0 && param.moment1.len() != len {
                    param.moment1 = vec![0.0; len];
                }
                for i in 0..len {
                    let mut g = param.grad[i] + weight_decay * param.value[i];
                    if momentum != 0.0 {
                        let velocity = &mut param.moment1[i];
                        *velocity = if t == 1 { g } else { momentum * *velocity + g };
                        g = if nesterov { g + momentum * *velocity } else { *velocity };
                    }
                    let delta = lr * g;
                    param.value[i] -= delta;
                    update_sq += (delta as f64) * (delta as f64);
                }
            }
            Method::Adam { beta1, beta2, eps, weight_decay } | Method::AdamW { beta1, beta2, eps, weight_decay } => {
                let decoupled = matches!(self.method, Method::AdamW { .. });
                if param.moment1.len() != len {
                    param.moment1 = vec![0.0; len];
                    param.moment2 = vec![0.0; len];
                }
                let correction1 = 1.0 - (beta1 as f64).powi(t as i32);
                let correction2_sqrt = (1.0 - (beta2 as f64).powi(t as i32)).sqrt();
                let step_size = (lr as f64 / correction1) as f32;
                let decay = 1.0 - lr * weight_decay;
                for i in 0..len {
                    let before = param.value[i];
                    let mut g = param.grad[i];
                    if decoupled {
                        param.value[i] *= decay;
                    } else {
                        g += weight_decay * param.value[i];
                    }
                    let m = &mut param.moment1[i];
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    let v = &mut param.moment2[i];
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    let denominator = (param.moment2[i].sqrt() as f64 / correction2_sqrt) as f32 + eps;
                    param.value[i] -= step_size * param.moment1[i] / denominator;
                    let delta = (param.value[i] - before) as f64;
                    update_sq += delta * delta;
                }
            }
        }
        param.last_update_sq = update_sq;
    }

    /// Updates every parameter once and advances the step counter.
    pub fn step(&mut self, params: &mut [&mut Param]) {
        let lr = self.current_lr();
        let t = self.steps + 1;
        for param in params.iter_mut() {
            self.update(param, lr, t);
        }
        self.steps = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layer::Role;

    #[test]
    fn schedules_follow_pytorch() {
        let mut opt = Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 1.0, Schedule::Step { step_size: 2, gamma: 0.5 });
        let mut lrs = Vec::new();
        for _ in 0..5 {
            lrs.push(opt.current_lr());
            opt.steps += 1;
        }
        assert_eq!(lrs, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
        let cosine = Optimizer { steps: 5, ..Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 1.0, Schedule::Cosine { t_max: 10, eta_min: 0.0 }) };
        assert!((cosine.current_lr() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        let mut p = Param::new("w".into(), vec![2], Role::Weight, vec![1.0, -1.0]);
        p.grad = vec![0.3, -7.0];
        let mut opt = Optimizer::new(Method::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }, 0.1, Schedule::Constant);
        opt.step(&mut [&mut p]);
        assert!((p.value[0] - 0.9).abs() < 1e-5 && (p.value[1] + 0.9).abs() < 1e-5);
    }
}
