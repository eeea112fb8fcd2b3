//! Activation functions and softmax as ops. The maths lives in the kernels
//! ([`crate::kernels::activation`]); these ops save what the kernels' backward needs.

use crate::autograd::{Backward, Tape, TensorId};
use crate::error::{shape_str, Error, Result};
use crate::kernels::activation::{self, Kind};
use crate::tensor::Tensor;
use std::rc::Rc;

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Identity => "identity",
        Kind::Sigmoid => "sigmoid",
        Kind::Tanh => "tanh",
        Kind::Relu => "relu",
        Kind::LeakyRelu(_) => "leakyRelu",
        Kind::Elu(_) => "elu",
    }
}

/// `f(x)` elementwise for the activation `kind`; the output has the shape of `x`.
/// The slopes of leaky ReLU and ELU must be finite.
pub fn activation(tape: &mut Tape, kind: Kind, x: TensorId) -> Result<TensorId> {
    let op = name(kind);
    if let Kind::LeakyRelu(alpha) | Kind::Elu(alpha) = kind {
        if !alpha.is_finite() {
            return Err(Error::invalid(op, "alpha", "a finite number", alpha.to_string()));
        }
    }
    let input = tape.value(op, "x", x)?;
    let mut output = input.zeros_like(op)?;
    activation::forward(kind, input.data(), output.data_mut());
    let output = Rc::new(output);
    let saved = ActivationBackward { kind, x: input, y: output.clone() };
    tape.record(&[x], output, saved)
}

struct ActivationBackward {
    kind: Kind,
    x: Rc<Tensor>,
    y: Rc<Tensor>,
}

impl Backward for ActivationBackward {
    /// `dx = dy · f'(x)`, by the kernel.
    fn backward(&self, grad: &Tensor, _needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let mut dx = grad.zeros_like(name(self.kind))?;
        activation::backward(self.kind, self.x.data(), self.y.data(), grad.data(), dx.data_mut());
        Ok(vec![Some(dx)])
    }
}

/// Softmax (or, with `log`, log-softmax) over the last axis of `x`, which needs rank ≥ 1.
pub fn softmax(tape: &mut Tape, x: TensorId, log: bool) -> Result<TensorId> {
    let op = if log { "logSoftmax" } else { "softmax" };
    let input = tape.value(op, "x", x)?;
    let columns = match input.shape().last() {
        Some(&columns) => columns,
        None => return Err(Error::shape(op, "x", "at least one dimension", shape_str(input.shape()))),
    };
    let mut output = input.zeros_like(op)?;
    if log {
        activation::log_softmax_forward(input.data(), columns, output.data_mut());
    } else {
        activation::softmax_forward(input.data(), columns, output.data_mut());
    }
    let output = Rc::new(output);
    let saved = SoftmaxBackward { log, columns, y: output.clone() };
    tape.record(&[x], output, saved)
}

/// Both backward formulas need only the output.
struct SoftmaxBackward {
    log: bool,
    columns: usize,
    y: Rc<Tensor>,
}

impl Backward for SoftmaxBackward {
    /// softmax: `dx = y ⊙ (dy − Σ dy ⊙ y)`; log-softmax: `dx = dy − exp(y) · Σ dy`, per row.
    fn backward(&self, grad: &Tensor, _needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let mut dx = grad.zeros_like("softmax")?;
        if self.log {
            activation::log_softmax_backward(self.y.data(), grad.data(), self.columns, dx.data_mut());
        } else {
            activation::softmax_backward(self.y.data(), grad.data(), self.columns, dx.data_mut());
        }
        Ok(vec![Some(dx)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::gradcheck::{check_gradients, leaf, random_shape, Domain, SEEDS};
    use crate::rng::Rng;

    #[test]
    fn values_match_definitions() {
        let mut tape = Tape::new();
        let x = leaf(&mut tape, &[4], &[-2.0, -0.5, 0.5, 3.0]);
        let check = |tape: &mut Tape, kind: Kind, f: &dyn Fn(f32) -> f32| {
            let y = activation(tape, kind, x).unwrap();
            let actual = tape.value("t", "y", y).unwrap();
            for (&a, &v) in actual.data().iter().zip(&[-2.0f32, -0.5, 0.5, 3.0]) {
                assert!((a - f(v)).abs() < 1e-6, "{}({}) = {}, expected {}", name(kind), v, a, f(v));
            }
        };
        check(&mut tape, Kind::Sigmoid, &|v| 1.0 / (1.0 + (-v).exp()));
        check(&mut tape, Kind::Tanh, &|v| v.tanh());
        check(&mut tape, Kind::Relu, &|v| v.max(0.0));
        check(&mut tape, Kind::LeakyRelu(0.1), &|v| if v > 0.0 { v } else { 0.1 * v });
        check(&mut tape, Kind::Elu(1.5), &|v| if v > 0.0 { v } else { 1.5 * (v.exp() - 1.0) });
        assert_eq!(activation(&mut tape, Kind::Elu(f32::INFINITY), x).unwrap_err().code(), "InvalidArgument");
    }

    #[test]
    fn softmax_rows_sum_to_one_and_log_softmax_is_its_log() {
        let mut tape = Tape::new();
        let x = leaf(&mut tape, &[2, 3], &[1.0, 2.0, 3.0, 1000.0, 1000.0, 1000.0]);
        let p = softmax(&mut tape, x, false).unwrap();
        let log_p = softmax(&mut tape, x, true).unwrap();
        let p = tape.value("t", "p", p).unwrap();
        let log_p = tape.value("t", "log_p", log_p).unwrap();
        for row in p.data().chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Within f32 resolution at |x| = 1000 (an ulp there is 6e-5).
        for (&a, &b) in p.data().iter().zip(log_p.data()) {
            assert!((a.ln() - b).abs() < 2e-4, "log {} vs {}", a, b);
        }
        let scalar = leaf(&mut tape, &[], &[1.0]);
        assert_eq!(softmax(&mut tape, scalar, false).unwrap_err().code(), "ShapeMismatch");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let kinds = [
            (Kind::Sigmoid, Domain::Any),
            (Kind::Tanh, Domain::Any),
            (Kind::Relu, Domain::AwayFromZero),
            (Kind::LeakyRelu(0.2), Domain::AwayFromZero),
            (Kind::Elu(1.3), Domain::AwayFromZero),
        ];
        for seed in SEEDS {
            let shape = random_shape(&mut Rng::new(seed), 1..=3);
            for (kind, domain) in kinds {
                check_gradients(name(kind), seed, &[&shape], &[domain], |tape, x| activation(tape, kind, x[0]));
            }
            for log in [false, true] {
                check_gradients("softmax", seed, &[&shape], &[Domain::Any], |tape, x| softmax(tape, x[0], log));
            }
        }
    }
}
