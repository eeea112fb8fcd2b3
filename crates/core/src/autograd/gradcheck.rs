//! Central-difference gradient checks for the ops (tests only).
//!
//! For an op `f` and random inputs `x`, the checked scalar is `L(x) = Σ w ⊙ f(x)` with fixed
//! random weights `w`, so every output element carries a different upstream gradient. The
//! analytic ∂L/∂x from the tape is compared with `(L(x + εe) − L(x − εe)) / 2ε` per element,
//! `L` summed in f64 from the op's f32 outputs.

use super::ops::elementwise::{binary, BinaryKind};
use super::ops::reduce::{reduce, ReduceKind};
use super::{Tape, TensorId};
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::Tensor;

const EPSILON: f32 = 1e-2;
const ABSOLUTE_TOLERANCE: f64 = 5e-3;
const RELATIVE_TOLERANCE: f64 = 1e-2;

/// Where an input's random values come from, to keep clear of kinks and poles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Domain {
    /// Standard normal.
    Any,
    /// |x| in [0.5, 2] with a random sign: clear of ReLU's kink and of poles at 0.
    AwayFromZero,
    /// [0.5, 2]: for log, sqrt and fractional powers.
    Positive,
    /// [0.1, 0.9]: for probabilities used as targets.
    Probability,
}

/// A leaf that needs no gradient, for tests of values.
pub fn leaf(tape: &mut Tape, shape: &[usize], values: &[f32]) -> TensorId {
    tape.leaf(Tensor::new(shape.to_vec(), values.to_vec()).unwrap(), false).unwrap()
}

/// Random values for `shape` drawn from `domain`.
pub fn random_tensor(rng: &mut Rng, shape: &[usize], domain: Domain) -> Tensor {
    let count = shape.iter().product();
    let values = (0..count)
        .map(|_| match domain {
            Domain::Any => rng.normal(0.0, 1.0),
            Domain::AwayFromZero => {
                let magnitude = rng.uniform(0.5, 2.0);
                if rng.below(2) == 0 {
                    magnitude
                } else {
                    -magnitude
                }
            }
            Domain::Positive => rng.uniform(0.5, 2.0),
            Domain::Probability => rng.uniform(0.1, 0.9),
        })
        .collect();
    Tensor::new(shape.to_vec(), values).unwrap()
}

/// A random shape with rank in `ranks` and dimensions in [1, 4].
pub fn random_shape(rng: &mut Rng, ranks: std::ops::RangeInclusive<usize>) -> Vec<usize> {
    let rank = *ranks.start() + rng.below((ranks.end() - ranks.start() + 1) as u32) as usize;
    (0..rank).map(|_| 1 + rng.below(4) as usize).collect()
}

/// Seeds for the random shapes and values of the checks.
pub const SEEDS: std::ops::Range<u64> = 0..4;

/// Checks the gradients `build` records against central differences, for inputs of `shapes`
/// drawn from `domains` with `seed`. Panics naming the op, input and element on a mismatch.
pub fn check_gradients(
    name: &str,
    seed: u64,
    shapes: &[&[usize]],
    domains: &[Domain],
    build: impl Fn(&mut Tape, &[TensorId]) -> Result<TensorId>,
) {
    let mut rng = Rng::new(seed);
    let inputs: Vec<Tensor> = shapes.iter().zip(domains).map(|(shape, &domain)| random_tensor(&mut rng, shape, domain)).collect();
    let analytic = analytic_gradients(&inputs, &build, &mut rng.clone());
    for (index, input) in inputs.iter().enumerate() {
        for element in 0..input.len() {
            let mut shifted = inputs.clone();
            let x = input.data()[element];
            shifted[index].data_mut()[element] = x + EPSILON;
            let above = weighted_sum(&shifted, &build, &mut rng.clone());
            shifted[index].data_mut()[element] = x - EPSILON;
            let below = weighted_sum(&shifted, &build, &mut rng.clone());
            let numeric = (above - below) / (2.0 * EPSILON as f64);
            let exact = analytic[index].data()[element] as f64;
            assert!(
                (exact - numeric).abs() <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * numeric.abs(),
                "{} (seed {}): input {} element {}: backward gives {}, finite differences {}",
                name,
                seed,
                index,
                element,
                exact,
                numeric
            );
        }
    }
}

/// Builds `L = Σ w ⊙ f(inputs)` on `tape`; `rng` draws the weights, so the same rng state
/// gives the same weights.
fn build_loss(tape: &mut Tape, ids: &[TensorId], build: &impl Fn(&mut Tape, &[TensorId]) -> Result<TensorId>, rng: &mut Rng) -> TensorId {
    let output = build(tape, ids).unwrap();
    let shape = tape.value("gradcheck", "output", output).unwrap().shape().to_vec();
    let weights = tape.leaf(random_tensor(rng, &shape, Domain::Any), false).unwrap();
    let weighted = binary(tape, BinaryKind::Mul, output, weights).unwrap();
    reduce(tape, ReduceKind::Sum, weighted, None, false).unwrap()
}

fn analytic_gradients(inputs: &[Tensor], build: &impl Fn(&mut Tape, &[TensorId]) -> Result<TensorId>, rng: &mut Rng) -> Vec<Tensor> {
    let mut tape = Tape::new();
    let ids: Vec<TensorId> = inputs.iter().map(|x| tape.leaf(x.clone(), true).unwrap()).collect();
    let loss = build_loss(&mut tape, &ids, build, rng);
    tape.backward(loss).unwrap();
    ids.iter()
        .zip(inputs)
        .map(|(&id, x)| match tape.grad("gradcheck", "input", id).unwrap() {
            Some(grad) => grad.clone(),
            None => Tensor::zeros("gradcheck", x.shape().to_vec()).unwrap(),
        })
        .collect()
}

/// `L` in f64 from the f32 output, with no gradients recorded.
fn weighted_sum(inputs: &[Tensor], build: &impl Fn(&mut Tape, &[TensorId]) -> Result<TensorId>, rng: &mut Rng) -> f64 {
    let mut tape = Tape::new();
    let ids: Vec<TensorId> = inputs.iter().map(|x| tape.leaf(x.clone(), false).unwrap()).collect();
    let output = build(&mut tape, &ids).unwrap();
    let output = tape.value("gradcheck", "output", output).unwrap();
    let weights = random_tensor(rng, output.shape(), Domain::Any);
    output.data().iter().zip(weights.data()).map(|(&y, &w)| y as f64 * w as f64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::Backward;
    use std::rc::Rc;

    /// `y = x²` with a deliberately wrong backward (`x` instead of `2x`).
    struct WrongSquare {
        x: Rc<Tensor>,
    }

    impl Backward for WrongSquare {
        fn backward(&self, grad: &Tensor, _needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
            let mut dx = grad.clone();
            crate::kernels::vector::mul(grad.data(), self.x.data(), dx.data_mut());
            Ok(vec![Some(dx)])
        }
    }

    #[test]
    #[should_panic(expected = "finite differences")]
    fn a_wrong_gradient_fails_the_check() {
        check_gradients("wrong square", 1, &[&[3, 2]], &[Domain::Any], |tape, x| {
            let value = tape.value("wrong", "x", x[0])?;
            let out = value.map("wrong", |v| v * v)?;
            tape.record(&[x[0]], Rc::new(out), WrongSquare { x: value })
        });
    }
}
