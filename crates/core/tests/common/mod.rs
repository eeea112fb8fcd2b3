//! Shared helpers for model-level tests: a finite-difference check of every parameter
//! gradient of a model's total loss, random values, and every activation.

use gradlab_core::nn::{Activation, Model, ModelConfig, Target};
use gradlab_core::rng::Rng;

/// Every activation the spec names, with non-default slopes where they have one.
#[allow(dead_code)]
pub const ACTIVATIONS: [Activation; 8] = [
    Activation::Identity,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu(0.2),
    Activation::Prelu(0.25),
    Activation::Elu(1.0),
    Activation::Softmax,
];

/// Random values in [-scale, scale).
#[allow(dead_code)]
pub fn random(rng: &mut Rng, len: usize, scale: f32) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-scale, scale)).collect()
}

#[allow(dead_code)]
fn loss_of(model: &mut Model, x: &[f32], batch: usize, target: &Target) -> f64 {
    model.compute_gradients("gradcheck", x, batch, target).expect("valid batch").loss
}

/// Compares every parameter's analytic gradient with central differences of the total loss.
/// Checks at most `per_entry` coordinates of each parameter (spread across it).
#[allow(dead_code)]
pub fn check_model_gradients(config: ModelConfig, seed: u64, x: &[f32], batch: usize, target: Target, per_entry: usize) {
    let mut model = Model::new(config, seed).expect("valid config");
    check_gradients(&mut model, x, batch, target, per_entry);
}

/// [`check_model_gradients`] on a model that is already built (e.g. with loaded weights).
#[allow(dead_code)]
pub fn check_gradients(model: &mut Model, x: &[f32], batch: usize, target: Target, per_entry: usize) {
    model.compute_gradients("gradcheck", x, batch, &target).expect("valid batch");
    let entries = model.state_entries().to_vec();
    let mut analytic: Vec<Vec<f32>> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let grad = if entry.trainable { model.with_entry("gradcheck", index, |_, g| g.map(|g| g.clone()).unwrap_or_default()).unwrap() } else { Vec::new() };
        analytic.push(grad);
    }
    for (index, entry) in entries.iter().enumerate() {
        if !entry.trainable {
            continue;
        }
        let len = analytic[index].len();
        let stride = (len / per_entry.max(1)).max(1);
        for i in (0..len).step_by(stride) {
            let eps = 3e-3f32;
            let original = model.with_entry("gradcheck", index, |v, _| v[i]).unwrap();
            if original.abs() < 2.0 * eps {
                // L1's kink at 0: a central difference across it measures neither side.
                continue;
            }
            model.with_entry("gradcheck", index, |v, _| v[i] = original + eps).unwrap();
            let plus = loss_of(model, x, batch, &target);
            model.with_entry("gradcheck", index, |v, _| v[i] = original - eps).unwrap();
            let minus = loss_of(model, x, batch, &target);
            model.with_entry("gradcheck", index, |v, _| v[i] = original).unwrap();
            let numeric = (plus - minus) / (2.0 * eps as f64);
            let got = analytic[index][i] as f64;
            let tolerance = 2e-3 + 2e-2 * numeric.abs().max(got.abs());
            assert!((numeric - got).abs() <= tolerance, "{}[{}]: numeric {} analytic {}", entry.name, i, numeric, got);
        }
    }
}
