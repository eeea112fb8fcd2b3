//! `exp` and the functions built on it (`expm1`, sigmoid, tanh), four lanes at a time.
//!
//! Range reduction: `x = n·ln2 + r` with integer `n` and `|r| ≤ ln2/2`, so
//! `exp(x) = 2ⁿ·(1 + q)` and `expm1(x) = 2ⁿ·q + (2ⁿ − 1)` where `q = expm1(r) = r + r²·P(r)`.
//! Keeping `q` apart from the 1 is what makes `expm1` (and tanh through it) accurate relative
//! to tiny results near 0. `ln2` is split in two (Cody–Waite) so `n·ln2_hi` is exact without FMA.
//!
//! `P` is a degree-4 fit made for this (relative error 1.7e-8 on e^r − 1), two operations
//! cheaper than Cephes expf's degree 5 and as accurate once rounded to f32; softmax takes a
//! degree-3 one ([`Exp::exp_short`]).
//!
//! Both the rounding of `x·log2(e)` and `2ⁿ` come from one addition of a "magic" number
//! (2²³ + 2²² + 127): the sum's low mantissa bits then hold `n + 127`, the biased exponent, and
//! one shift moves them into place — no float→int conversion, which costs V8 about seven
//! instructions. Relative error stays below ~2e-7. Domain: x ≤ 88.37 (2ⁿ ≤ 2¹²⁷; up to 89 the
//! result is +Inf, beyond that meaningless). `exp` gives 0 below 2^-127 (x < −87.68); `expm1`
//! clamps its input at −87.34 (e^−87.34 − 1 rounds to −1). Every caller here passes x ≤ 0
//! (sigmoid and tanh through −|x|, softmax through x − max, ELU only keeps the results for
//! x ≤ 0). NaN stays NaN.
//!
//! V8 turns each operation into about one x64 instruction, except `select` (three) and
//! constants (rebuilt inside loops, hence [`opaque_splat`]); the forms below are chosen by
//! that count, and by what LLVM leaves of them (see [`Exp::exp`]).

use super::lanes::{opaque_splat, F32x4};

const LOG2_E: f32 = 1.442_695;
/// ln 2 = LN2_HIGH + LN2_LOW; LN2_HIGH has 9 significant bits, so `n · LN2_HIGH` is exact.
const LN2_HIGH: f32 = 0.693_359_375;
const LN2_LOW: f32 = -2.121_944_4e-4;
/// 1.5·2²³ + 127: adding it to `y` (|y| < 2²²) rounds `y` to an integer and leaves
/// `round(y) + 127` in the low mantissa bits.
const MAGIC: f32 = 12_583_039.0;
/// Below −126·ln2 the biased exponent would be ≤ 0: `expm1` clamps its input here (the result
/// rounds to −1 exactly).
const CUTOFF: f32 = -87.336_55;
/// `exp` clamps its input here, which keeps the reduction finite (−Inf would give NaN) and
/// puts `n` at −144, below the exponent clamp.
const EXP_FLOOR: f32 = -100.0;
/// `MAGIC`'s bits less 127: the rounded sum's bits for `n = −127`. Clamping them from below
/// makes the biased exponent 0 for every `n ≤ −127`, so `2ⁿ` becomes +0 and the result 0.
const FLUSHED_POWER_BITS: u32 = 0x4B40_007F - 127;
/// `(e^r − 1 − r) / r² ≈ P(r)` on |r| ≤ ln2/2, highest degree first: a degree-4 fit
/// (Lawson's weighted least squares on the relative error of e^r − 1): relative error 1.7e-8
/// on e^r − 1 and 6e-9 on e^r, where Cephes expf's degree 5 has 2e-9 at two operations more.
const POLYNOMIAL: [f32; 5] = [1.388_252_1e-3, 8.366_520_5e-3, 4.166_720_1e-2, 1.666_654_3e-1, 4.999_999_7e-1];
/// A degree-3 fit the same way, for [`Exp::exp_short`]: relative error 1.0e-7 on e^r (1.8e-7
/// for the whole `exp` in f32, measured, against 0.8e-7 with [`POLYNOMIAL`]).
const SHORT_EXP_POLYNOMIAL: [f32; 4] = [8.312_520_6e-3, 4.189_016e-2, 1.666_711_4e-1, 4.999_923_1e-1];

/// The approximations with their constants splatted once. Build one per kernel call, outside
/// the loop: V8 rebuilds every `v128.const` inside a loop on each iteration (3–4 instructions
/// each), and LLVM would fold plain constants back into `v128.const`, so the constants pass
/// through [`opaque_splat`] and live in registers or stack slots instead.
#[derive(Clone, Copy)]
pub struct Exp {
    log2_e: F32x4,
    ln2_high: F32x4,
    ln2_low: F32x4,
    magic: F32x4,
    cutoff: F32x4,
    exp_floor: F32x4,
    flushed_power: F32x4,
    polynomial: [F32x4; 5],
    short_exp_polynomial: [F32x4; 4],
    one: F32x4,
    two: F32x4,
    /// -0.0: only the sign bit set.
    sign_bit: F32x4,
}

impl Default for Exp {
    fn default() -> Exp {
        Exp::new()
    }
}

impl Exp {
    pub fn new() -> Exp {
        let splat = opaque_splat;
        Exp {
            log2_e: splat(LOG2_E),
            ln2_high: splat(LN2_HIGH),
            ln2_low: splat(LN2_LOW),
            magic: splat(MAGIC),
            cutoff: splat(CUTOFF),
            exp_floor: splat(EXP_FLOOR).mul(splat(1.0)),
            flushed_power: splat(f32::from_bits(FLUSHED_POWER_BITS)),
            polynomial: POLYNOMIAL.map(splat),
            short_exp_polynomial: SHORT_EXP_POLYNOMIAL.map(splat),
            one: splat(1.0),
            two: splat(2.0),
            sign_bit: splat(-0.0),
        }
    }

    /// `x = n·ln2 + r`: returns `(q, shifted)` with `q = expm1(r)` from `polynomial` and
    /// `shifted` holding `n + 127` in its low mantissa bits. A NaN `x` flows through `q`.
    #[inline(always)]
    fn reduce(&self, x: F32x4, polynomial: &[F32x4]) -> (F32x4, F32x4) {
        let shifted = x.mul(self.log2_e).add(self.magic);
        let n = shifted.sub(self.magic);
        let r = x.sub(n.mul(self.ln2_high)).sub(n.mul(self.ln2_low));
        let mut p = polynomial[0];
        for &coefficient in &polynomial[1..] {
            p = p.mul(r).add(coefficient);
        }
        (r.add(r.mul(r).mul(p)), shifted)
    }

    /// `e^x` per lane (x ≤ 88.37); results below 2^-127 (x < −87.68) are 0.
    ///
    /// Two clamps and no comparison: a comparison's mask, however it is combined, reaches V8
    /// as a three-instruction `v128.bitselect` (LLVM rewrites `and`/`andnot` with a mask into
    /// one), where `f32x4.pmax` and `i32x4.max_s` are one instruction each.
    #[inline(always)]
    pub fn exp(&self, x: F32x4) -> F32x4 {
        // `max` keeps a NaN in `x`, whose `q` is NaN and whose product below is NaN too.
        self.exp_above_floor(x.max(self.exp_floor), &self.polynomial)
    }

    /// [`exp`](Self::exp) with the shorter polynomial: two operations fewer of about 26, and
    /// relative error 1.8e-7 instead of 0.8e-7 (softmax rows, whose sum adds more anyway).
    #[inline(always)]
    pub fn exp_short(&self, x: F32x4) -> F32x4 {
        self.exp_above_floor(x.max(self.exp_floor), &self.short_exp_polynomial)
    }

    /// `e^x` for an `x` already clamped to ≥ [`EXP_FLOOR`] (or NaN).
    #[inline(always)]
    fn exp_above_floor(&self, x: F32x4, polynomial: &[F32x4]) -> F32x4 {
        let (q, shifted) = self.reduce(x, polynomial);
        let power = shifted.max_as_i32(self.flushed_power).shift_mantissa_into_exponent();
        // (1 + q)·2ⁿ rather than q·2ⁿ + 2ⁿ: at 2ⁿ = +Inf (x > 88.38) the latter is −Inf + Inf.
        self.one.add(q).mul(power)
    }

    /// `e^x − 1` per lane (x ≤ 88.37), accurate relative to the result near 0.
    #[inline(always)]
    pub fn expm1(&self, x: F32x4) -> F32x4 {
        // `max` keeps a NaN in `x`; below the cutoff the result rounds to −1 exactly.
        self.expm1_above_cutoff(x.max(self.cutoff))
    }

    /// [`expm1`](Self::expm1) of an `x` already clamped to ≥ [`CUTOFF`].
    #[inline(always)]
    fn expm1_above_cutoff(&self, x: F32x4) -> F32x4 {
        let (q, shifted) = self.reduce(x, &self.polynomial);
        let power = shifted.shift_mantissa_into_exponent();
        q.mul(power).add(power.sub(self.one))
    }

    /// ELU: `α·(e^x − 1)` where x ≤ 0, `x` elsewhere (and NaN for NaN).
    #[inline(always)]
    pub fn elu(&self, x: F32x4, alpha: F32x4) -> F32x4 {
        // The clamp compares bits as unsigned integers (one instruction, where LLVM turns a
        // float `max` here into a comparison and a select): negative values below the cutoff,
        // −Inf and negative NaNs become the cutoff, non-negative values stay, and their
        // results are dropped by the select, which also passes a NaN `x` through.
        let e = self.expm1_above_cutoff(x.min_as_u32(self.cutoff));
        x.le(F32x4::zero()).select(alpha.mul(e), x)
    }

    /// `1 / (1 + e^-x)` per lane: `e = exp(−|x|)` never overflows, and for negative `x` the
    /// form `e / (1 + e)` keeps tiny results accurate.
    #[inline(always)]
    pub fn sigmoid(&self, x: F32x4) -> F32x4 {
        // ·1 (an opaque 1, so LLVM keeps it) makes −|x| a float result: fed the integer OR
        // itself, LLVM turns `exp`'s `max` into a comparison and a select, three
        // instructions more than this multiply.
        let e = self.exp(x.or_bits(self.sign_bit).mul(self.one));
        x.sign_mask().select(e, self.one).div(self.one.add(e))
    }

    /// `tanh x` per lane: with `e = expm1(−2|x|)` in [−1, 0], `tanh |x| = −e / (2 + e)`, and
    /// the sign of `x` is copied on. Relative accuracy holds down to the smallest inputs
    /// because `expm1` has it, and large |x| give e = −1, tanh = ±1.
    #[inline(always)]
    pub fn tanh(&self, x: F32x4) -> F32x4 {
        let minus_magnitude = x.or_bits(self.sign_bit);
        let e = self.expm1(minus_magnitude.add(minus_magnitude));
        let magnitude = e.div(self.two.add(e));
        // Sign bit from `x`, the rest from the quotient (|−e/(2+e)| = |e/(2+e)|).
        self.sign_bit.bits_as_mask().select(x, magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::Exp;
    use crate::kernels::lanes::F32x4;

    fn exp(x: F32x4) -> F32x4 {
        Exp::new().exp(x)
    }
    fn expm1(x: F32x4) -> F32x4 {
        Exp::new().expm1(x)
    }
    fn sigmoid(x: F32x4) -> F32x4 {
        Exp::new().sigmoid(x)
    }
    fn tanh(x: F32x4) -> F32x4 {
        Exp::new().tanh(x)
    }

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
            ("exp", exp, f64::exp, -87.0, 88.3),
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
        assert_eq!(lane(exp, 88.5), f32::INFINITY);
        assert_eq!(lane(exp, 0.0), 1.0);
        assert_eq!(lane(exp, -87.3), (-87.3f32 as f64).exp() as f32);
        // Results below 2^-126 flush to 0.
        assert_eq!(lane(exp, -100.0), 0.0);
        assert_eq!(lane(exp, -1e30), 0.0);
        assert_eq!(lane(exp, f32::NEG_INFINITY), 0.0);
        assert_eq!(lane(expm1, -1e30), -1.0);
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
