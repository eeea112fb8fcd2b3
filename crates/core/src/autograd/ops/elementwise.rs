//! Binary arithmetic with broadcasting: `a + b`, `a − b`, `a ⊙ b`, `a / b`.
//!
//! Shapes broadcast as in NumPy (see [`super::broadcast`]): a row `[n]` or `[1, n]` over
//! `[m, n]`, a scalar `[]` or `[1]` over anything. The output has the broadcast shape.

use super::broadcast::{broadcast_shapes, expand, sum_to};
use crate::autograd::{Backward, Tape, TensorId};
use crate::error::Result;
use crate::kernels::vector;
use crate::tensor::Tensor;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryKind {
    pub fn name(self) -> &'static str {
        match self {
            BinaryKind::Add => "add",
            BinaryKind::Sub => "sub",
            BinaryKind::Mul => "mul",
            BinaryKind::Div => "div",
        }
    }
}

/// `a ∘ b` elementwise for `∘` = `kind`, with broadcasting.
pub fn binary(tape: &mut Tape, kind: BinaryKind, a: TensorId, b: TensorId) -> Result<TensorId> {
    let op = kind.name();
    let a_value = tape.value(op, "a", a)?;
    let b_value = tape.value(op, "b", b)?;
    let shape = broadcast_shapes(op, a_value.shape(), b_value.shape())?;
    let left = expand(op, &a_value, &shape)?;
    let right = expand(op, &b_value, &shape)?;
    let mut out = Tensor::zeros(op, shape)?;
    let kernel = match kind {
        BinaryKind::Add => vector::add,
        BinaryKind::Sub => vector::sub,
        BinaryKind::Mul => vector::mul,
        BinaryKind::Div => vector::div,
    };
    kernel(left.data(), right.data(), out.data_mut());
    let out = Rc::new(out);
    let saved = BinaryBackward { kind, a: a_value.clone(), b: b_value.clone(), out: out.clone() };
    tape.record(&[a, b], out, saved)
}

/// Saves both operands (mul and div need them) and the output (div's ∂/∂b uses it).
struct BinaryBackward {
    kind: BinaryKind,
    a: Rc<Tensor>,
    b: Rc<Tensor>,
    out: Rc<Tensor>,
}

impl Backward for BinaryBackward {
    /// With g the output gradient, before summing back over broadcast dimensions:
    /// add: (g, g); sub: (g, −g); mul: (g·b, g·a); div: (g/b, −g·out/b).
    fn backward(&self, grad: &Tensor, needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let op = self.kind.name();
        let shape = grad.shape();
        let grad_a = if needed[0] {
            let local = match self.kind {
                BinaryKind::Add | BinaryKind::Sub => grad.clone(),
                BinaryKind::Mul => product(op, grad, expand(op, &self.b, shape)?.as_ref(), vector::mul)?,
                BinaryKind::Div => product(op, grad, expand(op, &self.b, shape)?.as_ref(), vector::div)?,
            };
            Some(sum_to(op, local, self.a.shape())?)
        } else {
            None
        };
        let grad_b = if needed[1] {
            let local = match self.kind {
                BinaryKind::Add => grad.clone(),
                BinaryKind::Sub => grad.map(op, |g| -g)?,
                BinaryKind::Mul => product(op, grad, expand(op, &self.a, shape)?.as_ref(), vector::mul)?,
                BinaryKind::Div => {
                    let ratio = product(op, &self.out, expand(op, &self.b, shape)?.as_ref(), vector::div)?;
                    product(op, grad, &ratio, vector::mul)?.map(op, |v| -v)?
                }
            };
            Some(sum_to(op, local, self.b.shape())?)
        } else {
            None
        };
        Ok(vec![grad_a, grad_b])
    }
}

/// `kernel(x, y)` into a new tensor shaped like `x` (both have the same shape).
fn product(op: &str, x: &Tensor, y: &Tensor, kernel: fn(&[f32], &[f32], &mut [f32])) -> Result<Tensor> {
    let mut out = x.zeros_like(op)?;
    kernel(x.data(), y.data(), out.data_mut());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::gradcheck::{check_gradients, leaf, random_shape, Domain, SEEDS};
    use crate::rng::Rng;

    #[test]
    fn values_broadcast_rows_columns_and_scalars() {
        let mut tape = Tape::new();
        let m = leaf(&mut tape, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let row = leaf(&mut tape, &[3], &[10.0, 20.0, 30.0]);
        let column = leaf(&mut tape, &[2, 1], &[1.0, 2.0]);
        let scalar = leaf(&mut tape, &[], &[2.0]);
        let sum = binary(&mut tape, BinaryKind::Add, m, row).unwrap();
        assert_eq!(tape.value("t", "x", sum).unwrap().data(), &[11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
        let difference = binary(&mut tape, BinaryKind::Sub, column, m).unwrap();
        assert_eq!(tape.value("t", "x", difference).unwrap().data(), &[0.0, -1.0, -2.0, -2.0, -3.0, -4.0]);
        let quotient = binary(&mut tape, BinaryKind::Div, m, scalar).unwrap();
        assert_eq!(tape.value("t", "x", quotient).unwrap().data(), &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        let outer = binary(&mut tape, BinaryKind::Mul, column, row).unwrap();
        assert_eq!(tape.value("t", "x", outer).unwrap().shape(), &[2, 3]);
        let wrong = leaf(&mut tape, &[2], &[1.0, 2.0]);
        assert_eq!(binary(&mut tape, BinaryKind::Add, m, wrong).unwrap_err().code(), "ShapeMismatch");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let shape_pairs: [(&[usize], &[usize]); 6] =
            [(&[3, 4], &[3, 4]), (&[3, 4], &[4]), (&[2, 3], &[1, 3]), (&[4, 1], &[1, 5]), (&[2, 3], &[]), (&[1], &[2, 2, 3])];
        for kind in [BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul, BinaryKind::Div] {
            let domains = [Domain::Any, if kind == BinaryKind::Div { Domain::AwayFromZero } else { Domain::Any }];
            for (seed, (a, b)) in shape_pairs.iter().enumerate() {
                check_gradients(kind.name(), seed as u64, &[a, b], &domains, |tape, x| binary(tape, kind, x[0], x[1]));
            }
            for seed in SEEDS {
                // A random shape against a partner with some dimensions 1 and leading ones dropped.
                let mut rng = Rng::new(seed);
                let shape = random_shape(&mut rng, 1..=3);
                let mut partner: Vec<usize> = shape.iter().map(|&d| if rng.below(3) == 0 { 1 } else { d }).collect();
                partner.drain(..rng.below(shape.len() as u32 + 1) as usize);
                check_gradients(kind.name(), seed, &[&shape, &partner], &domains, |tape, x| binary(tape, kind, x[0], x[1]));
                check_gradients(kind.name(), seed, &[&partner, &shape], &domains, |tape, x| binary(tape, kind, x[0], x[1]));
            }
        }
    }
}
