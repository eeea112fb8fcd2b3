//! Tests written against the mutants cargo-mutants left alive in the kernels
//! (`npm run mutate:rust -- --file crates/core/src/kernels/vector.rs`).

use gradlab_core::kernels::vector;

/// Differences whose squares underflow f32 (1e-25² = 1e-50) are summed again in f64, not
/// lost: the block's f32 partial sum is 0, below the safe minimum.
#[test]
fn squared_error_keeps_squares_that_underflow_f32() {
    let output = [1e-25f32, -2e-25, 3e-25];
    let target = [0.0f32; 3];
    let expected: f64 = output.iter().map(|&o| (o as f64).powi(2)).sum();
    let total = vector::squared_error(&output, &target, 1.0, None);
    assert!((total - expected).abs() <= 1e-12 * expected, "{} vs {}", total, expected);
    assert!(expected > 1.3e-49);
    // Ordinary blocks take the f32 lanes' sum: 3² + 4² exactly.
    assert_eq!(vector::squared_error(&[3.0, 4.0], &[0.0, 0.0], 1.0, None), 25.0);
}

/// The largest magnitude, with NaN above ∞ above every finite value.
#[test]
fn max_abs_orders_nan_above_infinity() {
    assert_eq!(vector::max_abs(&[]), 0.0);
    assert_eq!(vector::max_abs(&[1.0, -7.5, 3.0, 2.0, -0.5]), 7.5);
    assert_eq!(vector::max_abs(&[f32::INFINITY, -1e38]), f32::INFINITY);
    let mut values = vec![1.0f32; 37];
    values[33] = f32::NAN;
    values[2] = f32::NEG_INFINITY;
    assert!(vector::max_abs(&values).is_nan());
}
