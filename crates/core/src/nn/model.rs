//! A whole network: its layers, loss, optimiser, clipping and penalty, and the training step
//! that runs forward, backward, regularisation, the non-finite guard, clipping and the
//! update in one call.

use super::build::{Builder, LayerConfig};
use super::health::{self, LayerHealth};
use super::layer::{example_count, example_len, Buffer, Layer, Mode, Param, Role};
use super::loss::{Loss, Target};
use super::optimizer::Optimizer;
use super::regularization::{global_grad_norm, Clip, Penalty};
use super::sequential::Sequential;
use crate::error::{shape_str, Error, Result};
use crate::kernels::vector;
use crate::limits::{MAX_BATCH_VALUES, MAX_EXAMPLE_LEN};
use crate::rng::Rng;
use crate::size::{self, Count};

/// Everything the spec says about a model.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// Per-example input shape: `[features]` or `[time, features]`.
    pub input_dims: Vec<usize>,
    pub layers: Vec<LayerConfig>,
    pub loss: Loss,
    pub optimizer: Optimizer,
    pub clip: Clip,
    pub penalty: Penalty,
}

/// The losses and global gradient norm of one batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossReport {
    /// `data_loss + penalty`.
    pub loss: f64,
    pub data_loss: f64,
    pub penalty: f64,
    /// Global L2 norm of all parameter gradients (after the penalty, before clipping).
    pub grad_norm: f64,
}

/// The outcome of one training step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    pub losses: LossReport,
    /// False when the guard refused a non-finite step; the weights and the optimiser's state
    /// are then unchanged.
    pub applied: bool,
    /// Where the step first went non-finite: the layer whose output, gradient or updated
    /// parameters would have been non-finite, or "loss".
    pub non_finite_at: Option<String>,
}

/// Per-layer diagnostics after a backward pass (and, for the update ratio, a step).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerStats {
    pub name: String,
    pub kind: &'static str,
    /// Nielsen's learning speed: ‖∂L/∂b‖ over the layer's biases (BatchNorm: its shift); NaN
    /// when the layer has no bias.
    pub bias_grad_norm: f64,
    /// ‖∂L/∂W‖ over the layer's weights (BatchNorm: its scale).
    pub weight_grad_norm: f64,
    pub weight_norm: f64,
    /// ‖ΔW‖/‖W‖ of the last applied update.
    pub update_ratio: f64,
    /// Recurrent layers: ‖∂L/∂h_t‖ for every time step.
    pub time_grad_norms: Vec<f32>,
}

/// A named tensor of the state dict.
#[derive(Clone, Debug, PartialEq)]
pub struct StateEntry {
    pub name: String,
    pub shape: Vec<usize>,
    /// True for trainable parameters (they have gradients), false for buffers.
    pub trainable: bool,
}

pub struct Model {
    input_dims: Vec<usize>,
    body: Sequential,
    loss: Loss,
    optimizer: Optimizer,
    clip: Clip,
    penalty: Penalty,
    mode: Mode,
    entries: Vec<StateEntry>,
    grad_output: Vec<f32>,
    /// What one example occupies while a batch runs (see [`Sequential::values_per_example`]),
    /// at most [`MAX_BATCH_VALUES`].
    values_per_example: usize,
    /// The largest batch run so far: the buffers have grown to hold it.
    prepared_batch: usize,
    /// The buffers (running statistics) as they were before the last training-mode forward
    /// pass moved them, so a refused step can put them back; `buffers_saved` says whether
    /// they are still to be put back (not after an evaluation pass or an applied step).
    buffers_before: Vec<Vec<f32>>,
    buffers_saved: bool,
    /// Whether every backward pass also takes the health measurements, and the last ones.
    measure_health: bool,
    health: Vec<LayerHealth>,
}

const MAX_INPUT_RANK: usize = 2;

impl Model {
    pub fn new(config: ModelConfig, seed: u64) -> Result<Model> {
        let op = "createModel";
        if config.input_dims.is_empty() || config.input_dims.len() > MAX_INPUT_RANK || config.input_dims.contains(&0) {
            return Err(Error::invalid(op, "input", "[features] or [time, features] with positive sizes", shape_str(&config.input_dims)));
        }
        example_count(&config.input_dims).at_most(op, "input", MAX_EXAMPLE_LEN)?;
        let mut rng = Rng::new(seed);
        let body = Builder::new(&mut rng).sequential(&config.layers, &config.input_dims, "", "layers")?;
        // The body, and ∂L/∂output.
        let values_per_example = body.values_per_example().plus(example_count(body.output_dims())).at_most(op, "layers", MAX_BATCH_VALUES)?;
        let mut model = Model {
            input_dims: config.input_dims,
            body,
            loss: config.loss,
            optimizer: config.optimizer,
            clip: config.clip,
            penalty: config.penalty,
            mode: Mode::Train,
            entries: Vec::new(),
            grad_output: Vec::new(),
            values_per_example,
            prepared_batch: 0,
            buffers_before: Vec::new(),
            buffers_saved: false,
            measure_health: false,
            health: Vec::new(),
        };
        model.entries = model.collect_entries()?;
        model.optimizer.allocate(&model.body.params_mut())?;
        let classes = *model.output_dims().last().unwrap_or(&1);
        if model.loss == Loss::SoftmaxCrossEntropy && classes < 2 {
            return Err(Error::invalid(op, "loss", "an output of at least 2 classes for softmaxCrossEntropy", format!("output shape {}", shape_str(model.output_dims()))));
        }
        Ok(model)
    }

    fn collect_entries(&mut self) -> Result<Vec<StateEntry>> {
        let mut entries = Vec::new();
        self.body.visit_params(&mut |p| entries.push(StateEntry { name: p.name.clone(), shape: p.shape.clone(), trainable: true }));
        self.body.visit_buffers(&mut |b| entries.push(StateEntry { name: b.name.clone(), shape: b.shape.clone(), trainable: false }));
        for (i, entry) in entries.iter().enumerate() {
            if entries[..i].iter().any(|e| e.name == entry.name) {
                return Err(Error::invalid("createModel", "layers", "unique layer names", format!("'{}' twice", entry.name)));
            }
        }
        Ok(entries)
    }

    pub fn input_dims(&self) -> &[usize] {
        &self.input_dims
    }

    pub fn output_dims(&self) -> &[usize] {
        self.body.output_dims()
    }

    pub fn state_entries(&self) -> &[StateEntry] {
        &self.entries
    }

    pub fn set_training(&mut self, training: bool) {
        self.mode = if training { Mode::Train } else { Mode::Eval };
    }

    pub fn optimizer_mut(&mut self) -> &mut Optimizer {
        &mut self.optimizer
    }

    /// The number of examples in `x`, checked against the input shape, finiteness and the
    /// memory the batch needs. The batch-taking methods below trust a batch checked here.
    pub fn check_input(&self, op: &str, x: &[f32], x_shape: &[usize]) -> Result<usize> {
        let batch = x_shape.first().cloned().unwrap_or(0);
        if x_shape.len() != self.input_dims.len() + 1 || x_shape[1..] != self.input_dims[..] || batch == 0 {
            let mut expected = vec!["batch".to_string()];
            expected.extend(self.input_dims.iter().map(|d| d.to_string()));
            return Err(Error::shape(op, "x", format!("[{}] with batch ≥ 1", expected.join(", ")), shape_str(x_shape)));
        }
        let len = batch.checked_mul(example_len(&self.input_dims));
        if len != Some(x.len()) {
            return Err(Error::shape(op, "x", format!("{} values for shape {}", len.unwrap_or(usize::MAX), shape_str(x_shape)), format!("{} values", x.len())));
        }
        if let Some(bad) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(op, "x", "finite numbers", format!("{} at index {}", x[bad], bad)));
        }
        Count::of(batch).times(self.values_per_example).at_most(op, "x", MAX_BATCH_VALUES)?;
        if batch > self.prepared_batch {
            // Within MAX_BATCH_VALUES, checked just above.
            size::room(op, "x", (batch - self.prepared_batch) * self.values_per_example)?;
        }
        Ok(batch)
    }

    /// Records that the buffers have grown to hold `batch` examples.
    fn prepare(&mut self, batch: usize) {
        self.prepared_batch = self.prepared_batch.max(batch);
    }

    /// Inference: the last layer's raw output for `batch` examples. Never updates running
    /// statistics, whatever the training flag.
    pub fn predict<'a>(&'a mut self, x: &'a [f32], batch: usize) -> &'a [f32] {
        self.prepare(batch);
        self.body.forward(x, batch, Mode::Eval);
        self.body.output(x)
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param)) {
        self.body.visit_params(visit);
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.body.params_mut()
    }

    /// Forward, loss, backward and penalty for one batch; leaves the gradient of the total
    /// loss in every parameter's `grad`. `target` must match the output (checked here).
    pub fn compute_gradients(&mut self, op: &str, x: &[f32], batch: usize, target: &Target) -> Result<LossReport> {
        let output_len = batch * example_len(self.output_dims());
        let cols = *self.output_dims().last().unwrap_or(&1);
        self.loss.validate_target(op, target, output_len, cols)?;
        if self.mode == Mode::Train {
            self.check_training_batch(op, batch)?;
        }
        self.visit_params(&mut |p| p.grad.iter_mut().for_each(|g| *g = 0.0));
        self.prepare(batch);
        self.save_buffers()?;
        self.body.forward(x, batch, self.mode);
        let mut grad_output = std::mem::take(&mut self.grad_output);
        grad_output.resize(output_len, 0.0);
        let data_loss = self.loss.forward_backward(self.body.output(x), cols, batch, target, Some(&mut grad_output));
        self.body.backward(x, &grad_output, batch, None);
        self.grad_output = grad_output;
        let penalty = self.penalty;
        let mut params = self.params_mut();
        let penalty_value = penalty.apply(&mut params);
        let grad_norm = global_grad_norm(&params);
        if self.measure_health {
            health::measure(&mut self.body, x, &mut self.health);
        }
        Ok(LossReport { loss: data_loss + penalty_value, data_loss, penalty: penalty_value, grad_norm })
    }

    /// Keeps the buffers' values before a training-mode forward pass moves them (a copy into
    /// vectors allocated once, fallibly).
    fn save_buffers(&mut self) -> Result<()> {
        self.buffers_saved = false;
        if self.mode == Mode::Eval {
            return Ok(());
        }
        let mut saved = std::mem::take(&mut self.buffers_before);
        let mut index = 0;
        let mut failure = None;
        self.body.visit_buffers(&mut |b| {
            if index == saved.len() {
                match size::zeros("trainStep", &b.name, b.value.len()) {
                    Ok(values) => saved.push(values),
                    Err(error) => return failure = Some(error),
                }
            }
            saved[index].copy_from_slice(&b.value);
            index += 1;
        });
        self.buffers_before = saved;
        self.buffers_saved = failure.is_none();
        failure.map_or(Ok(()), Err)
    }

    /// Puts the buffers back as [`Model::save_buffers`] found them, for a refused step.
    fn restore_buffers(&mut self) {
        if !std::mem::replace(&mut self.buffers_saved, false) {
            return;
        }
        let saved = &self.buffers_before;
        let mut index = 0;
        self.body.visit_buffers(&mut |b| {
            if let Some(values) = saved.get(index) {
                b.value.copy_from_slice(values);
            }
            index += 1;
        });
    }

    /// The first layer, in forward order, whose buffers are non-finite.
    fn first_non_finite_buffer(&mut self) -> Option<String> {
        let mut leaves: Vec<&mut dyn Layer> = Vec::new();
        collect_leaves(&mut self.body.layers, &mut leaves);
        for layer in leaves {
            let mut finite = true;
            layer.visit_buffers(&mut |b| finite &= vector::all_finite(&b.value));
            if !finite {
                return Some(layer.name().to_string());
            }
        }
        None
    }

    /// Asks every layer whether it can train on `batch` examples (BatchNorm needs two).
    fn check_training_batch(&mut self, op: &str, batch: usize) -> Result<()> {
        let mut leaves: Vec<&mut dyn Layer> = Vec::new();
        collect_leaves(&mut self.body.layers, &mut leaves);
        leaves.iter().try_for_each(|layer| layer.check_training_batch(op, batch))
    }

    /// The guard, clipping and the optimiser step on the gradients in every `grad` (from
    /// [`Model::compute_gradients`], or averaged across workers and written back).
    ///
    /// The guard refuses a step, changing no parameter, no buffer and no optimiser state,
    /// when the loss as reported (f32: an f64 loss beyond f32's range reads as Infinity) or
    /// the gradient norm is non-finite, when the forward pass left a running statistic
    /// non-finite (it is put back), or when the update itself would leave a parameter or a
    /// moment non-finite (a huge weight times a large learning rate): see
    /// [`Optimizer::keeps_finite`].
    pub fn apply_gradients(&mut self, losses: LossReport) -> StepReport {
        let at = if !(losses.loss as f32).is_finite() || !losses.grad_norm.is_finite() {
            Some(self.first_non_finite(losses.loss))
        } else if let Some(layer) = self.first_non_finite_buffer() {
            Some(layer)
        } else {
            let clip = self.clip;
            clip.apply(&mut self.params_mut(), losses.grad_norm);
            self.first_non_finite_update()
        };
        if at.is_some() {
            self.restore_buffers();
            return StepReport { losses, applied: false, non_finite_at: at };
        }
        self.buffers_saved = false;
        self.optimizer.step(&mut self.body.params_mut());
        StepReport { losses, applied: true, non_finite_at: None }
    }

    /// The first layer, in forward order, whose parameters the next optimiser step would
    /// make non-finite.
    fn first_non_finite_update(&mut self) -> Option<String> {
        let optimizer = &self.optimizer;
        let mut leaves: Vec<&mut dyn Layer> = Vec::new();
        collect_leaves(&mut self.body.layers, &mut leaves);
        // Leaves visit their parameters in state-dict order too: a running count is the slot.
        let mut slot = 0;
        for layer in leaves {
            let mut finite = true;
            layer.visit_params(&mut |p| {
                finite = finite && optimizer.keeps_finite(slot, p);
                slot += 1;
            });
            if !finite {
                return Some(layer.name().to_string());
            }
        }
        None
    }

    /// The data loss in evaluation mode (running statistics, no gradients) and, for
    /// classification outputs, how many rows the arg-max gets right.
    pub fn evaluate(&mut self, op: &str, x: &[f32], batch: usize, target: &Target) -> Result<(f64, Option<usize>)> {
        let output_len = batch * example_len(self.output_dims());
        let cols = *self.output_dims().last().unwrap_or(&1);
        self.loss.validate_target(op, target, output_len, cols)?;
        self.prepare(batch);
        self.body.forward(x, batch, Mode::Eval);
        let output = self.body.output(x);
        let loss = self.loss.forward_backward(output, cols, batch, target, None);
        Ok((loss, correct_rows(output, cols, target)))
    }

    /// The global L2 norm of the gradients currently held.
    pub fn grad_norm(&mut self) -> f64 {
        global_grad_norm(&self.params_mut())
    }

    /// The number of parameter values: the length of the flat gradient vector that
    /// data-parallel workers exchange.
    pub fn parameter_count(&mut self) -> usize {
        let mut count = 0;
        self.visit_params(&mut |p| count += p.grad.len());
        count
    }

    /// `grad = weight · source` (`overwrite`) or `grad += weight · source` for every parameter,
    /// `source` laid out as `gradient_slices` end to end: data-parallel workers build the average
    /// of their gradients in place, in the same order in every replica.
    pub fn add_gradients(&mut self, source: &[f32], weight: f32, overwrite: bool) {
        let mut offset = 0;
        self.visit_params(&mut |p| {
            let part = &source[offset..offset + p.grad.len()];
            if overwrite {
                p.grad.iter_mut().zip(part).for_each(|(g, s)| *g = weight * s);
            } else {
                vector::axpy(weight, part, &mut p.grad);
            }
            offset += p.grad.len();
        });
    }

    /// Every parameter's gradient, in state-dict order: end to end, the flat vector
    /// data-parallel workers exchange.
    pub fn gradient_slices(&mut self) -> Vec<&[f32]> {
        self.params_mut().into_iter().map(|p| &p.grad[..]).collect()
    }

    /// `grad *= weight` for every parameter: data-parallel workers start the average from the
    /// gradients they hold instead of copying them back in.
    pub fn scale_gradients(&mut self, weight: f32) {
        self.visit_params(&mut |p| vector::scale(weight, &mut p.grad));
    }

    /// One optimiser step on a batch.
    pub fn train_step(&mut self, op: &str, x: &[f32], batch: usize, target: &Target) -> Result<StepReport> {
        let losses = self.compute_gradients(op, x, batch, target)?;
        Ok(self.apply_gradients(losses))
    }

    /// The first layer whose forward output is non-finite; else, walking back from the
    /// output, the first layer whose parameter gradients are (an exploding gradient's
    /// signature); else "loss".
    /// The first layer, in forward order, whose output in the last forward pass holds a
    /// non-finite value (finite inputs can overflow on the way).
    pub fn non_finite_output_at(&self) -> Option<String> {
        self.body.layers.iter().zip(self.body.layer_outputs()).find(|(_, output)| !vector::all_finite(output)).map(|(layer, _)| layer.name().to_string())
    }

    fn first_non_finite(&mut self, loss: f64) -> String {
        for (layer, output) in self.body.layers.iter().zip(self.body.layer_outputs()) {
            if !vector::all_finite(output) {
                return layer.name().to_string();
            }
        }
        if loss.is_finite() {
            let mut found: Option<String> = None;
            let mut leaves: Vec<&mut dyn Layer> = Vec::new();
            collect_leaves(&mut self.body.layers, &mut leaves);
            for layer in leaves.into_iter().rev() {
                let mut finite = true;
                layer.visit_params(&mut |p| finite &= vector::all_finite(&p.grad));
                if !finite {
                    found = Some(layer.name().to_string());
                    break;
                }
            }
            if let Some(name) = found {
                return name;
            }
        }
        "loss".to_string()
    }

    /// Turns the health measurements of every later backward pass on or off (off forgets the last ones).
    pub fn set_health_measurement(&mut self, on: bool) {
        self.measure_health = on;
        if !on {
            self.health.clear();
        }
    }

    pub fn measures_health(&self) -> bool {
        self.measure_health
    }

    /// The health measurements of the last backward pass (see [`health`]), in forward order;
    /// empty before the first pass with measurements on.
    pub fn health(&self) -> &[LayerHealth] {
        &self.health
    }

    /// Diagnostics for every layer that owns parameters, in forward order.
    pub fn layer_stats(&mut self) -> Vec<LayerStats> {
        let mut leaves: Vec<&mut dyn Layer> = Vec::new();
        collect_leaves(&mut self.body.layers, &mut leaves);
        let mut stats = Vec::new();
        for layer in leaves {
            let (mut bias_sq, mut weight_grad_sq, mut weight_sq, mut update_sq) = (0.0, 0.0, 0.0, 0.0);
            let (mut has_bias, mut has_weight) = (false, false);
            layer.visit_params(&mut |p| match p.role {
                Role::Bias | Role::Shift => {
                    has_bias = true;
                    bias_sq += vector::sum_squares(&p.grad);
                }
                Role::Weight | Role::Scale => {
                    has_weight = true;
                    weight_grad_sq += vector::sum_squares(&p.grad);
                    weight_sq += vector::sum_squares(&p.value);
                    update_sq += p.last_update_sq;
                }
                Role::Slope => {}
            });
            if !has_bias && !has_weight {
                continue;
            }
            let weight_norm = weight_sq.sqrt();
            stats.push(LayerStats {
                name: layer.name().to_string(),
                kind: layer.kind(),
                bias_grad_norm: if has_bias { bias_sq.sqrt() } else { f64::NAN },
                weight_grad_norm: weight_grad_sq.sqrt(),
                weight_norm,
                update_ratio: if weight_norm > 0.0 { update_sq.sqrt() / weight_norm } else { 0.0 },
                time_grad_norms: layer.time_grad_norms().map(|n| n.to_vec()).unwrap_or_default(),
            });
        }
        stats
    }

    fn entry_index(&self, op: &str, index: usize) -> Result<&StateEntry> {
        self.entries.get(index).ok_or_else(|| Error::invalid(op, "index", format!("a state entry index below {}", self.entries.len()), index.to_string()))
    }

    /// Runs `f` on the values of state entry `index` (a parameter's or a buffer's), and on
    /// its gradient for parameters.
    pub fn with_entry<R>(&mut self, op: &str, index: usize, f: impl FnOnce(&mut Vec<f32>, Option<&mut Vec<f32>>) -> R) -> Result<R> {
        let entry = self.entry_index(op, index)?.clone();
        let mut f = Some(f);
        let mut result = None;
        if entry.trainable {
            self.body.visit_params(&mut |p: &mut Param| {
                if p.name == entry.name {
                    if let Some(f) = f.take() {
                        result = Some(f(&mut p.value, Some(&mut p.grad)));
                    }
                }
            });
        } else {
            self.body.visit_buffers(&mut |b: &mut Buffer| {
                if b.name == entry.name {
                    if let Some(f) = f.take() {
                        result = Some(f(&mut b.value, None));
                    }
                }
            });
        }
        result.ok_or_else(|| Error::state(op, format!("state entry '{}' vanished", entry.name)))
    }
}

fn arg_max(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Rows whose arg-max matches the class (or the target's arg-max); with one output column,
/// rows where a positive logit matches a target above ½. None for a single regression output
/// under mse.
fn correct_rows(output: &[f32], cols: usize, target: &Target) -> Option<usize> {
    let rows = output.chunks_exact(cols.max(1));
    match target {
        Target::Classes(classes) => Some(rows.zip(classes.iter()).filter(|(row, &c)| arg_max(row) == c as usize).count()),
        Target::Values(values) if cols >= 2 => Some(rows.zip(values.chunks_exact(cols)).filter(|(row, t)| arg_max(row) == arg_max(t)).count()),
        Target::Values(_) => None,
    }
}

fn collect_leaves<'a>(layers: &'a mut [Box<dyn Layer>], out: &mut Vec<&'a mut dyn Layer>) {
    for layer in layers.iter_mut() {
        let layer: &'a mut dyn Layer = layer.as_mut();
        let has_children = !layer.sublayers_mut().is_empty();
        if has_children {
            collect_leaves(layer.sublayers_mut(), out);
        } else {
            out.push(layer);
        }
    }
}
