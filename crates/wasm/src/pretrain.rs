//! Pretraining: the restricted Boltzmann machine (`gradlab_core::pretrain::Rbm`) as an
//! exported object. Data is `rows` visible vectors, row-major; the core checks it.

use crate::args::{count, finite_f32, seed, thrown, JsResult};
use gradlab_core::error::{Error, Result};
use gradlab_core::pretrain::{CdConfig, Part, Rbm};
use std::sync::atomic::{AtomicU32, Ordering};
use wasm_bindgen::prelude::*;

static LIVE_RBMS: AtomicU32 = AtomicU32::new(0);

#[wasm_bindgen]
pub struct RbmCore {
    rbm: Rbm,
}

impl Drop for RbmCore {
    fn drop(&mut self) {
        LIVE_RBMS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The parameter called `name`: `weight` [hidden, visible], `visibleBias`, `hiddenBias`.
fn part(op: &str, name: &str) -> Result<Part> {
    match name {
        "weight" => Ok(Part::Weight),
        "visibleBias" => Ok(Part::VisibleBias),
        "hiddenBias" => Ok(Part::HiddenBias),
        other => Err(Error::invalid(op, other, "one of weight, visibleBias, hiddenBias", "an unknown name")),
    }
}

/// A row count from JavaScript; whether it fits the data is the core's to check.
fn rows(op: &str, value: f64) -> Result<usize> {
    count(op, "x", value, 0, i32::MAX as usize)
}

/// Mini-batch size and CD-k's hyper-parameters from JavaScript numbers, checked.
#[allow(clippy::too_many_arguments)]
fn cd_config(op: &str, batch_size: f64, k: f64, lr: f64, momentum: f64, weight_decay: f64, sample_visible: bool) -> Result<(usize, CdConfig)> {
    let batch_size = count(op, "batchSize", batch_size, 1, i32::MAX as usize)?;
    let config = CdConfig {
        k: count(op, "k", k, 0, i32::MAX as usize)?,
        lr: finite_f32(op, "lr", lr)?,
        momentum: finite_f32(op, "momentum", momentum)?,
        weight_decay: finite_f32(op, "weightDecay", weight_decay)?,
        sample_visible,
    };
    config.validate(op)?;
    Ok((batch_size, config))
}

/// Checks `pretrain`'s options up front, before any layer is trained: the mini-batch size,
/// CD-k's hyper-parameters (autoencoders' SGD takes the same ranges) and the seed.
#[wasm_bindgen(js_name = checkPretrainOptions)]
pub fn check_pretrain_options(batch_size: f64, k: f64, lr: f64, momentum: f64, weight_decay: f64, seed_value: f64) -> JsResult<()> {
    let op = "pretrain";
    let run = || -> Result<()> {
        cd_config(op, batch_size, k, lr, momentum, weight_decay, false)?;
        seed(op, seed_value).map(|_| ())
    };
    run().map_err(thrown)
}

#[wasm_bindgen]
impl RbmCore {
    /// An RBM with `visible` and `hidden` units, W ~ N(0, 0.01²) and zero biases drawn from
    /// `seed`, which also drives its shuffling and sampling.
    #[wasm_bindgen(constructor)]
    pub fn new(visible: f64, hidden: f64, seed_value: f64) -> JsResult<RbmCore> {
        let op = "createRbm";
        let build = || -> Result<Rbm> {
            let visible = count(op, "visible", visible, 0, i32::MAX as usize)?;
            let hidden = count(op, "hidden", hidden, 0, i32::MAX as usize)?;
            Rbm::new(visible, hidden, seed(op, seed_value)?)
        };
        let rbm = build().map_err(thrown)?;
        LIVE_RBMS.fetch_add(1, Ordering::Relaxed);
        Ok(RbmCore { rbm })
    }

    /// A copy of parameter `name`.
    pub fn parameter(&self, name: &str) -> JsResult<Vec<f32>> {
        let part = part("rbm.parameters", name).map_err(thrown)?;
        Ok(self.rbm.parameter(part).to_vec())
    }

    /// Replaces parameter `name` with `values` (its exact size, finite).
    #[wasm_bindgen(js_name = setParameter)]
    pub fn set_parameter(&mut self, name: &str, values: &[f32]) -> JsResult<()> {
        let op = "rbm.setParameters";
        let part = part(op, name).map_err(thrown)?;
        self.rbm.set_parameter(op, part, values).map_err(thrown)
    }

    /// Sets the visible biases to the log-odds of each unit being on in `x` ([rows, visible]).
    #[wasm_bindgen(js_name = initVisibleBias)]
    pub fn init_visible_bias(&mut self, x: &[f32], rows_value: f64) -> JsResult<()> {
        let rows = rows("rbm.initVisibleBias", rows_value).map_err(thrown)?;
        self.rbm.init_visible_bias(x, rows).map_err(thrown)
    }

    /// One epoch of CD-k over `x` ([rows, visible], values in [0, 1]) in shuffled mini-batches;
    /// returns the reconstruction error over `x` after the epoch.
    #[wasm_bindgen(js_name = trainEpoch)]
    #[allow(clippy::too_many_arguments)]
    pub fn train_epoch(&mut self, x: &[f32], rows_value: f64, batch_size: f64, k: f64, lr: f64, momentum: f64, weight_decay: f64, sample_visible: bool) -> JsResult<f64> {
        let op = "rbm.trainEpoch";
        let mut run = || -> Result<f64> {
            let rows = rows(op, rows_value)?;
            let (batch_size, config) = cd_config(op, batch_size, k, lr, momentum, weight_decay, sample_visible)?;
            Ok(self.rbm.train_epoch(x, rows, batch_size, &config)? as f32 as f64)
        };
        run().map_err(thrown)
    }

    /// The reconstruction error of `x` ([rows, visible]).
    #[wasm_bindgen(js_name = reconstructionError)]
    pub fn reconstruction_error(&self, x: &[f32], rows_value: f64) -> JsResult<f64> {
        let op = "rbm.reconstructionError";
        let run = || -> Result<f64> { Ok(self.rbm.reconstruction_error(op, x, rows(op, rows_value)?)? as f32 as f64) };
        run().map_err(thrown)
    }

    /// p(h = 1 | v) for `x` ([rows, visible]): [rows, hidden].
    #[wasm_bindgen(js_name = hiddenProbabilities)]
    pub fn hidden_probabilities(&self, x: &[f32], rows_value: f64) -> JsResult<Vec<f32>> {
        let op = "rbm.hiddenProbabilities";
        let run = || -> Result<Vec<f32>> { self.rbm.hidden_probabilities(op, x, rows(op, rows_value)?) };
        run().map_err(thrown)
    }
}

/// The number of live RBMs (for leak tests).
#[wasm_bindgen(js_name = numRbms)]
pub fn num_rbms() -> u32 {
    LIVE_RBMS.load(Ordering::Relaxed)
}
