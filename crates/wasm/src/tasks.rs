//! The long-range sequence tasks (`gradlab_core::tasks`), generated in WASM from a seed so
//! every runtime gets the same data.

use crate::args::{count, seed, thrown, JsResult};
use gradlab_core::error::{Error, Result};
use gradlab_core::tasks;
use gradlab_core::tensor::Tensor;
use wasm_bindgen::prelude::*;

/// A generated task: inputs [count, T, features] and either float targets or class labels.
/// Each `take…` moves its array out to JavaScript once (later calls return an empty one).
#[wasm_bindgen]
pub struct Task {
    x: Vec<f32>,
    y: Vec<f32>,
    labels: Vec<i32>,
}

#[wasm_bindgen]
impl Task {
    /// The inputs [count, T, features].
    #[wasm_bindgen(js_name = takeX)]
    pub fn take_x(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.x)
    }

    /// The float targets [count] (the adding problem).
    #[wasm_bindgen(js_name = takeY)]
    pub fn take_y(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.y)
    }

    /// The class labels [count] (the first-symbol task).
    #[wasm_bindgen(js_name = takeLabels)]
    pub fn take_labels(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.labels)
    }
}

/// `length` and `count` as sizes; their ranges are the core's to check.
fn sizes(op: &str, length: f64, count_value: f64) -> Result<(usize, usize)> {
    Ok((count(op, "length", length, 0, i32::MAX as usize)?, count(op, "count", count_value, 0, i32::MAX as usize)?))
}

/// `len` zero floats, reserved fallibly: failing to allocate would abort the instance.
fn floats(op: &str, len: usize) -> Result<Vec<f32>> {
    Ok(Tensor::zeros(op, vec![len])?.into_data())
}

/// `len` zero labels, reserved fallibly.
fn labels(op: &str, len: usize) -> Result<Vec<i32>> {
    let mut labels = Vec::new();
    labels.try_reserve_exact(len).map_err(|_| Error::TooLarge { op: op.into(), arg: "memory".into(), requested: len as u64, limit: tasks::MAX_TASK_VALUES as u64 })?;
    labels.resize(len, 0);
    Ok(labels)
}

/// The adding problem (`gradlab_core::tasks::adding_problem`): `count` sequences of `length`
/// steps [count, T, 2] and their sums [count].
#[wasm_bindgen(js_name = addingProblem)]
pub fn adding_problem(length: f64, count_value: f64, seed_value: f64) -> JsResult<Task> {
    let op = "addingProblem";
    let run = || -> Result<Task> {
        let (length, sequences) = sizes(op, length, count_value)?;
        let seed = seed(op, seed_value)?;
        let mut task = Task { x: floats(op, tasks::input_len(op, length, 2, sequences)?)?, y: floats(op, sequences)?, labels: Vec::new() };
        tasks::adding_problem(length, seed, &mut task.x, &mut task.y)?;
        Ok(task)
    };
    run().map_err(thrown)
}

/// "Remember the first symbol" (`gradlab_core::tasks::first_symbol`): `count` one-hot
/// sequences [count, T, classes] and the first symbols' classes [count].
#[wasm_bindgen(js_name = firstSymbolTask)]
pub fn first_symbol_task(length: f64, count_value: f64, classes: f64, seed_value: f64) -> JsResult<Task> {
    let op = "firstSymbolTask";
    let run = || -> Result<Task> {
        let (length, sequences) = sizes(op, length, count_value)?;
        let classes = count(op, "classes", classes, 0, i32::MAX as usize)?;
        let seed = seed(op, seed_value)?;
        let mut task = Task { x: floats(op, tasks::input_len(op, length, classes, sequences)?)?, y: Vec::new(), labels: labels(op, sequences)? };
        tasks::first_symbol(length, classes, seed, &mut task.x, &mut task.labels)?;
        Ok(task)
    };
    run().map_err(thrown)
}
