//! Checked size arithmetic and fallible allocation, for every count, length and offset
//! computed from sizes that come from outside (specs, shapes, batch sizes).
//!
//! On wasm32 a `usize` has 32 bits, so `fan_in · fan_out` of a legal-looking spec (65536 ×
//! 65536) wraps to a small number that passes every later check and ends in an
//! out-of-bounds panic, which aborts the instance for good. A [`Count`] is a u64 that
//! saturates instead of wrapping: u64 holds any product of two 32-bit sizes exactly, and a
//! saturated count stays above every limit. [`Count::at_most`] turns it back into a `usize`
//! only below a limit, or refuses with `TooLarge` naming the argument.
//!
//! Sizes are checked where they enter: when a model is built (parameter counts, per-example
//! sizes) and when a batch arrives (batch × per-example sizes). Loops inside layers index
//! buffers whose lengths passed those checks, so their offsets cannot overflow.

use crate::error::{Error, Result};

/// A number of elements, computed without overflow (saturating at `u64::MAX`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Count(u64);

impl Count {
    pub const ZERO: Count = Count(0);

    pub fn of(n: usize) -> Count {
        Count(n as u64)
    }

    /// The product of `factors` (1 for none).
    pub fn product(factors: &[usize]) -> Count {
        factors.iter().fold(Count(1), |count, &factor| count.times(factor))
    }

    pub fn times(self, factor: impl Into<Count>) -> Count {
        Count(self.0.saturating_mul(factor.into().0))
    }

    pub fn plus(self, term: impl Into<Count>) -> Count {
        Count(self.0.saturating_add(term.into().0))
    }

    /// The count as a u64 (`u64::MAX` when it saturated).
    pub fn get(self) -> u64 {
        self.0
    }

    /// The count as a `usize` when it is at most `limit`; otherwise `TooLarge` for argument
    /// `arg` of `op`.
    pub fn at_most(self, op: &str, arg: &str, limit: usize) -> Result<usize> {
        if self.0 <= limit as u64 {
            Ok(self.0 as usize)
        } else {
            Err(Error::TooLarge { op: op.into(), arg: arg.into(), requested: self.0, limit: limit as u64 })
        }
    }
}

impl From<usize> for Count {
    fn from(n: usize) -> Count {
        Count::of(n)
    }
}

/// `len` zeros, allocated fallibly: running out of memory is `OutOfMemory` for `arg` of `op`,
/// where an infallible allocation would abort the instance.
pub fn zeros(op: &str, arg: &str, len: usize) -> Result<Vec<f32>> {
    filled(op, arg, len, || 0.0)
}

/// `len` values drawn from `value` in order, allocated fallibly (see [`zeros`]).
pub fn filled(op: &str, arg: &str, len: usize, value: impl FnMut() -> f32) -> Result<Vec<f32>> {
    let mut values = reserved(op, arg, len)?;
    values.extend(std::iter::repeat_with(value).take(len));
    Ok(values)
}

/// Checks that `len` more values can be allocated now, by reserving them and letting them go:
/// the allocator hands the freed block to the buffers a batch then grows, so a batch that
/// would exhaust memory is refused before it starts instead of aborting the instance halfway.
pub fn room(op: &str, arg: &str, len: usize) -> Result<()> {
    reserved(op, arg, len).map(drop)
}

/// What every fallible allocation leaves free for the small allocations each call makes
/// infallibly (shapes, names, error messages, the glue's argument copies): without it the
/// last allocation that fits leaves a few bytes, and the next small one aborts the instance.
pub const HEADROOM_BYTES: usize = 1 << 20;

/// Whether `bytes` can be allocated now with [`HEADROOM_BYTES`] to spare. Memory grows if
/// need be; both blocks go back to the allocator, where the next allocation finds them.
pub fn fits(bytes: usize) -> bool {
    let mut block: Vec<u8> = Vec::new();
    let mut headroom: Vec<u8> = Vec::new();
    block.try_reserve_exact(bytes).is_ok() && headroom.try_reserve_exact(HEADROOM_BYTES).is_ok()
}

/// An empty vector with room for `len` values, leaving [`HEADROOM_BYTES`] free, or
/// `OutOfMemory`.
fn reserved(op: &str, arg: &str, len: usize) -> Result<Vec<f32>> {
    let out_of_memory = || Error::OutOfMemory { op: op.into(), arg: arg.into(), requested: len as u64 };
    let mut values = Vec::new();
    values.try_reserve_exact(len).map_err(|_| out_of_memory())?;
    let mut headroom: Vec<u8> = Vec::new();
    headroom.try_reserve_exact(HEADROOM_BYTES).map_err(|_| out_of_memory())?;
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_saturate_instead_of_wrapping() {
        // 65536 × 65536 is 0 in 32-bit arithmetic: the count keeps the true value.
        assert_eq!(Count::product(&[1 << 16, 1 << 16]).get(), 1 << 32);
        assert_eq!(Count::product(&[usize::MAX, usize::MAX, usize::MAX]).get(), u64::MAX);
        assert_eq!(Count::product(&[usize::MAX, usize::MAX, 0]).get(), 0, "a zero factor makes any product 0");
        assert_eq!(Count::product(&[]).get(), 1);
        assert_eq!(Count::of(3).times(4).plus(5).get(), 17);
        assert_eq!(Count::of(1 << 20).times(Count::of(1 << 20)).times(Count::of(1 << 30)).get(), u64::MAX);
        assert_eq!(Count(u64::MAX).plus(Count::of(1)).get(), u64::MAX);
    }

    #[test]
    fn at_most_refuses_above_the_limit_naming_the_argument() {
        assert_eq!(Count::of(10).at_most("op", "x", 10).unwrap(), 10);
        match Count::of(11).at_most("op", "x", 10).unwrap_err() {
            Error::TooLarge { op, arg, requested, limit } => assert_eq!((op.as_str(), arg.as_str(), requested, limit), ("op", "x", 11, 10)),
            other => panic!("{:?}", other),
        }
        assert_eq!(Count::product(&[1 << 16, 1 << 16]).at_most("op", "x", usize::MAX >> 32).unwrap_err().code(), "TooLarge");
    }

    #[test]
    fn allocation_failure_is_an_error_not_an_abort() {
        assert_eq!(zeros("op", "w", 3).unwrap(), vec![0.0; 3]);
        let mut next = 0.0;
        assert_eq!(filled("op", "w", 3, || { next += 1.0; next }).unwrap(), vec![1.0, 2.0, 3.0]);
        // More than any address space can hold: try_reserve fails (capacity overflow).
        let error = zeros("op", "w", usize::MAX / 2).unwrap_err();
        assert_eq!((error.code(), error.op()), ("TooLarge", "op"));
        assert!(error.to_string().contains("out of memory"), "{}", error);
        room("op", "x", 1 << 20).unwrap();
        assert_eq!(room("op", "x", usize::MAX / 2).unwrap_err().code(), "TooLarge");
        assert!(fits(1 << 20) && fits(0));
        assert!(!fits(usize::MAX / 2));
    }
}
