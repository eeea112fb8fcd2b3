//! Losses as ops, each a scalar `[]`, with the reductions of the public contract; the maths
//! and the rule on targets are [`crate::loss`], shared with the model's loss:
//! - [`mse`]: mean of `(prediction − target)²` over all elements (PyTorch's `MSELoss`).
//! - [`softmax_cross_entropy`]: logits `[B, C]` and class indices `[B]`, mean over the batch.
//! - [`sigmoid_cross_entropy`]: logits and targets in [0, 1] of the same shape, summed over
//!   outputs and averaged over the batch (the first dimension), Nielsen's cross-entropy cost.

use crate::autograd::{Backward, Tape, TensorId};
use crate::error::{shape_str, Error, Result};
use crate::loss;
use crate::tensor::Tensor;
use std::rc::Rc;

/// Mean squared error `mean((prediction − target)²)`; the shapes must be equal and non-empty.
pub fn mse(tape: &mut Tape, prediction: TensorId, target: TensorId) -> Result<TensorId> {
    const OP: &str = "mseLoss";
    let predicted = tape.value(OP, "prediction", prediction)?;
    let wanted = tape.value(OP, "target", target)?;
    same_nonempty_shapes(OP, &predicted, &wanted)?;
    let value = Tensor::scalar(loss::mse(predicted.data(), wanted.data()) as f32);
    let saved = MseBackward { prediction: predicted, target: wanted };
    tape.record(&[prediction, target], Rc::new(value), saved)
}

struct MseBackward {
    prediction: Rc<Tensor>,
    target: Rc<Tensor>,
}

impl Backward for MseBackward {
    /// `∂L/∂prediction = 2 (prediction − target) / N · dL`, and its negative for the target.
    fn backward(&self, grad: &Tensor, needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let mut d_prediction = self.prediction.zeros_like("mseLoss")?;
        loss::mse_gradient(self.prediction.data(), self.target.data(), grad.data()[0], d_prediction.data_mut());
        let d_target = if needed[1] { Some(d_prediction.map("mseLoss", |d| -d)?) } else { None };
        Ok(vec![if needed[0] { Some(d_prediction) } else { None }, d_target])
    }
}

/// `−mean_b log softmax(logits)[b, labels[b]]` for logits `[B, C]`, B ≥ 1 and C ≥ 1, and one
/// class index in `[0, C)` per row; stable for any finite logits.
pub fn softmax_cross_entropy(tape: &mut Tape, logits: TensorId, labels: &[i32]) -> Result<TensorId> {
    const OP: &str = "softmaxCrossEntropy";
    let scores = tape.value(OP, "logits", logits)?;
    let (batch, classes) = match *scores.shape() {
        [batch, classes] if batch > 0 && classes > 0 => (batch, classes),
        _ => return Err(Error::shape(OP, "logits", "[batch, classes] with batch ≥ 1 and classes ≥ 1", shape_str(scores.shape()))),
    };
    if labels.len() != batch {
        return Err(Error::shape(OP, "labels", format!("[{}] (one class index per row of logits)", batch), shape_str(&[labels.len()])));
    }
    loss::check_classes(OP, "labels", labels, classes)?;
    let value = Tensor::scalar(loss::softmax_cross_entropy(scores.data(), labels, classes) as f32);
    let saved = SoftmaxCrossEntropyBackward { logits: scores, labels: labels.to_vec(), classes };
    tape.record(&[logits], Rc::new(value), saved)
}

struct SoftmaxCrossEntropyBackward {
    logits: Rc<Tensor>,
    labels: Vec<i32>,
    classes: usize,
}

impl Backward for SoftmaxCrossEntropyBackward {
    /// `∂L/∂logits[b, c] = (softmax[b, c] − [c = labels[b]]) / B · dL`.
    fn backward(&self, grad: &Tensor, _needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let mut d_logits = self.logits.zeros_like("softmaxCrossEntropy")?;
        loss::softmax_cross_entropy_gradient(self.logits.data(), &self.labels, self.classes, grad.data()[0], d_logits.data_mut());
        Ok(vec![Some(d_logits)])
    }
}

/// `Σ [max(x, 0) − x·y + log(1 + exp(−|x|))] / B` over logits `x` and targets `y` of the same
/// shape (rank ≥ 1, B = first dimension ≥ 1), the stable form of
/// `−y log σ(x) − (1 − y) log(1 − σ(x))`. Targets must lie in [0, 1] (see [`crate::loss`]).
pub fn sigmoid_cross_entropy(tape: &mut Tape, logits: TensorId, targets: TensorId) -> Result<TensorId> {
    const OP: &str = "sigmoidCrossEntropy";
    let scores = tape.value(OP, "logits", logits)?;
    let wanted = tape.value(OP, "targets", targets)?;
    same_nonempty_shapes(OP, &scores, &wanted)?;
    if scores.rank() == 0 {
        return Err(Error::shape(OP, "logits", "[batch, …] with at least one dimension", "[]"));
    }
    loss::check_probabilities(OP, "targets", wanted.data())?;
    let batch = scores.shape()[0];
    let value = Tensor::scalar(loss::sigmoid_cross_entropy(scores.data(), wanted.data(), batch) as f32);
    let saved = SigmoidCrossEntropyBackward { logits: scores, targets: wanted, batch };
    tape.record(&[logits, targets], Rc::new(value), saved)
}

struct SigmoidCrossEntropyBackward {
    logits: Rc<Tensor>,
    targets: Rc<Tensor>,
    batch: usize,
}

impl Backward for SigmoidCrossEntropyBackward {
    /// `∂L/∂x = (σ(x) − y) / B · dL` and `∂L/∂y = −x / B · dL`.
    fn backward(&self, grad: &Tensor, needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        const OP: &str = "sigmoidCrossEntropy";
        let (upstream, logits, targets) = (grad.data()[0], self.logits.data(), self.targets.data());
        let d_logits = if needed[0] {
            let mut d = self.logits.zeros_like(OP)?;
            loss::sigmoid_cross_entropy_gradient(logits, targets, self.batch, upstream, d.data_mut());
            Some(d)
        } else {
            None
        };
        let d_targets = if needed[1] {
            let mut d = self.targets.zeros_like(OP)?;
            loss::sigmoid_cross_entropy_target_gradient(logits, self.batch, upstream, d.data_mut());
            Some(d)
        } else {
            None
        };
        Ok(vec![d_logits, d_targets])
    }
}

fn same_nonempty_shapes(op: &str, prediction: &Tensor, target: &Tensor) -> Result<()> {
    if prediction.shape() != target.shape() {
        return Err(Error::shape(op, "target", shape_str(prediction.shape()), shape_str(target.shape())));
    }
    if prediction.is_empty() {
        return Err(Error::invalid(op, "prediction", "at least one element", shape_str(prediction.shape())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::gradcheck::{check_gradients, leaf, random_shape, Domain, SEEDS};
    use crate::rng::Rng;

    fn scalar(tape: &Tape, id: TensorId) -> f32 {
        let value = tape.value("t", "loss", id).unwrap();
        assert_eq!(value.shape(), &[] as &[usize]);
        value.data()[0]
    }

    #[test]
    fn values_match_definitions() {
        let mut tape = Tape::new();
        let prediction = leaf(&mut tape, &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let target = leaf(&mut tape, &[2, 2], &[1.0, 0.0, 3.0, 6.0]);
        let loss = mse(&mut tape, prediction, target).unwrap();
        assert_eq!(scalar(&tape, loss), (0.0 + 4.0 + 0.0 + 4.0) / 4.0);

        // Row 0: logits [0, ln 3] → p = [1/4, 3/4], label 1; row 1: label 0.
        let logits = leaf(&mut tape, &[2, 2], &[0.0, 3f32.ln(), 0.0, 3f32.ln()]);
        let loss = softmax_cross_entropy(&mut tape, logits, &[1, 0]).unwrap();
        let expected = -((0.75f64).ln() + (0.25f64).ln()) / 2.0;
        assert!((scalar(&tape, loss) as f64 - expected).abs() < 1e-6);

        let x = [-3.0f64, 0.5, 2.0, -0.1];
        let y = [0.0f64, 1.0, 0.3, 0.9];
        let logits = leaf(&mut tape, &[2, 2], &x.map(|v| v as f32));
        let targets = leaf(&mut tape, &[2, 2], &y.map(|v| v as f32));
        let loss = sigmoid_cross_entropy(&mut tape, logits, targets).unwrap();
        let naive: f64 = x
            .iter()
            .zip(&y)
            .map(|(&x, &y)| {
                let s = 1.0 / (1.0 + (-x).exp());
                -y * s.ln() - (1.0 - y) * (1.0 - s).ln()
            })
            .sum::<f64>()
            / 2.0;
        assert!((scalar(&tape, loss) as f64 - naive).abs() < 1e-6);
    }

    #[test]
    fn extreme_logits_stay_finite() {
        let mut tape = Tape::new();
        let logits = leaf(&mut tape, &[1, 3], &[1000.0, -1000.0, 0.0]);
        let loss = softmax_cross_entropy(&mut tape, logits, &[1]).unwrap();
        assert!((scalar(&tape, loss) - 2000.0).abs() < 1e-3);
        let targets = leaf(&mut tape, &[1, 3], &[0.0, 1.0, 0.5]);
        let loss = sigmoid_cross_entropy(&mut tape, logits, targets).unwrap();
        assert!((scalar(&tape, loss) - (2000.0 + 2f32.ln())).abs() < 1e-2);
    }

    #[test]
    fn bad_arguments_are_typed_errors() {
        let mut tape = Tape::new();
        let logits = leaf(&mut tape, &[2, 3], &[0.0; 6]);
        let code = |r: Result<TensorId>| r.unwrap_err().code();
        assert_eq!(code(softmax_cross_entropy(&mut tape, logits, &[0, 3])), "InvalidArgument");
        assert_eq!(code(softmax_cross_entropy(&mut tape, logits, &[-1, 0])), "InvalidArgument");
        assert_eq!(code(softmax_cross_entropy(&mut tape, logits, &[0])), "ShapeMismatch");
        let vector = leaf(&mut tape, &[3], &[0.0; 3]);
        assert_eq!(code(softmax_cross_entropy(&mut tape, vector, &[0, 0, 0])), "ShapeMismatch");
        let other = leaf(&mut tape, &[3, 2], &[0.5; 6]);
        assert_eq!(code(mse(&mut tape, logits, other)), "ShapeMismatch");
        let outside = leaf(&mut tape, &[2, 3], &[0.5, 0.5, 1.5, 0.5, 0.5, 0.5]);
        assert_eq!(code(sigmoid_cross_entropy(&mut tape, logits, outside)), "InvalidArgument");
        let nan = leaf(&mut tape, &[2, 3], &[f32::NAN; 6]);
        assert_eq!(code(sigmoid_cross_entropy(&mut tape, logits, nan)), "InvalidArgument");
        let empty = leaf(&mut tape, &[0], &[]);
        assert_eq!(code(mse(&mut tape, empty, empty)), "InvalidArgument");
    }

    #[test]
    fn gradients_match_finite_differences() {
        for seed in SEEDS {
            let mut rng = Rng::new(seed);
            let shape = random_shape(&mut rng, 1..=3);
            check_gradients("mseLoss", seed, &[&shape, &shape], &[Domain::Any, Domain::Any], |tape, x| mse(tape, x[0], x[1]));
            check_gradients("sigmoidCrossEntropy", seed, &[&shape, &shape], &[Domain::Any, Domain::Probability], |tape, x| {
                sigmoid_cross_entropy(tape, x[0], x[1])
            });
            let logits = random_shape(&mut rng, 2..=2);
            let labels: Vec<i32> = (0..logits[0]).map(|_| rng.below(logits[1] as u32) as i32).collect();
            check_gradients("softmaxCrossEntropy", seed, &[&logits], &[Domain::Any], |tape, x| softmax_cross_entropy(tape, x[0], &labels));
        }
    }
}
