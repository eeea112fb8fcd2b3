//! Optimisers with PyTorch's semantics and defaults, and learning-rate schedules. One `step`
//! updates every parameter from its `grad` and records the size of the update.

use super::layer::Param;
use crate::kernels::lanes::{load_partial, store_partial, F32x4};
use crate::kernels::vector;

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
    /// `eta_min + (lr − eta_min)(1 + cos(π·step/t_max))/2`, PyTorch's CosineAnnealingLR:
    /// down to `eta_min` at `t_max`, then up again to `lr` at 2·`t_max`, and so on (it does
    /// not hold at `eta_min`; stop training at `t_max` for a single decay).
    ///
    /// Both schedules compute PyTorch's closed form (`_get_closed_form_lr`) in f64 with its
    /// operation order, so the rate equals PyTorch's bit for bit in f32 for the same f32
    /// hyper-parameters; `scheduler.step()`'s recursive form rounds differently in f64 and
    /// can differ by one f32 ulp where the rate falls on a rounding tie.
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
                let angle = std::f64::consts::PI * step / t_max.max(1) as f64;
                eta_min as f64 + (lr - eta_min as f64) * (1.0 + angle.cos()) / 2.0
            }
        };
        scheduled as f32
    }

    /// The optimiser state each parameter value needs: 0 (plain SGD), 1 (SGD's velocity) or
    /// 2 (Adam's m and v).
    pub fn moments_per_value(&self) -> usize {
        self.rule(self.lr, 1).moments()
    }

    /// The update rule of step `t` (1-based) with learning rate `lr`.
    fn rule(&self, lr: f32, t: u64) -> Rule {
        match self.method {
            Method::Sgd { momentum, nesterov, weight_decay } => Rule::Sgd { lr, momentum, nesterov, weight_decay, first: t == 1 },
            Method::Adam { beta1, beta2, eps, weight_decay } | Method::AdamW { beta1, beta2, eps, weight_decay } => Rule::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                decoupled: matches!(self.method, Method::AdamW { .. }),
                step_size: (lr as f64 / (1.0 - (beta1 as f64).powi(t as i32))) as f32,
                correction2_sqrt: (1.0 - (beta2 as f64).powi(t as i32)).sqrt() as f32,
                decay: 1.0 - lr * weight_decay,
            },
        }
    }

    /// Whether the next [`Optimizer::step`] leaves `param`'s values and moments finite: the
    /// same update run on copies of each block, so the guard can refuse a step before it
    /// changes anything.
    pub fn keeps_finite(&self, param: &Param) -> bool {
        let rule = self.rule(self.current_lr(), self.steps + 1);
        let moments = rule.moments();
        let (mut value, mut moment1, mut moment2, mut deltas) = ([0.0f32; UPDATE_BLOCK], [0.0f32; UPDATE_BLOCK], [0.0f32; UPDATE_BLOCK], [0.0f32; UPDATE_BLOCK]);
        let len = param.value.len();
        for start in (0..len).step_by(UPDATE_BLOCK) {
            let end = (start + UPDATE_BLOCK).min(len);
            let n = end - start;
            value[..n].copy_from_slice(&param.value[start..end]);
            // A moment not allocated yet starts at zero, as `update` starts it.
            let copy = |moment: &[f32], into: &mut [f32]| match moment.get(start..end) {
                Some(held) => into.copy_from_slice(held),
                None => into.iter_mut().for_each(|m| *m = 0.0),
            };
            copy(&param.moment1, &mut moment1[..n]);
            copy(&param.moment2, &mut moment2[..n]);
            let (used1, used2) = (if moments >= 1 { n } else { 0 }, if moments == 2 { n } else { 0 });
            let block = Block { value: &mut value[..n], grad: &param.grad[start..end], moment1: &mut moment1[..used1], moment2: &mut moment2[..used2] };
            rule.apply(block, &mut deltas[..n]);
            if !(vector::all_finite(&value[..n]) && vector::all_finite(&moment1[..used1]) && vector::all_finite(&moment2[..used2])) {
                return false;
            }
        }
        true
    }

    /// Applies one update to `param` from its `grad` with learning rate `lr` at step `t`
    /// (1-based), four lanes at a time and a block at a time: each block's update is kept
    /// until its squared size is summed (in f64, see `vector::sum_squares`) for the
    /// update/weight ratio.
    fn update(&self, param: &mut Param, lr: f32, t: u64) {
        let len = param.value.len();
        let rule = self.rule(lr, t);
        let moments = rule.moments();
        if moments >= 1 && param.moment1.len() != len {
            param.moment1 = vec![0.0; len];
        }
        if moments == 2 && param.moment2.len() != len {
            param.moment2 = vec![0.0; len];
        }
        let mut deltas = [0.0f32; UPDATE_BLOCK];
        let mut update_sq = 0.0f64;
        for start in (0..len).step_by(UPDATE_BLOCK) {
            let end = (start + UPDATE_BLOCK).min(len);
            let moment = |m: &mut Vec<f32>| if m.is_empty() { 0..0 } else { start..end };
            let (range1, range2) = (moment(&mut param.moment1), moment(&mut param.moment2));
            let block = Block { value: &mut param.value[start..end], grad: &param.grad[start..end], moment1: &mut param.moment1[range1], moment2: &mut param.moment2[range2] };
            let deltas = &mut deltas[..end - start];
            rule.apply(block, deltas);
            update_sq += vector::sum_squares(deltas);
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

/// Values updated before their squared update sizes are summed (see `Optimizer::update`).
const UPDATE_BLOCK: usize = 256;

/// One step's update rule with its constants, as PyTorch 1.13 computes it in f32.
#[derive(Clone, Copy)]
enum Rule {
    /// `g = grad + wd·p`; with momentum `b = g` on the first step, else `b = momentum·b + g`,
    /// then `g = g + momentum·b` (Nesterov) or `b`; `p -= lr·g`.
    Sgd { lr: f32, momentum: f32, nesterov: bool, weight_decay: f32, first: bool },
    /// `g = grad (+ wd·p for Adam)`, `p *= 1 − lr·wd` (AdamW); `m = β1·m + (1−β1)·g`,
    /// `v = β2·v + (1−β2)·g²`; `p += −step_size · m / (√v / √(1−β2^t) + eps)`.
    Adam { beta1: f32, beta2: f32, eps: f32, weight_decay: f32, decoupled: bool, step_size: f32, correction2_sqrt: f32, decay: f32 },
}

/// A block of one parameter: its values, gradient and (when the rule keeps them) moments.
struct Block<'a> {
    value: &'a mut [f32],
    grad: &'a [f32],
    /// SGD's velocity or Adam's m; empty when the rule keeps none.
    moment1: &'a mut [f32],
    /// Adam's v; empty otherwise.
    moment2: &'a mut [f32],
}

/// How a chunk of four values is read and written: whole, or a padded tail.
trait Chunk {
    fn load(x: &[f32]) -> F32x4;
    fn store(lanes: F32x4, out: &mut [f32]);
}

struct Whole;
struct Tail;

impl Chunk for Whole {
    #[inline(always)]
    fn load(x: &[f32]) -> F32x4 {
        F32x4::load(x)
    }
    #[inline(always)]
    fn store(lanes: F32x4, out: &mut [f32]) {
        lanes.store(out)
    }
}

impl Chunk for Tail {
    #[inline(always)]
    fn load(x: &[f32]) -> F32x4 {
        load_partial(x, 0.0)
    }
    #[inline(always)]
    fn store(lanes: F32x4, out: &mut [f32]) {
        store_partial(lanes, out)
    }
}

/// Runs `step` on the chunk of `block` at `at`; an empty moment reads as zeros and is not
/// written. `deltas` receives each value's change.
#[inline(always)]
fn update_chunk<C: Chunk>(block: &mut Block, deltas: &mut [f32], at: usize, step: &impl Fn(F32x4, F32x4, F32x4, F32x4) -> (F32x4, F32x4, F32x4)) {
    let zero = F32x4::zero();
    let moment = |m: &[f32]| if m.is_empty() { zero } else { C::load(&m[at..]) };
    let before = C::load(&block.value[at..]);
    let (after, m1, m2) = step(before, C::load(&block.grad[at..]), moment(block.moment1), moment(block.moment2));
    C::store(after.sub(before), &mut deltas[at..]);
    C::store(after, &mut block.value[at..]);
    if !block.moment1.is_empty() {
        C::store(m1, &mut block.moment1[at..]);
    }
    if !block.moment2.is_empty() {
        C::store(m2, &mut block.moment2[at..]);
    }
}

/// Runs `step` over `block` four lanes at a time, the tail through padded lanes with the same
/// arithmetic.
#[inline(always)]
fn update_lanes(mut block: Block, deltas: &mut [f32], step: impl Fn(F32x4, F32x4, F32x4, F32x4) -> (F32x4, F32x4, F32x4)) {
    let len = block.value.len();
    let whole = len - len % 4;
    for at in (0..whole).step_by(4) {
        update_chunk::<Whole>(&mut block, deltas, at, &step);
    }
    if whole < len {
        update_chunk::<Tail>(&mut block, deltas, whole, &step);
    }
}

impl Rule {
    /// The optimiser state the rule keeps per value.
    fn moments(&self) -> usize {
        match *self {
            Rule::Sgd { momentum, .. } => usize::from(momentum != 0.0),
            Rule::Adam { .. } => 2,
        }
    }

    /// Updates `block`; `deltas` receives each value's change.
    fn apply(&self, block: Block, deltas: &mut [f32]) {
        let splat = F32x4::splat;
        match *self {
            Rule::Sgd { lr, momentum, nesterov, weight_decay, first } => {
                let (lr, momentum_lanes, weight_decay) = (splat(lr), splat(momentum), splat(weight_decay));
                update_lanes(block, deltas, |before, g, velocity, v| {
                    let mut g = g.add(weight_decay.mul(before));
                    let mut velocity = velocity;
                    if momentum != 0.0 {
                        velocity = if first { g } else { momentum_lanes.mul(velocity).add(g) };
                        g = if nesterov { g.add(momentum_lanes.mul(velocity)) } else { velocity };
                    }
                    (before.sub(lr.mul(g)), velocity, v)
                });
            }
            Rule::Adam { beta1, beta2, eps, weight_decay, decoupled, step_size, correction2_sqrt, decay } => {
                let (beta1_lanes, keep1, beta2_lanes, keep2) = (splat(beta1), splat(1.0 - beta1), splat(beta2), splat(1.0 - beta2));
                let (eps, weight_decay, step, correction2_sqrt, decay) = (splat(eps), splat(weight_decay), splat(-step_size), splat(correction2_sqrt), splat(decay));
                update_lanes(block, deltas, |before, g, m, v| {
                    let (g, p) = if decoupled { (g, before.mul(decay)) } else { (g.add(weight_decay.mul(before)), before) };
                    let m = m.mul(beta1_lanes).add(g.mul(keep1));
                    let v = v.mul(beta2_lanes).add(keep2.mul(g.mul(g)));
                    let denominator = v.sqrt().div(correction2_sqrt).add(eps);
                    (p.add(step.mul(m.div(denominator))), m, v)
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layer::Role;

    fn rates(lr: f32, schedule: Schedule, steps: u64) -> Vec<f32> {
        let sgd = Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 };
        (0..steps).map(|step| Optimizer { steps: step, ..Optimizer::new(sgd, lr, schedule) }.current_lr()).collect()
    }

    /// Golden values from PyTorch 1.13, the closed form of each scheduler as f32, with the
    /// hyper-parameters as the f32 values the model holds:
    ///
    /// ```python
    /// f = lambda v: float(np.float32(v))
    /// s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=f(0.1))  # lr 1
    /// for i in range(14): s.last_epoch = i; print(np.float32(s._get_closed_form_lr()[0]))
    /// s = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=f(0.1))  # lr 0.5
    /// ```
    #[test]
    fn schedules_equal_pytorch_bit_for_bit_past_t_max_too() {
        let cosine = rates(1.0, Schedule::Cosine { t_max: 4, eta_min: 0.1 }, 14);
        assert_eq!(cosine, vec![1.0, 0.86819804, 0.55, 0.23180196, 0.1, 0.23180196, 0.55, 0.86819804, 1.0, 0.86819804, 0.55, 0.23180196, 0.1, 0.23180196]);
        let cosine = rates(0.05, Schedule::Cosine { t_max: 3, eta_min: 0.01 }, 14);
        assert_eq!(cosine, vec![0.05, 0.04, 0.02, 0.01, 0.02, 0.04, 0.05, 0.04, 0.02, 0.01, 0.02, 0.04, 0.05, 0.04]);
        let step = rates(0.5, Schedule::Step { step_size: 3, gamma: 0.1 }, 10);
        assert_eq!(step, vec![0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.0050000004, 0.0050000004, 0.0050000004, 0.0005]);
        let step = rates(1.0, Schedule::Step { step_size: 2, gamma: 0.5 }, 7);
        assert_eq!(step, vec![1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]);
        assert_eq!(rates(0.3, Schedule::Constant, 3), vec![0.3; 3]);
    }

    /// PyTorch's per-element loops (torch.optim.SGD and Adam/AdamW, single-tensor, f32), one
    /// value at a time: what the four-lane blocked update must reproduce bit for bit.
    fn reference_step(method: Method, lr: f32, t: u64, value: &mut [f32], grad: &[f32], m1: &mut [f32], m2: &mut [f32]) -> f64 {
        let mut update_sq = 0.0;
        for i in 0..value.len() {
            let before = value[i];
            match method {
                Method::Sgd { momentum, nesterov, weight_decay } => {
                    let mut g = grad[i] + weight_decay * value[i];
                    if momentum != 0.0 {
                        m1[i] = if t == 1 { g } else { momentum * m1[i] + g };
                        g = if nesterov { g + momentum * m1[i] } else { m1[i] };
                    }
                    value[i] -= lr * g;
                }
                Method::Adam { beta1, beta2, eps, weight_decay } | Method::AdamW { beta1, beta2, eps, weight_decay } => {
                    let mut g = grad[i];
                    if matches!(method, Method::AdamW { .. }) {
                        value[i] *= 1.0 - lr * weight_decay;
                    } else {
                        g += weight_decay * value[i];
                    }
                    m1[i] = m1[i] * beta1 + g * (1.0 - beta1);
                    m2[i] = m2[i] * beta2 + (1.0 - beta2) * (g * g);
                    let step_size = (lr as f64 / (1.0 - (beta1 as f64).powi(t as i32))) as f32;
                    let correction2_sqrt = (1.0 - (beta2 as f64).powi(t as i32)).sqrt() as f32;
                    value[i] += -step_size * (m1[i] / (m2[i].sqrt() / correction2_sqrt + eps));
                }
            }
            update_sq += ((value[i] - before) as f64).powi(2);
        }
        update_sq
    }

    #[test]
    fn the_blocked_update_equals_the_per_value_loop_bit_for_bit() {
        let methods = [
            Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 },
            Method::Sgd { momentum: 0.9, nesterov: false, weight_decay: 0.01 },
            Method::Sgd { momentum: 0.9, nesterov: true, weight_decay: 0.0 },
            Method::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 },
            Method::AdamW { beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0.1 },
        ];
        // Lengths with tails of every size, and across blocks of UPDATE_BLOCK values.
        for len in [1, 2, 3, 4, 5, 7, 9, UPDATE_BLOCK - 1, UPDATE_BLOCK + 3, 3 * UPDATE_BLOCK + 2] {
            for method in methods {
                let values: Vec<f32> = (0..len).map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0).collect();
                let mut p = Param::new("w".into(), vec![len], Role::Weight, values.clone()).unwrap();
                let mut optimizer = Optimizer::new(method, 0.05, Schedule::Constant);
                let (mut value, mut m1, mut m2) = (values, vec![0.0; len], vec![0.0; len]);
                for t in 1..=3u64 {
                    let grad: Vec<f32> = (0..len).map(|i| ((i * 53 + t as usize * 7) % 97) as f32 / 30.0 - 1.5).collect();
                    p.grad = grad.clone();
                    optimizer.step(&mut [&mut p]);
                    let update_sq = reference_step(method, 0.05, t, &mut value, &grad, &mut m1, &mut m2);
                    assert_eq!(p.value, value, "{:?}, {} values, step {}", method, len, t);
                    assert!((p.last_update_sq - update_sq).abs() <= 1e-6 * update_sq, "{:?}, {} values: update {} vs {}", method, len, p.last_update_sq, update_sq);
                }
            }
        }
    }

    #[test]
    fn keeps_finite_tries_the_update_without_making_it() {
        let sgd = |weight_decay| Method::Sgd { momentum: 0.0, nesterov: false, weight_decay };
        // Every block: the bad value sits in the last block, past the first UPDATE_BLOCK values.
        let len = UPDATE_BLOCK + 5;
        let mut p = Param::new("w".into(), vec![len], Role::Weight, vec![1.0; len]).unwrap();
        p.grad = vec![0.5; len];
        assert!(Optimizer::new(sgd(0.0), 0.1, Schedule::Constant).keeps_finite(&p));
        p.value[len - 1] = 3e38;
        let before = p.clone();
        // p − lr·(g + wd·p) = 3e38 − 3e39 overflows to −Inf.
        let optimizer = Optimizer::new(sgd(10.0), 1.0, Schedule::Constant);
        assert!(!optimizer.keeps_finite(&p));
        assert_eq!((p.value.clone(), p.moment1.clone(), optimizer.steps), (before.value, before.moment1, 0));
        // Adam with eps 0 divides 0 by 0 where a gradient is zero; its v overflows at |g| = 1e20.
        let adam = |eps| Method::Adam { beta1: 0.9, beta2: 0.999, eps, weight_decay: 0.0 };
        let mut q = Param::new("w".into(), vec![2], Role::Weight, vec![1.0, 1.0]).unwrap();
        q.grad = vec![0.0, 1.0];
        assert!(Optimizer::new(adam(1e-8), 0.1, Schedule::Constant).keeps_finite(&q));
        assert!(!Optimizer::new(adam(0.0), 0.1, Schedule::Constant).keeps_finite(&q));
        q.grad = vec![1e20, 1.0];
        assert!(!Optimizer::new(adam(1e-8), 0.1, Schedule::Constant).keeps_finite(&q), "v = g² is Inf in f32");
        // Held moments are what the trial starts from: a velocity of 3e38 overflows with momentum.
        let mut r = Param::new("w".into(), vec![1], Role::Weight, vec![0.0]).unwrap();
        r.grad = vec![3e38];
        r.moment1 = vec![3e38];
        let momentum = Optimizer { steps: 1, ..Optimizer::new(Method::Sgd { momentum: 0.9, nesterov: false, weight_decay: 0.0 }, 1e-3, Schedule::Constant) };
        assert!(!momentum.keeps_finite(&r));
        r.moment1 = vec![0.0];
        assert!(momentum.keeps_finite(&r));
        assert_eq!([sgd(0.0), Method::Sgd { momentum: 0.9, nesterov: false, weight_decay: 0.0 }, adam(1e-8)].map(|m| Optimizer::new(m, 0.1, Schedule::Constant).moments_per_value()), [0, 1, 2]);
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        let mut p = Param::new("w".into(), vec![2], Role::Weight, vec![1.0, -1.0]).unwrap();
        p.grad = vec![0.3, -7.0];
        let mut opt = Optimizer::new(Method::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }, 0.1, Schedule::Constant);
        opt.step(&mut [&mut p]);
        assert!((p.value[0] - 0.9).abs() < 1e-5 && (p.value[1] + 0.9).abs() < 1e-5);
    }
}
