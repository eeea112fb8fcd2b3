//! The model's health measurements (crates/core/src/nn/health.rs) for JavaScript: turned on
//! per model, taken inside every later `step` call, read after it.

use crate::model::ModelCore;
use gradlab_core::nn::health::{Histogram, HISTOGRAM_BINS};
use serde_json::json;
use wasm_bindgen::prelude::*;

/// The layers as JSON `{bins, layers: [{name, kind, activation}]}` (`activation` null where
/// it is not one function, an LSTM's gates), and their values end to end, per layer:
/// pre-activation mean and standard deviation, saturated fraction and dead fraction (NaN where
/// they do not apply), then the activation, pre-activation and gradient histograms, each as
/// min, max, log (0 or 1), excluded and `bins` counts. f64 values, not JSON: exploding
/// gradients make some of them infinite.
#[wasm_bindgen]
pub struct HealthReport {
    layers: String,
    values: Vec<f64>,
}

#[wasm_bindgen]
impl HealthReport {
    #[wasm_bindgen(getter)]
    pub fn layers(&self) -> String {
        self.layers.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn values(&self) -> Vec<f64> {
        self.values.clone()
    }
}

fn push_histogram(values: &mut Vec<f64>, histogram: &Histogram) {
    values.extend_from_slice(&[histogram.min, histogram.max, f64::from(u8::from(histogram.log)), f64::from(histogram.excluded)]);
    values.extend(histogram.counts.iter().map(|&c| f64::from(c)));
}

#[wasm_bindgen]
impl ModelCore {
    /// Takes the health measurements in every later forward/backward pass (or stops).
    #[wasm_bindgen(js_name = setHealthMeasurement)]
    pub fn set_health_measurement(&mut self, on: bool) {
        self.model.set_health_measurement(on);
    }

    /// The measurements of the last pass with them on.
    pub fn health(&self) -> HealthReport {
        let records = self.model.health();
        let layers: Vec<_> = records.iter().map(|r| json!({ "name": r.name, "kind": r.kind, "activation": r.activation.map(|a| a.name()) })).collect();
        let mut values = Vec::new();
        for r in records {
            values.extend_from_slice(&[r.pre_activation_mean, r.pre_activation_std, r.saturated_fraction.unwrap_or(f64::NAN), r.dead_fraction.unwrap_or(f64::NAN)]);
            for histogram in [&r.activations, &r.pre_activations, &r.gradients] {
                push_histogram(&mut values, histogram);
            }
        }
        HealthReport { layers: json!({ "bins": HISTOGRAM_BINS, "layers": layers }).to_string(), values }
    }
}
