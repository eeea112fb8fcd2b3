//! `exp` and the functions built on it (`expm1`, sigmoid, tanh), four lanes at a time.
//!
//! Range reduction: `x = n·ln2 + r` with integer `n` and `|r| ≤ ln2/2`, so
//! `exp(x) = 2ⁿ·(1 + q)` and `expm1(x) = 2ⁿ·q + (2ⁿ − 1)` where `q = expm1(r)` comes from
//! Cephes' minimax polynomial `q = r + r²·P(r)`. Keeping `q` apart from the 1 is what makes
//! `expm1` (and tanh through it) accurate relative to tiny results near 0. `ln2` is split in
//! two (Cody–Waite) so `n·ln2_hi` is exact without FMA. Relative error stays below ~2e-7 for
//! normal results; results below 2^-126 come out as denormals and below 2^-150 as 0, results
//! above f32::MAX as +Inf, and NaN stays NaN.

use super::lanes::F32x4;

const LOG2_E: f32 = 1.442_695;
/// ln 2 = LN2_HIGH + LN2_LOW; LN2_HIGH has 9 significant bits, so `n · LN2_HIGH` is exact.
const LN2_HIGH: f32 = 0.693_359_375;
const LN2_LOW: f32 = -2.121_944_4e-4;
/// exp(-104) < 2^-150 rounds to 0; exp(89) > f32::MAX: clamping here keeps `n` in -150..=128.
const MIN_INPUT: f32 = -104.0;
const MAX_INPUT: f32 = 89.0;
/// Cephes expf: `(expm1(r) − r) / r² ≈ P(r)` on |r| ≤ ln2/2, highest degree first.
const POLYNOMIAL: [f32; 6] = [1.987_569_2e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1];

/// `x` split as `2ⁿ·(1 + q)`: `q = expm1(r)`, and `2ⁿ` as two factors that are each a normal
/// f32 (so results down to the denormals and up to +Inf come out right).
struct Reduced {
    q: F32x4,
    low_power: F32x4,
    high_power: F32x4,
}

#[inline(always)]
fn reduce(x: F32x4) -> Reduced {
    // `max`/`min` keep a NaN in `x`, and then NaN flows through `r` into every result.
    let x = x.max(F32x4::splat(MIN_INPUT)).min(F32x4::splat(MAX_INPUT));
    let n = x.mul(F32x4::splat(LOG2_E)).round();
    let r = x.sub(n.mul(F32x4::splat(LN2_HIGH))).sub(n.mul(F32x4::splat(LN2_LOW)));
    let mut p = F32x4::splat(POLYNOMIAL[0]);
    for &coefficient in &POLYNOMIAL[1..] {
        p = p.mul(r).add(F32x4::splat(coefficient));
    }
    let q = r.add(r.mul(r).mul(p));
    let low = n.mul(F32x4::splat(0.5)).round();
    let high = n.sub(low);
    Reduced { q, low_power: low.exp2_integer(), high_power: high.exp2_integer() }
}

/// `e^x` per lane.
#[inline(always)]
pub fn exp(x: F32x4) -> F32x4 {
    let reduced = reduce(x);
    F32x4::splat(1.0).add(reduced.q).mul(reduced.low_power).mul(reduced.high_power)
}

/// `e^x − 1` per lane, accurate relative to the result near 0.
#[inline(always)]
pub fn expm1(x: F32x4) -> F32x4 {
    let reduced = reduce(x);
    let power = reduced.low_power.mul(reduced.high_power);
    let scaled_q = reduced.q.mul(reduced.low_power).mul(reduced.high_power);
    scaled_q.add(power.sub(F32x4::splat(1.0)))
}

/// `1 / (1 + e^-x)` per lane: `e = exp(−|x|)` never overflows, and for negative `x` the
/// form `e / (1 + e)` keeps tiny results accurate.
#[inline(always)]
pub fn sigmoid(x: F32x4) -> F32x4 {
    let e = exp(F32x4::zero().sub(x.abs()));
    let one = F32x4::splat(1.0);
    x.ge(F32x4::zero()).select(one, e).div(one.add(e))
}

/// tanh(|x|) reaches 1 in f32 beyond this, and `expm1(2·|x|)` stays finite up to it.
const TANH_SATURATION: f32 = 9.0;

/// `tanh x` per lane as `e / (e + 2)` with `e = expm1(2|x|)`, signed: relative accuracy
/// holds down to the smallest inputs because `expm1` does.
#[inline(always)]
pub fn tanh(x: F32x4) -> F32x4 {
    let magnitude = x.abs().min(F32x4::splat(TANH_SATURATION));
    let e = expm1(magnitude.add(magnitude));
    e.div(e.add(F32x4::splat(2.0))).with_sign_of(x)
}

#[cfg(test)]
mod tests {
    use super::{exp, expm1, sigmoid, tanh};
    use crate::kernels::lanes::F32x4;

    /// One lane of `f` at `x`.
    fn lane(f: fn(F32x4) -> F32x4, x: f32) -> f32 {
        let mut out = [0.0; 4];
        f(F32x4::splat(x)).store(&mut out);
        out[0]
    }

    /// The largest relative error of `f` against `reference` on `count` points spread evenly
    /// over `low..=high`, skipping results below the smallest normal f32.
    fn worst_relative_error(f: fn(F32x4) -> F32x4, reference: fn(f64) -> f64, low: f32, high: f32, count: usize) -> f64 {
        let mut worst = 0.0f64;
        for i in 0..=count {
            let x = low + (high - low) * (i as f32 / count as f32);
            let expected = reference(x as f64);
            if expected.abs() < f32::MIN_POSITIVE as f64 {
                continue;
            }
            let error = ((lane(f, x) as f64 - expected) / expected).abs();
            worst = worst.max(error);
        }
        worst
    }

    fn sigmoid_f64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn relative_error_stays_within_two_parts_in_ten_million() {
        let cases: [(&str, fn(F32x4) -> F32x4, fn(f64) -> f64, f32, f32); 5] = [
            ("exp", exp, f64::exp, -87.0, 88.7),
            ("expm1", expm1, f64::exp_m1, -20.0, 20.0),
            ("expm1 near 0", expm1, f64::exp_m1, -1e-3, 1e-3),
            ("sigmoid", sigmoid, sigmoid_f64, -80.0, 80.0),
            ("tanh", tanh, f64::tanh, -10.0, 10.0),
        ];
        for (name, f, reference, low, high) in cases {
            let worst = worst_relative_error(f, reference, low, high, 200_003);
            assert!(worst <= 2e-7, "{}: worst relative error {:e}", name, worst);
        }
    }

    #[test]
    fn tiny_inputs_keep_relative_accuracy() {
        for &x in &[1e-30f32, -3e-20, 1e-10, -1e-5, 2e-3] {
            let tanh_error = ((lane(tanh, x) as f64 - (x as f64).tanh()) / (x as f64).tanh()).abs();
            let expm1_error = ((lane(expm1, x) as f64 - (x as f64).exp_m1()) / (x as f64).exp_m1()).abs();
            assert!(tanh_error <= 2e-7 && expm1_error <= 2e-7, "x = {}: tanh {:e}, expm1 {:e}", x, tanh_error, expm1_error);
        }
        assert_eq!(lane(tanh, -0.0).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn limits_infinities_and_nan() {
        assert_eq!(lane(exp, 89.0), f32::INFINITY);
        assert_eq!(lane(exp, f32::INFINITY), f32::INFINITY);
        assert_eq!(lane(exp, -105.0), 0.0);
        assert_eq!(lane(exp, f32::NEG_INFINITY), 0.0);
        assert_eq!(lane(exp, 0.0), 1.0);
        // Denormal results: exp(-100) = 3.72e-44.
        assert!((lane(exp, -100.0) as f64 / (-100.0f64).exp() - 1.0).abs() < 0.05);
        assert_eq!(lane(expm1, f32::NEG_INFINITY), -1.0);
        assert_eq!(lane(sigmoid, f32::INFINITY), 1.0);
        assert_eq!(lane(sigmoid, f32::NEG_INFINITY), 0.0);
        assert_eq!(lane(tanh, f32::INFINITY), 1.0);
        assert_eq!(lane(tanh, -1e30), -1.0);
        for f in [exp, expm1, sigmoid, tanh] {
            assert!(lane(f, f32::NAN).is_nan());
        }
    }
}
