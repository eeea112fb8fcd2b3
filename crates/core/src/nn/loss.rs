//! Losses on the last layer's raw output, value and gradient side by side. Each returns the
//! mean loss and writes ∂loss/∂output into `grad` (when given).
//!
//! - `Mse`: mean over all elements (PyTorch's `MSELoss`).
//! - `SoftmaxCrossEntropy`: class indices, softmax applied here (stable), mean over rows.
//! - `SigmoidCrossEntropy`: targets in [0, 1], sigmoid applied here (stable), summed over
//!   outputs and averaged over the batch (Nielsen's cost).

use crate::error::{shape_str, Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    Mse,
    SoftmaxCrossEntropy,
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
    /// examples.
    pub fn validate_target(&self, op: &str, target: &Target, output_len: usize, cols: usize) -> Result<()> {
        match (self, target) {
            (Loss::SoftmaxCrossEntropy, Target::Classes(classes)) => {
                let rows = output_len / cols.max(1);
                if classes.len() != rows {
                    return Err(Error::shape(op, "y", format!("{} class indices (one per output row)", rows), format!("{}", classes.len())));
                }
                if let Some(bad) = classes.iter().find(|&&c| c < 0 || c as usize >= cols) {
                    return Err(Error::invalid(op, "y", format!("class indices in [0, {})", cols), bad.to_string()));
                }
                Ok(())
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
                Ok(())
            }
        }
    }

    /// The mean loss of `output` (batch examples, rows of `cols`), with ∂loss/∂output in `grad`.
    /// The target must have passed [`Loss::validate_target`].
    pub fn forward_backward(&self, output: &[f32], cols: usize, batch: usize, target: &Target, grad: Option<&mut [f32]>) -> f64 {
        match (self, target) {
            (Loss::Mse, Target::Values(values)) => mse(output, values, grad),
            (Loss::SoftmaxCrossEntropy, Target::Classes(classes)) => softmax_cross_entropy(output, classes, cols, grad),
            (Loss::SigmoidCrossEntropy, Target::Values(values)) => sigmoid_cross_entropy(output, values, batch, grad),
            _ => f64::NAN,
        }
    }
}

/// `mean((output − target)²)`; gradient `2(output − target)/n`.
pub fn mse(output: &[f32], target: &[f32], grad: Option<&mut [f32]>) -> f64 {
    let n = output.len().max(1) as f64;
    let total: f64 = output.iter().zip(target).map(|(&o, &t)| ((o - t) as f64).powi(2)).sum();
    if let Some(grad) = grad {
        let scale = (2.0 / n) as f32;
        for ((g, &o), &t) in grad.iter_mut().zip(output).zip(target) {
            *g = scale * (o - t);
        }
    }
    total / n
}

/// Mean over rows of `−log softmax(logits)[class]`; gradient `(softmax − onehot)/rows`.
pub fn softmax_cross_entropy(logits: &[f32], classes: &[i32], cols: usize, grad: Option<&mut [f32]>) -> f64 {
    let rows = classes.len();
    if rows == 0 || cols == 0 {
        return 0.0;
    }
    let mut total = 0.0f64;
    let inv_rows = 1.0 / rows as f64;
    let mut grad = grad;
    for (r, row) in logits.chunks_exact(cols).enumerate() {
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum_exp: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
        let log_sum = sum_exp.ln() + max;
        let class = classes[r] as usize;
        total += log_sum - row[class] as f64;
        if let Some(grad) = grad.as_mut() {
            let grad_row = &mut grad[r * cols..(r + 1) * cols];
            for (j, g) in grad_row.iter_mut().enumerate() {
                let p = (row[j] as f64 - log_sum).exp();
                let onehot = if j == class { 1.0 } else { 0.0 };
                *g = ((p - onehot) * inv_rows) as f32;
            }
        }
    }
    total * inv_rows
}

/// `Σ_outputs [max(x,0) − x·y + log(1 + e^{−|x|})] / batch`; gradient `(σ(x) − y)/batch`.
pub fn sigmoid_cross_entropy(logits: &[f32], targets: &[f32], batch: usize, grad: Option<&mut [f32]>) -> f64 {
    let inv_batch = 1.0 / batch.max(1) as f64;
    let mut total = 0.0f64;
    for (&x, &y) in logits.iter().zip(targets) {
        let (x, y) = (x as f64, y as f64);
        total += x.max(0.0) - x * y + (-x.abs()).exp().ln_1p();
    }
    if let Some(grad) = grad {
        for ((g, &x), &y) in grad.iter_mut().zip(logits).zip(targets) {
            let x = x as f64;
            let sigmoid = if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) };
            *g = ((sigmoid - y as f64) * inv_batch) as f32;
        }
    }
    total * inv_batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_gradient(loss: impl Fn(&[f32], Option<&mut [f32]>) -> f64, x: &[f32]) {
        let mut grad = vec![0.0; x.len()];
        loss(x, Some(&mut grad));
        for i in 0..x.len() {
            let eps = 1e-3f32;
            let mut plus = x.to_vec();
            plus[i] += eps;
            let mut minus = x.to_vec();
            minus[i] -= eps;
            let numeric = (loss(&plus, None) - loss(&minus, None)) / (2.0 * eps as f64);
            assert!((numeric - grad[i] as f64).abs() < 2e-3 * (1.0 + numeric.abs()), "i={} numeric {} analytic {}", i, numeric, grad[i]);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x = [0.3f32, -1.2, 2.0, 0.7, -0.4, 1.5];
        let t = [0.0f32, 1.0, 0.5, 1.0, 0.0, 0.2];
        check_gradient(|x, g| mse(x, &t, g), &x);
        check_gradient(|x, g| sigmoid_cross_entropy(x, &t, 2, g), &x);
        check_gradient(|x, g| softmax_cross_entropy(x, &[2, 0], 3, g), &x);
    }

    #[test]
    fn cross_entropy_is_stable_for_huge_logits() {
        let loss = softmax_cross_entropy(&[1000.0, 0.0, -1000.0], &[0], 3, None);
        assert!(loss.abs() < 1e-6);
        let loss = sigmoid_cross_entropy(&[-1000.0], &[1.0], 1, None);
        assert!((loss - 1000.0).abs() < 1e-6);
        // The gradient σ(x) − y at both extremes, where the unstable form gives ∞/∞.
        let mut grad = [0.0; 2];
        sigmoid_cross_entropy(&[1000.0, -1000.0], &[0.0, 0.0], 1, Some(&mut grad));
        assert_eq!(grad, [1.0, 0.0]);
    }

    /// PyTorch: `F.binary_cross_entropy_with_logits(x, y, reduction='sum') / 2` and
    /// `F.cross_entropy(x, c)` (a mean over rows) for these two rows.
    #[test]
    fn losses_are_averaged_over_the_batch() {
        let (x, y) = ([0.5f32, -1.0, 2.0, 0.0], [1.0f32, 0.0, 0.0, 1.0]);
        let expected: f64 = x.iter().zip(&y).map(|(&x, &y)| (1.0 + (-x as f64).exp()).ln() + (1.0 - y as f64) * x as f64).sum::<f64>() / 2.0;
        assert!((sigmoid_cross_entropy(&x, &y, 2, None) - expected).abs() < 1e-12);
        let mut grad = [0.0; 4];
        sigmoid_cross_entropy(&x, &y, 2, Some(&mut grad));
        assert!((grad[0] as f64 - (1.0 / (1.0 + (-0.5f64).exp()) - 1.0) / 2.0).abs() < 1e-7);
        let logits = [1.0f32, 2.0, 3.0, 1.0, 1.0, 1.0];
        let row = |z: &[f64], c: usize| (z.iter().map(|v| v.exp()).sum::<f64>()).ln() - z[c];
        let expected = (row(&[1.0, 2.0, 3.0], 2) + row(&[1.0, 1.0, 1.0], 0)) / 2.0;
        assert!((softmax_cross_entropy(&logits, &[2, 0], 3, None) - expected).abs() < 1e-12);
        assert!((mse(&[1.0, 3.0], &[0.0, 0.0], None) - 5.0).abs() < 1e-12);
        // No rows, or rows of no columns: a loss of 0, not NaN or a panic.
        assert_eq!(softmax_cross_entropy(&[], &[], 3, None), 0.0);
        assert_eq!(softmax_cross_entropy(&[], &[0, 0], 0, None), 0.0);
    }

    #[test]
    fn targets_are_validated() {
        let classes = [0, 3];
        let err = Loss::SoftmaxCrossEntropy.validate_target("trainStep", &Target::Classes(&classes), 6, 3).unwrap_err();
        assert_eq!(err.code(), "InvalidArgument");
        let err = Loss::Mse.validate_target("trainStep", &Target::Values(&[1.0]), 6, 3).unwrap_err();
        assert_eq!(err.code(), "ShapeMismatch");
    }
}
