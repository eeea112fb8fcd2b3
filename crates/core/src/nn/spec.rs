//! The model spec: the JSON text JavaScript sends to `createModel`, checked and turned into a
//! [`ModelConfig`]. Every rule, default and range of the spec lives here and nowhere else;
//! errors name the spec path (`layers[2].units`) as `InvalidSpec`.
//!
//! [`normalize`] also gives the spec back with every default filled in, the form the
//! TypeScript `Model.spec` holds.
//!
//! JavaScript values that JSON cannot carry (NaN, functions, typed arrays, holes) arrive as
//! `{"$gradlab": "<description>"}`: they fail whatever check meets them, described as
//! JavaScript would describe them.

use super::activation::Activation;
use super::build::LayerConfig;
use super::init::Init;
use super::loss::Loss;
use super::model::ModelConfig;
use super::optimizer::{Method, Optimizer, Schedule};
use super::recurrent::RecurrentOptions;
use super::regularization::{Clip, Penalty};
use crate::error::{js_number, Error, Result};
use crate::limits::MAX_UNITS;
use crate::recurrence::CellKind;
use serde_json::{json, Map, Value};

/// Residual blocks may nest this deep (JSON parsing itself stops at 128 levels).
pub const MAX_RESIDUAL_DEPTH: usize = 32;
/// The largest per-example input dimension.
pub const MAX_INPUT_DIM: f64 = 16_777_216.0;
const NON_JSON_KEY: &str = "$gradlab";

/// A spec with its defaults filled in, and the configuration it describes.
pub struct Checked {
    pub config: ModelConfig,
    pub normalized: Value,
}

/// Parses and checks `text`.
pub fn parse(text: &str) -> Result<Checked> {
    let value: Value = serde_json::from_str(text).map_err(|e| fail("(spec)", "a model spec as JSON text nested at most 128 levels deep", &format!("JSON that does not parse ({})", e)))?;
    check(&value)
}

/// The spec in `text` with every default filled in, as JSON text.
pub fn normalize(text: &str) -> Result<String> {
    Ok(parse(text)?.normalized.to_string())
}

fn fail(path: &str, expected: &str, actual: &str) -> Error {
    Error::InvalidSpec { path: path.into(), expected: expected.into(), actual: actual.into() }
}

fn fail_value<T>(path: &str, expected: &str, value: Option<&Value>) -> Result<T> {
    Err(fail(path, expected, &describe(value)))
}

/// How JavaScript's `describe` shows a value in messages (`undefined` for an absent field).
pub fn describe(value: Option<&Value>) -> String {
    match value {
        None => "undefined".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::Bool(_)) => "boolean".into(),
        Some(Value::Number(n)) => js_number(n.as_f64().unwrap_or(f64::NAN)),
        Some(Value::String(s)) => Value::String(s.clone()).to_string(),
        Some(Value::Array(items)) => format!("an array of length {}", items.len()),
        Some(Value::Object(map)) => match non_json(map) {
            Some(description) => description.to_string(),
            None => "an object".into(),
        },
    }
}

fn non_json(map: &Map<String, Value>) -> Option<&str> {
    match (map.len(), map.get(NON_JSON_KEY)) {
        (1, Some(Value::String(description))) => Some(description),
        _ => None,
    }
}

fn object<'a>(value: Option<&'a Value>, path: &str, expected: &str) -> Result<&'a Map<String, Value>> {
    match value {
        Some(Value::Object(map)) if non_json(map).is_none() => Ok(map),
        other => fail_value(path, expected, other),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{}.{}", path, key)
    }
}

/// The fields each kind of object in the spec may have: the spec itself, each layer type,
/// optimiser and schedule, and the objects inside them.
const FIELDS: [(&str, &[&str]); 16] = [
    ("spec", &["input", "layers", "loss", "optimizer", "clip", "regularization"]),
    ("dense", &["type", "units", "activation", "init", "bias", "name"]),
    ("activation", &["type", "activation", "name"]),
    ("batchnorm", &["type", "momentum", "eps", "name"]),
    ("residual", &["type", "layers", "name"]),
    ("rnn", &["type", "units", "returnSequences", "forgetBias", "bpttSteps", "name"]),
    ("lstm", &["type", "units", "returnSequences", "forgetBias", "bpttSteps", "name"]),
    ("sgd", &["type", "lr", "momentum", "nesterov", "weightDecay", "schedule"]),
    ("adam", &["type", "lr", "betas", "eps", "weightDecay", "schedule"]),
    ("adamw", &["type", "lr", "betas", "eps", "weightDecay", "schedule"]),
    ("step", &["type", "stepSize", "gamma"]),
    ("cosine", &["type", "tMax", "etaMin"]),
    ("clip", &["norm", "value"]),
    ("regularization", &["l1", "l2"]),
    ("parametricActivation", &["type", "alpha"]),
    ("normalInit", &["type", "std"]),
];

fn fields(kind: &str) -> &'static [&'static str] {
    FIELDS.iter().find(|(k, _)| *k == kind).map_or(&[], |(_, fields)| fields)
}

/// Every name and field the spec knows, as JSON: what the TypeScript types must match (a
/// test compares them).
pub fn vocabulary() -> Value {
    let fields: Map<String, Value> = FIELDS.iter().map(|(kind, names)| (kind.to_string(), json!(names))).collect();
    json!({
        "activations": NAMED_ACTIVATIONS,
        "parametricActivations": PARAMETRIC_ACTIVATIONS,
        "inits": NAMED_INITS,
        "losses": LOSSES,
        "fields": fields,
    })
}

fn check_keys(map: &Map<String, Value>, path: &str, kind: &str) -> Result<()> {
    let allowed = fields(kind);
    match map.iter().find(|(key, _)| !allowed.contains(&key.as_str())) {
        Some((key, value)) => fail_value(&join(path, key), &format!("absent (allowed: {})", allowed.join(", ")), Some(value)),
        None => Ok(()),
    }
}

fn finite_number(value: Option<&Value>) -> Option<f64> {
    value.and_then(Value::as_f64).filter(|v| v.is_finite())
}

/// An integer in `[min, max]`.
fn integer(value: Option<&Value>, path: &str, min: f64, max: f64) -> Result<f64> {
    match finite_number(value) {
        Some(v) if v.fract() == 0.0 && v >= min && v <= max => Ok(v),
        _ => fail_value(path, &format!("an integer in [{}, {}]", js_number(min), js_number(max)), value),
    }
}

/// Where a number's range ends: `Closed` includes the bound, `Open` excludes it.
#[derive(Clone, Copy)]
enum Bound {
    Closed(f64),
    Open(f64),
}

impl Bound {
    fn admits_above(self, v: f64) -> bool {
        match self {
            Bound::Closed(min) => v >= min,
            Bound::Open(min) => v > min,
        }
    }

    fn admits_below(self, v: f64) -> bool {
        match self {
            Bound::Closed(max) => v <= max,
            Bound::Open(max) => v < max,
        }
    }
}

/// A finite number in the range, checked both as given and as the f32 the core computes
/// with: 1e-46 is > 0 as a double but 0 as an f32.
fn number(value: Option<&Value>, path: &str, min: Bound, max: Bound) -> Result<f64> {
    let admits = |v: f64| min.admits_above(v) && max.admits_below(v);
    match finite_number(value) {
        // A non-zero value that underflows to 0 in f32 would change its meaning (an lr of
        // 1e-46 trains nothing), as would one that overflows.
        Some(v) if admits(v) && (v as f32).is_finite() && admits(v as f32 as f64) && (v == 0.0 || v as f32 != 0.0) => Ok(v),
        _ => {
            let (open, low) = match min {
                Bound::Closed(v) => ('[', v),
                Bound::Open(v) => ('(', v),
            };
            let (high, close) = match max {
                Bound::Closed(v) => (v, ']'),
                Bound::Open(v) => (v, ')'),
            };
            let expected = format!("a finite number in {}{}, {}{}", open, js_number(low), js_number(high), close);
            fail_value(path, &format!("{} (as a 32-bit float)", expected), value)
        }
    }
}

fn optional_number(map: &Map<String, Value>, key: &str, path: &str, min: Bound, max: Bound, default: f64) -> Result<f64> {
    match map.get(key) {
        None => Ok(default),
        value => number(value, &join(path, key), min, max),
    }
}

fn boolean(map: &Map<String, Value>, key: &str, path: &str, default: bool) -> Result<bool> {
    match map.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        other => fail_value(&join(path, key), "true or false", other),
    }
}

/// A layer's `name`: used in parameter names (`name.weight`), so it may not contain '.'.
fn name(map: &Map<String, Value>, path: &str) -> Result<Option<String>> {
    match map.get("name") {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.encode_utf16().count() <= 256 && !s.contains('.') => Ok(Some(s.clone())),
        other => fail_value(&join(path, "name"), "a non-empty name without '.' of at most 256 characters", other),
    }
}

const NAMED_ACTIVATIONS: [&str; 5] = ["identity", "sigmoid", "tanh", "relu", "softmax"];
const PARAMETRIC_ACTIVATIONS: [&str; 3] = ["leakyRelu", "prelu", "elu"];

/// PyTorch's default `alpha` of a parametric activation (`LeakyReLU`, `PReLU`, `ELU`).
fn default_alpha(name: &str) -> f64 {
    match name {
        "leakyRelu" => 0.01,
        "prelu" => 0.25,
        _ => 1.0,
    }
}

/// The activation called `name`, with `alpha` (the negative slope or ELU's scale) or its
/// PyTorch default; `None` for an unknown name. Kernels and tensor ops use the same names.
pub fn activation_named(name: &str, alpha: Option<f32>) -> Option<Activation> {
    let alpha = || alpha.unwrap_or(default_alpha(name) as f32);
    Some(match name {
        "identity" => Activation::Identity,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "relu" => Activation::Relu,
        "softmax" => Activation::Softmax,
        "leakyRelu" => Activation::LeakyRelu(alpha()),
        "prelu" => Activation::Prelu(alpha()),
        "elu" => Activation::Elu(alpha()),
        _ => return None,
    })
}

fn activation(value: Option<&Value>, path: &str) -> Result<(Activation, Value)> {
    let expected = || format!("one of {}, {} or {{type, alpha}}", NAMED_ACTIVATIONS.join(", "), PARAMETRIC_ACTIVATIONS.join(", "));
    match value {
        Some(Value::String(s)) if NAMED_ACTIVATIONS.contains(&s.as_str()) => Ok((activation_named(s, None).unwrap_or(Activation::Identity), json!(s))),
        // The normalised spec carries the default alpha, so exporters read one number.
        Some(Value::String(s)) if PARAMETRIC_ACTIVATIONS.contains(&s.as_str()) => Ok((activation_named(s, None).unwrap_or(Activation::Identity), json!({ "type": s, "alpha": default_alpha(s) }))),
        Some(Value::Object(map)) if map.get("type").and_then(Value::as_str).map_or(false, |t| PARAMETRIC_ACTIVATIONS.contains(&t)) => {
            check_keys(map, path, "parametricActivation")?;
            let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
            let alpha = match map.get("alpha") {
                None => None,
                value => Some(number(value, &join(path, "alpha"), Bound::Closed(-1e6), Bound::Closed(1e6))?),
            };
            let normalized = json!({ "type": kind, "alpha": alpha.unwrap_or_else(|| default_alpha(kind)) });
            Ok((activation_named(kind, alpha.map(|a| a as f32)).unwrap_or(Activation::Identity), normalized))
        }
        other => fail_value(path, &expected(), other),
    }
}

const NAMED_INITS: [&str; 8] = ["nielsen", "normal", "xavier", "xavierUniform", "he", "heUniform", "lecun", "zeros"];

fn init(value: Option<&Value>, path: &str) -> Result<Init> {
    match value {
        Some(Value::String(s)) => Ok(match s.as_str() {
            "nielsen" => Init::Nielsen,
            "normal" => Init::Normal,
            "xavier" => Init::Xavier,
            "xavierUniform" => Init::XavierUniform,
            "he" => Init::He,
            "heUniform" => Init::HeUniform,
            "lecun" => Init::Lecun,
            "zeros" => Init::Zeros,
            _ => return fail_value(path, &init_expected(), value),
        }),
        Some(Value::Object(map)) if map.get("type").and_then(Value::as_str) == Some("normal") => {
            check_keys(map, path, "normalInit")?;
            let std = number(map.get("std"), &join(path, "std"), Bound::Closed(0.0), Bound::Closed(1e6))?;
            Ok(Init::NormalStd(std as f32))
        }
        other => fail_value(path, &init_expected(), other),
    }
}

fn init_expected() -> String {
    format!("one of {} or {{type:'normal', std}}", NAMED_INITS.join(", "))
}

fn units(map: &Map<String, Value>, path: &str) -> Result<usize> {
    Ok(integer(map.get("units"), &join(path, "units"), 1.0, MAX_UNITS as f64)? as usize)
}

/// One layer: its configuration and its normalised spec.
fn layer(value: &Value, path: &str, depth: usize) -> Result<(LayerConfig, Value)> {
    let map = object(Some(value), path, "a layer object")?;
    let mut normalized = Map::new();
    let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
    normalized.insert("type".into(), json!(kind));
    let config = match kind {
        "dense" => {
            check_keys(map, path, "dense")?;
            let units = units(map, path)?;
            normalized.insert("units".into(), json!(units));
            let (activation, activation_spec) = match map.get("activation") {
                None => (Activation::Identity, json!("identity")),
                value => activation(value, &join(path, "activation"))?,
            };
            normalized.insert("activation".into(), activation_spec);
            let init = match map.get("init") {
                None => Init::Default,
                value => {
                    normalized.insert("init".into(), value.cloned().unwrap_or(Value::Null));
                    init(value, &join(path, "init"))?
                }
            };
            let bias = boolean(map, "bias", path, true)?;
            normalized.insert("bias".into(), json!(bias));
            LayerConfig::Dense { name: name(map, path)?, units, activation, init, bias }
        }
        "activation" => {
            check_keys(map, path, "activation")?;
            let (activation, activation_spec) = activation(map.get("activation"), &join(path, "activation"))?;
            normalized.insert("activation".into(), activation_spec);
            LayerConfig::Activation { name: name(map, path)?, activation }
        }
        "batchnorm" => {
            check_keys(map, path, "batchnorm")?;
            let momentum = optional_number(map, "momentum", path, Bound::Closed(0.0), Bound::Closed(1.0), 0.1)?;
            let eps = optional_number(map, "eps", path, Bound::Open(0.0), Bound::Closed(1.0), 1e-5)?;
            normalized.insert("momentum".into(), json!(momentum));
            normalized.insert("eps".into(), json!(eps));
            LayerConfig::BatchNorm { name: name(map, path)?, momentum: momentum as f32, eps: eps as f32 }
        }
        "residual" => {
            check_keys(map, path, "residual")?;
            let layers_path = join(path, "layers");
            let items = match map.get("layers") {
                Some(Value::Array(items)) if !items.is_empty() => items,
                other => return fail_value(&layers_path, "a non-empty array of layers", other),
            };
            if depth >= MAX_RESIDUAL_DEPTH {
                return fail_value(&layers_path, &format!("residual blocks nested at most {} deep", MAX_RESIDUAL_DEPTH), map.get("layers"));
            }
            let (layers, specs) = layer_list(items, &layers_path, depth + 1)?;
            normalized.insert("layers".into(), Value::Array(specs));
            LayerConfig::Residual { name: name(map, path)?, layers }
        }
        "rnn" | "lstm" => {
            check_keys(map, path, kind)?;
            let cell = if kind == "lstm" { CellKind::Lstm } else { CellKind::Rnn };
            if cell == CellKind::Rnn && map.contains_key("forgetBias") {
                return fail_value(&join(path, "forgetBias"), "absent for rnn (LSTM only)", map.get("forgetBias"));
            }
            let units = units(map, path)?;
            let return_sequences = boolean(map, "returnSequences", path, false)?;
            normalized.insert("units".into(), json!(units));
            normalized.insert("returnSequences".into(), json!(return_sequences));
            let forget_bias = if cell == CellKind::Lstm {
                let bias = optional_number(map, "forgetBias", path, Bound::Closed(-1e3), Bound::Closed(1e3), 0.0)?;
                normalized.insert("forgetBias".into(), json!(bias));
                bias as f32
            } else {
                0.0
            };
            let bptt_steps = match map.get("bpttSteps") {
                None => None,
                value => {
                    let steps = integer(value, &join(path, "bpttSteps"), 1.0, MAX_INPUT_DIM)?;
                    normalized.insert("bpttSteps".into(), json!(steps as u64));
                    Some(steps as usize)
                }
            };
            let options = RecurrentOptions { cell, units, return_sequences, forget_bias, bptt_steps };
            LayerConfig::Recurrent { name: name(map, path)?, options }
        }
        _ => return fail_value(&join(path, "type"), "one of 'dense', 'activation', 'batchnorm', 'residual', 'rnn', 'lstm'", map.get("type")),
    };
    if let Some(name) = map.get("name") {
        normalized.insert("name".into(), name.clone());
    }
    Ok((config, Value::Object(normalized)))
}

fn layer_list(items: &[Value], path: &str, depth: usize) -> Result<(Vec<LayerConfig>, Vec<Value>)> {
    let mut configs = Vec::with_capacity(items.len());
    let mut specs = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let (config, spec) = layer(item, &format!("{}[{}]", path, index), depth)?;
        configs.push(config);
        specs.push(spec);
    }
    Ok((configs, specs))
}

fn schedule(value: Option<&Value>, path: &str) -> Result<(Schedule, Value)> {
    let map = object(value, path, "{type:'step', stepSize, gamma?} or {type:'cosine', tMax, etaMin?}")?;
    let steps = |key: &str| -> Result<u32> { Ok(integer(map.get(key), &join(path, key), 1.0, u32::MAX as f64)? as u32) };
    match map.get("type").and_then(Value::as_str) {
        Some("step") => {
            check_keys(map, path, "step")?;
            let step_size = steps("stepSize")?;
            let gamma = optional_number(map, "gamma", path, Bound::Closed(0.0), Bound::Closed(1e6), 0.1)?;
            Ok((Schedule::Step { step_size, gamma: gamma as f32 }, json!({ "type": "step", "stepSize": step_size, "gamma": gamma })))
        }
        Some("cosine") => {
            check_keys(map, path, "cosine")?;
            let t_max = steps("tMax")?;
            let eta_min = optional_number(map, "etaMin", path, Bound::Closed(0.0), Bound::Closed(f64::INFINITY), 0.0)?;
            Ok((Schedule::Cosine { t_max, eta_min: eta_min as f32 }, json!({ "type": "cosine", "tMax": t_max, "etaMin": eta_min })))
        }
        _ => fail_value(path, "{type:'step', stepSize, gamma?} or {type:'cosine', tMax, etaMin?}", value),
    }
}

/// A number in [0, 1): momentum and Adam's betas.
fn unit_interval(value: Option<&Value>, path: &str) -> Result<f64> {
    number(value, path, Bound::Closed(0.0), Bound::Open(1.0))
}

fn optimizer(value: Option<&Value>) -> Result<(Optimizer, Value)> {
    let path = "optimizer";
    let value = match value {
        None => return Ok((Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 0.01, Schedule::Constant), json!({ "type": "sgd", "lr": 0.01, "momentum": 0, "nesterov": false, "weightDecay": 0 }))),
        Some(value) => value,
    };
    let map = object(Some(value), path, "an optimizer object")?;
    let lr = number(map.get("lr"), "optimizer.lr", Bound::Closed(0.0), Bound::Closed(1e6))?;
    let (schedule, schedule_spec) = match map.get("schedule") {
        None => (Schedule::Constant, None),
        value => {
            let (schedule, spec) = schedule(value, "optimizer.schedule")?;
            (schedule, Some(spec))
        }
    };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
    let non_negative = |key: &str, default: f64| optional_number(map, key, path, Bound::Closed(0.0), Bound::Closed(f64::INFINITY), default);
    let (method, mut normalized) = match kind {
        "sgd" => {
            check_keys(map, path, "sgd")?;
            let momentum = match map.get("momentum") {
                None => 0.0,
                value => unit_interval(value, "optimizer.momentum")?,
            };
            let nesterov = boolean(map, "nesterov", path, false)?;
            if nesterov && momentum == 0.0 {
                return Err(fail("optimizer.momentum", "a momentum > 0 with nesterov", &js_number(momentum)));
            }
            let weight_decay = non_negative("weightDecay", 0.0)?;
            let method = Method::Sgd { momentum: momentum as f32, nesterov, weight_decay: weight_decay as f32 };
            (method, json!({ "type": "sgd", "lr": lr, "momentum": momentum, "nesterov": nesterov, "weightDecay": weight_decay }))
        }
        "adam" | "adamw" => {
            check_keys(map, path, kind)?;
            let (beta1, beta2) = match map.get("betas") {
                None => (0.9, 0.999),
                Some(Value::Array(pair)) if pair.len() == 2 => (unit_interval(pair.get(0), "optimizer.betas[0]")?, unit_interval(pair.get(1), "optimizer.betas[1]")?),
                other => return fail_value("optimizer.betas", "a pair [beta1, beta2]", other),
            };
            // eps divides the update: 0 turns a zero gradient into 0/0 = NaN.
            let eps = optional_number(map, "eps", path, Bound::Open(0.0), Bound::Closed(f64::INFINITY), 1e-8)?;
            let weight_decay = non_negative("weightDecay", if kind == "adamw" { 0.01 } else { 0.0 })?;
            let (b1, b2, e, wd) = (beta1 as f32, beta2 as f32, eps as f32, weight_decay as f32);
            let method = if kind == "adam" { Method::Adam { beta1: b1, beta2: b2, eps: e, weight_decay: wd } } else { Method::AdamW { beta1: b1, beta2: b2, eps: e, weight_decay: wd } };
            (method, json!({ "type": kind, "lr": lr, "betas": [beta1, beta2], "eps": eps, "weightDecay": weight_decay }))
        }
        _ => return fail_value("optimizer.type", "one of 'sgd', 'adam', 'adamw'", map.get("type")),
    };
    if let (Some(spec), Value::Object(fields)) = (schedule_spec, &mut normalized) {
        fields.insert("schedule".into(), spec);
    }
    Ok((Optimizer::new(method, lr as f32, schedule), normalized))
}

const LOSSES: [&str; 3] = ["mse", "softmaxCrossEntropy", "sigmoidCrossEntropy"];

/// The loss called `name` (the spec's names), `None` for an unknown one.
pub fn loss_named(name: &str) -> Option<Loss> {
    match name {
        "mse" => Some(Loss::Mse),
        "softmaxCrossEntropy" => Some(Loss::SoftmaxCrossEntropy),
        "sigmoidCrossEntropy" => Some(Loss::SigmoidCrossEntropy),
        _ => None,
    }
}

fn check(spec: &Value) -> Result<Checked> {
    let map = object(Some(spec), "(spec)", "a model spec object")?;
    check_keys(map, "", "spec")?;
    let input_dims = match map.get("input") {
        Some(Value::Array(dims)) if (1..=2).contains(&dims.len()) => {
            dims.iter().enumerate().map(|(i, d)| Ok(integer(Some(d), &format!("input[{}]", i), 1.0, MAX_INPUT_DIM)? as usize)).collect::<Result<Vec<usize>>>()?
        }
        other => return fail_value("input", "a per-example shape [features] or [time, features]", other),
    };
    let (layers, layer_specs) = match map.get("layers") {
        Some(Value::Array(items)) => layer_list(items, "layers", 0)?,
        other => return fail_value("layers", "an array of layers", other),
    };
    let loss_name = map.get("loss").and_then(Value::as_str).unwrap_or_default();
    let loss = match loss_named(loss_name) {
        Some(loss) => loss,
        None => return fail_value("loss", &format!("one of {}", LOSSES.join(", ")), map.get("loss")),
    };
    let (optimizer, optimizer_spec) = optimizer(map.get("optimizer"))?;
    let mut normalized = json!({ "input": input_dims, "layers": layer_specs, "loss": loss_name, "optimizer": optimizer_spec });
    let mut clip = Clip::default();
    if let Some(value) = map.get("clip") {
        let fields = object(Some(value), "clip", "{norm?, value?}")?;
        check_keys(fields, "clip", "clip")?;
        // A limit of 0 would switch clipping off without saying so: limits are > 0 as f32.
        let limit = |key: &str| -> Result<Option<f64>> {
            match fields.get(key) {
                None => Ok(None),
                value => number(value, &join("clip", key), Bound::Open(0.0), Bound::Closed(f64::INFINITY)).map(Some),
            }
        };
        let (norm, max) = (limit("norm")?, limit("value")?);
        clip = Clip { max_norm: norm.map(|v| v as f32), max_value: max.map(|v| v as f32) };
        let mut spec = Map::new();
        if let Some(v) = norm {
            spec.insert("norm".into(), json!(v));
        }
        if let Some(v) = max {
            spec.insert("value".into(), json!(v));
        }
        normalized["clip"] = Value::Object(spec);
    }
    let mut penalty = Penalty::default();
    if let Some(value) = map.get("regularization") {
        let fields = object(Some(value), "regularization", "{l1?, l2?}")?;
        check_keys(fields, "regularization", "regularization")?;
        let strength = |key: &str| optional_number(fields, key, "regularization", Bound::Closed(0.0), Bound::Closed(f64::INFINITY), 0.0);
        let (l1, l2) = (strength("l1")?, strength("l2")?);
        penalty = Penalty { l1: l1 as f32, l2: l2 as f32 };
        normalized["regularization"] = json!({ "l1": l1, "l2": l2 });
    }
    let config = ModelConfig { input_dims, layers, loss, optimizer, clip, penalty };
    Ok(Checked { config, normalized })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> (String, String, String) {
        match parse(text) {
            Err(Error::InvalidSpec { path, expected, actual }) => (path, expected, actual),
            Err(other) => panic!("expected InvalidSpec, got {:?}", other),
            Ok(_) => panic!("expected InvalidSpec for {}", text),
        }
    }

    const MLP: &str = r#"{"input":[4],"layers":[{"type":"dense","units":3,"activation":"relu"}],"loss":"mse"}"#;

    #[test]
    fn fills_in_the_defaults() {
        let normalized: Value = serde_json::from_str(&normalize(MLP).unwrap()).unwrap();
        assert_eq!(normalized["layers"][0], json!({ "type": "dense", "units": 3, "activation": "relu", "bias": true }));
        assert_eq!(normalized["optimizer"], json!({ "type": "sgd", "lr": 0.01, "momentum": 0, "nesterov": false, "weightDecay": 0 }));
    }

    #[test]
    fn fills_in_the_default_alpha_of_parametric_activations() {
        let spec = r#"{"input":[4],"layers":[{"type":"activation","activation":"leakyRelu"},{"type":"activation","activation":{"type":"elu"}},{"type":"activation","activation":{"type":"prelu","alpha":0.5}}],"loss":"mse"}"#;
        let normalized: Value = serde_json::from_str(&normalize(spec).unwrap()).unwrap();
        assert_eq!(normalized["layers"][0]["activation"], json!({ "type": "leakyRelu", "alpha": 0.01 }));
        assert_eq!(normalized["layers"][1]["activation"], json!({ "type": "elu", "alpha": 1.0 }));
        assert_eq!(normalized["layers"][2]["activation"], json!({ "type": "prelu", "alpha": 0.5 }));
    }

    #[test]
    fn names_the_path_of_a_bad_field() {
        let (path, expected, actual) = error_of(r#"{"input":[4],"layers":[{"type":"residual","layers":[{"type":"dense","units":0}]}],"loss":"mse"}"#);
        assert_eq!(path, "layers[0].layers[0].units");
        assert_eq!(expected, "an integer in [1, 65536]");
        assert_eq!(actual, "0");
    }

    #[test]
    fn checks_hyper_parameters_as_f32() {
        let with = |extra: &str| format!(r#"{{"input":[4],"layers":[],"loss":"mse",{}}}"#, extra);
        assert_eq!(error_of(&with(r#""clip":{"norm":1e-46}"#)).0, "clip.norm");
        assert_eq!(error_of(&with(r#""optimizer":{"type":"adam","lr":0.1,"eps":0}"#)).0, "optimizer.eps");
        assert_eq!(error_of(&with(r#""optimizer":{"type":"sgd","lr":1e39}"#)).0, "optimizer.lr");
        assert_eq!(error_of(&with(r#""optimizer":{"type":"sgd","lr":1e-46}"#)).0, "optimizer.lr");
        assert!(parse(&with(r#""optimizer":{"type":"sgd","lr":0}"#)).is_ok());
        assert!(parse(&with(r#""clip":{"norm":1e-30}"#)).is_ok());
    }

    #[test]
    fn describes_values_json_cannot_carry() {
        let (path, _, actual) = error_of(r#"{"input":[4],"layers":[{"type":"dense","units":{"$gradlab":"NaN"}}],"loss":"mse"}"#);
        assert_eq!((path.as_str(), actual.as_str()), ("layers[0].units", "NaN"));
    }

    #[test]
    fn bounds_residual_nesting_without_recursing_deeply() {
        let mut text = String::from(r#"{"type":"dense","units":4}"#);
        for _ in 0..3000 {
            text = format!(r#"{{"type":"residual","layers":[{}]}}"#, text);
        }
        let (path, _, _) = error_of(&format!(r#"{{"input":[4],"layers":[{}],"loss":"mse"}}"#, text));
        assert_eq!(path, "(spec)");
    }

    #[test]
    fn rejects_unknown_keys_and_rnn_forget_bias() {
        assert_eq!(error_of(r#"{"input":[4],"layers":[],"loss":"mse","extra":1}"#).0, "extra");
        assert_eq!(error_of(r#"{"input":[3,4],"layers":[{"type":"rnn","units":2,"forgetBias":1}],"loss":"mse"}"#).0, "layers[0].forgetBias");
        assert_eq!(error_of(r#"{"input":[4],"layers":[],"loss":"mse","optimizer":{"type":"sgd","lr":0.1,"nesterov":true}}"#).0, "optimizer.momentum");
    }
}
