//! Elementwise arithmetic and reductions over f32 slices, four lanes at a time (see
//! [`lanes`](super::lanes)). Binary ops require equal lengths (callers check); reductions
//! accumulate in four independent f32x4 accumulators and combine at the end.

use super::lanes::{fold, fold_pairs, map2, update, update_each, F32x4};

/// `out[i] = a[i] + b[i]`
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    map2(a, b, out, F32x4::add);
}

/// `out[i] = a[i] - b[i]`
pub fn sub(a: &[f32], b: &[f32], out: &mut [f32]) {
    map2(a, b, out, F32x4::sub);
}

/// `out[i] = a[i] * b[i]`
pub fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    map2(a, b, out, F32x4::mul);
}

/// `out[i] = a[i] / b[i]`
pub fn div(a: &[f32], b: &[f32], out: &mut [f32]) {
    map2(a, b, out, F32x4::div);
}

/// `y[i] += alpha · x[i]`
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let alpha = F32x4::splat(alpha);
    update(y, x, |y, x| y.add(alpha.mul(x)));
}

/// `x[i] *= alpha`
pub fn scale(alpha: f32, x: &mut [f32]) {
    let alpha = F32x4::splat(alpha);
    update_each(x, |x| x.mul(alpha));
}

/// `x[i] = clamp(x[i], -limit, limit)`; a NaN stays NaN (as `torch.clamp`).
pub fn clamp(limit: f32, x: &mut [f32]) {
    let (low, high) = (F32x4::splat(-limit), F32x4::splat(limit));
    update_each(x, |x| x.max(low).min(high));
}

/// `Σ a[i]·b[i]`
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    fold_pairs(a, b, F32x4::zero(), 0.0, |acc, u, v| acc.add(u.mul(v)), F32x4::add).sum_lanes()
}

/// `Σ x[i]`
pub fn sum(x: &[f32]) -> f32 {
    fold(x, F32x4::zero(), 0.0, F32x4::add, F32x4::add).sum_lanes()
}

/// Elements per f32 partial sum before it is folded into f64: each of the 16 lanes of the
/// four accumulators then adds only 16 values, which keeps the f32 rounding near 1e-7.
const F64_BLOCK: usize = 256;
/// A block whose f32 partial sum is smaller than this may have lost terms to f32 underflow
/// (squares of values below ~1e-19), so it is summed again in f64.
const F32_SAFE_MIN: f64 = 1e-28;

/// `Σ term(x[i])` in f64: each block of [`F64_BLOCK`] values is summed in f32 lanes, and
/// summed again exactly in f64 (`exact_term`) when that partial sum overflowed or underflowed
/// (a block of zeros, as the gradient rows of dead ReLU units, is recognised as such first).
fn sum_in_f64_blocks(x: &[f32], term: impl Fn(F32x4) -> F32x4, exact_term: impl Fn(f64) -> f64) -> f64 {
    let block_sum = |block: &[f32]| {
        let partial = fold(block, F32x4::zero(), 0.0, |acc, v| acc.add(term(v)), F32x4::add).sum_lanes_f64();
        if partial.is_finite() && partial >= F32_SAFE_MIN {
            partial
        } else if partial == 0.0 && all_zero(block) {
            0.0
        } else {
            block.iter().map(|&v| exact_term(v as f64)).sum()
        }
    };
    x.chunks(F64_BLOCK).map(block_sum).sum()
}

/// `Σ x[i]²`, in f64 so norms of exploding (1e30) and vanishing (1e-30) gradients stay accurate.
pub fn sum_squares(x: &[f32]) -> f64 {
    sum_in_f64_blocks(x, |v| v.mul(v), |v| v * v)
}

/// `Σ |x[i]|`, in f64.
pub fn sum_abs(x: &[f32]) -> f64 {
    sum_in_f64_blocks(x, F32x4::abs, f64::abs)
}

/// True when every element is ±0.
fn all_zero(x: &[f32]) -> bool {
    fold(x, F32x4::zero(), 0.0, |acc, v| acc.max(v.abs()), F32x4::max).sum_lanes() == 0.0
}

/// The largest |x[i]| (0 for an empty slice), NaN when any x[i] is NaN: an integer max of the
/// magnitudes' bits, which orders NaN above ∞ above every finite value (a float max would
/// skip NaN).
pub fn max_abs(x: &[f32]) -> f32 {
    let lanes = fold(x, F32x4::zero(), 0.0, |acc, v| acc.max_as_i32(v.abs()), F32x4::max_as_i32);
    let mut four = [0.0f32; 4];
    lanes.store(&mut four);
    f32::from_bits(four.iter().map(|v| v.to_bits()).max().unwrap_or(0))
}

/// True when every element is finite.
pub fn all_finite(x: &[f32]) -> bool {
    // v·0 is ±0 for finite v and NaN for ±Inf or NaN, and a NaN survives every addition.
    let zero = F32x4::zero();
    !fold(x, zero, 0.0, |acc, v| acc.add(v.mul(zero)), F32x4::add).any_nan()
}

/// The index of the first value that is NaN or ±Inf, or None: a SIMD scan ([`all_finite`],
/// block by block) and a scalar search only inside the block that failed. For input checks
/// over whole batches, where `iter().position(|v| !v.is_finite())` costs one branch per value.
pub fn first_non_finite(x: &[f32]) -> Option<usize> {
    const BLOCK: usize = 1024;
    x.chunks(BLOCK).enumerate().find(|(_, block)| !all_finite(block)).and_then(|(index, block)| {
        block.iter().position(|v| !v.is_finite()).map(|offset| index * BLOCK + offset)
    })
}

/// Mean squared error and its gradient in one pass: returns `Σ (o − t)²` (in f64, blocks of
/// f32 lanes as [`sum_squares`]) and, when `grad` is given, writes `grad[i] = scale·(o[i] − t[i])`
/// (MSE's gradient with `scale = 2/n`). Lengths: the shortest slice wins.
pub fn squared_error(output: &[f32], target: &[f32], scale: f32, grad: Option<&mut [f32]>) -> f64 {
    let n = output.len().min(target.len());
    let (output, target) = (&output[..n], &target[..n]);
    if let Some(grad) = grad {
        let scale = F32x4::splat(scale);
        map2(output, target, &mut grad[..n], |o, t| scale.mul(o.sub(t)));
    }
    let mut total = 0.0;
    for (o, t) in output.chunks(F64_BLOCK).zip(target.chunks(F64_BLOCK)) {
        let partial = fold_pairs(o, t, F32x4::zero(), 0.0, |acc, o, t| {
            let d = o.sub(t);
            acc.add(d.mul(d))
        }, F32x4::add).sum_lanes_f64();
        total += if partial.is_finite() && partial >= F32_SAFE_MIN {
            partial
        } else {
            // Overflowed, underflowed or zero: the block again in f64.
            o.iter().zip(t).map(|(&o, &t)| (o as f64 - t as f64).powi(2)).sum::<f64>()
        };
    }
    total
}

/// Adds `row` (length `cols`) to every row of the row-major matrix `x` (rows × cols).
pub fn add_row(x: &mut [f32], row: &[f32]) {
    let cols = row.len();
    if cols == 0 {
        return;
    }
    for r in x.chunks_exact_mut(cols) {
        update(r, row, F32x4::add);
    }
}

/// `out[j] += Σ_r x[r·cols + j]`: column sums of a row-major matrix, accumulated into `out`.
pub fn accumulate_column_sums(x: &[f32], out: &mut [f32]) {
    let cols = out.len();
    if cols == 0 {
        return;
    }
    for r in x.chunks_exact(cols) {
        update(out, r, F32x4::add);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Lengths that exercise every tail (0..=37) and a long run.
    pub(crate) fn lengths() -> impl Iterator<Item = usize> {
        (0..=37).chain(std::iter::once(100_003))
    }

    /// Random values in ±`scale` with special values sprinkled in at fixed positions.
    pub(crate) fn values(len: usize, scale: f32, rng: &mut Rng) -> Vec<f32> {
        let specials = [0.0, -0.0, 1e30, -1e30, 1e-30, -3e-39, 1.0, -1.0];
        (0..len).map(|i| if i % 7 == 3 { specials[(i / 7) % specials.len()] } else { rng.uniform(-scale, scale) }).collect()
    }

    /// Bitwise equality that treats every NaN as equal.
    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn binary_ops_match_scalar_arithmetic_exactly() {
        let mut rng = Rng::new(4);
        let ops: [(fn(&[f32], &[f32], &mut [f32]), fn(f32, f32) -> f32); 4] = [
            (add, |a, b| a + b),
            (sub, |a, b| a - b),
            (mul, |a, b| a * b),
            (div, |a, b| a / b),
        ];
        for len in lengths() {
            let a = values(len, 10.0, &mut rng);
            let b = values(len, 10.0, &mut rng);
            for (kernel, scalar) in ops {
                let mut out = vec![f32::NAN; len];
                kernel(&a, &b, &mut out);
                assert!((0..len).all(|i| same(out[i], scalar(a[i], b[i]))), "len {}", len);
            }
        }
    }

    #[test]
    fn in_place_updates_match_scalar_arithmetic() {
        let mut rng = Rng::new(5);
        for len in lengths() {
            let x = values(len, 10.0, &mut rng);
            let y = values(len, 10.0, &mut rng);
            let mut axpy_out = y.clone();
            axpy(-0.75, &x, &mut axpy_out);
            assert!((0..len).all(|i| same(axpy_out[i], y[i] + -0.75 * x[i])));
            let mut scaled = x.clone();
            scale(3.0, &mut scaled);
            assert!((0..len).all(|i| same(scaled[i], x[i] * 3.0)));
            let mut clamped = x.clone();
            clamp(2.5, &mut clamped);
            assert!((0..len).all(|i| same(clamped[i], x[i].max(-2.5).min(2.5))));
        }
        let mut special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1.0];
        clamp(1.5, &mut special);
        assert!(special[0].is_nan(), "clamp keeps NaN");
        assert_eq!(&special[1..], &[1.5, -1.5, -0.0, 1.0]);
    }

    /// Checks `got` against the f64 `exact`, allowing f32 rounding on each of `count` terms
    /// whose magnitudes sum to `magnitude`.
    fn close(got: f64, exact: f64, magnitude: f64, count: usize, what: &str) {
        let tolerance = 1.2e-7 * (count as f64).sqrt().max(4.0) * magnitude + 1e-30;
        assert!((got - exact).abs() <= tolerance, "{}: {} vs {} (len {})", what, got, exact, count);
    }

    #[test]
    fn reductions_match_f64_references() {
        let mut rng = Rng::new(6);
        for len in lengths().chain(std::iter::once(1 << 20)) {
            let a: Vec<f32> = (0..len).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let b: Vec<f32> = (0..len).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let exact_dot: f64 = a.iter().zip(&b).map(|(&u, &v)| u as f64 * v as f64).sum();
            let dot_magnitude: f64 = a.iter().zip(&b).map(|(&u, &v)| (u as f64 * v as f64).abs()).sum();
            close(dot(&a, &b) as f64, exact_dot, dot_magnitude, len, "dot");
            let abs_sum: f64 = a.iter().map(|&v| (v as f64).abs()).sum();
            close(sum(&a) as f64, a.iter().map(|&v| v as f64).sum(), abs_sum, len, "sum");
            let squares: f64 = a.iter().map(|&v| v as f64 * v as f64).sum();
            // The f64 reductions: within 1e-6 relative even for a million elements.
            assert!((sum_squares(&a) - squares).abs() <= 1e-6 * squares + 1e-30, "sum_squares len {}", len);
            assert!((sum_abs(&a) - abs_sum).abs() <= 1e-6 * abs_sum + 1e-30, "sum_abs len {}", len);
        }
        let huge = 1e30f32 as f64;
        assert_eq!(sum_squares(&[1e30, -1e30]), 2.0 * huge * huge, "no f32 overflow in the squares");
        let tiny = vec![1e-30f32; 1000];
        let expected = 1000.0 * (1e-30f32 as f64).powi(2);
        assert!((sum_squares(&tiny) - expected).abs() <= 1e-12 * expected, "no f32 underflow in the squares");
        assert!(sum_squares(&[1.0, f32::NAN]).is_nan() && sum_abs(&[f32::NAN]).is_nan());
    }

    #[test]
    fn first_non_finite_finds_the_first_bad_value() {
        for len in [0usize, 1, 5, 1023, 1024, 1025, 5000] {
            let mut x = vec![1.5f32; len];
            assert_eq!(first_non_finite(&x), None);
            for &position in &[0, len / 2, len.saturating_sub(1)] {
                if position >= len {
                    continue;
                }
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    x[position] = bad;
                    if position + 1 < len {
                        x[len - 1] = f32::NAN; // a later one must not win
                    }
                    assert_eq!(first_non_finite(&x), Some(position), "len {} position {}", len, position);
                    x.iter_mut().for_each(|v| *v = 1.5);
                }
            }
        }
    }

    #[test]
    fn squared_error_matches_f64_and_its_gradient_exactly() {
        let mut rng = Rng::new(12);
        for len in lengths() {
            let output = values(len, 3.0, &mut rng);
            let target = values(len, 3.0, &mut rng);
            let mut grad = vec![f32::NAN; len];
            let scale = 2.0 / len.max(1) as f32;
            let total = squared_error(&output, &target, scale, Some(&mut grad));
            let exact: f64 = output.iter().zip(&target).map(|(&o, &t)| (o as f64 - t as f64).powi(2)).sum();
            assert!((total - exact).abs() <= 1e-6 * exact + 1e-30 || (exact.is_infinite() && total == exact), "len {}: {} vs {}", len, total, exact);
            assert!((0..len).all(|i| same(grad[i], scale * (output[i] - target[i]))), "len {}", len);
        }
        // (1e30 − (−1e30))² overflows f32 but not f64.
        let huge = 2.0 * 1e30f32 as f64;
        assert_eq!(squared_error(&[1e30], &[-1e30], 1.0, None), huge * huge);
        assert!(squared_error(&[f32::NAN], &[0.0], 1.0, None).is_nan());
    }

    #[test]
    fn all_finite_finds_every_non_finite_position() {
        for len in 0..=37 {
            let finite = vec![f32::MAX; len];
            assert!(all_finite(&finite));
            for position in 0..len {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut x = finite.clone();
                    x[position] = bad;
                    assert!(!all_finite(&x), "len {} position {}", len, position);
                }
            }
        }
    }

    #[test]
    fn row_broadcast_and_column_sums_match_loops() {
        let mut rng = Rng::new(7);
        for cols in 1..=37 {
            let rows = 5;
            let x = values(rows * cols, 4.0, &mut rng);
            let row = values(cols, 4.0, &mut rng);
            let mut added = x.clone();
            add_row(&mut added, &row);
            assert!((0..rows * cols).all(|i| same(added[i], x[i] + row[i % cols])));
            let mut sums = row.clone();
            accumulate_column_sums(&x, &mut sums);
            for j in 0..cols {
                let mut expected = row[j];
                for r in 0..rows {
                    expected += x[r * cols + j];
                }
                assert!(same(sums[j], expected), "cols {} column {}", cols, j);
            }
        }
    }
}
