//! Data-parallel training: workers exchange every parameter's gradient as one flat vector
//! (end to end in state-dict order), read straight out of WASM memory and summed back in.

use crate::args::{finite_f32, thrown, JsResult};
use crate::model::{ModelCore, StepOutcome};
use gradlab_core::error::{Error, Result};
use gradlab_core::nn::LossReport;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl ModelCore {
    /// Where each parameter's gradient lies in WASM memory, as (byte offset, length) pairs in
    /// state-dict order. Valid until the next call into the module.
    #[wasm_bindgen(js_name = gradientSpans)]
    pub fn gradient_spans(&mut self) -> Vec<u32> {
        self.model.gradient_slices().iter().flat_map(|slice| [slice.as_ptr() as usize as u32, slice.len() as u32]).collect()
    }

    /// Sets the gradients to (`replace`) or adds to them `weight` · `values`, a flat vector of
    /// every parameter's gradient. Non-finite values are accepted: the guard of
    /// `applyGradients` refuses them as a training step would.
    #[wasm_bindgen(js_name = addGradients)]
    pub fn add_gradients(&mut self, values: &[f32], weight: f64, replace: bool) -> JsResult<()> {
        let op = "applyWeightedGradients";
        let mut run = || -> Result<()> {
            let weight = finite_f32(op, "weights", weight)?;
            let expected = self.model.parameter_count();
            if values.len() != expected {
                return Err(Error::shape(op, "gradients", format!("{} values (every parameter)", expected), format!("{} values", values.len())));
            }
            self.model.add_gradients(values, weight, replace);
            Ok(())
        };
        run().map_err(thrown)
    }

    /// Multiplies the gradients held by `weight`.
    #[wasm_bindgen(js_name = scaleGradients)]
    pub fn scale_gradients(&mut self, weight: f64) -> JsResult<()> {
        let weight = finite_f32("applyWeightedGradients", "weights", weight).map_err(thrown)?;
        self.model.scale_gradients(weight);
        Ok(())
    }

    /// The guard, clipping and one optimiser step on the gradients held; the losses are only
    /// reported back, the gradient norm is recomputed.
    #[wasm_bindgen(js_name = applyGradients)]
    pub fn apply_gradients(&mut self, loss: f64, data_loss: f64, penalty: f64) -> StepOutcome {
        let grad_norm = self.model.grad_norm();
        let losses = LossReport { loss, data_loss, penalty, grad_norm };
        let step = self.model.apply_gradients(losses);
        StepOutcome::new(&losses, Some(step))
    }
}
