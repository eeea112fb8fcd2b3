//! What every export shares: errors thrown to JavaScript, and the checks of scalar arguments
//! whose JavaScript type (a double) is wider than what the core takes.

use gradlab_core::error::{js_number, Error, Result};
use wasm_bindgen::JsError;

pub type JsResult<T> = std::result::Result<T, JsError>;

/// The core's error as a JavaScript `Error` whose message is the error as JSON.
pub fn thrown(error: Error) -> JsError {
    JsError::new(&error.to_json())
}

/// A 64-bit seed from a JavaScript number: a safe integer ≥ 0.
pub fn seed(op: &str, value: f64) -> Result<u64> {
    if value.is_finite() && value.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&value) {
        Ok(value as u64)
    } else {
        Err(Error::invalid(op, "seed", "a non-negative safe integer", js_number(value)))
    }
}

/// A finite f32 from a JavaScript number that stays finite when narrowed.
pub fn finite_f32(op: &str, arg: &str, value: f64) -> Result<f32> {
    let narrowed = value as f32;
    if narrowed.is_finite() {
        Ok(narrowed)
    } else {
        Err(Error::invalid(op, arg, "a finite number (as a 32-bit float)", js_number(value)))
    }
}

/// A count from a JavaScript number: an integer in `[min, max]`.
pub fn count(op: &str, arg: &str, value: f64, min: usize, max: usize) -> Result<usize> {
    if value.is_finite() && value.fract() == 0.0 && value >= min as f64 && value <= max as f64 {
        Ok(value as usize)
    } else {
        Err(Error::invalid(op, arg, format!("an integer in [{}, {}]", min, max), js_number(value)))
    }
}

/// Dimensions from JavaScript numbers: integers in `[0, 2^31)`.
pub fn dims(op: &str, arg: &str, values: &[f64]) -> Result<Vec<usize>> {
    values.iter().map(|&d| count(op, arg, d, 0, i32::MAX as usize)).collect()
}

/// Class indices from JavaScript numbers: integers in `[0, 2^31)`, checked before any
/// narrowing could wrap 2^32 + 1 round to 1.
pub fn class_indices(op: &str, arg: &str, values: &[f64]) -> Result<Vec<i32>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            if label.fract() == 0.0 && (0.0..=i32::MAX as f64).contains(&label) {
                Ok(label as i32)
            } else {
                Err(Error::invalid(op, arg, "integer class indices ≥ 0", format!("{} at index {}", js_number(label), i)))
            }
        })
        .collect()
}
