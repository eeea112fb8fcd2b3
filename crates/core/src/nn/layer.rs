//! What every layer is: a forward map over a batch, its backward map, and its parameters.

use super::health::Signals;
use super::sequential::Sequential;
use crate::error::Result;
use crate::size::{self, Count};

/// Whether a forward pass is for training (batch statistics, caches for backward) or inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

/// What a parameter is for; it decides regularisation and which diagnostics it feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A weight matrix (dense, recurrent): regularised; its gradient norm is reported.
    Weight,
    /// A bias vector: its gradient norm is Nielsen's learning speed.
    Bias,
    /// BatchNorm's learnable scale (γ).
    Scale,
    /// BatchNorm's learnable shift (β), the bias-like parameter of a normalised layer.
    Shift,
    /// A learned activation slope (PReLU's α).
    Slope,
}

/// A trainable tensor with its gradient (the optimiser keeps its own state per parameter).
#[derive(Clone, Debug)]
pub struct Param {
    /// Full PyTorch-style name, e.g. `3.1.weight`.
    pub name: String,
    pub shape: Vec<usize>,
    pub role: Role,
    pub value: Vec<f32>,
    pub grad: Vec<f32>,
    /// Squared L2 norm of the last update applied to `value`, for the update/weight ratio.
    pub last_update_sq: f64,
}

impl Param {
    /// A parameter holding `value`, with a zero gradient allocated fallibly (building a model
    /// that does not fit in memory is an error, not an abort).
    pub fn new(name: String, shape: Vec<usize>, role: Role, value: Vec<f32>) -> Result<Param> {
        let grad = size::zeros("createModel", &name, value.len())?;
        Ok(Param { name, shape, role, value, grad, last_update_sq: 0.0 })
    }
}

/// A non-trainable tensor that is part of the state dict (BatchNorm's running statistics).
#[derive(Clone, Debug)]
pub struct Buffer {
    pub name: String,
    pub shape: Vec<usize>,
    pub value: Vec<f32>,
}

/// A layer of a network. Inputs and outputs are batches of examples, row-major, each example
/// `prod(dims)` values long; `batch` is the number of examples.
///
/// Shapes are fixed when the layer is built, so forward and backward cannot fail: the model
/// validates every input at its boundary.
pub trait Layer {
    /// The layer's name (the prefix of its parameters' names).
    fn name(&self) -> &str;

    /// A short kind for diagnostics: `dense`, `batchnorm`, `lstm`, …
    fn kind(&self) -> &'static str;

    /// The per-example output shape.
    fn output_dims(&self) -> &[usize];

    /// Whether a training-mode forward pass can run on `batch` examples; the model asks every
    /// layer before it starts one (BatchNorm needs two values per feature).
    fn check_training_batch(&self, _op: &str, _batch: usize) -> Result<()> {
        Ok(())
    }

    /// Computes `output` (batch × prod(output_dims)) from `input`; in `Mode::Train` it keeps
    /// whatever backward needs.
    fn forward(&mut self, input: &[f32], batch: usize, mode: Mode, output: &mut [f32]);

    /// Given `grad_output` = ∂L/∂output, adds ∂L/∂param to every parameter's `grad` and, when
    /// `grad_input` is given, writes ∂L/∂input into it (overwriting). `input` and `output` are
    /// the values of the last forward pass.
    fn backward(&mut self, input: &[f32], output: &[f32], grad_output: &[f32], batch: usize, grad_input: Option<&mut [f32]>);

    /// Visits every trainable parameter, nested layers' included, in state-dict order.
    fn visit_params<'a>(&'a mut self, visit: &mut dyn FnMut(&'a mut Param));

    /// Visits every buffer (running statistics), nested layers' included.
    fn visit_buffers(&mut self, _visit: &mut dyn FnMut(&mut Buffer)) {}

    /// For recurrent layers: the norm of ∂L/∂h_t for each time step t of the last backward pass.
    fn time_grad_norms(&self) -> Option<&[f32]> {
        None
    }

    /// Values the layer keeps per example besides its output (pre-activations, a recurrent
    /// layer's saved states, backward scratch), so the model can bound a batch's memory
    /// before running it.
    fn workspace_per_example(&self) -> Count {
        Count::ZERO
    }

    /// The layers nested inside this one (a residual block's body); empty for plain layers.
    /// Diagnostics walk them to report every layer that owns parameters.
    fn sublayers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut []
    }

    /// The chain nested inside this layer (a residual block's body), for the health
    /// measurements, which need its layers' outputs too.
    fn body_mut(&mut self) -> Option<&mut Sequential> {
        None
    }

    /// What the last forward pass (from `input` to `output`) holds for the health
    /// measurements (see [`super::health`]); `None` for layers that apply no map worth measuring.
    fn signals<'a>(&'a self, _input: &'a [f32], _output: &'a [f32]) -> Option<Signals<'a>> {
        None
    }
}

/// The number of f32 values of one example with per-example shape `dims`. The builder bounds
/// every layer's [`example_count`], so this product cannot overflow for a built model.
pub fn example_len(dims: &[usize]) -> usize {
    dims.iter().product()
}

/// [`example_len`] as a checked [`Count`], for bounding sizes that are not yet known to fit.
pub fn example_count(dims: &[usize]) -> Count {
    Count::product(dims)
}
