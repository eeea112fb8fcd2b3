//! Builds layers from their configuration (what `spec` parsed out of the JSON model spec,
//! which holds every rule on the values), naming them as PyTorch would: a layer's own
//! `name`, or its index path (`0`, `3.1`). Only what depends on the shapes flowing between
//! layers is checked here, and every size is bounded on the way (see [`crate::limits`]).

use super::activation::{Activation, ActivationFn};
use super::activation_layer::ActivationLayer;
use super::batchnorm::BatchNorm;
use super::dense::Dense;
use super::init::Init;
use super::layer::{example_count, Layer};
use super::recurrent::{Recurrent, RecurrentOptions};
use super::residual::Residual;
use super::sequential::Sequential;
use crate::error::{shape_str, Error, Result};
use crate::limits::{MAX_BATCH_VALUES, MAX_EXAMPLE_LEN, MAX_PARAMETERS};
use crate::rng::Rng;
use crate::size::Count;

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

/// Builds the layers of one model from their configurations, drawing initial weights from
/// `rng` and counting the state values so far, so a layer that would take the model past
/// [`MAX_PARAMETERS`] is refused before anything of it is allocated.
pub struct Builder<'a> {
    rng: &'a mut Rng,
    parameters: Count,
}

impl<'a> Builder<'a> {
    pub fn new(rng: &'a mut Rng) -> Builder<'a> {
        Builder { rng, parameters: Count::ZERO }
    }

    /// Builds `configs` as a chain on per-example inputs of shape `input_dims`. `prefix` is
    /// the enclosing layer's name ("" at the top) and `path` the spec path for errors.
    pub fn sequential(&mut self, configs: &[LayerConfig], input_dims: &[usize], prefix: &str, path: &str) -> Result<Sequential> {
        let mut layers: Vec<Box<dyn Layer>> = Vec::with_capacity(configs.len());
        let mut dims = input_dims.to_vec();
        let mut values = Count::ZERO;
        for (index, config) in configs.iter().enumerate() {
            let own = config.name().map(str::to_string).unwrap_or_else(|| index.to_string());
            let name = if prefix.is_empty() { own } else { format!("{}.{}", prefix, own) };
            let layer_path = format!("{}[{}]", path, index);
            let layer = self.layer(config, &dims, name, &layer_path)?;
            dims = layer.output_dims().to_vec();
            let output = example_count(&dims);
            output.at_most(OP, &layer_path, MAX_EXAMPLE_LEN)?;
            // One example must fit through the chain, or no batch ever will.
            values = values.plus(output).plus(layer.workspace_per_example());
            values.at_most(OP, &layer_path, MAX_BATCH_VALUES)?;
            layers.push(layer);
        }
        Ok(Sequential::new(input_dims.to_vec(), layers))
    }

    /// Counts `values` more state values for the layer at `path`, refusing past the limit.
    fn reserve(&mut self, path: &str, values: Count) -> Result<()> {
        let total = self.parameters.plus(values);
        total.at_most(OP, path, MAX_PARAMETERS)?;
        self.parameters = total;
        Ok(())
    }

    fn layer(&mut self, config: &LayerConfig, dims: &[usize], name: String, path: &str) -> Result<Box<dyn Layer>> {
        let features = *dims.last().unwrap_or(&1);
        match config {
            LayerConfig::Dense { units, activation, init, bias, .. } => {
                self.reserve(path, Dense::parameter_count(features, *units, *bias, *activation))?;
                Ok(Box::new(Dense::new(name, dims, *units, *activation, *init, *bias, self.rng)?))
            }
            LayerConfig::Activation { activation, .. } => {
                self.reserve(path, ActivationFn::parameter_count(*activation))?;
                Ok(Box::new(ActivationLayer::new(name, dims, *activation)?))
            }
            LayerConfig::BatchNorm { momentum, eps, .. } => {
                self.reserve(path, BatchNorm::state_count(features))?;
                Ok(Box::new(BatchNorm::new(name, dims, *momentum, *eps)?))
            }
            LayerConfig::Recurrent { options, .. } => {
                check_recurrent(path, dims, options)?;
                self.reserve(path, options.cell.parameter_count(dims[1], options.units))?;
                Ok(Box::new(Recurrent::new(name, dims, *options, self.rng)?))
            }
            LayerConfig::Residual { layers, .. } => {
                let body = self.sequential(layers, dims, &name, &format!("{}.layers", path))?;
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
}

fn check_recurrent(path: &str, dims: &[usize], options: &RecurrentOptions) -> Result<()> {
    if dims.len() != 2 {
        return Err(Error::shape(OP, path, "a sequence input [time, features] (an rnn or lstm reads one row per time step)", shape_str(dims)));
    }
    options.cell.workspace_per_example(dims[0], options.units).at_most(OP, path, MAX_EXAMPLE_LEN)?;
    Ok(())
}
