//! The three losses of the public contract, written once: the model's loss
//! ([`crate::nn::loss`]) and the eager ops ([`crate::autograd::ops::loss`]) both call these.
//! Each loss has its value and, right below it, its gradient; values accumulate in f64 so a
//! large batch does not lose the small terms, gradients run on the SIMD kernels.
//!
//! - [`mse`]: `mean((prediction − target)²)` over all elements (PyTorch's `MSELoss`).
//! - [`softmax_cross_entropy`]: logits in rows of C and one class index per row,
//!   `−log softmax(row)[class]` averaged over the rows (PyTorch's `cross_entropy`).
//! - [`sigmoid_cross_entropy`]: logits and targets of one shape,
//!   `−y log σ(x) − (1 − y) log(1 − σ(x))` summed over the outputs and averaged over the batch
//!   (Nielsen's cross-entropy cost).
//!
//! Both cross-entropies take logits and apply softmax or sigmoid here, in a form that is
//! stable for any finite logit.
//!
//! **The rule on targets** ([`check_classes`], [`check_probabilities`]): class indices lie in
//! [0, C), and sigmoid cross-entropy's targets are probabilities, in [0, 1]. PyTorch's
//! `BCEWithLogitsLoss` accepts any target value, but outside [0, 1] the loss is no
//! cross-entropy: it is unbounded below (with y > 1 it falls without limit as x grows), so
//! training on it diverges instead of fitting. gradlab refuses such targets with
//! `InvalidArgument`, on both paths alike.
//!
//! The gradients take a `scale`: the tape passes the gradient arriving at the loss, the model
//! passes 1.

use crate::error::{Error, Result};
use crate::kernels::activation::{self, Kind};
use crate::kernels::lanes::{update, F32x4};
use crate::kernels::vector;

/// Checks class indices against `cols` classes: each must lie in [0, cols).
pub fn check_classes(op: &str, arg: &str, classes: &[i32], cols: usize) -> Result<()> {
    match classes.iter().enumerate().find(|(_, &class)| class < 0 || class as usize >= cols) {
        Some((row, class)) => Err(Error::invalid(op, arg, format!("class indices in [0, {})", cols), format!("{} at row {}", class, row))),
        None => Ok(()),
    }
}

/// Checks sigmoid cross-entropy's targets: each must lie in [0, 1] (so none is NaN).
pub fn check_probabilities(op: &str, arg: &str, targets: &[f32]) -> Result<()> {
    match targets.iter().enumerate().find(|(_, y)| !(0.0..=1.0).contains(*y)) {
        Some((index, y)) => Err(Error::invalid(op, arg, "probabilities in [0, 1] (sigmoidCrossEntropy)", format!("{} at index {}", y, index))),
        None => Ok(()),
    }
}

/// `mean((prediction − target)²)` over all elements; 0 for none. Equal lengths.
pub fn mse(prediction: &[f32], target: &[f32]) -> f64 {
    vector::squared_error(prediction, target, 0.0, None) / prediction.len().max(1) as f64
}

/// `grad = scale · 2 (prediction − target) / n`, ∂mse/∂prediction; ∂mse/∂target is its
/// negative.
pub fn mse_gradient(prediction: &[f32], target: &[f32], scale: f32, grad: &mut [f32]) {
    let factor = 2.0 * scale / prediction.len().max(1) as f32;
    vector::squared_error(prediction, target, factor, Some(grad));
}

/// `mean_rows (log Σ_j e^{x_j} − x_class)` over the rows of `logits` (`classes.len()` rows of
/// `cols`); 0 for no rows or no columns. Classes must have passed [`check_classes`].
pub fn softmax_cross_entropy(logits: &[f32], classes: &[i32], cols: usize) -> f64 {
    if classes.is_empty() || cols == 0 {
        return 0.0;
    }
    let total: f64 = logits
        .chunks_exact(cols)
        .zip(classes)
        .map(|(row, &class)| {
            // log Σ e^x = max + log Σ e^{x − max}: no term overflows.
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            let sum_exp: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
            sum_exp.ln() + max - row[class as usize] as f64
        })
        .sum();
    total / classes.len() as f64
}

/// `grad = scale · (softmax(row) − onehot(class)) / rows`, ∂/∂logits of
/// [`softmax_cross_entropy`]; `grad` is shaped like `logits`.
pub fn softmax_cross_entropy_gradient(logits: &[f32], classes: &[i32], cols: usize, scale: f32, grad: &mut [f32]) {
    if classes.is_empty() || cols == 0 {
        return;
    }
    activation::softmax_forward(logits, cols, grad);
    for (row, &class) in grad.chunks_exact_mut(cols).zip(classes) {
        row[class as usize] -= 1.0;
    }
    vector::scale(scale / classes.len() as f32, grad);
}

/// `Σ [max(x, 0) − x·y + log(1 + e^{−|x|})] / batch` over logits `x` and targets `y` of equal
/// length, the stable form of `−y log σ(x) − (1 − y) log(1 − σ(x))`; `batch` ≥ 1 examples.
pub fn sigmoid_cross_entropy(logits: &[f32], targets: &[f32], batch: usize) -> f64 {
    let total: f64 = logits
        .iter()
        .zip(targets)
        .map(|(&x, &y)| {
            let (x, y) = (x as f64, y as f64);
            x.max(0.0) - x * y + (-x.abs()).exp().ln_1p()
        })
        .sum();
    total / batch.max(1) as f64
}

/// `grad = scale · (σ(x) − y) / batch`, ∂/∂logits of [`sigmoid_cross_entropy`] (σ computed
/// stably by the kernel, so ±1000 give exactly 1 and 0).
pub fn sigmoid_cross_entropy_gradient(logits: &[f32], targets: &[f32], batch: usize, scale: f32, grad: &mut [f32]) {
    activation::forward(Kind::Sigmoid, logits, grad);
    let factor = F32x4::splat(scale / batch.max(1) as f32);
    update(grad, targets, |sigmoid, y| factor.mul(sigmoid.sub(y)));
}

/// `grad = −scale · x / batch`, ∂/∂targets of [`sigmoid_cross_entropy`].
pub fn sigmoid_cross_entropy_target_gradient(logits: &[f32], batch: usize, scale: f32, grad: &mut [f32]) {
    let factor = -scale / batch.max(1) as f32;
    for (g, &x) in grad.iter_mut().zip(logits) {
        *g = factor * x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compares `gradient` (at scale 1) with central differences of `value` at `x`.
    fn check_gradient(value: impl Fn(&[f32]) -> f64, gradient: impl Fn(&[f32], &mut [f32]), x: &[f32]) {
        let mut grad = vec![0.0; x.len()];
        gradient(x, &mut grad);
        for i in 0..x.len() {
            let eps = 1e-3f32;
            let mut plus = x.to_vec();
            plus[i] += eps;
            let mut minus = x.to_vec();
            minus[i] -= eps;
            let numeric = (value(&plus) - value(&minus)) / (2.0 * eps as f64);
            assert!((numeric - grad[i] as f64).abs() < 2e-3 * (1.0 + numeric.abs()), "i={} numeric {} analytic {}", i, numeric, grad[i]);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x = [0.3f32, -1.2, 2.0, 0.7, -0.4, 1.5];
        let t = [0.0f32, 1.0, 0.5, 1.0, 0.0, 0.2];
        check_gradient(|x| mse(x, &t), |x, g| mse_gradient(x, &t, 1.0, g), &x);
        check_gradient(|x| sigmoid_cross_entropy(x, &t, 2), |x, g| sigmoid_cross_entropy_gradient(x, &t, 2, 1.0, g), &x);
        check_gradient(|t| sigmoid_cross_entropy(&x, t, 2), |_, g| sigmoid_cross_entropy_target_gradient(&x, 2, 1.0, g), &t);
        check_gradient(|x| softmax_cross_entropy(x, &[2, 0], 3), |x, g| softmax_cross_entropy_gradient(x, &[2, 0], 3, 1.0, g), &x);
    }

    #[test]
    fn gradients_take_the_upstream_scale() {
        let (x, t) = ([0.3f32, -1.2, 2.0, 0.7], [0.0f32, 1.0, 0.5, 1.0]);
        let scaled = |gradient: &dyn Fn(f32, &mut [f32])| {
            let (mut one, mut three) = ([0.0; 4], [0.0; 4]);
            gradient(1.0, &mut one);
            gradient(-3.0, &mut three);
            for (a, b) in one.iter().zip(&three) {
                assert!((b + 3.0 * a).abs() < 1e-6, "{} vs −3·{}", b, a);
            }
        };
        scaled(&|s, g| mse_gradient(&x, &t, s, g));
        scaled(&|s, g| softmax_cross_entropy_gradient(&x, &[1, 0], 2, s, g));
        scaled(&|s, g| sigmoid_cross_entropy_gradient(&x, &t, 2, s, g));
        scaled(&|s, g| sigmoid_cross_entropy_target_gradient(&x, 2, s, g));
    }

    #[test]
    fn cross_entropy_is_stable_for_huge_logits() {
        let loss = softmax_cross_entropy(&[1000.0, 0.0, -1000.0], &[0], 3);
        assert!(loss.abs() < 1e-6);
        let loss = sigmoid_cross_entropy(&[-1000.0], &[1.0], 1);
        assert!((loss - 1000.0).abs() < 1e-6);
        // The gradient σ(x) − y at both extremes, where the unstable form gives ∞/∞.
        let mut grad = [0.0; 2];
        sigmoid_cross_entropy_gradient(&[1000.0, -1000.0], &[0.0, 0.0], 1, 1.0, &mut grad);
        assert_eq!(grad, [1.0, 0.0]);
        let mut grad = [0.0; 3];
        softmax_cross_entropy_gradient(&[1000.0, 0.0, -1000.0], &[2], 3, 1.0, &mut grad);
        assert_eq!(grad, [1.0, 0.0, -1.0]);
    }

    /// PyTorch: `F.binary_cross_entropy_with_logits(x, y, reduction='sum') / 2` and
    /// `F.cross_entropy(x, c)` (a mean over rows) for these two rows.
    #[test]
    fn losses_are_averaged_over_the_batch() {
        let (x, y) = ([0.5f32, -1.0, 2.0, 0.0], [1.0f32, 0.0, 0.0, 1.0]);
        let expected: f64 = x.iter().zip(&y).map(|(&x, &y)| (1.0 + (-x as f64).exp()).ln() + (1.0 - y as f64) * x as f64).sum::<f64>() / 2.0;
        assert!((sigmoid_cross_entropy(&x, &y, 2) - expected).abs() < 1e-12);
        let mut grad = [0.0; 4];
        sigmoid_cross_entropy_gradient(&x, &y, 2, 1.0, &mut grad);
        assert!((grad[0] as f64 - (1.0 / (1.0 + (-0.5f64).exp()) - 1.0) / 2.0).abs() < 1e-7);
        let logits = [1.0f32, 2.0, 3.0, 1.0, 1.0, 1.0];
        let row = |z: &[f64], c: usize| (z.iter().map(|v| v.exp()).sum::<f64>()).ln() - z[c];
        let expected = (row(&[1.0, 2.0, 3.0], 2) + row(&[1.0, 1.0, 1.0], 0)) / 2.0;
        assert!((softmax_cross_entropy(&logits, &[2, 0], 3) - expected).abs() < 1e-12);
        assert!((mse(&[1.0, 3.0], &[0.0, 0.0]) - 5.0).abs() < 1e-12);
        // No rows, or rows of no columns: a loss of 0, not NaN or a panic.
        assert_eq!(softmax_cross_entropy(&[], &[], 3), 0.0);
        assert_eq!(softmax_cross_entropy(&[], &[0, 0], 0), 0.0);
        softmax_cross_entropy_gradient(&[], &[0, 0], 0, 1.0, &mut []);
        assert_eq!(mse(&[], &[]), 0.0);
    }

    #[test]
    fn the_rule_on_targets() {
        check_classes("op", "y", &[0, 2, 1], 3).unwrap();
        let error = check_classes("op", "labels", &[0, 3], 3).unwrap_err();
        assert_eq!(error.code(), "InvalidArgument");
        assert!(error.to_string().contains("3 at row 1"), "{}", error);
        assert_eq!(check_classes("op", "y", &[-1], 3).unwrap_err().code(), "InvalidArgument");
        check_probabilities("op", "y", &[0.0, 1.0, 0.5]).unwrap();
        for bad in [1.0 + f32::EPSILON, -0.0 - f32::MIN_POSITIVE, f32::NAN, f32::INFINITY] {
            assert_eq!(check_probabilities("op", "targets", &[0.5, bad]).unwrap_err().code(), "InvalidArgument", "{}", bad);
        }
    }
}
