//! `createModel`'s model: built from the spec's JSON, trained one whole step per call, its
//! state read and written by state-dict entry.

use crate::args::{finite_f32, seed, thrown, JsResult};
use crate::batch::{input_shape, Batch};
use gradlab_core::error::{js_number, shape_str, Error, Result};
use gradlab_core::nn::{spec, LossReport, Model, StepReport};
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use wasm_bindgen::prelude::*;

static LIVE_MODELS: AtomicU32 = AtomicU32::new(0);

#[wasm_bindgen]
pub struct ModelCore {
    pub(crate) model: Model,
}

impl Drop for ModelCore {
    fn drop(&mut self) {
        LIVE_MODELS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a training step measured and whether it was applied.
#[wasm_bindgen]
pub struct StepOutcome {
    #[wasm_bindgen(readonly)]
    pub loss: f64,
    #[wasm_bindgen(readonly, js_name = dataLoss)]
    pub data_loss: f64,
    #[wasm_bindgen(readonly)]
    pub penalty: f64,
    #[wasm_bindgen(readonly, js_name = gradNorm)]
    pub grad_norm: f64,
    #[wasm_bindgen(readonly)]
    pub applied: bool,
    non_finite_at: Option<String>,
}

#[wasm_bindgen]
impl StepOutcome {
    /// Where the step first went non-finite (a layer name, or `loss`), if it did.
    #[wasm_bindgen(getter, js_name = nonFiniteAt)]
    pub fn non_finite_at(&self) -> Option<String> {
        self.non_finite_at.clone()
    }
}

impl StepOutcome {
    /// The losses as the f32 values the core computed with, as every report has shown them.
    pub fn new(losses: &LossReport, step: Option<StepReport>) -> StepOutcome {
        let narrow = |v: f64| v as f32 as f64;
        let (applied, non_finite_at) = step.map_or((false, None), |s| (s.applied, s.non_finite_at));
        StepOutcome { loss: narrow(losses.loss), data_loss: narrow(losses.data_loss), penalty: narrow(losses.penalty), grad_norm: narrow(losses.grad_norm), applied, non_finite_at }
    }
}

/// The data loss of an evaluated batch, its correctly classified rows (`undefined` where
/// accuracy does not apply), and where its output first went non-finite, if it did (the
/// flag a training step reports as `nonFiniteAt`).
#[wasm_bindgen]
pub struct Evaluation {
    #[wasm_bindgen(readonly)]
    pub loss: f64,
    #[wasm_bindgen(readonly)]
    pub correct: Option<u32>,
    non_finite_at: Option<String>,
}

#[wasm_bindgen]
impl Evaluation {
    #[wasm_bindgen(getter, js_name = nonFiniteAt)]
    pub fn non_finite_at(&self) -> Option<String> {
        self.non_finite_at.clone()
    }
}

#[wasm_bindgen]
impl ModelCore {
    /// Builds the model that the spec in `spec_json` describes, with weights drawn from `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(spec_json: &str, seed_value: f64) -> JsResult<ModelCore> {
        let build = || -> Result<Model> {
            let seed = seed("createModel", seed_value)?;
            Model::new(spec::parse(spec_json)?.config, seed)
        };
        let model = build().map_err(thrown)?;
        LIVE_MODELS.fetch_add(1, Ordering::Relaxed);
        Ok(ModelCore { model })
    }

    /// Input and output shapes and the state entries `[{name, shape, trainable}]`, as JSON.
    pub fn describe(&self) -> String {
        let entries: Vec<_> = self.model.state_entries().iter().map(|e| json!({ "name": e.name, "shape": e.shape, "trainable": e.trainable })).collect();
        json!({ "input": self.model.input_dims(), "output": self.model.output_dims(), "entries": entries }).to_string()
    }

    /// The values of state entry `index`, or its gradient.
    #[wasm_bindgen(js_name = readEntry)]
    pub fn read_entry(&mut self, index: u32, gradient: bool) -> JsResult<Vec<f32>> {
        let op = if gradient { "gradients" } else { "stateDict" };
        self.check_entry(op, index, gradient).map_err(thrown)?;
        self.model.with_entry(op, index as usize, |value, grad| if gradient { grad.map(|g| g.clone()).unwrap_or_default() } else { value.clone() }).map_err(thrown)
    }

    /// Replaces every parameter and buffer (with `gradient`, every parameter's gradient)
    /// with `values`, all entries end to end in state-dict order. Everything is checked
    /// before anything is written, so a bad entry leaves the model untouched.
    #[wasm_bindgen(js_name = writeEntries)]
    pub fn write_entries(&mut self, gradient: bool, values: &[f32]) -> JsResult<()> {
        let op = if gradient { "applyGradients" } else { "loadStateDict" };
        let spans = self.entry_spans(op, gradient, values).map_err(thrown)?;
        for (index, start, end) in spans {
            let source = &values[start..end];
            self.model
                .with_entry(op, index, |value, grad| match (gradient, grad) {
                    (true, Some(grad)) => grad.copy_from_slice(source),
                    _ => value.copy_from_slice(source),
                })
                .map_err(thrown)?;
        }
        Ok(())
    }

    #[wasm_bindgen(js_name = setTraining)]
    pub fn set_training(&mut self, on: bool) {
        self.model.set_training(on);
    }

    /// Sets the base learning rate (schedules scale it).
    #[wasm_bindgen(js_name = setLearningRate)]
    pub fn set_learning_rate(&mut self, lr: f64) -> JsResult<()> {
        let op = "setLearningRate";
        let lr = finite_f32(op, "lr", lr).map_err(thrown)?;
        if lr < 0.0 {
            return Err(thrown(Error::invalid(op, "lr", "a finite number ≥ 0", js_number(lr as f64))));
        }
        self.model.optimizer_mut().lr = lr;
        Ok(())
    }

    /// Inference on `x` of `shape`: the output, batch × output size values.
    pub fn predict(&mut self, x: &[f32], shape: &[f64]) -> JsResult<Vec<f32>> {
        let op = "predict";
        let shape = input_shape(op, shape).map_err(thrown)?;
        let batch = self.model.check_input(op, x, &shape).map_err(thrown)?;
        let output = self.model.predict(x, batch).to_vec();
        // trainStep refuses such a batch; predict says so too rather than return NaN.
        match self.model.non_finite_output_at() {
            Some(layer) => Err(thrown(Error::NonFinite { op: op.into(), layer, what: "the output".into() })),
            None => Ok(output),
        }
    }

    /// Forward and backward on `batch`, and with `apply` the guard, clipping and optimiser step.
    pub fn step(&mut self, apply: bool, batch: &Batch) -> JsResult<StepOutcome> {
        let op = if apply { "trainStep" } else { "gradients" };
        let mut run = || -> Result<StepOutcome> {
            let examples = self.model.check_input(op, batch.x(), batch.shape())?;
            let losses = self.model.compute_gradients(op, batch.x(), examples, &batch.target())?;
            let step = if apply { Some(self.model.apply_gradients(losses)) } else { None };
            Ok(StepOutcome::new(&losses, step))
        };
        run().map_err(thrown)
    }

    /// The data loss on `batch` in evaluation mode and the rows the arg-max gets right.
    pub fn evaluate(&mut self, batch: &Batch) -> JsResult<Evaluation> {
        let op = "evaluate";
        let mut run = || -> Result<Evaluation> {
            let examples = self.model.check_input(op, batch.x(), batch.shape())?;
            let (loss, correct) = self.model.evaluate(op, batch.x(), examples, &batch.target())?;
            let loss = loss as f32 as f64;
            let non_finite_at = self.model.non_finite_output_at().or_else(|| if loss.is_finite() { None } else { Some("loss".into()) });
            Ok(Evaluation { loss, correct: correct.map(|c| c as u32), non_finite_at })
        };
        run().map_err(thrown)
    }

    /// Per-layer diagnostics of the last backward pass.
    pub fn diagnostics(&mut self) -> Diagnostics {
        let stats = self.model.layer_stats();
        let layers: Vec<_> = stats.iter().map(|s| json!({ "name": s.name, "kind": s.kind })).collect();
        let mut values = Vec::new();
        for s in &stats {
            values.extend_from_slice(&[s.bias_grad_norm as f32, s.weight_grad_norm as f32, s.weight_norm as f32, s.update_ratio as f32, s.time_grad_norms.len() as f32]);
            values.extend_from_slice(&s.time_grad_norms);
        }
        Diagnostics { layers: serde_json::Value::Array(layers).to_string(), values }
    }
}

/// Per-layer diagnostics: the layers as JSON `[{name, kind}]`, and their values end to end,
/// each layer's five fixed values: bias-gradient norm (NaN without a bias),
/// weight-gradient norm, weight norm, update ratio, time steps T; then T norms of ∂L/∂h_t.
/// Numbers travel as f32 values, not JSON, because exploding gradients make them infinite.
#[wasm_bindgen]
pub struct Diagnostics {
    layers: String,
    values: Vec<f32>,
}

#[wasm_bindgen]
impl Diagnostics {
    #[wasm_bindgen(getter)]
    pub fn layers(&self) -> String {
        self.layers.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn values(&self) -> Vec<f32> {
        self.values.clone()
    }
}

impl ModelCore {
    fn check_entry(&self, op: &str, index: u32, gradient: bool) -> Result<()> {
        let entries = self.model.state_entries();
        let entry = entries.get(index as usize).ok_or_else(|| Error::invalid(op, "index", format!("a state entry index below {}", entries.len()), index.to_string()))?;
        if gradient && !entry.trainable {
            return Err(Error::invalid(op, "gradient", "a trainable parameter", format!("buffer '{}'", entry.name)));
        }
        Ok(())
    }

    /// Where each written entry's values lie in `values`: (entry index, start, end), after
    /// checking that `values` holds exactly those entries and only finite numbers.
    fn entry_spans(&self, op: &str, gradient: bool, values: &[f32]) -> Result<Vec<(usize, usize, usize)>> {
        let mut spans = Vec::new();
        let mut start = 0usize;
        for (index, entry) in self.model.state_entries().iter().enumerate().filter(|(_, e)| e.trainable || !gradient) {
            let len: usize = entry.shape.iter().product();
            let end = start.saturating_add(len);
            let source = values.get(start..end).ok_or_else(|| Error::shape(op, &entry.name, shape_str(&entry.shape), format!("{} values", values.len().saturating_sub(start))))?;
            if let Some(bad) = source.iter().position(|v| !v.is_finite()) {
                return Err(Error::invalid(op, &entry.name, "finite numbers", format!("{} at index {}", js_number(source[bad] as f64), bad)));
            }
            spans.push((index, start, end));
            start = end;
        }
        if start != values.len() {
            return Err(Error::shape(op, "values", format!("{} values (every entry)", start), format!("{} values", values.len())));
        }
        Ok(spans)
    }
}

/// The number of live models (for leak tests).
#[wasm_bindgen(js_name = numModels)]
pub fn num_models() -> u32 {
    LIVE_MODELS.load(Ordering::Relaxed)
}

/// A permutation of 0..n drawn from `seed`: the same in every runtime.
#[wasm_bindgen]
pub fn permutation(n: f64, seed_value: f64) -> JsResult<Vec<u32>> {
    let op = "permutation";
    let run = || -> Result<Vec<u32>> {
        let n = crate::args::count(op, "n", n, 0, 1 << 28)?;
        let mut indices: Vec<u32> = (0..n as u32).collect();
        gradlab_core::rng::Rng::new(seed(op, seed_value)?).shuffle(&mut indices);
        Ok(indices)
    };
    run().map_err(thrown)
}
