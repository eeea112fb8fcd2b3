//! The model's loss: which of the three losses, what it compares the last layer's raw
//! output with, and the checks on that target. The maths is [`crate::loss`], shared with the
//! eager ops.

use crate::error::{shape_str, Error, Result};
use crate::loss;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Mean over all elements (PyTorch's `MSELoss`).
    Mse,
    /// Class indices, one per output row; softmax applied by the loss, mean over rows.
    SoftmaxCrossEntropy,
    /// Targets in [0, 1] shaped like the output; sigmoid applied by the loss, summed over
    /// outputs and averaged over the batch (Nielsen's cost).
    SigmoidCrossEntropy,
}

/// What the loss compares the output with.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// One class index per output row (softmax cross-entropy).
    Classes(&'a [i32]),
    /// A tensor shaped like the output.
    Values(&'a [f32]),
}

impl Loss {
    /// Checks `target` against an output of `output_len` values in rows of `cols` for `batch`
    /// examples: its kind, its size, finite values, and the loss's own rule on targets
    /// ([`crate::loss`]).
    pub fn validate_target(&self, op: &str, target: &Target, output_len: usize, cols: usize) -> Result<()> {
        match (self, target) {
            (Loss::SoftmaxCrossEntropy, Target::Classes(classes)) => {
                let rows = output_len / cols.max(1);
                if classes.len() != rows {
                    return Err(Error::shape(op, "y", format!("{} class indices (one per output row)", rows), format!("{}", classes.len())));
                }
                loss::check_classes(op, "y", classes, cols)
            }
            (Loss::SoftmaxCrossEntropy, Target::Values(_)) => {
                Err(Error::invalid(op, "y", "class indices (Int32Array) for softmaxCrossEntropy", "float values"))
            }
            (_, Target::Classes(_)) => {
                Err(Error::invalid(op, "y", "float targets shaped like the output", "class indices"))
            }
            (_, Target::Values(values)) => {
                if values.len() != output_len {
                    return Err(Error::shape(op, "y", format!("{} values (the output's size)", output_len), shape_str(&[values.len()])));
                }
                if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                    return Err(Error::invalid(op, "y", "finite numbers", bad.to_string()));
                }
                if *self == Loss::SigmoidCrossEntropy {
                    loss::check_probabilities(op, "y", values)?;
                }
                Ok(())
            }
        }
    }

    /// The mean loss of `output` (batch examples, rows of `cols`), with ∂loss/∂output in `grad`.
    /// The target must have passed [`Loss::validate_target`].
    pub fn forward_backward(&self, output: &[f32], cols: usize, batch: usize, target: &Target, grad: Option<&mut [f32]>) -> f64 {
        match (self, target) {
            (Loss::Mse, Target::Values(values)) => {
                if let Some(grad) = grad {
                    loss::mse_gradient(output, values, 1.0, grad);
                }
                loss::mse(output, values)
            }
            (Loss::SoftmaxCrossEntropy, Target::Classes(classes)) => {
                if let Some(grad) = grad {
                    loss::softmax_cross_entropy_gradient(output, classes, cols, 1.0, grad);
                }
                loss::softmax_cross_entropy(output, classes, cols)
            }
            (Loss::SigmoidCrossEntropy, Target::Values(values)) => {
                if let Some(grad) = grad {
                    loss::sigmoid_cross_entropy_gradient(output, values, batch, 1.0, grad);
                }
                loss::sigmoid_cross_entropy(output, values, batch)
            }
            _ => f64::NAN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_validated() {
        let classes = [0, 3];
        let err = Loss::SoftmaxCrossEntropy.validate_target("trainStep", &Target::Classes(&classes), 6, 3).unwrap_err();
        assert_eq!(err.code(), "InvalidArgument");
        let err = Loss::Mse.validate_target("trainStep", &Target::Values(&[1.0]), 6, 3).unwrap_err();
        assert_eq!(err.code(), "ShapeMismatch");
    }

    /// The eager op refuses these too (`autograd::ops::loss`): one rule, in `crate::loss`.
    #[test]
    fn sigmoid_cross_entropy_targets_must_be_probabilities() {
        let sigmoid = Loss::SigmoidCrossEntropy;
        sigmoid.validate_target("trainStep", &Target::Values(&[0.0, 1.0, 0.25, 1.0]), 4, 2).unwrap();
        for bad in [1.5, -0.5] {
            let err = sigmoid.validate_target("trainStep", &Target::Values(&[0.0, 1.0, bad, 1.0]), 4, 2).unwrap_err();
            assert_eq!(err.code(), "InvalidArgument");
            assert!(err.to_string().contains("at index 2"), "{}", err);
        }
        // mse takes any finite target.
        Loss::Mse.validate_target("trainStep", &Target::Values(&[0.0, 1.0, 1.5, -0.5]), 4, 2).unwrap();
    }
}
