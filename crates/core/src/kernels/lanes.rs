//! `F32x4`: four f32 lanes, the one vector type every kernel is written in.
//!
//! On wasm32 with `+simd128` it wraps a `v128` and each method is one or two SIMD128
//! instructions; elsewhere it is a scalar twin over `[f32; 4]` with the same methods and the
//! same lane semantics, so each kernel is written once and the native tests run the same
//! algorithm the browser runs. [`SIMD`] says which one was compiled.
//!
//! Semantics follow WebAssembly where languages differ: `min`/`max` are the "pseudo" forms
//! (`b < a ? b : a`), so a NaN in `self` passes through — clamping never hides a NaN.

/// True when the kernels were compiled with SIMD128.
pub const SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    /// Four f32 lanes in one `v128`.
    #[derive(Clone, Copy)]
    #[repr(transparent)]
    pub struct F32x4(v128);

    /// A per-lane condition, all ones or all zeros per lane.
    #[derive(Clone, Copy)]
    #[repr(transparent)]
    pub struct Mask(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(value: f32) -> F32x4 {
            F32x4(f32x4_splat(value))
        }

        /// The first four values of `values` (which must hold at least four).
        #[inline(always)]
        pub fn load(values: &[f32]) -> F32x4 {
            assert!(values.len() >= 4);
            // SAFETY: four values are in bounds; v128.load has no alignment requirement.
            F32x4(unsafe { v128_load(values.as_ptr() as *const v128) })
        }

        /// Writes the lanes into the first four slots of `out` (which must hold at least four).
        #[inline(always)]
        pub fn store(self, out: &mut [f32]) {
            assert!(out.len() >= 4);
            // SAFETY: as in `load`.
            unsafe { v128_store(out.as_mut_ptr() as *mut v128, self.0) }
        }

        /// [`load`](Self::load) that LLVM keeps in program order with the other `…_in_order`
        /// accesses (a volatile access; in WebAssembly the same `v128.load`).
        #[inline(always)]
        pub fn load_in_order(values: &[f32]) -> F32x4 {
            assert!(values.len() >= 4);
            // SAFETY: as in `load`; v128 reads need no alignment in wasm32.
            F32x4(unsafe { std::ptr::read_volatile(values.as_ptr() as *const v128) })
        }

        /// [`store`](Self::store), kept in program order as [`load_in_order`](Self::load_in_order).
        #[inline(always)]
        pub fn store_in_order(self, out: &mut [f32]) {
            assert!(out.len() >= 4);
            // SAFETY: as in `store`.
            unsafe { std::ptr::write_volatile(out.as_mut_ptr() as *mut v128, self.0) }
        }




        #[inline(always)]
        pub fn add(self, other: F32x4) -> F32x4 {
            F32x4(f32x4_add(self.0, other.0))
        }
        #[inline(always)]
        pub fn sub(self, other: F32x4) -> F32x4 {
            F32x4(f32x4_sub(self.0, other.0))
        }
        #[inline(always)]
        pub fn mul(self, other: F32x4) -> F32x4 {
            F32x4(f32x4_mul(self.0, other.0))
        }
        #[inline(always)]
        pub fn div(self, other: F32x4) -> F32x4 {
            F32x4(f32x4_div(self.0, other.0))
        }
        #[inline(always)]
        pub fn sqrt(self) -> F32x4 {
            F32x4(f32x4_sqrt(self.0))
        }
        /// `other < self ? other : self` per lane (a NaN in `self` stays).
        #[inline(always)]
        pub fn min(self, other: F32x4) -> F32x4 {
            F32x4(f32x4_pmin(self.0, other.0))
        }
        /// `self < other ? other : self` per lane (a NaN in `self` stays).
        #[inline(always)]
        pub fn max(self, other: F32x4) -> F32x4 {
            F32x4(f32x4_pmax(self.0, other.0))
        }
        #[inline(always)]
        pub fn abs(self) -> F32x4 {
            F32x4(f32x4_abs(self.0))
        }
        /// The lanes' bits ORed with `other`'s (with -0.0: every sign bit set).
        #[inline(always)]
        pub fn or_bits(self, other: F32x4) -> F32x4 {
            F32x4(v128_or(self.0, other.0))
        }
        /// Each lane's bits shifted left by 23 as an integer: moves a biased exponent held in
        /// the low mantissa bits into the exponent field.
        #[inline(always)]
        pub fn shift_mantissa_into_exponent(self) -> F32x4 {
            F32x4(i32x4_shl(self.0, 23))
        }
        /// The larger of the lanes' bits read as signed integers. An integer clamp, where a
        /// float comparison would give LLVM a mask to turn into a three-instruction select.
        #[inline(always)]
        pub fn max_as_i32(self, other: F32x4) -> F32x4 {
            F32x4(i32x4_max(self.0, other.0))
        }
        /// The smaller of the lanes' bits read as unsigned integers: among negative floats the
        /// one of smaller magnitude, and any non-negative float (or positive NaN) over a
        /// negative one.
        #[inline(always)]
        pub fn min_as_u32(self, other: F32x4) -> F32x4 {
            F32x4(u32x4_min(self.0, other.0))
        }
        /// The lanes' bits as a mask (for constant bit patterns such as the sign bit, -0.0).
        #[inline(always)]
        pub fn bits_as_mask(self) -> Mask {
            Mask(self.0)
        }
        #[inline(always)]
        pub fn gt(self, other: F32x4) -> Mask {
            Mask(f32x4_gt(self.0, other.0))
        }
        #[inline(always)]
        pub fn ge(self, other: F32x4) -> Mask {
            Mask(f32x4_ge(self.0, other.0))
        }
        #[inline(always)]
        pub fn lt(self, other: F32x4) -> Mask {
            Mask(f32x4_lt(self.0, other.0))
        }
        #[inline(always)]
        pub fn le(self, other: F32x4) -> Mask {
            Mask(f32x4_le(self.0, other.0))
        }
        /// All ones in the lanes whose sign bit is set (negative numbers, -0.0 and negative
        /// NaNs), by an arithmetic shift: one instruction, where a comparison and its
        /// constant cost two.
        #[inline(always)]
        pub fn sign_mask(self) -> Mask {
            Mask(i32x4_shr(self.0, 31))
        }
        /// True when any lane is NaN.
        #[inline(always)]
        pub fn any_nan(self) -> bool {
            !i32x4_all_true(f32x4_eq(self.0, self.0))
        }
        /// The sum of the four lanes, `(l0 + l2) + (l1 + l3)`.
        #[inline(always)]
        pub fn sum_lanes(self) -> f32 {
            let high = i64x2_shuffle::<1, 1>(self.0, self.0);
            let pairs = f32x4_add(self.0, high);
            f32x4_extract_lane::<0>(pairs) + f32x4_extract_lane::<1>(pairs)
        }
        /// The largest lane (NaN lanes are skipped unless all are NaN).
        #[inline(always)]
        pub fn max_lanes(self) -> f32 {
            let high = i64x2_shuffle::<1, 1>(self.0, self.0);
            let pairs = f32x4_pmax(self.0, high);
            f32x4_extract_lane::<0>(pairs).max(f32x4_extract_lane::<1>(pairs))
        }
        /// The sum of the four lanes in f64.
        #[inline(always)]
        pub fn sum_lanes_f64(self) -> f64 {
            let low = f64x2_promote_low_f32x4(self.0);
            let high = f64x2_promote_low_f32x4(i64x2_shuffle::<1, 1>(self.0, self.0));
            let pairs = f64x2_add(low, high);
            f64x2_extract_lane::<0>(pairs) + f64x2_extract_lane::<1>(pairs)
        }
    }

    impl Mask {
        /// `if_true` where the mask is set, else `if_false`.
        #[inline(always)]
        pub fn select(self, if_true: F32x4, if_false: F32x4) -> F32x4 {
            F32x4(v128_bitselect(if_true.0, if_false.0, self.0))
        }
        /// `value` where the mask is set, else +0.
        #[inline(always)]
        pub fn keep(self, value: F32x4) -> F32x4 {
            F32x4(v128_and(value.0, self.0))
        }
        /// +0 where the mask is set, else `value`.
        #[inline(always)]
        pub fn clear(self, value: F32x4) -> F32x4 {
            F32x4(v128_andnot(value.0, self.0))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    /// Four f32 lanes in an array: the scalar twin of the SIMD128 type.
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    /// A per-lane bit mask (all ones or all zeros per lane after a comparison), as in SIMD128.
    #[derive(Clone, Copy)]
    pub struct Mask([u32; 4]);

    #[inline(always)]
    fn lanes(f: impl Fn(usize) -> f32) -> F32x4 {
        F32x4([f(0), f(1), f(2), f(3)])
    }

    #[inline(always)]
    fn compare(f: impl Fn(usize) -> bool) -> Mask {
        let bits = |i: usize| if f(i) { u32::MAX } else { 0 };
        Mask([bits(0), bits(1), bits(2), bits(3)])
    }

    #[inline(always)]
    fn bitwise(a: F32x4, b: F32x4, f: impl Fn(u32, u32) -> u32) -> F32x4 {
        lanes(|i| f32::from_bits(f(a.0[i].to_bits(), b.0[i].to_bits())))
    }

    impl F32x4 {
        #[inline(always)]
        pub fn splat(value: f32) -> F32x4 {
            F32x4([value; 4])
        }
        #[inline(always)]
        pub fn load(values: &[f32]) -> F32x4 {
            F32x4([values[0], values[1], values[2], values[3]])
        }
        #[inline(always)]
        pub fn store(self, out: &mut [f32]) {
            out[..4].copy_from_slice(&self.0);
        }
        #[inline(always)]
        pub fn load_in_order(values: &[f32]) -> F32x4 {
            F32x4::load(values)
        }
        #[inline(always)]
        pub fn store_in_order(self, out: &mut [f32]) {
            self.store(out)
        }
        #[inline(always)]
        pub fn add(self, other: F32x4) -> F32x4 {
            lanes(|i| self.0[i] + other.0[i])
        }
        #[inline(always)]
        pub fn sub(self, other: F32x4) -> F32x4 {
            lanes(|i| self.0[i] - other.0[i])
        }
        #[inline(always)]
        pub fn mul(self, other: F32x4) -> F32x4 {
            lanes(|i| self.0[i] * other.0[i])
        }
        #[inline(always)]
        pub fn div(self, other: F32x4) -> F32x4 {
            lanes(|i| self.0[i] / other.0[i])
        }
        #[inline(always)]
        pub fn sqrt(self) -> F32x4 {
            lanes(|i| self.0[i].sqrt())
        }
        #[inline(always)]
        pub fn min(self, other: F32x4) -> F32x4 {
            lanes(|i| if other.0[i] < self.0[i] { other.0[i] } else { self.0[i] })
        }
        #[inline(always)]
        pub fn max(self, other: F32x4) -> F32x4 {
            lanes(|i| if self.0[i] < other.0[i] { other.0[i] } else { self.0[i] })
        }
        #[inline(always)]
        pub fn abs(self) -> F32x4 {
            lanes(|i| self.0[i].abs())
        }
        #[inline(always)]
        pub fn or_bits(self, other: F32x4) -> F32x4 {
            bitwise(self, other, |a, b| a | b)
        }
        #[inline(always)]
        pub fn shift_mantissa_into_exponent(self) -> F32x4 {
            lanes(|i| f32::from_bits(self.0[i].to_bits() << 23))
        }
        #[inline(always)]
        pub fn max_as_i32(self, other: F32x4) -> F32x4 {
            lanes(|i| f32::from_bits((self.0[i].to_bits() as i32).max(other.0[i].to_bits() as i32) as u32))
        }
        #[inline(always)]
        pub fn min_as_u32(self, other: F32x4) -> F32x4 {
            lanes(|i| f32::from_bits(self.0[i].to_bits().min(other.0[i].to_bits())))
        }
        #[inline(always)]
        pub fn bits_as_mask(self) -> Mask {
            Mask([self.0[0].to_bits(), self.0[1].to_bits(), self.0[2].to_bits(), self.0[3].to_bits()])
        }
        #[inline(always)]
        pub fn gt(self, other: F32x4) -> Mask {
            compare(|i| self.0[i] > other.0[i])
        }
        #[inline(always)]
        pub fn ge(self, other: F32x4) -> Mask {
            compare(|i| self.0[i] >= other.0[i])
        }
        #[inline(always)]
        pub fn lt(self, other: F32x4) -> Mask {
            compare(|i| self.0[i] < other.0[i])
        }
        #[inline(always)]
        pub fn le(self, other: F32x4) -> Mask {
            compare(|i| self.0[i] <= other.0[i])
        }
        #[inline(always)]
        pub fn sign_mask(self) -> Mask {
            compare(|i| self.0[i].is_sign_negative())
        }
        #[inline(always)]
        pub fn any_nan(self) -> bool {
            self.0.iter().any(|v| v.is_nan())
        }
        #[inline(always)]
        pub fn sum_lanes(self) -> f32 {
            (self.0[0] + self.0[2]) + (self.0[1] + self.0[3])
        }
        #[inline(always)]
        pub fn max_lanes(self) -> f32 {
            self.0[0].max(self.0[2]).max(self.0[1].max(self.0[3]))
        }
        #[inline(always)]
        pub fn sum_lanes_f64(self) -> f64 {
            (self.0[0] as f64 + self.0[2] as f64) + (self.0[1] as f64 + self.0[3] as f64)
        }
    }

    impl Mask {
        #[inline(always)]
        pub fn select(self, if_true: F32x4, if_false: F32x4) -> F32x4 {
            let mask = F32x4(self.0.map(f32::from_bits));
            bitwise(bitwise(if_true, mask, |t, m| t & m), bitwise(if_false, mask, |f, m| f & !m), |a, b| a | b)
        }
        #[inline(always)]
        pub fn keep(self, value: F32x4) -> F32x4 {
            bitwise(value, F32x4(self.0.map(f32::from_bits)), |v, m| v & m)
        }
        #[inline(always)]
        pub fn clear(self, value: F32x4) -> F32x4 {
            bitwise(value, F32x4(self.0.map(f32::from_bits)), |v, m| v & !m)
        }
    }
}

pub use imp::{F32x4, Mask};

impl F32x4 {
    #[inline(always)]
    pub fn zero() -> F32x4 {
        F32x4::splat(0.0)
    }
}

/// `value` in every lane, hidden from the optimiser: kernels build their constants with it
/// once, before the loop, so LLVM cannot turn them back into `v128.const` (which V8 rebuilds
/// on every iteration of a loop instead of hoisting).
#[inline(always)]
pub fn opaque_splat(value: f32) -> F32x4 {
    // A volatile read of the whole vector. (A volatile read of the f32 before splatting is
    // miscompiled by rustc 1.63's LLVM for wasm32: it folds it into an unordered
    // `v128.load32_splat`, so every constant read the last value stored.)
    let lanes = F32x4::splat(value);
    // SAFETY: a volatile read of a local, valid and aligned.
    unsafe { std::ptr::read_volatile(&lanes) }
}

/// `x`'s values (at most four) in the low lanes, `fill` in the rest: how kernels load a tail.
#[inline(always)]
pub fn load_partial(x: &[f32], fill: f32) -> F32x4 {
    let mut lanes = [fill; 4];
    let n = x.len().min(4);
    lanes[..n].copy_from_slice(&x[..n]);
    F32x4::load(&lanes)
}

/// Writes the low lanes of `value` into `out` (at most four values): how kernels store a tail.
#[inline(always)]
pub fn store_partial(value: F32x4, out: &mut [f32]) {
    let mut lanes = [0.0; 4];
    value.store(&mut lanes);
    let n = out.len().min(4);
    out[..n].copy_from_slice(&lanes[..n]);
}

/// Vectors per iteration of the unrolled loops below: four independent evaluations of `f`
/// give the CPU enough independent work per iteration to hide the latency of a long
/// polynomial chain, and divide V8's per-iteration cost (a stack check, the counters) by four.
/// Measured on sigmoid, 1M elements: 0.69 ms unrolled against 0.90 ms one vector at a time;
/// eight vectors spill and run 3× slower.
const UNROLL: usize = 4;
const WIDE: usize = 4 * UNROLL;

/// `out[i] = f(x[i])` four lanes at a time, [`UNROLL`] vectors per iteration; the tail runs
/// through the same `f` on a padded vector, so it gets exactly the body's arithmetic.
/// Lengths: the shortest slice wins.
#[inline(always)]
pub fn map1(x: &[f32], out: &mut [f32], f: impl Fn(F32x4) -> F32x4) {
    let n = out.len().min(x.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    let wide = n - n % WIDE;
    for (o, v) in out[..wide].chunks_exact_mut(WIDE).zip(x[..wide].chunks_exact(WIDE)) {
        // All four loads first (kept there by `…_in_order`): V8 then overlaps the four
        // evaluations; with plain accesses LLVM sinks each load next to its store.
        let (v0, v1, v2, v3) = (F32x4::load_in_order(&v[0..]), F32x4::load_in_order(&v[4..]), F32x4::load_in_order(&v[8..]), F32x4::load_in_order(&v[12..]));
        f(v0).store_in_order(&mut o[0..]);
        f(v1).store_in_order(&mut o[4..]);
        f(v2).store_in_order(&mut o[8..]);
        f(v3).store_in_order(&mut o[12..]);
    }
    let narrow = n - n % 4;
    for (o, v) in out[wide..narrow].chunks_exact_mut(4).zip(x[wide..narrow].chunks_exact(4)) {
        f(F32x4::load(v)).store(o);
    }
    if narrow < n {
        store_partial(f(load_partial(&x[narrow..], 0.0)), &mut out[narrow..]);
    }
}

/// [`map1`] that also returns the sum of what it wrote, in four lanes (one accumulator per
/// unrolled vector, combined at the end): a row's softmax writes `e^(x − max)` and sums it in
/// one pass. A padded tail adds only the values it stored.
#[inline(always)]
pub fn map1_sum(x: &[f32], out: &mut [f32], f: impl Fn(F32x4) -> F32x4) -> F32x4 {
    let n = out.len().min(x.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    let wide = n - n % 8;
    let (mut s0, mut s1) = (F32x4::zero(), F32x4::zero());
    for (o, v) in out[..wide].chunks_exact_mut(8).zip(x[..wide].chunks_exact(8)) {
        let (v0, v1) = (F32x4::load_in_order(&v[0..]), F32x4::load_in_order(&v[4..]));
        let (r0, r1) = (f(v0), f(v1));
        r0.store_in_order(&mut o[0..]);
        r1.store_in_order(&mut o[4..]);
        s0 = s0.add(r0);
        s1 = s1.add(r1);
    }
    let narrow = n - n % 4;
    for (o, v) in out[wide..narrow].chunks_exact_mut(4).zip(x[wide..narrow].chunks_exact(4)) {
        let result = f(F32x4::load(v));
        result.store(o);
        s0 = s0.add(result);
    }
    if narrow < n {
        store_partial(f(load_partial(&x[narrow..], 0.0)), &mut out[narrow..]);
        s1 = s1.add(load_partial(&out[narrow..], 0.0));
    }
    s0.add(s1)
}

/// `out[i] = f(a[i], b[i])`, as [`map1`].
#[inline(always)]
pub fn map2(a: &[f32], b: &[f32], out: &mut [f32], f: impl Fn(F32x4, F32x4) -> F32x4) {
    let n = out.len().min(a.len()).min(b.len());
    let (a, b, out) = (&a[..n], &b[..n], &mut out[..n]);
    let wide = n - n % WIDE;
    let inputs = a[..wide].chunks_exact(WIDE).zip(b[..wide].chunks_exact(WIDE));
    for (o, (u, v)) in out[..wide].chunks_exact_mut(WIDE).zip(inputs) {
        let pair = |k: usize| f(F32x4::load(&u[k..]), F32x4::load(&v[k..]));
        let results = [pair(0), pair(4), pair(8), pair(12)];
        for (lanes, result) in o.chunks_exact_mut(4).zip(results) {
            result.store(lanes);
        }
    }
    let narrow = n - n % 4;
    let inputs = a[wide..narrow].chunks_exact(4).zip(b[wide..narrow].chunks_exact(4));
    for (o, (u, v)) in out[wide..narrow].chunks_exact_mut(4).zip(inputs) {
        f(F32x4::load(u), F32x4::load(v)).store(o);
    }
    if narrow < n {
        let value = f(load_partial(&a[narrow..], 0.0), load_partial(&b[narrow..], 0.0));
        store_partial(value, &mut out[narrow..]);
    }
}

/// `out[i] = f(a[i], b[i], c[i])`, as [`map1`].
#[inline(always)]
pub fn map3(a: &[f32], b: &[f32], c: &[f32], out: &mut [f32], f: impl Fn(F32x4, F32x4, F32x4) -> F32x4) {
    let n = out.len().min(a.len()).min(b.len()).min(c.len());
    let (a, b, c, out) = (&a[..n], &b[..n], &c[..n], &mut out[..n]);
    let wide = n - n % WIDE;
    let inputs = a[..wide].chunks_exact(WIDE).zip(b[..wide].chunks_exact(WIDE)).zip(c[..wide].chunks_exact(WIDE));
    for (o, ((u, v), w)) in out[..wide].chunks_exact_mut(WIDE).zip(inputs) {
        let triple = |k: usize| f(F32x4::load(&u[k..]), F32x4::load(&v[k..]), F32x4::load(&w[k..]));
        let results = [triple(0), triple(4), triple(8), triple(12)];
        for (lanes, result) in o.chunks_exact_mut(4).zip(results) {
            result.store(lanes);
        }
    }
    let narrow = n - n % 4;
    let inputs = a[wide..narrow].chunks_exact(4).zip(b[wide..narrow].chunks_exact(4)).zip(c[wide..narrow].chunks_exact(4));
    for (o, ((u, v), w)) in out[wide..narrow].chunks_exact_mut(4).zip(inputs) {
        f(F32x4::load(u), F32x4::load(v), F32x4::load(w)).store(o);
    }
    if narrow < n {
        let tail = |s: &[f32]| load_partial(&s[narrow..], 0.0);
        store_partial(f(tail(a), tail(b), tail(c)), &mut out[narrow..]);
    }
}

/// `x[i] = f(x[i], other[i])` in place, as [`map1`].
#[inline(always)]
pub fn update(x: &mut [f32], other: &[f32], f: impl Fn(F32x4, F32x4) -> F32x4) {
    let n = x.len().min(other.len());
    let (x, other) = (&mut x[..n], &other[..n]);
    let wide = n - n % WIDE;
    for (v, w) in x[..wide].chunks_exact_mut(WIDE).zip(other[..wide].chunks_exact(WIDE)) {
        let pair = |k: usize| f(F32x4::load(&v[k..]), F32x4::load(&w[k..]));
        let results = [pair(0), pair(4), pair(8), pair(12)];
        for (lanes, result) in v.chunks_exact_mut(4).zip(results) {
            result.store(lanes);
        }
    }
    let narrow = n - n % 4;
    for (v, w) in x[wide..narrow].chunks_exact_mut(4).zip(other[wide..narrow].chunks_exact(4)) {
        f(F32x4::load(v), F32x4::load(w)).store(v);
    }
    if narrow < n {
        let value = f(load_partial(&x[narrow..], 0.0), load_partial(&other[narrow..], 0.0));
        store_partial(value, &mut x[narrow..]);
    }
}

/// `x[i] = f(x[i])` in place, as [`map1`].
#[inline(always)]
pub fn update_each(x: &mut [f32], f: impl Fn(F32x4) -> F32x4) {
    let n = x.len();
    let wide = n - n % WIDE;
    for v in x[..wide].chunks_exact_mut(WIDE) {
        let results = [f(F32x4::load(&v[0..])), f(F32x4::load(&v[4..])), f(F32x4::load(&v[8..])), f(F32x4::load(&v[12..]))];
        for (lanes, result) in v.chunks_exact_mut(4).zip(results) {
            result.store(lanes);
        }
    }
    let narrow = n - n % 4;
    for v in x[wide..narrow].chunks_exact_mut(4) {
        f(F32x4::load(v)).store(v);
    }
    if narrow < n {
        let value = f(load_partial(&x[narrow..], 0.0));
        store_partial(value, &mut x[narrow..]);
    }
}

/// Walks `n` values of several slices four lanes at a time: `f` gets the lanes of the `I`
/// `inputs` and the current lanes of the `U` `updated` slices, and returns the new lanes of
/// the `updated` ones and those of the `O` write-only `outputs`. The tail pads with 0 and
/// stores only the real lanes: the same arithmetic as the body. Per-feature loops (BatchNorm:
/// a row of x, per-feature statistics, accumulators) are written with it.
#[inline(always)]
pub fn zip_lanes<const I: usize, const U: usize, const O: usize>(
    n: usize,
    inputs: [&[f32]; I],
    updated: [&mut [f32]; U],
    outputs: [&mut [f32]; O],
    f: impl Fn([F32x4; I], [F32x4; U]) -> ([F32x4; U], [F32x4; O]),
) {
    let inputs = inputs.map(|slice| &slice[..n]);
    let mut updated = updated.map(|slice| &mut slice[..n]);
    let mut outputs = outputs.map(|slice| &mut slice[..n]);
    let whole = n - n % 4;
    // `step` runs lanes j..j + 4 with j + 4 ≤ n, which every slice was cut to above.
    let mut step = |j: usize| {
        // SAFETY: j + 4 ≤ whole ≤ n = the length of every slice.
        let lanes = |slice: &[f32]| F32x4::load(unsafe { slice.get_unchecked(j..j + 4) });
        let current: [F32x4; U] = std::array::from_fn(|k| lanes(&updated[k]));
        let (new, results) = f(inputs.map(lanes), current);
        for (slice, value) in updated.iter_mut().zip(new) {
            value.store(unsafe { slice.get_unchecked_mut(j..j + 4) });
        }
        for (slice, value) in outputs.iter_mut().zip(results) {
            value.store(unsafe { slice.get_unchecked_mut(j..j + 4) });
        }
    };
    let mut j = 0;
    // Four vectors per iteration: the per-iteration cost (one pointer per slice, a branch)
    // weighs less against the few operations per vector.
    while j + 16 <= whole {
        step(j);
        step(j + 4);
        step(j + 8);
        step(j + 12);
        j += 16;
    }
    while j < whole {
        step(j);
        j += 4;
    }
    if whole < n {
        let current: [F32x4; U] = std::array::from_fn(|k| load_partial(&updated[k][whole..], 0.0));
        let (new, results) = f(inputs.map(|slice| load_partial(&slice[whole..], 0.0)), current);
        for (slice, value) in updated.iter_mut().zip(new) {
            store_partial(value, &mut slice[whole..]);
        }
        for (slice, value) in outputs.iter_mut().zip(results) {
            store_partial(value, &mut slice[whole..]);
        }
    }
}

/// Folds the pairs `(a[i], b[i])` with `f` into four independent accumulators of four lanes
/// (so the additions overlap in the pipeline), padding the tail with `fill`, and returns the
/// accumulators combined with `combine`. Lengths: the shorter slice wins.
#[inline(always)]
pub fn fold_pairs(
    a: &[f32],
    b: &[f32],
    init: F32x4,
    fill: f32,
    f: impl Fn(F32x4, F32x4, F32x4) -> F32x4,
    combine: impl Fn(F32x4, F32x4) -> F32x4,
) -> F32x4 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [init; 4];
    let split = n - n % 16;
    for (u, v) in a[..split].chunks_exact(16).zip(b[..split].chunks_exact(16)) {
        acc[0] = f(acc[0], F32x4::load(&u[0..4]), F32x4::load(&v[0..4]));
        acc[1] = f(acc[1], F32x4::load(&u[4..8]), F32x4::load(&v[4..8]));
        acc[2] = f(acc[2], F32x4::load(&u[8..12]), F32x4::load(&v[8..12]));
        acc[3] = f(acc[3], F32x4::load(&u[12..16]), F32x4::load(&v[12..16]));
    }
    for (i, (u, v)) in a[split..].chunks(4).zip(b[split..].chunks(4)).enumerate() {
        acc[i] = f(acc[i], load_partial(u, fill), load_partial(v, fill));
    }
    combine(combine(acc[0], acc[1]), combine(acc[2], acc[3]))
}

/// [`fold_pairs`] over one slice.
#[inline(always)]
pub fn fold(
    x: &[f32],
    init: F32x4,
    fill: f32,
    f: impl Fn(F32x4, F32x4) -> F32x4,
    combine: impl Fn(F32x4, F32x4) -> F32x4,
) -> F32x4 {
    fold_pairs(x, x, init, fill, |acc, v, _| f(acc, v), combine)
}
