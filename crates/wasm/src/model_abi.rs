//! The model ABI: build a model from spec calls, train it one whole step per call, read and
//! write its state. Each export validates, translates and calls `gradlab_core::nn`.
//!
//! A spec is assembled with `gl_spec_*` calls (`gl_spec_new`, one call per layer, residual
//! blocks bracketed by `gl_spec_residual_begin`/`_end`, then loss, optimiser, clip, penalty)
//! and consumed by `gl_model_build`.

use crate::args::{finite, non_negative, positive, read_dims};
use crate::handles::Handles;
use crate::memory::{read_f32, read_i32, read_str, write_f32, write_u32};
use crate::status::run;
use gradlab_core::error::{Error, Result};
use gradlab_core::nn::batchnorm::BatchNorm;
use gradlab_core::nn::recurrent::{CellKind, RecurrentOptions};
use gradlab_core::nn::{Activation, Clip, Init, LayerConfig, Loss, Method, Model, ModelConfig, Optimizer, Penalty, Schedule, Target};
use std::cell::RefCell;

/// A model spec being assembled: the open residual blocks form a stack of layer lists.
pub struct SpecBuilder {
    input_dims: Vec<usize>,
    stack: Vec<(Option<String>, Vec<LayerConfig>)>,
    loss: Loss,
    optimizer: Optimizer,
    clip: Clip,
    penalty: Penalty,
}

impl SpecBuilder {
    fn push(&mut self, layer: LayerConfig) {
        if let Some((_, layers)) = self.stack.last_mut() {
            layers.push(layer);
        }
    }
}

thread_local! {
    static SPECS: RefCell<Handles<SpecBuilder>> = RefCell::new(Handles::default());
    static MODELS: RefCell<Handles<Model>> = RefCell::new(Handles::default());
    /// Text handed to JS by `gl_model_names`: read with `gl_text_ptr`/`gl_text_len`.
    static TEXT: RefCell<String> = RefCell::new(String::new());
}

fn with_spec<R>(op: &str, handle: u32, f: impl FnOnce(&mut SpecBuilder) -> Result<R>) -> Result<R> {
    SPECS.with(|specs| f(specs.borrow_mut().get_mut(op, "spec", handle)?))
}

fn with_model<R>(op: &str, handle: u32, f: impl FnOnce(&mut Model) -> Result<R>) -> Result<R> {
    MODELS.with(|models| f(models.borrow_mut().get_mut(op, "model", handle)?))
}

fn optional_name(op: &str, ptr: *const u8, len: usize) -> Result<Option<String>> {
    let name = read_str(op, "name", ptr, len)?;
    if name.is_empty() {
        return Ok(None);
    }
    if name.contains('.') || name.len() > 256 {
        return Err(Error::invalid(op, "name", "a name of at most 256 bytes without '.'", format!("{:?}", name)));
    }
    Ok(Some(name.to_string()))
}

/// Activation codes: 0 identity, 1 sigmoid, 2 tanh, 3 relu, 4 leakyRelu, 5 prelu, 6 elu,
/// 7 softmax; `alpha` is the slope or scale where one applies.
fn activation(op: &str, code: u32, alpha: f32) -> Result<Activation> {
    let alpha = finite(op, "activation.alpha", alpha)?;
    Ok(match code {
        0 => Activation::Identity,
        1 => Activation::Sigmoid,
        2 => Activation::Tanh,
        3 => Activation::Relu,
        4 => Activation::LeakyRelu(alpha),
        5 => Activation::Prelu(alpha),
        6 => Activation::Elu(alpha),
        7 => Activation::Softmax,
        other => return Err(Error::invalid(op, "activation", "a code in 0..=7", other.to_string())),
    })
}

/// Init codes: 0 default (PyTorch Linear), 1 nielsen, 2 normal, 3 normal with `std`, 4 xavier,
/// 5 xavierUniform, 6 he, 7 heUniform, 8 lecun, 9 zeros.
fn init(op: &str, code: u32, std: f32) -> Result<Init> {
    Ok(match code {
        0 => Init::Default,
        1 => Init::Nielsen,
        2 => Init::Normal,
        3 => Init::NormalStd(non_negative(op, "init.std", std)?),
        4 => Init::Xavier,
        5 => Init::XavierUniform,
        6 => Init::He,
        7 => Init::HeUniform,
        8 => Init::Lecun,
        9 => Init::Zeros,
        other => return Err(Error::invalid(op, "init", "a code in 0..=9", other.to_string())),
    })
}

/// Starts a spec for per-example inputs of shape `dims` (rank 1 or 2). Defaults: mse, SGD lr 0.01.
#[no_mangle]
pub extern "C" fn gl_spec_new(dims_ptr: *const i32, rank: usize, out_spec: *mut u32) -> i32 {
    run(|| {
        let op = "gl_spec_new";
        if rank == 0 || rank > 2 {
            return Err(Error::invalid(op, "input", "a shape of rank 1 or 2", format!("rank {}", rank)));
        }
        let dims = read_i32(op, "input", dims_ptr, rank)?;
        if let Some(bad) = dims.iter().find(|&&d| d <= 0) {
            return Err(Error::invalid(op, "input", "positive sizes", bad.to_string()));
        }
        let out = write_u32(op, "out_spec", out_spec, 1)?;
        let builder = SpecBuilder {
            input_dims: dims.iter().map(|&d| d as usize).collect(),
            stack: vec![(None, Vec::new())],
            loss: Loss::Mse,
            optimizer: Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 0.01, Schedule::Constant),
            clip: Clip::default(),
            penalty: Penalty::default(),
        };
        out[0] = SPECS.with(|specs| specs.borrow_mut().insert(builder));
        Ok(())
    })
}

/// Frees a spec that was not built.
#[no_mangle]
pub extern "C" fn gl_spec_free(spec: u32) -> i32 {
    run(|| SPECS.with(|specs| specs.borrow_mut().remove("gl_spec_free", "spec", spec).map(|_| ())))
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_spec_dense(spec: u32, units: i32, activation_code: u32, alpha: f32, init_code: u32, std: f32, bias: u32, name_ptr: *const u8, name_len: usize) -> i32 {
    run(|| {
        let op = "gl_spec_dense";
        if units <= 0 {
            return Err(Error::invalid(op, "units", "a positive integer", units.to_string()));
        }
        let layer = LayerConfig::Dense {
            name: optional_name(op, name_ptr, name_len)?,
            units: units as usize,
            activation: activation(op, activation_code, alpha)?,
            init: init(op, init_code, std)?,
            bias: bias != 0,
        };
        with_spec(op, spec, |s| Ok(s.push(layer)))
    })
}

#[no_mangle]
pub extern "C" fn gl_spec_activation(spec: u32, activation_code: u32, alpha: f32, name_ptr: *const u8, name_len: usize) -> i32 {
    run(|| {
        let op = "gl_spec_activation";
        let layer = LayerConfig::Activation { name: optional_name(op, name_ptr, name_len)?, activation: activation(op, activation_code, alpha)? };
        with_spec(op, spec, |s| Ok(s.push(layer)))
    })
}

/// A BatchNorm layer (BatchNorm1d over the last axis): `momentum` in [0, 1], `eps` > 0.
#[no_mangle]
pub extern "C" fn gl_spec_batchnorm(spec: u32, momentum: f32, eps: f32, name_ptr: *const u8, name_len: usize) -> i32 {
    run(|| {
        let op = "gl_spec_batchnorm";
        BatchNorm::check_options(op, "", momentum, eps)?;
        let layer = LayerConfig::BatchNorm { name: optional_name(op, name_ptr, name_len)?, momentum, eps };
        with_spec(op, spec, |s| Ok(s.push(layer)))
    })
}

/// Opens a residual block: the layers added until `gl_spec_residual_end` form its body.
#[no_mangle]
pub extern "C" fn gl_spec_residual_begin(spec: u32, name_ptr: *const u8, name_len: usize) -> i32 {
    run(|| {
        let op = "gl_spec_residual_begin";
        let name = optional_name(op, name_ptr, name_len)?;
        with_spec(op, spec, |s| {
            if s.stack.len() > 64 {
                return Err(Error::invalid(op, "spec", "residual blocks nested at most 64 deep", s.stack.len().to_string()));
            }
            s.stack.push((name, Vec::new()));
            Ok(())
        })
    })
}

#[no_mangle]
pub extern "C" fn gl_spec_residual_end(spec: u32) -> i32 {
    run(|| {
        let op = "gl_spec_residual_end";
        with_spec(op, spec, |s| {
            if s.stack.len() < 2 {
                return Err(Error::state(op, "no residual block is open"));
            }
            if let Some((name, layers)) = s.stack.pop() {
                s.push(LayerConfig::Residual { name, layers });
            }
            Ok(())
        })
    })
}

/// Loss codes: 0 mse, 1 softmaxCrossEntropy, 2 sigmoidCrossEntropy.
#[no_mangle]
pub extern "C" fn gl_spec_loss(spec: u32, code: u32) -> i32 {
    run(|| {
        let op = "gl_spec_loss";
        let loss = match code {
            0 => Loss::Mse,
            1 => Loss::SoftmaxCrossEntropy,
            2 => Loss::SigmoidCrossEntropy,
            other => return Err(Error::invalid(op, "loss", "a code in 0..=2", other.to_string())),
        };
        with_spec(op, spec, |s| {
            s.loss = loss;
            Ok(())
        })
    })
}

/// Optimiser codes: 0 sgd, 1 adam, 2 adamw. Schedule codes: 0 constant, 1 step
/// (`schedule_a` = step size, `schedule_b` = gamma), 2 cosine (`a` = t_max, `b` = eta_min).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_spec_optimizer(spec: u32, code: u32, lr: f32, momentum: f32, nesterov: u32, weight_decay: f32, beta1: f32, beta2: f32, eps: f32, schedule_code: u32, schedule_a: f32, schedule_b: f32) -> i32 {
    run(|| {
        let op = "gl_spec_optimizer";
        let lr = non_negative(op, "lr", lr)?;
        let weight_decay = non_negative(op, "weightDecay", weight_decay)?;
        let unit = |arg: &str, v: f32| -> Result<f32> {
            if v.is_finite() && (0.0..1.0).contains(&v) {
                Ok(v)
            } else {
                Err(Error::invalid(op, arg, "a number in [0, 1)", v.to_string()))
            }
        };
        let method = match code {
            0 => {
                let momentum = unit("momentum", momentum)?;
                if nesterov != 0 && momentum == 0.0 {
                    return Err(Error::invalid(op, "nesterov", "momentum > 0 with nesterov", "momentum 0"));
                }
                Method::Sgd { momentum, nesterov: nesterov != 0, weight_decay }
            }
            1 | 2 => {
                let (beta1, beta2) = (unit("betas[0]", beta1)?, unit("betas[1]", beta2)?);
                let eps = non_negative(op, "eps", eps)?;
                if code == 1 {
                    Method::Adam { beta1, beta2, eps, weight_decay }
                } else {
                    Method::AdamW { beta1, beta2, eps, weight_decay }
                }
            }
            other => return Err(Error::invalid(op, "optimizer", "a code in 0..=2", other.to_string())),
        };
        let schedule = match schedule_code {
            0 => Schedule::Constant,
            1 | 2 => {
                if !(schedule_a.is_finite() && schedule_a >= 1.0 && schedule_a <= u32::MAX as f32) {
                    return Err(Error::invalid(op, "schedule", "a step count ≥ 1", schedule_a.to_string()));
                }
                let b = non_negative(op, "schedule", schedule_b)?;
                if schedule_code == 1 {
                    Schedule::Step { step_size: schedule_a as u32, gamma: b }
                } else {
                    Schedule::Cosine { t_max: schedule_a as u32, eta_min: b }
                }
            }
            other => return Err(Error::invalid(op, "schedule", "a code in 0..=2", other.to_string())),
        };
        with_spec(op, spec, |s| {
            s.optimizer = Optimizer::new(method, lr, schedule);
            Ok(())
        })
    })
}

/// Clipping: `max_norm`/`max_value` ≤ 0 means none.
#[no_mangle]
pub extern "C" fn gl_spec_clip(spec: u32, max_norm: f32, max_value: f32) -> i32 {
    run(|| {
        let op = "gl_spec_clip";
        let max_norm = finite(op, "clip.norm", max_norm)?;
        let max_value = finite(op, "clip.value", max_value)?;
        let positive = |v: f32| if v > 0.0 { Some(v) } else { None };
        with_spec(op, spec, |s| {
            s.clip = Clip { max_norm: positive(max_norm), max_value: positive(max_value) };
            Ok(())
        })
    })
}

#[no_mangle]
pub extern "C" fn gl_spec_regularization(spec: u32, l1: f32, l2: f32) -> i32 {
    run(|| {
        let op = "gl_spec_regularization";
        let penalty = Penalty { l1: non_negative(op, "regularization.l1", l1)?, l2: non_negative(op, "regularization.l2", l2)? };
        with_spec(op, spec, |s| {
            s.penalty = penalty;
            Ok(())
        })
    })
}

/// Builds a model from `spec` (consumed, even on failure) with initial weights drawn from
/// `seed`; writes the model handle into `out_model[0]`.
#[no_mangle]
pub extern "C" fn gl_model_build(spec: u32, seed_low: u32, seed_high: u32, out_model: *mut u32) -> i32 {
    run(|| {
        let op = "gl_model_build";
        let out = write_u32(op, "out_model", out_model, 1)?;
        let builder = SPECS.with(|specs| specs.borrow_mut().remove(op, "spec", spec))?;
        if builder.stack.len() != 1 {
            return Err(Error::state(op, "a residual block was opened and not closed"));
        }
        let SpecBuilder { input_dims, mut stack, loss, optimizer, clip, penalty } = builder;
        let layers = stack.pop().map(|(_, layers)| layers).unwrap_or_default();
        let config = ModelConfig { input_dims, layers, loss, optimizer, clip, penalty };
        let model = Model::new(config, crate::join_seed(seed_low, seed_high))?;
        out[0] = MODELS.with(|models| models.borrow_mut().insert(model));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn gl_model_free(model: u32) -> i32 {
    run(|| MODELS.with(|models| models.borrow_mut().remove("gl_model_free", "model", model).map(|_| ())))
}

/// The number of live models (for leak tests).
#[no_mangle]
pub extern "C" fn gl_model_count() -> u32 {
    MODELS.with(|models| models.borrow().len() as u32)
}

/// Writes a JSON description of the model into the text buffer: input and output shapes and
/// the state entries `[{name, shape, trainable}]`.
#[no_mangle]
pub extern "C" fn gl_model_describe(model: u32) -> i32 {
    run(|| {
        let json = with_model("gl_model_describe", model, |m| {
            let dims = |d: &[usize]| format!("[{}]", d.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","));
            let entries: Vec<String> = m
                .state_entries()
                .iter()
                .map(|e| format!("{{\"name\":{},\"shape\":{},\"trainable\":{}}}", gradlab_core::error::json_string(&e.name), dims(&e.shape), e.trainable))
                .collect();
            Ok(format!("{{\"input\":{},\"output\":{},\"entries\":[{}]}}", dims(m.input_dims()), dims(m.output_dims()), entries.join(",")))
        })?;
        TEXT.with(|text| *text.borrow_mut() = json);
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn gl_text_ptr() -> *const u8 {
    TEXT.with(|text| text.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn gl_text_len() -> usize {
    TEXT.with(|text| text.borrow().len())
}

/// Reads (`write` = 0) or writes (`write` = 1) the values of state entry `index`, or (with
/// `gradient` = 1) its gradient; `len` must equal the entry's size.
#[no_mangle]
pub extern "C" fn gl_model_entry(model: u32, index: u32, gradient: u32, write: u32, ptr: *mut f32, len: usize) -> i32 {
    run(|| {
        let op = if write != 0 { "loadStateDict" } else { "stateDict" };
        with_model(op, model, |m| {
            let entry = m.state_entries().get(index as usize).cloned();
            let entry = entry.ok_or_else(|| Error::invalid(op, "index", format!("below {}", m.state_entries().len()), index.to_string()))?;
            let expected: usize = entry.shape.iter().product();
            if len != expected {
                return Err(Error::shape(op, &entry.name, gradlab_core::error::shape_str(&entry.shape), format!("{} values", len)));
            }
            if gradient != 0 && !entry.trainable {
                return Err(Error::invalid(op, "gradient", "a trainable parameter", format!("buffer '{}'", entry.name)));
            }
            if write != 0 {
                let source = read_f32(op, &entry.name, ptr, len)?;
                if let Some(bad) = source.iter().find(|v| !v.is_finite()) {
                    return Err(Error::invalid(op, &entry.name, "finite numbers", bad.to_string()));
                }
                m.with_entry(op, index as usize, |value, grad| match (gradient != 0, grad) {
                    (true, Some(grad)) => grad.copy_from_slice(source),
                    _ => value.copy_from_slice(source),
                })
            } else {
                let target = write_f32(op, "out", ptr, len)?;
                m.with_entry(op, index as usize, |value, grad| match (gradient != 0, grad) {
                    (true, Some(grad)) => target.copy_from_slice(grad),
                    _ => target.copy_from_slice(value),
                })
            }
        })
    })
}

#[no_mangle]
pub extern "C" fn gl_model_set_training(model: u32, training: u32) -> i32 {
    run(|| with_model("setTraining", model, |m| Ok(m.set_training(training != 0))))
}

fn shape_of(op: &str, shape_ptr: *const i32, rank: usize) -> Result<Vec<usize>> {
    if rank == 0 || rank > 4 {
        return Err(Error::invalid(op, "x", "a tensor of rank 2 or 3", format!("rank {}", rank)));
    }
    read_dims(op, "x.shape", shape_ptr, rank)
}

/// Inference on `x` (shape at `shape_ptr`, `rank` dims, `x_len` values); writes the output
/// (`out_len` must be batch × output size).
#[no_mangle]
pub extern "C" fn gl_model_predict(model: u32, x_ptr: *const f32, x_len: usize, shape_ptr: *const i32, rank: usize, out_ptr: *mut f32, out_len: usize) -> i32 {
    run(|| {
        let op = "predict";
        let shape = shape_of(op, shape_ptr, rank)?;
        let x = read_f32(op, "x", x_ptr, x_len)?;
        with_model(op, model, |m| {
            let batch = m.check_input(op, x, &shape)?;
            let expected = batch * m.output_dims().iter().product::<usize>();
            if out_len != expected {
                return Err(Error::shape(op, "out", format!("{} values", expected), format!("{} values", out_len)));
            }
            let out = write_f32(op, "out", out_ptr, out_len)?;
            out.copy_from_slice(m.predict(x, batch));
            Ok(())
        })
    })
}

/// A batch as the ABI passes it: `x` with its shape, and `y` as class indices (`y_classes` = 1,
/// i32) or float targets.
#[allow(clippy::too_many_arguments)]
fn read_batch<'a>(op: &str, x_ptr: *const f32, x_len: usize, shape_ptr: *const i32, rank: usize, y_ptr: *const f32, y_len: usize, y_classes: u32) -> Result<(&'a [f32], Vec<usize>, Target<'a>)> {
    let shape = shape_of(op, shape_ptr, rank)?;
    let x = read_f32(op, "x", x_ptr, x_len)?;
    let target = if y_classes != 0 {
        Target::Classes(read_i32(op, "y", y_ptr as *const i32, y_len)?)
    } else {
        Target::Values(read_f32(op, "y", y_ptr, y_len)?)
    };
    Ok((x, shape, target))
}

/// The report slots written by `gl_model_step`.
pub const REPORT_LEN: usize = 6;

/// Computes gradients of the total loss (`apply` = 0) or runs a whole training step
/// (`apply` = 1). `y` is class indices (`y_classes` = 1, i32) or float targets. Writes into
/// `report`: [loss, dataLoss, penalty, gradNorm, applied (0/1), index+1 of the layer that went
/// non-finite in the text buffer (0 = none)].
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_model_step(model: u32, apply: u32, x_ptr: *const f32, x_len: usize, shape_ptr: *const i32, rank: usize, y_ptr: *const f32, y_len: usize, y_classes: u32, report_ptr: *mut f32) -> i32 {
    run(|| {
        let op = if apply != 0 { "trainStep" } else { "gradients" };
        let report = write_f32(op, "report", report_ptr, REPORT_LEN)?;
        let (x, shape, target) = read_batch(op, x_ptr, x_len, shape_ptr, rank, y_ptr, y_len, y_classes)?;
        with_model(op, model, |m| {
            let batch = m.check_input(op, x, &shape)?;
            let losses = m.compute_gradients(op, x, batch, &target)?;
            let (applied, non_finite_at) = if apply != 0 {
                let step = m.apply_gradients(losses);
                (step.applied, step.non_finite_at)
            } else {
                (false, None)
            };
            write_report(report, &losses, applied, non_finite_at);
            Ok(())
        })
    })
}

/// Evaluates `x` against `y` without training: writes [dataLoss, correct rows (−1 when accuracy
/// does not apply)] into `out`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_model_evaluate(model: u32, x_ptr: *const f32, x_len: usize, shape_ptr: *const i32, rank: usize, y_ptr: *const f32, y_len: usize, y_classes: u32, out_ptr: *mut f32) -> i32 {
    run(|| {
        let op = "evaluate";
        let out = write_f32(op, "out", out_ptr, 2)?;
        let (x, shape, target) = read_batch(op, x_ptr, x_len, shape_ptr, rank, y_ptr, y_len, y_classes)?;
        with_model(op, model, |m| {
            let batch = m.check_input(op, x, &shape)?;
            let (loss, correct) = m.evaluate(op, x, batch, &target)?;
            out[0] = loss as f32;
            out[1] = correct.map_or(-1.0, |c| c as f32);
            Ok(())
        })
    })
}

fn write_report(report: &mut [f32], losses: &gradlab_core::nn::LossReport, applied: bool, non_finite_at: Option<String>) {
    report[0] = losses.loss as f32;
    report[1] = losses.data_loss as f32;
    report[2] = losses.penalty as f32;
    report[3] = losses.grad_norm as f32;
    report[4] = if applied { 1.0 } else { 0.0 };
    report[5] = if non_finite_at.is_some() { 1.0 } else { 0.0 };
    if let Some(at) = non_finite_at {
        TEXT.with(|text| *text.borrow_mut() = at);
    }
}

/// Applies the guard, clipping and the optimiser to the gradients currently held (written with
/// `gl_model_entry(…, gradient = 1, write = 1)`, e.g. averaged across workers). `losses` holds
/// [loss, dataLoss, penalty]; the gradient norm is recomputed. Writes the report as
/// `gl_model_step` does.
#[no_mangle]
pub extern "C" fn gl_model_apply_gradients(model: u32, loss: f32, data_loss: f32, penalty: f32, report_ptr: *mut f32) -> i32 {
    run(|| {
        let op = "applyGradients";
        let report = write_f32(op, "report", report_ptr, REPORT_LEN)?;
        with_model(op, model, |m| {
            let grad_norm = m.grad_norm();
            let losses = gradlab_core::nn::LossReport { loss: loss as f64, data_loss: data_loss as f64, penalty: penalty as f64, grad_norm };
            let step = m.apply_gradients(losses);
            write_report(report, &losses, step.applied, step.non_finite_at);
            Ok(())
        })
    })
}

/// Builds the gradients from the flat vectors data-parallel workers exchange (every
/// parameter's gradient, end to end in state-dict order; `len` = the number of parameter
/// values): `mode` 0 sets the gradients to `weight` · the vector at `ptr`; 1 adds `weight` · it;
/// 2 multiplies the gradients held by `weight` (`ptr` is not read). Non-finite values are
/// accepted: `gl_model_apply_gradients`' guard refuses them as a training step would.
#[no_mangle]
pub extern "C" fn gl_model_flat_gradients(model: u32, mode: u32, weight: f32, ptr: *mut f32, len: usize) -> i32 {
    run(|| {
        let op = "flatGradients";
        with_model(op, model, |m| {
            let expected = m.parameter_count();
            if len != expected {
                return Err(Error::shape(op, "gradients", format!("{} values (every parameter)", expected), format!("{} values", len)));
            }
            if !weight.is_finite() {
                return Err(Error::invalid(op, "weight", "a finite number", weight.to_string()));
            }
            match mode {
                0 | 1 => m.add_gradients(read_f32(op, "gradients", ptr, len)?, weight, mode == 0),
                2 => m.scale_gradients(weight),
                _ => return Err(Error::invalid(op, "mode", "0 (set), 1 (add) or 2 (scale)", mode.to_string())),
            }
            Ok(())
        })
    })
}

/// Where each parameter's gradient lies in WASM memory, in state-dict order: `out` (`cap`
/// values) receives an (offset, length) pair per trainable parameter. Valid until the next
/// call into the module: a data-parallel worker copies its gradients straight out of them.
#[no_mangle]
pub extern "C" fn gl_model_gradient_spans(model: u32, out_ptr: *mut u32, cap: usize) -> i32 {
    run(|| {
        let op = "gradientSpans";
        with_model(op, model, |m| {
            let slices = m.gradient_slices();
            if cap < 2 * slices.len() {
                return Err(Error::shape(op, "out", format!("{} values (two per parameter)", 2 * slices.len()), format!("{} values", cap)));
            }
            let out = write_u32(op, "out", out_ptr, 2 * slices.len())?;
            for (pair, slice) in out.chunks_exact_mut(2).zip(slices) {
                pair[0] = slice.as_ptr() as usize as u32;
                pair[1] = slice.len() as u32;
            }
            Ok(())
        })
    })
}

/// The number of values each layer contributes to `gl_model_layer_stats`: bias-gradient norm,
/// weight-gradient norm, weight norm, update ratio, then the number of time steps T and T
/// norms of ∂L/∂h_t.
pub const STATS_FIXED: usize = 5;

/// Writes per-layer diagnostics: the text buffer gets a JSON array of `{name, kind}`;
/// `out` (capacity `cap`) gets each layer's values as described at `STATS_FIXED`; `out_len[0]`
/// receives the number of values written (call with a larger buffer when it exceeds `cap`).
#[no_mangle]
pub extern "C" fn gl_model_layer_stats(model: u32, out_ptr: *mut f32, cap: usize, out_len: *mut f32) -> i32 {
    run(|| {
        let op = "diagnostics";
        let out = write_f32(op, "out", out_ptr, cap)?;
        let count = write_f32(op, "out_len", out_len, 1)?;
        with_model(op, model, |m| {
            let stats = m.layer_stats();
            let mut values: Vec<f32> = Vec::new();
            let mut names: Vec<String> = Vec::new();
            for s in &stats {
                names.push(format!("{{\"name\":{},\"kind\":\"{}\"}}", gradlab_core::error::json_string(&s.name), s.kind));
                values.extend_from_slice(&[s.bias_grad_norm as f32, s.weight_grad_norm as f32, s.weight_norm as f32, s.update_ratio as f32, s.time_grad_norms.len() as f32]);
                values.extend_from_slice(&s.time_grad_norms);
            }
            count[0] = values.len() as f32;
            if values.len() <= out.len() {
                out[..values.len()].copy_from_slice(&values);
            }
            TEXT.with(|text| *text.borrow_mut() = format!("[{}]", names.join(",")));
            Ok(())
        })
    })
}

/// Sets the base learning rate (for schedules driven from outside).
#[no_mangle]
pub extern "C" fn gl_model_set_lr(model: u32, lr: f32) -> i32 {
    run(|| {
        let op = "setLearningRate";
        let lr = non_negative(op, "lr", lr)?;
        with_model(op, model, |m| {
            m.optimizer_mut().lr = lr;
            Ok(())
        })
    })
}

/// Writes a permutation of 0..n into `out` (i32), drawn from `seed`: the same in every runtime.
#[no_mangle]
pub extern "C" fn gl_permutation(seed_low: u32, seed_high: u32, n: usize, out_ptr: *mut f32) -> i32 {
    run(|| {
        let op = "permutation";
        let out = write_u32(op, "out", out_ptr as *mut u32, n)?;
        let mut indices: Vec<u32> = (0..n as u32).collect();
        gradlab_core::rng::Rng::new(crate::join_seed(seed_low, seed_high)).shuffle(&mut indices);
        out.copy_from_slice(&indices);
        Ok(())
    })
}

/// A recurrent layer over [time, features] inputs. `cell`: 0 rnn (tanh), 1 lstm;
/// `forget_bias` (lstm only, 0 for rnn) is added to the forget gate's bias at initialisation;
/// `bptt_steps` truncates backpropagation through time to the last k steps (0 = full BPTT).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_spec_recurrent(spec: u32, cell: u32, units: i32, return_sequences: u32, forget_bias: f32, bptt_steps: i32, name_ptr: *const u8, name_len: usize) -> i32 {
    run(|| {
        let op = "gl_spec_recurrent";
        let cell = match cell {
            0 => CellKind::Rnn,
            1 => CellKind::Lstm,
            other => return Err(Error::invalid(op, "cell", "0 (rnn) or 1 (lstm)", other.to_string())),
        };
        let units = positive(op, "units", units)?;
        let forget_bias = finite(op, "forgetBias", forget_bias)?;
        if cell == CellKind::Rnn && forget_bias != 0.0 {
            return Err(Error::invalid(op, "forgetBias", "0 (forgetBias is for lstm only)", forget_bias.to_string()));
        }
        if bptt_steps < 0 {
            return Err(Error::invalid(op, "bpttSteps", "an integer ≥ 1, or 0 for full BPTT", bptt_steps.to_string()));
        }
        let options = RecurrentOptions {
            cell,
            units,
            return_sequences: return_sequences != 0,
            forget_bias,
            bptt_steps: if bptt_steps == 0 { None } else { Some(bptt_steps as usize) },
        };
        let layer = LayerConfig::Recurrent { name: optional_name(op, name_ptr, name_len)?, options };
        with_spec(op, spec, |s| Ok(s.push(layer)))
    })
}
