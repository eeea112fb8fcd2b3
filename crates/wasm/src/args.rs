//! Checks of scalar arguments and shapes that every ABI module applies the same way.

use crate::memory::read_i32;
use gradlab_core::error::{Error, Result};

/// A boolean passed as 0 or 1; anything else is an error (a stray value is a bug in the caller).
pub fn flag(op: &str, arg: &str, value: i64) -> Result<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::invalid(op, arg, "0 or 1", other.to_string())),
    }
}

pub fn finite(op: &str, arg: &str, value: f32) -> Result<f32> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::invalid(op, arg, "a finite number", value.to_string()))
    }
}

pub fn non_negative(op: &str, arg: &str, value: f32) -> Result<f32> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::invalid(op, arg, "a finite number ≥ 0", value.to_string()))
    }
}

/// A count or size passed as i32, which must be at least 1.
pub fn positive(op: &str, arg: &str, value: i32) -> Result<usize> {
    if value > 0 {
        Ok(value as usize)
    } else {
        Err(Error::invalid(op, arg, "a positive integer", value.to_string()))
    }
}

/// The `rank` dimensions at `ptr` (i32, each ≥ 0). Callers check the rank itself first.
pub fn read_dims(op: &str, arg: &str, ptr: *const i32, rank: usize) -> Result<Vec<usize>> {
    let dims = read_i32(op, arg, ptr, rank)?;
    if let Some(bad) = dims.iter().find(|&&d| d < 0) {
        return Err(Error::invalid(op, arg, "dimensions ≥ 0", bad.to_string()));
    }
    Ok(dims.iter().map(|&d| d as usize).collect())
}
