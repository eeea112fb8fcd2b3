//! Builds layers from their configuration (the Rust mirror of the JSON model spec), naming
//! them as PyTorch would: a layer's own `name`, or its index path (`0`, `3.1`).

use super::activation::Activation;
use super::activation_layer::ActivationLayer;
use super::batchnorm::BatchNorm;
use super::dense::Dense;
use super::init::Init;
use super::layer::{example_len, Layer};
use super::recurrent::{CellKind, Recurrent, RecurrentOptions};
use super::residual::Residual;
use super::sequential::Sequential;
use crate::error::{shape_str, Error, Result};
use crate::rng::Rng;

/// The most units one layer may have, and the most values one example may take in any layer.
pub const MAX_UNITS: usize = 1 << 16;
pub const MAX_EXAMPLE_LEN: usize = 1 << 24;

#[derive(Clone, Debug, PartialEq)]
pub enum LayerConfig {
    Dense { name: Option<String>, units: usize, activation: Activation, init: Init, bias: bool },
    Activation { name: Option<String>, activation: Activation },
    /// BatchNorm1d over the last axis; PyTorch's defaults are momentum 0.1, eps 1e-5.
    BatchNorm { name: Option<String>, momentum: f32, eps: f32 },
    Residual { name: Option<String>, layers: Vec<LayerConfig> },
    /// `rnn` or `lstm` over [time, features] inputs; see [`Recurrent`].
    Recurrent { name: Option<String>, options: RecurrentOptions },
}

impl LayerConfig {
    fn name(&self) -> Option<&str> {
        match self {
            LayerConfig::Dense { name, .. } | LayerConfig::Activation { name, .. } | LayerConfig::Residual { name, .. } => name.as_deref(),
            LayerConfig::BatchNorm { name, .. } => name.as_deref(),
            LayerConfig::Recurrent { name, .. } => name.as_deref(),
        }
    }
}

const OP: &str = "createModel";

fn check_activation(path: &str, activation: Activation) -> Result<()> {
    let alpha = match activation {
        Activation::LeakyRelu(a) | Activation::Prelu(a) | Activation::Elu(a) => a,
        _ => return Ok(()),
    };
    if alpha.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(OP, &format!("{}.activation.alpha", path), "a finite number", alpha.to_string()))
    }
}

/// Builds `configs` as a chain on per-example inputs of shape `input_dims`. `prefix` is the
/// enclosing layer's name ("" at the top) and `path` the spec path for error messages.
pub fn build_sequential(configs: &[LayerConfig], input_dims: &[usize], prefix: &str, path: &str, rng: &mut Rng) -> Result<Sequential> {
    let mut layers: Vec<Box<dyn Layer>> = Vec::with_capacity(configs.len());
    let mut dims = input_dims.to_vec();
    for (index, config) in configs.iter().enumerate() {
        let own = config.name().map(str::to_string).unwrap_or_else(|| index.to_string());
        let name = if prefix.is_empty() { own } else { format!("{}.{}", prefix, own) };
        let layer_path = format!("{}[{}]", path, index);
        let layer = build_layer(config, &dims, name, &layer_path, rng)?;
        dims = layer.output_dims().to_vec();
        if example_len(&dims) > MAX_EXAMPLE_LEN {
            return Err(Error::TooLarge { op: OP.into(), arg: layer_path, requested: example_len(&dims) as u64, limit: MAX_EXAMPLE_LEN as u64 });
        }
        layers.push(layer);
    }
    Ok(Sequential::new(input_dims.to_vec(), layers))
}

fn build_layer(config: &LayerConfig, dims: &[usize], name: String, path: &str, rng: &mut Rng) -> Result<Box<dyn Layer>> {
    match config {
        LayerConfig::Dense { units, activation, init, bias, .. } => {
            if *units == 0 || *units > MAX_UNITS {
                return Err(Error::invalid(OP, &format!("{}.units", path), format!("an integer in [1, {}]", MAX_UNITS), units.to_string()));
            }
            check_activation(path, *activation)?;
            if let Init::NormalStd(std) = init {
                if !(std.is_finite() && *std >= 0.0) {
                    return Err(Error::invalid(OP, &format!("{}.init.std", path), "a finite number ≥ 0", std.to_string()));
                }
            }
            Ok(Box::new(Dense::new(name, dims, *units, *activation, *init, *bias, rng)))
        }
        LayerConfig::Activation { activation, .. } => {
            check_activation(path, *activation)?;
            Ok(Box::new(ActivationLayer::new(name, dims, *activation)))
        }
        LayerConfig::BatchNorm { momentum, eps, .. } => {
            BatchNorm::check_options(OP, &format!("{}.", path), *momentum, *eps)?;
            Ok(Box::new(BatchNorm::new(name, dims, *momentum, *eps)))
        }
        LayerConfig::Recurrent { options, .. } => {
            check_recurrent(path, dims, options)?;
            Ok(Box::new(Recurrent::new(name, dims, *options, rng)))
        }
        LayerConfig::Residual { layers, .. } => {
            let body = build_sequential(layers, dims, &name, &format!("{}.layers", path), rng)?;
            if body.output_dims() != dims {
                return Err(Error::shape(
                    OP,
                    &format!("{}.layers", path),
                    format!("layers that keep the shape {} (y = x + f(x))", shape_str(dims)),
                    format!("f mapping {} to {}", shape_str(dims), shape_str(body.output_dims())),
                ));
            }
            Ok(Box::new(Residual::new(name, body)))
        }
    }
}

fn check_recurrent(path: &str, dims: &[usize], options: &RecurrentOptions) -> Result<()> {
    if dims.len() != 2 {
        return Err(Error::shape(OP, path, "a sequence input [time, features] (an rnn or lstm reads one row per time step)", shape_str(dims)));
    }
    let units = options.units;
    if units == 0 || units > MAX_UNITS {
        return Err(Error::invalid(OP, &format!("{}.units", path), format!("an integer in [1, {}]", MAX_UNITS), units.to_string()));
    }
    let forget_bias = options.forget_bias;
    if !forget_bias.is_finite() || (options.cell == CellKind::Rnn && forget_bias != 0.0) {
        let expected = if options.cell == CellKind::Rnn { "0 (forgetBias is for lstm only)" } else { "a finite number" };
        return Err(Error::invalid(OP, &format!("{}.forgetBias", path), expected, forget_bias.to_string()));
    }
    if options.bptt_steps == Some(0) {
        return Err(Error::invalid(OP, &format!("{}.bpttSteps", path), "an integer ≥ 1 (omit it for full BPTT)", "0"));
    }
    let workspace = options.cell.workspace_per_example(dims[0], units);
    if workspace > MAX_EXAMPLE_LEN {
        return Err(Error::TooLarge { op: OP.into(), arg: path.to_string(), requested: workspace as u64, limit: MAX_EXAMPLE_LEN as u64 });
    }
    Ok(())
}
