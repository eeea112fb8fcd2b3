//! Pointwise math: exp, log, sqrt, square and powers with a scalar exponent.
//!
//! Each function's value and derivative sit side by side in [`MathKind::value`] and
//! [`MathKind::derivative`]. Outside a function's domain the result follows IEEE arithmetic
//! as PyTorch does (`log(−1)` is NaN, `log(0)` is −∞).

use crate::autograd::{Backward, Tape, TensorId};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MathKind {
    Exp,
    Log,
    Sqrt,
    Square,
    /// `x^p` for a finite scalar exponent `p`.
    Pow(f32),
}

impl MathKind {
    pub fn name(self) -> &'static str {
        match self {
            MathKind::Exp => "exp",
            MathKind::Log => "log",
            MathKind::Sqrt => "sqrt",
            MathKind::Square => "square",
            MathKind::Pow(_) => "pow",
        }
    }

    /// `y = f(x)`.
    fn value(self, x: f32) -> f32 {
        match self {
            MathKind::Exp => x.exp(),
            MathKind::Log => x.ln(),
            MathKind::Sqrt => x.sqrt(),
            MathKind::Square => x * x,
            MathKind::Pow(p) => x.powf(p),
        }
    }

    /// `dy/dx`, given `x` and `y = f(x)`.
    fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            MathKind::Exp => y,
            MathKind::Log => 1.0 / x,
            MathKind::Sqrt => 0.5 / y,
            MathKind::Square => 2.0 * x,
            // p·x^(p−1); written without dividing by x so that x = 0 works for p ≥ 1.
            MathKind::Pow(p) => {
                if p == 0.0 {
                    0.0
                } else {
                    p * x.powf(p - 1.0)
                }
            }
        }
    }
}

/// `f(x)` elementwise for `f` = `kind`; the output has the shape of `x`.
pub fn pointwise(tape: &mut Tape, kind: MathKind, x: TensorId) -> Result<TensorId> {
    let op = kind.name();
    if let MathKind::Pow(p) = kind {
        if !p.is_finite() {
            return Err(Error::invalid(op, "exponent", "a finite number", p.to_string()));
        }
    }
    let input = tape.value(op, "x", x)?;
    let output = Rc::new(input.map(op, |v| kind.value(v))?);
    let saved = PointwiseBackward { kind, x: input, y: output.clone() };
    tape.record(&[x], output, saved)
}

struct PointwiseBackward {
    kind: MathKind,
    x: Rc<Tensor>,
    y: Rc<Tensor>,
}

impl Backward for PointwiseBackward {
    /// `dx = dy · f'(x)`.
    fn backward(&self, grad: &Tensor, _needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let mut dx = grad.zeros_like(self.kind.name())?;
        let values = self.x.data().iter().zip(self.y.data()).zip(grad.data());
        for (out, ((&x, &y), &g)) in dx.data_mut().iter_mut().zip(values) {
            *out = g * self.kind.derivative(x, y);
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
    fn values_match_std() {
        let mut tape = Tape::new();
        let x = leaf(&mut tape, &[3], &[0.5, 1.0, 4.0]);
        let cases: [(MathKind, [f32; 3]); 5] = [
            (MathKind::Exp, [0.5f32.exp(), 1.0f32.exp(), 4.0f32.exp()]),
            (MathKind::Log, [0.5f32.ln(), 0.0, 4.0f32.ln()]),
            (MathKind::Sqrt, [0.5f32.sqrt(), 1.0, 2.0]),
            (MathKind::Square, [0.25, 1.0, 16.0]),
            (MathKind::Pow(1.5), [0.5f32.powf(1.5), 1.0, 8.0]),
        ];
        for (kind, expected) in cases {
            let y = pointwise(&mut tape, kind, x).unwrap();
            assert_eq!(tape.value("t", "y", y).unwrap().data(), &expected, "{}", kind.name());
        }
        assert_eq!(pointwise(&mut tape, MathKind::Pow(f32::NAN), x).unwrap_err().code(), "InvalidArgument");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let kinds = [
            (MathKind::Exp, Domain::Any),
            (MathKind::Log, Domain::Positive),
            (MathKind::Sqrt, Domain::Positive),
            (MathKind::Square, Domain::Any),
            (MathKind::Pow(3.0), Domain::Any),
            (MathKind::Pow(-1.5), Domain::Positive),
            (MathKind::Pow(0.0), Domain::Any),
        ];
        for (kind, domain) in kinds {
            for seed in SEEDS {
                let shape = random_shape(&mut Rng::new(seed), 0..=3);
                check_gradients(kind.name(), seed, &[&shape], &[domain], |tape, x| pointwise(tape, kind, x[0]));
            }
        }
    }
}
