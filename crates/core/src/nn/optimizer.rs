//! Optimisers with PyTorch's semantics and defaults, and learning-rate schedules. One `step`
//! updates every parameter from its `grad` and records the size of the update.

use super::layer::Param;
use crate::error::Result;
use crate::kernels::lanes::{load_partial, store_partial, F32x4};
use crate::kernels::vector;
use crate::size;

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
    /// Each parameter's state, by slot: the parameter's index in state-dict order, as
    /// [`Optimizer::step`] receives them.
    slots: Vec<Slot>,
}

/// The state the optimiser keeps for one parameter.
#[derive(Clone, Debug, Default)]
struct Slot {
    /// SGD's velocity or Adam's m; empty while the rule keeps none.
    moment1: Vec<f32>,
    /// Adam's v; empty otherwise.
    moment2: Vec<f32>,
    /// The largest |moment1| and |moment2| the last update left (NaN if one is NaN), where
    /// the guard's bound starts from (see [`Optimizer::keeps_finite`]).
    moment1_max: f32,
    moment2_max: f32,
}

/// The guard's shortcut trusts an update whose bound stays below this: half of f32::MAX
/// leaves room for the f32 rounding of the handful of operations a rule makes (each within
/// 2⁻²⁴ relative of the exact value the bound bounds).
const SAFE_BOUND: f64 = f32::MAX as f64 / 2.0;

impl Optimizer {
    pub fn new(method: Method, lr: f32, schedule: Schedule) -> Optimizer {
        Optimizer { method, lr, schedule, steps: 0, slots: Vec::new() }
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

    /// Allocates the state of every parameter now, fallibly, in slot order: growing it lazily
    /// at the first step would abort the instance when memory has run out by then.
    pub fn allocate(&mut self, params: &[&mut Param]) -> Result<()> {
        let moments = self.rule(self.lr, 1).moments();
        let zeros = |param: &Param, needed: bool| if needed { size::zeros("createModel", &param.name, param.value.len()) } else { Ok(Vec::new()) };
        self.slots = params
            .iter()
            .map(|param| Ok(Slot { moment1: zeros(param, moments >= 1)?, moment2: zeros(param, moments == 2)?, ..Slot::default() }))
            .collect::<Result<_>>()?;
        Ok(())
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

    /// Whether the next [`Optimizer::step`] leaves `param` (in `slot`) and its moments finite,
    /// so the guard can refuse a step before it changes anything. One pass finds the largest
    /// |value| and |grad|; with the largest moments the last step left, [`Rule::bound`] bounds
    /// every updated value and moment, and only a bound near f32::MAX runs the update on
    /// copies ([`Optimizer::tries_finite`]).
    pub fn keeps_finite(&self, slot: usize, param: &Param) -> bool {
        let rule = self.rule(self.current_lr(), self.steps + 1);
        let state = self.slots.get(slot);
        let (moment1, moment2) = state.map_or((0.0, 0.0), |s| (s.moment1_max, s.moment2_max));
        rule.bound(vector::max_abs(&param.value), vector::max_abs(&param.grad), moment1, moment2) <= SAFE_BOUND || Self::tries_finite(rule, state, param)
    }

    /// The exact check: the update of `param` run on copies of each block.
    fn tries_finite(rule: Rule, state: Option<&Slot>, param: &Param) -> bool {
        let moments = rule.moments();
        let (mut value, mut moment1, mut moment2, mut deltas) = ([0.0f32; UPDATE_BLOCK], [0.0f32; UPDATE_BLOCK], [0.0f32; UPDATE_BLOCK], [0.0f32; UPDATE_BLOCK]);
        let len = param.value.len();
        for start in (0..len).step_by(UPDATE_BLOCK) {
            let end = (start + UPDATE_BLOCK).min(len);
            let n = end - start;
            value[..n].copy_from_slice(&param.value[start..end]);
            // A moment not allocated yet starts at zero, as `update` starts it.
            let copy = |moment: Option<&Vec<f32>>, into: &mut [f32]| match moment.and_then(|m| m.get(start..end)) {
                Some(held) => into.copy_from_slice(held),
                None => into.iter_mut().for_each(|m| *m = 0.0),
            };
            copy(state.map(|s| &s.moment1), &mut moment1[..n]);
            copy(state.map(|s| &s.moment2), &mut moment2[..n]);
            let (used1, used2) = (if moments >= 1 { n } else { 0 }, if moments == 2 { n } else { 0 });
            let block = Block { value: &mut value[..n], grad: &param.grad[start..end], moment1: &mut moment1[..used1], moment2: &mut moment2[..used2] };
            rule.apply(block, &mut deltas[..n], &mut [F32x4::zero(); 2]);
            if !(vector::all_finite(&value[..n]) && vector::all_finite(&moment1[..used1]) && vector::all_finite(&moment2[..used2])) {
                return false;
            }
        }
        true
    }

    /// Applies one update to `param` from its `grad` with `rule`, four lanes at a time and a
    /// block at a time: each block's update is kept until its squared size is summed (in
    /// f64, see `vector::sum_squares`) for the update/weight ratio.
    fn update(rule: Rule, slot: &mut Slot, param: &mut Param) {
        let len = param.value.len();
        let moments = rule.moments();
        if moments >= 1 && slot.moment1.len() != len {
            slot.moment1 = vec![0.0; len];
        }
        if moments == 2 && slot.moment2.len() != len {
            slot.moment2 = vec![0.0; len];
        }
        let mut deltas = [0.0f32; UPDATE_BLOCK];
        let mut update_sq = 0.0f64;
        let mut largest = [F32x4::zero(); 2];
        for start in (0..len).step_by(UPDATE_BLOCK) {
            let end = (start + UPDATE_BLOCK).min(len);
            let moment = |m: &Vec<f32>| if m.is_empty() { 0..0 } else { start..end };
            let (range1, range2) = (moment(&slot.moment1), moment(&slot.moment2));
            let block = Block { value: &mut param.value[start..end], grad: &param.grad[start..end], moment1: &mut slot.moment1[range1], moment2: &mut slot.moment2[range2] };
            let deltas = &mut deltas[..end - start];
            rule.apply(block, deltas, &mut largest);
            update_sq += vector::sum_squares(deltas);
        }
        param.last_update_sq = update_sq;
        let lanes = |l: F32x4| {
            let mut four = [0.0f32; 4];
            l.store(&mut four);
            vector::max_abs(&four)
        };
        slot.moment1_max = lanes(largest[0]);
        slot.moment2_max = lanes(largest[1]);
    }

    /// Updates every parameter once, `params[i]` with the state of slot `i`, and advances the
    /// step counter.
    pub fn step(&mut self, params: &mut [&mut Param]) {
        let rule = self.rule(self.current_lr(), self.steps + 1);
        if self.slots.len() < params.len() {
            self.slots.resize_with(params.len(), Slot::default);
        }
        for (param, slot) in params.iter_mut().zip(self.slots.iter_mut()) {
            Self::update(rule, slot, param);
        }
        self.steps += 1;
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
/// written. `deltas` receives each value's change, `largest` the lane-wise largest |moment|
/// (NaN-sticky, see `vector::max_abs`; a padded lane's moments are zero).
#[inline(always)]
fn update_chunk<C: Chunk>(block: &mut Block, deltas: &mut [f32], largest: &mut [F32x4; 2], at: usize, step: &impl Fn(F32x4, F32x4, F32x4, F32x4) -> (F32x4, F32x4, F32x4)) {
    let zero = F32x4::zero();
    let moment = |m: &[f32]| if m.is_empty() { zero } else { C::load(&m[at..]) };
    let before = C::load(&block.value[at..]);
    let (after, m1, m2) = step(before, C::load(&block.grad[at..]), moment(block.moment1), moment(block.moment2));
    C::store(after.sub(before), &mut deltas[at..]);
    C::store(after, &mut block.value[at..]);
    if !block.moment1.is_empty() {
        C::store(m1, &mut block.moment1[at..]);
        largest[0] = largest[0].max_as_i32(m1.abs());
    }
    if !block.moment2.is_empty() {
        C::store(m2, &mut block.moment2[at..]);
        largest[1] = largest[1].max_as_i32(m2.abs());
    }
}

/// Runs `step` over `block` four lanes at a time, the tail through padded lanes with the same
/// arithmetic.
#[inline(always)]
fn update_lanes(mut block: Block, deltas: &mut [f32], largest: &mut [F32x4; 2], step: impl Fn(F32x4, F32x4, F32x4, F32x4) -> (F32x4, F32x4, F32x4)) {
    let len = block.value.len();
    let whole = len - len % 4;
    for at in (0..whole).step_by(4) {
        update_chunk::<Whole>(&mut block, deltas, largest, at, &step);
    }
    if whole < len {
        update_chunk::<Tail>(&mut block, deltas, largest, whole, &step);
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

    /// An upper bound on the magnitude of every value, moment and intermediate result of the
    /// update, from the largest |value|, |grad| and |moment| before it, in exact arithmetic
    /// (the triangle inequality term by term; Adam's denominator √v/√(1−β2^t) + eps is at
    /// least eps). NaN or infinite when an input is, or when that denominator can be 0.
    fn bound(&self, value: f32, grad: f32, moment1: f32, moment2: f32) -> f64 {
        let (w, g, m1, m2) = (value as f64, grad as f64, moment1 as f64, moment2 as f64);
        // A sum of the non-negative terms: at least their maximum, and NaN or ∞ stays.
        match *self {
            Rule::Sgd { lr, momentum, nesterov, weight_decay, first } => {
                let g = g + (weight_decay as f64).abs() * w;
                let momentum = (momentum as f64).abs();
                let velocity = if momentum == 0.0 { 0.0 } else if first { g } else { momentum * m1 + g };
                let change = if momentum == 0.0 { g } else if nesterov { g + momentum * velocity } else { velocity };
                w + (lr as f64).abs() * change + velocity
            }
            Rule::Adam { beta1, beta2, eps, weight_decay, decoupled, step_size, decay, .. } => {
                let (g, p) = if decoupled { (g, w * (decay as f64).abs()) } else { (g + (weight_decay as f64).abs() * w, w) };
                let m = beta1 as f64 * m1 + (1.0 - beta1 as f64) * g;
                let v = beta2 as f64 * m2 + (1.0 - beta2 as f64) * g * g;
                let change = (step_size as f64).abs() * m / eps as f64;
                w + p + change + m + v + g * g
            }
        }
    }

    /// Updates `block`; `deltas` receives each value's change and `largest` the lane-wise
    /// largest |moment| so far.
    fn apply(&self, block: Block, deltas: &mut [f32], largest: &mut [F32x4; 2]) {
        let splat = F32x4::splat;
        match *self {
            Rule::Sgd { lr, momentum, nesterov, weight_decay, first } => {
                let (lr, momentum_lanes, weight_decay) = (splat(lr), splat(momentum), splat(weight_decay));
                update_lanes(block, deltas, largest, |before, g, velocity, v| {
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
                update_lanes(block, deltas, largest, |before, g, m, v| {
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
        assert!(Optimizer::new(sgd(0.0), 0.1, Schedule::Constant).keeps_finite(0, &p));
        p.value[len - 1] = 3e38;
        let before = p.clone();
        // p − lr·(g + wd·p) = 3e38 − 3e39 overflows to −Inf.
        let optimizer = Optimizer::new(sgd(10.0), 1.0, Schedule::Constant);
        assert!(!optimizer.keeps_finite(0, &p));
        assert_eq!((p.value.clone(), optimizer.steps), (before.value, 0));
        // Adam with eps 0 divides 0 by 0 where a gradient is zero; its v overflows at |g| = 1e20.
        let adam = |eps| Method::Adam { beta1: 0.9, beta2: 0.999, eps, weight_decay: 0.0 };
        let mut q = Param::new("w".into(), vec![2], Role::Weight, vec![1.0, 1.0]).unwrap();
        q.grad = vec![0.0, 1.0];
        assert!(Optimizer::new(adam(1e-8), 0.1, Schedule::Constant).keeps_finite(0, &q));
        assert!(!Optimizer::new(adam(0.0), 0.1, Schedule::Constant).keeps_finite(0, &q));
        q.grad = vec![1e20, 1.0];
        assert!(!Optimizer::new(adam(1e-8), 0.1, Schedule::Constant).keeps_finite(0, &q), "v = g² is Inf in f32");
        // Held moments are what the trial starts from: a velocity of 3e38 overflows with momentum.
        let momentum = Method::Sgd { momentum: 0.9, nesterov: false, weight_decay: 0.0 };
        let mut r = Param::new("w".into(), vec![1], Role::Weight, vec![0.0]).unwrap();
        let mut optimizer = Optimizer::new(momentum, 1e-3, Schedule::Constant);
        r.grad = vec![3e38];
        optimizer.step(&mut [&mut r]);
        assert_eq!((optimizer.slots[0].moment1.clone(), optimizer.slots[0].moment1_max), (vec![3e38], 3e38));
        assert!(!optimizer.keeps_finite(0, &r), "0.9·3e38 + 3e38 overflows");
        r.grad = vec![-3e38];
        assert!(optimizer.keeps_finite(0, &r), "0.9·3e38 − 3e38 does not");
        // The slot is the parameter's: a fresh slot 1 holds no velocity.
        r.grad = vec![3e38];
        assert!(optimizer.keeps_finite(1, &r));
    }

    /// The moments each method keeps, allocated up front for each slot.
    #[test]
    fn allocate_gives_each_slot_the_moments_its_method_keeps() {
        let methods = [
            Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 },
            Method::Sgd { momentum: 0.9, nesterov: false, weight_decay: 0.0 },
            Method::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 },
            Method::AdamW { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 },
        ];
        let lengths: Vec<[usize; 4]> = methods
            .iter()
            .map(|&method| {
                let mut a = Param::new("a".into(), vec![3], Role::Weight, vec![0.0; 3]).unwrap();
                let mut b = Param::new("b".into(), vec![2], Role::Bias, vec![0.0; 2]).unwrap();
                let mut optimizer = Optimizer::new(method, 0.1, Schedule::Constant);
                optimizer.allocate(&[&mut a, &mut b]).unwrap();
                let s = &optimizer.slots;
                [s[0].moment1.len(), s[0].moment2.len(), s[1].moment1.len(), s[1].moment2.len()]
            })
            .collect();
        assert_eq!(lengths, vec![[0, 0, 0, 0], [3, 0, 2, 0], [3, 3, 2, 2], [3, 3, 2, 2]]);
    }

    /// Values spread over every magnitude f32 has, both signs, a few zeros.
    fn wide_values(len: usize, largest_exponent: f32, rng: &mut crate::rng::Rng) -> Vec<f32> {
        (0..len).map(|i| if i % 11 == 5 { 0.0 } else { rng.uniform(-1.0, 1.0) * 10f32.powf(rng.uniform(-30.0, largest_exponent)) }).collect()
    }

    /// The shortcut never lets through what the exact check refuses: over random weights,
    /// gradients, held moments and methods near and far from overflow, `keeps_finite` equals
    /// the per-element trial; and wherever the bound vouches for a step, the step's values and
    /// moments really stay below it.
    #[test]
    fn the_bound_agrees_with_the_exact_check_and_bounds_every_updated_value() {
        let mut rng = crate::rng::Rng::new(11);
        let methods = [
            Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 },
            Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 3.0 },
            Method::Sgd { momentum: 0.9, nesterov: false, weight_decay: 0.1 },
            Method::Sgd { momentum: 0.99, nesterov: true, weight_decay: 0.0 },
            Method::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 },
            Method::Adam { beta1: 0.5, beta2: 0.5, eps: 1e-30, weight_decay: 0.0 },
            Method::AdamW { beta1: 0.9, beta2: 0.99, eps: 1e-6, weight_decay: 2.0 },
        ];
        let (mut shortcuts, mut refusals) = (0, 0);
        for case in 0..600 {
            let method = methods[case % methods.len()];
            let largest = [2.0, 10.0, 19.0, 30.0, 37.0, 38.5][case / methods.len() % 6];
            let lr = [1e-3, 0.1, 10.0][case % 3];
            let len = 1 + case % 9;
            let mut p = Param::new("w".into(), vec![len], Role::Weight, wide_values(len, largest, &mut rng)).unwrap();
            let mut optimizer = Optimizer::new(method, lr, Schedule::Constant);
            // A first step (if finite) leaves moments to start from.
            p.grad = wide_values(len, largest, &mut rng);
            if optimizer.keeps_finite(0, &p) {
                optimizer.step(&mut [&mut p]);
            }
            p.grad = wide_values(len, largest, &mut rng);
            let rule = optimizer.rule(optimizer.current_lr(), optimizer.steps + 1);
            let slot = optimizer.slots.first().cloned().unwrap_or_default();
            let exact = Optimizer::tries_finite(rule, Some(&slot), &p);
            assert_eq!(optimizer.keeps_finite(0, &p), exact, "case {}: {:?}, lr {}, {:?} {:?} {:?}", case, method, lr, p.value, p.grad, slot);
            let bound = rule.bound(vector::max_abs(&p.value), vector::max_abs(&p.grad), slot.moment1_max, slot.moment2_max);
            if bound <= SAFE_BOUND {
                shortcuts += 1;
                optimizer.step(&mut [&mut p]);
                let slot = &optimizer.slots[0];
                let reached = p.value.iter().chain(&slot.moment1).chain(&slot.moment2).fold(0.0f64, |m, v| m.max(v.abs() as f64));
                assert!(reached <= bound * (1.0 + 1e-6), "case {}: {} above the bound {}", case, reached, bound);
            } else if !exact {
                refusals += 1;
            }
        }
        // Both branches ran often: the test can tell a bound that is too loose or too tight.
        assert!(shortcuts > 300 && refusals > 50, "{} shortcuts, {} refusals", shortcuts, refusals);
    }

    /// The bound of each rule on one value, against the same step worked by hand.
    #[test]
    fn each_rule_bounds_its_update_term_by_term() {
        let sgd = |momentum, nesterov, first| Rule::Sgd { lr: 0.5, momentum, nesterov, weight_decay: 2.0, first };
        // g' = 3 + 2·4 = 11; plain: 4 + 0.5·11.
        assert_eq!(sgd(0.0, false, false).bound(4.0, 3.0, 100.0, 100.0), 4.0 + 0.5 * 11.0);
        // Velocity 0.5·10 + 11 = 16 (first step: 11); heavy ball moves by it, Nesterov by 11 + 0.5·16.
        assert_eq!(sgd(0.5, false, false).bound(4.0, 3.0, 10.0, 0.0), 4.0 + 0.5 * 16.0 + 16.0);
        assert_eq!(sgd(0.5, false, true).bound(4.0, 3.0, 10.0, 0.0), 4.0 + 0.5 * 11.0 + 11.0);
        assert_eq!(sgd(0.5, true, false).bound(4.0, 3.0, 10.0, 0.0), 4.0 + 0.5 * (11.0 + 0.5 * 16.0) + 16.0);
        let adam = |decoupled| Rule::Adam { beta1: 0.5, beta2: 0.75, eps: 0.25, weight_decay: 2.0, decoupled, step_size: 3.0, correction2_sqrt: 0.5, decay: -1.5 };
        // Adam: g' = 3 + 2·4 = 11, m = 0.5·2 + 0.5·11 = 6.5, v = 0.75·8 + 0.25·121 = 36.25, change 3·6.5/0.25.
        assert_eq!(adam(false).bound(4.0, 3.0, 2.0, 8.0), 4.0 + 4.0 + 3.0 * 6.5 / 0.25 + 6.5 + 36.25 + 121.0);
        // AdamW: g' = 3, p = 4·|−1.5|, m = 1 + 1.5, v = 6 + 2.25.
        assert_eq!(adam(true).bound(4.0, 3.0, 2.0, 8.0), 4.0 + 6.0 + 3.0 * 2.5 / 0.25 + 2.5 + 8.25 + 9.0);
        // Inputs that are not finite, and a denominator that can be 0, are no bound at all.
        assert!(!(sgd(0.0, false, false).bound(f32::NAN, 1.0, 0.0, 0.0) <= SAFE_BOUND));
        assert!(!(sgd(0.5, false, false).bound(1.0, 1.0, f32::INFINITY, 0.0) <= SAFE_BOUND));
        let eps_zero = Rule::Adam { beta1: 0.9, beta2: 0.999, eps: 0.0, weight_decay: 0.0, decoupled: false, step_size: 0.1, correction2_sqrt: 0.03, decay: 1.0 };
        assert!(!(eps_zero.bound(1.0, 0.0, 0.0, 0.0) <= SAFE_BOUND), "0/0 where the gradient is zero");
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
