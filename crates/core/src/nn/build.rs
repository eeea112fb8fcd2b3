//! Builds layers from their configuration (what `spec` parsed out of the JSON model spec,
//! which holds every rule on the values), naming them as PyTorch would: a layer's own
//! `name`, or its index path (`0`, `3.1`). Only what depends on the shapes flowing between
//! layers is checked here.

use super::activation::Activation;
use super::activation_layer::ActivationLayer;
use super::batchnorm::BatchNorm;
use super::dense::Dense;
use super::init::Init;
use super::layer::{example_len, Layer};
use super::recurrent::{Recurrent, RecurrentOptions};
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
        LayerConfig::Dense { units, activation, init, bias, .. } => Ok(Box::new(Dense::new(name, dims, *units, *activation, *init, *bias, rng))),
        LayerConfig::Activation { activation, .. } => Ok(Box::new(ActivationLayer::new(name, dims, *activation))),
        LayerConfig::BatchNorm { momentum, eps, .. } => Ok(Box::new(BatchNorm::new(name, dims, *momentum, *eps))),
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
    let workspace = options.cell.workspace_per_example(dims[0], options.units);
    if workspace > MAX_EXAMPLE_LEN {
        return Err(Error::TooLarge { op: OP.into(), arg: path.to_string(), requested: workspace as u64, limit: MAX_EXAMPLE_LEN as u64 });
    }
    Ok(())
}
