//! A batch staged in WASM memory once: inputs with their shape, and the targets as float
//! values or class labels. `trainStep`, `gradients` and `evaluate` read it.

use crate::args::{class_indices, dims, thrown, JsResult};
use gradlab_core::error::{Error, Result};
use gradlab_core::nn::Target;
use wasm_bindgen::prelude::*;

enum Targets {
    Values(Vec<f32>),
    Classes(Vec<i32>),
}

#[wasm_bindgen]
pub struct Batch {
    x: Vec<f32>,
    shape: Vec<usize>,
    targets: Targets,
}

/// The largest rank an input batch may have ([batch, time, features] is 3).
const MAX_RANK: usize = 4;

pub fn input_shape(op: &str, shape: &[f64]) -> Result<Vec<usize>> {
    if shape.is_empty() || shape.len() > MAX_RANK {
        return Err(Error::invalid(op, "x", "a tensor of rank 2 or 3", format!("rank {}", shape.len())));
    }
    dims(op, "x.shape", shape)
}

#[wasm_bindgen]
impl Batch {
    /// `x` (of `shape`) with float targets `y` shaped like the model's output.
    #[wasm_bindgen(js_name = withValues)]
    pub fn with_values(op: &str, x: Vec<f32>, shape: &[f64], y: Vec<f32>) -> JsResult<Batch> {
        let shape = input_shape(op, shape).map_err(thrown)?;
        Ok(Batch { x, shape, targets: Targets::Values(y) })
    }

    /// `x` (of `shape`) with one class index per output row, which come as doubles.
    #[wasm_bindgen(js_name = withLabels)]
    pub fn with_labels(op: &str, x: Vec<f32>, shape: &[f64], labels: &[f64]) -> JsResult<Batch> {
        let shape = input_shape(op, shape).map_err(thrown)?;
        let classes = class_indices(op, "y", labels).map_err(thrown)?;
        Ok(Batch { x, shape, targets: Targets::Classes(classes) })
    }
}

impl Batch {
    pub fn x(&self) -> &[f32] {
        &self.x
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn target(&self) -> Target<'_> {
        match &self.targets {
            Targets::Values(values) => Target::Values(values),
            Targets::Classes(classes) => Target::Classes(classes),
        }
    }
}
