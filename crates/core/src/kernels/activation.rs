//! Activation functions, forward and backward side by side, over f32 slices, four lanes at a
//! time (the exp-based ones through [`exp`](super::exp)).
//!
//! Forward: `y[i] = f(x[i])`. Backward: `dx[i] = dy[i] · f'(x[i])`, written in terms of
//! whichever of `x` and `y` is cheaper. Softmax works on rows of length `cols`.

use super::exp::Exp;
use super::lanes::{fold, map1, map1_sum, map2, map3, update_each, F32x4};
use super::vector;

/// Which elementwise function; the learned PReLU slope is passed as `LeakyRelu(alpha)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Identity,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu(f32),
    Elu(f32),
}

/// `y = f(x)` elementwise.
pub fn forward(kind: Kind, x: &[f32], y: &mut [f32]) {
    let zero = F32x4::zero();
    let exp = Exp::new();
    match kind {
        Kind::Identity => y.copy_from_slice(x),
        Kind::Sigmoid => map1(x, y, |x| exp.sigmoid(x)),
        Kind::Tanh => map1(x, y, |x| exp.tanh(x)),
        // `x < 0 ? 0 : x`, as torch.relu: NaN stays NaN (it must reach the guard) and -0 stays -0.
        Kind::Relu => map1(x, y, |x| x.lt(zero).clear(x)),
        Kind::LeakyRelu(alpha) => {
            let alpha = F32x4::splat(alpha);
            map1(x, y, |x| x.gt(zero).select(x, alpha.mul(x)))
        }
        Kind::Elu(alpha) => {
            let alpha = F32x4::splat(alpha);
            map1(x, y, |x| exp.elu(x, alpha))
        }
    }
}

/// `dx = dy · f'(x)` elementwise, given the forward input `x` and output `y`.
pub fn backward(kind: Kind, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let zero = F32x4::zero();
    let one = F32x4::splat(1.0);
    match kind {
        Kind::Identity => dx.copy_from_slice(dy),
        // σ' = y(1 − y)
        Kind::Sigmoid => map2(y, dy, dx, |y, dy| dy.mul(y).mul(one.sub(y))),
        // tanh' = 1 − y²
        Kind::Tanh => map2(y, dy, dx, |y, dy| dy.mul(one.sub(y.mul(y)))),
        // `x ≤ 0 ? 0 : dy`, as PyTorch's threshold_backward: a NaN input passes dy on.
        Kind::Relu => map2(x, dy, dx, |x, dy| zero.ge(x).clear(dy)),
        Kind::LeakyRelu(alpha) => {
            let alpha = F32x4::splat(alpha);
            map2(x, dy, dx, |x, dy| x.gt(zero).select(dy, alpha.mul(dy)))
        }
        // For x ≤ 0, elu' = α·eˣ = y + α.
        Kind::Elu(alpha) => {
            let alpha = F32x4::splat(alpha);
            map3(x, y, dy, dx, |x, y, dy| x.gt(zero).select(dy, dy.mul(y.add(alpha))))
        }
    }
}

/// The largest value of a row (NaN is skipped unless the whole row is NaN; exp then spreads it).
fn row_max(row: &[f32]) -> f32 {
    let lowest = F32x4::splat(f32::NEG_INFINITY);
    fold(row, lowest, f32::NEG_INFINITY, F32x4::max, F32x4::max).max_lanes()
}

/// Row-wise softmax of a row-major matrix with rows of length `cols`, max-subtracted: one
/// pass for the maximum, one that writes `e^(x − max)` and sums it, one that scales.
pub fn softmax_forward(x: &[f32], cols: usize, y: &mut [f32]) {
    if cols == 0 {
        return;
    }
    let exp = Exp::new();
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        let max = F32x4::splat(row_max(xr));
        let total = map1_sum(xr, yr, |v| exp.exp_short(v.sub(max))).sum_lanes();
        let inverse = F32x4::splat(1.0 / total);
        update_each(yr, |v| v.mul(inverse));
    }
}

/// Softmax backward per row: `dx = y ⊙ (dy − Σ_j dy_j y_j)`.
pub fn softmax_backward(y: &[f32], dy: &[f32], cols: usize, dx: &mut [f32]) {
    if cols == 0 {
        return;
    }
    for ((yr, dyr), dxr) in y.chunks_exact(cols).zip(dy.chunks_exact(cols)).zip(dx.chunks_exact_mut(cols)) {
        let s = F32x4::splat(vector::dot(yr, dyr));
        map2(yr, dyr, dxr, |y, dy| y.mul(dy.sub(s)));
    }
}

/// Row-wise log-softmax: `y = (x − max) − log Σ exp(x − max)`.
pub fn log_softmax_forward(x: &[f32], cols: usize, y: &mut [f32]) {
    if cols == 0 {
        return;
    }
    let exp = Exp::new();
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        let max = row_max(xr);
        let shift = F32x4::splat(max);
        // Padding lanes hold -Inf, whose exp adds 0.
        let exp_sum = |acc: F32x4, v: F32x4| acc.add(exp.exp(v.sub(shift)));
        let total = fold(xr, F32x4::zero(), f32::NEG_INFINITY, exp_sum, F32x4::add).sum_lanes();
        // (x − max) − log Σ, not x − (max + log Σ): a huge max would swallow log Σ.
        let log_total = F32x4::splat(total.ln());
        map1(xr, yr, |v| v.sub(shift).sub(log_total));
    }
}

/// Log-softmax backward per row: `dx = dy − softmax(x) · Σ_j dy_j`, with `softmax = exp(y)`.
pub fn log_softmax_backward(y: &[f32], dy: &[f32], cols: usize, dx: &mut [f32]) {
    if cols == 0 {
        return;
    }
    let exp = Exp::new();
    for ((yr, dyr), dxr) in y.chunks_exact(cols).zip(dy.chunks_exact(cols)).zip(dx.chunks_exact_mut(cols)) {
        let s = F32x4::splat(vector::sum(dyr));
        map2(yr, dyr, dxr, |y, dy| dy.sub(exp.exp(y).mul(s)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::vector::tests::{lengths, values};
    use crate::rng::Rng;

    fn reference(kind: Kind, x: f64) -> f64 {
        match kind {
            Kind::Identity => x,
            Kind::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Kind::Tanh => x.tanh(),
            Kind::Relu => x.max(0.0),
            Kind::LeakyRelu(alpha) => if x > 0.0 { x } else { alpha as f64 * x },
            Kind::Elu(alpha) => if x > 0.0 { x } else { alpha as f64 * x.exp_m1() },
        }
    }

    const KINDS: [Kind; 6] = [Kind::Identity, Kind::Sigmoid, Kind::Tanh, Kind::Relu, Kind::LeakyRelu(0.01), Kind::Elu(1.5)];

    #[test]
    fn forward_matches_f64_within_relative_rounding() {
        let mut rng = Rng::new(8);
        for len in lengths() {
            let x = values(len, 20.0, &mut rng);
            for kind in KINDS {
                let mut y = vec![f32::NAN; len];
                forward(kind, &x, &mut y);
                for i in 0..len {
                    let expected = reference(kind, x[i] as f64);
                    // Below the smallest normal f32 only absolute accuracy is meaningful.
                    let tolerance = 2.5e-7 * expected.abs() + 1e-37;
                    assert!((y[i] as f64 - expected).abs() <= tolerance, "{:?} at {}: {} vs {}", kind, x[i], y[i], expected);
                }
            }
        }
    }

    #[test]
    fn forward_handles_infinities_and_nan() {
        let x = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -0.0, 0.0];
        let mut y = [0.0; 5];
        forward(Kind::Sigmoid, &x, &mut y);
        assert!(y[0] == 1.0 && y[1] == 0.0 && y[2].is_nan() && y[3] == 0.5 && y[4] == 0.5);
        forward(Kind::Tanh, &x, &mut y);
        assert!(y[0] == 1.0 && y[1] == -1.0 && y[2].is_nan() && y[3].to_bits() == (-0.0f32).to_bits() && y[4] == 0.0);
        forward(Kind::Elu(2.0), &x, &mut y);
        assert!(y[0] == f32::INFINITY && y[1] == -2.0 && y[2].is_nan() && y[3] == 0.0 && y[4] == 0.0);
        // torch.relu keeps NaN and -0: [inf, 0, nan, -0, 0].
        forward(Kind::Relu, &x, &mut y);
        assert!(y[0] == f32::INFINITY && y[1].to_bits() == 0 && y[2].is_nan() && y[3].to_bits() == (-0.0f32).to_bits() && y[4].to_bits() == 0);
        // Its gradient (torch: x.grad = [1, 0, 1, 0, 0] for dy = 1): NaN passes dy on.
        let mut dx = [f32::NAN; 5];
        backward(Kind::Relu, &x, &y, &[1.0; 5], &mut dx);
        assert_eq!(dx, [1.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn backward_matches_the_scalar_formulas_exactly() {
        let mut rng = Rng::new(9);
        for len in lengths() {
            let x = values(len, 5.0, &mut rng);
            let dy = values(len, 2.0, &mut rng);
            for kind in KINDS {
                let mut y = vec![0.0; len];
                forward(kind, &x, &mut y);
                let mut dx = vec![f32::NAN; len];
                backward(kind, &x, &y, &dy, &mut dx);
                for i in 0..len {
                    let expected = match kind {
                        Kind::Identity => dy[i],
                        Kind::Sigmoid => dy[i] * y[i] * (1.0 - y[i]),
                        Kind::Tanh => dy[i] * (1.0 - y[i] * y[i]),
                        Kind::Relu => if x[i] <= 0.0 { 0.0 } else { dy[i] },
                        Kind::LeakyRelu(alpha) => if x[i] > 0.0 { dy[i] } else { alpha * dy[i] },
                        Kind::Elu(alpha) => if x[i] > 0.0 { dy[i] } else { dy[i] * (y[i] + alpha) },
                    };
                    assert!(dx[i].to_bits() == expected.to_bits() || (dx[i].is_nan() && expected.is_nan()), "{:?} len {} at {}", kind, len, i);
                }
            }
        }
    }

    /// Rows of every length 1..=37 (and one long row), including rows with a huge value,
    /// -Inf entries and a NaN.
    fn rows_to_check(rng: &mut Rng) -> Vec<(usize, Vec<f32>)> {
        let mut cases: Vec<(usize, Vec<f32>)> = (1..=37).chain(std::iter::once(1000)).map(|cols| (cols, values(3 * cols, 8.0, rng))).collect();
        cases.push((5, vec![1e30, 1.0, -1e30, 0.0, 3.0, f32::NEG_INFINITY, 2.0, 1.0, 0.5, f32::NEG_INFINITY]));
        cases.push((3, vec![1.0, f32::NAN, 2.0, 0.0, 0.0, 0.0]));
        cases
    }

    fn softmax_f64(row: &[f32]) -> Vec<f64> {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let exps: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        exps.iter().map(|e| e / total).collect()
    }

    #[test]
    fn softmax_and_log_softmax_match_f64() {
        let mut rng = Rng::new(10);
        for (cols, x) in rows_to_check(&mut rng) {
            let mut y = vec![f32::NAN; x.len()];
            let mut log_y = vec![f32::NAN; x.len()];
            softmax_forward(&x, cols, &mut y);
            log_softmax_forward(&x, cols, &mut log_y);
            for (r, row) in x.chunks(cols).enumerate() {
                if row.iter().any(|v| v.is_nan()) {
                    assert!(y[r * cols..(r + 1) * cols].iter().all(|v| v.is_nan()), "a NaN spreads over its row");
                    continue;
                }
                for (j, expected) in softmax_f64(row).into_iter().enumerate() {
                    let (got, got_log) = (y[r * cols + j] as f64, log_y[r * cols + j] as f64);
                    assert!((got - expected).abs() <= 1e-6 * expected + 1e-38, "softmax cols {}: {} vs {}", cols, got, expected);
                    if expected > 0.0 {
                        let log_expected = expected.ln();
                        assert!((got_log - log_expected).abs() <= 1e-6 * (1.0 + log_expected.abs()), "log_softmax cols {}: {} vs {}", cols, got_log, log_expected);
                    }
                }
            }
        }
    }

    #[test]
    fn softmax_backward_and_log_softmax_backward_match_f64() {
        let mut rng = Rng::new(11);
        for cols in (1..=37).chain(std::iter::once(1000)) {
            let x = values(3 * cols, 4.0, &mut rng).iter().map(|v| v.max(-50.0).min(50.0)).collect::<Vec<_>>();
            let dy = values(3 * cols, 1.0, &mut rng).iter().map(|v| v.max(-5.0).min(5.0)).collect::<Vec<_>>();
            let (mut y, mut log_y) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            softmax_forward(&x, cols, &mut y);
            log_softmax_forward(&x, cols, &mut log_y);
            let (mut dx, mut log_dx) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
            softmax_backward(&y, &dy, cols, &mut dx);
            log_softmax_backward(&log_y, &dy, cols, &mut log_dx);
            for r in 0..3 {
                let range = r * cols..(r + 1) * cols;
                let (yr, dyr) = (&y[range.clone()], &dy[range.clone()]);
                let weighted: f64 = yr.iter().zip(dyr).map(|(&a, &b)| a as f64 * b as f64).sum();
                let total: f64 = dyr.iter().map(|&v| v as f64).sum();
                let magnitude: f64 = dyr.iter().map(|v| v.abs() as f64).sum::<f64>() + 1.0;
                for j in range {
                    let expected = y[j] as f64 * (dy[j] as f64 - weighted);
                    assert!((dx[j] as f64 - expected).abs() <= 1e-6 * magnitude, "softmax backward cols {}", cols);
                    let log_expected = dy[j] as f64 - (log_y[j] as f64).exp() * total;
                    assert!((log_dx[j] as f64 - log_expected).abs() <= 1e-6 * magnitude, "log_softmax backward cols {}", cols);
                }
            }
        }
    }
}
