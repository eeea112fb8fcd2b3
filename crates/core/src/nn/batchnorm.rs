//! Batch normalisation with PyTorch's `BatchNorm1d` semantics over the last axis: every other
//! axis (batch, time) is a row, and each feature is normalised over all rows.
//!
//! Training mode: `x̂ = (x − μ_B)/√(σ²_B + ε)` with the batch mean and *biased* variance, then
//! `y = γ·x̂ + β`; the running statistics move toward the batch's, `running = (1−m)·running +
//! m·batch`, with the *unbiased* variance. Evaluation mode normalises with the running
//! statistics instead, which makes the layer a fixed per-feature affine map.
//!
//! Every loop walks the rows contiguously with one feature per lane: the per-feature work is
//! elementwise along a row, so it vectorises (SIMD128) without reordering any sum. The passes
//! are fused to read each [rows × features] array as few times as the arithmetic allows, and x̂
//! is recomputed from the input instead of stored: training forward reads x three times (mean,
//! variance, output) and writes y once; backward reads ∂L/∂y and x twice and writes ∂L/∂x once.

use super::activation::Activation;
use super::health::Signals;
use super::layer::{example_len, Buffer, Layer, Mode, Param, Role};
use crate::error::{Error, Result};
use crate::kernels::lanes::{zip_lanes, F32x4};
use crate::kernels::vector;
use crate::size::{self, Count};

pub struct BatchNorm {
    name: String,
    dims: Vec<usize>,
    features: usize,
    momentum: f32,
    eps: f32,
    /// γ, [features], initially 1.
    weight: Param,
    /// β, [features], initially 0.
    bias: Param,
    running_mean: Buffer,
    running_var: Buffer,
    /// Which statistics the last forward pass normalised with: the batch's (backward then
    /// differentiates through them too) or the running ones.
    mode: Mode,
    /// μ used by the last forward pass, [features].
    mean: Vec<f32>,
    /// 1/√(σ² + ε) used by the last forward pass, [features].
    inverse_std: Vec<f32>,
    /// Per-feature scratch, [features] each: γ/√(σ² + ε), and two per-feature sums.
    slope: Vec<f32>,
    sum_a: Vec<f32>,
    sum_b: Vec<f32>,
}

impl BatchNorm {
    /// The values a BatchNorm over `features` holds from the start: γ, β, the two running
    /// statistics and five per-feature scratch vectors.
    pub fn state_count(features: usize) -> Count {
        Count::of(features).times(9)
    }

    /// `input_dims` is the per-example shape; its last axis holds the features.
    pub fn new(name: String, input_dims: &[usize], momentum: f32, eps: f32) -> Result<BatchNorm> {
        let features = *input_dims.last().unwrap_or(&1);
        let values = |suffix: &str, value: f32| size::filled("createModel", &format!("{}.{}", name, suffix), features, || value);
        let param = |suffix: &str, role: Role, value: f32| Param::new(format!("{}.{}", name, suffix), vec![features], role, values(suffix, value)?);
        let buffer = |suffix: &str, value: f32| -> Result<Buffer> { Ok(Buffer { name: format!("{}.{}", name, suffix), shape: vec![features], value: values(suffix, value)? }) };
        let (weight, bias) = (param("weight", Role::Scale, 1.0)?, param("bias", Role::Shift, 0.0)?);
        let (running_mean, running_var) = (buffer("running_mean", 0.0)?, buffer("running_var", 1.0)?);
        let (mean, inverse_std, slope) = (values("mean", 0.0)?, values("inverse_std", 0.0)?, values("slope", 0.0)?);
        let (sum_a, sum_b) = (values("sum_a", 0.0)?, values("sum_b", 0.0)?);
        Ok(BatchNorm {
            weight,
            bias,
            running_mean,
            running_var,
            name,
            dims: input_dims.to_vec(),
            features,
            momentum,
            eps,
            mode: Mode::Eval,
            mean,
            inverse_std,
            slope,
            sum_a,
            sum_b,
        })
    }

    /// Rows in a batch of `batch` examples: every position along the non-feature axes.
    fn rows(&self, batch: usize) -> usize {
        batch * (example_len(&self.dims) / self.features.max(1))
    }

    /// Training forward: batch statistics into `mean`/`inverse_std`, `y = γ·x̂ + β` into
    /// `output`, and the running statistics' update. Needs rows ≥ 2.
    fn forward_train(&mut self, input: &[f32], rows: usize, output: &mut [f32]) {
        let n = self.features;
        let mean = &mut self.mean[..n];
        mean.iter_mut().for_each(|m| *m = 0.0);
        vector::accumulate_column_sums(input, mean);
        vector::scale(1.0 / rows as f32, mean);

        // Centre first, then square: two passes keep the variance accurate when |μ| ≫ σ.
        let square_sums = &mut self.sum_a[..n];
        square_sums.iter_mut().for_each(|s| *s = 0.0);
        for x in input.chunks_exact(n) {
            zip_lanes(n, [x, &*mean], [&mut *square_sums], [], |[x, mean], [sum]| {
                let c = x.sub(mean);
                ([sum.add(c.mul(c))], [])
            });
        }

        let m = self.momentum;
        let unbiased = rows as f32 / (rows - 1) as f32;
        let (running_mean, running_var) = (&mut self.running_mean.value[..n], &mut self.running_var.value[..n]);
        let inverse_std = &mut self.inverse_std[..n];
        for j in 0..n {
            let variance = square_sums[j] / rows as f32;
            running_mean[j] = (1.0 - m) * running_mean[j] + m * mean[j];
            running_var[j] = (1.0 - m) * running_var[j] + m * variance * unbiased;
            inverse_std[j] = 1.0 / (variance + self.eps).sqrt();
        }

        let (gamma, beta, inverse_std) = (&self.weight.value[..n], &self.bias.value[..n], &*inverse_std);
        for (x, y) in input.chunks_exact(n).zip(output.chunks_exact_mut(n)) {
            zip_lanes(n, [x, &*mean, inverse_std, gamma, beta], [], [y], |[x, mean, inverse_std, gamma, beta], []| {
                ([], [normalize(x, mean, inverse_std).mul(gamma).add(beta)])
            });
        }
    }

    /// Evaluation forward: `y = x·a + (β − μ·a)` with a = γ/√(running σ² + ε).
    fn forward_eval(&mut self, input: &[f32], output: &mut [f32]) {
        let n = self.features;
        self.mean.copy_from_slice(&self.running_mean.value);
        let (slope, offset) = (&mut self.slope[..n], &mut self.sum_a[..n]);
        for j in 0..n {
            self.inverse_std[j] = 1.0 / (self.running_var.value[j] + self.eps).sqrt();
            slope[j] = self.weight.value[j] * self.inverse_std[j];
            offset[j] = self.bias.value[j] - self.mean[j] * slope[j];
        }
        for (x, y) in input.chunks_exact(n).zip(output.chunks_exact_mut(n)) {
            for j in 0..n {
                y[j] = x[j] * slope[j] + offset[j];
            }
        }
    }
}

/// x̂ = (x − μ)·(1/σ), in the order every pass computes it (so backward sees forward's x̂).
#[inline(always)]
fn normalize(x: F32x4, mean: F32x4, inverse_std: F32x4) -> F32x4 {
    x.sub(mean).mul(inverse_std)
}

impl Layer for BatchNorm {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "batchnorm"
    }

    fn output_dims(&self) -> &[usize] {
        &self.dims
    }

    /// Batch statistics need two values per feature (PyTorch: "Expected more than 1 value
    /// per channel when training").
    fn check_training_batch(&self, op: &str, batch: usize) -> Result<()> {
        let rows = self.rows(batch);
        if rows < 2 {
            let expected = format!("more than 1 value per feature for BatchNorm '{}' in training mode (a batch of 2 or more, or setTraining(false))", self.name);
            return Err(Error::invalid(op, "x", expected, format!("{} value per feature", rows)));
        }
        Ok(())
    }

    fn forward(&mut self, input: &[f32], batch: usize, mode: Mode, output: &mut [f32]) {
        self.mode = mode;
        match mode {
            Mode::Train => self.forward_train(input, self.rows(batch), output),
            Mode::Eval => self.forward_eval(input, output),
        }
    }

    fn backward(&mut self, input: &[f32], _output: &[f32], grad_output: &[f32], batch: usize, grad_input: Option<&mut [f32]>) {
        let (n, rows) = (self.features, self.rows(batch) as f32);
        let (mean, inverse_std) = (&self.mean[..n], &self.inverse_std[..n]);
        // ∂L/∂β = Σ ∂L/∂y and ∂L/∂γ = Σ ∂L/∂y·x̂, summed over the rows.
        // One pass for both sums, x̂ = (x − μ)/σ recomputed exactly as the forward pass made it
        // (with the running statistics in evaluation mode).
        let (grad_sum, grad_dot) = (&mut self.sum_a[..n], &mut self.sum_b[..n]);
        grad_sum.iter_mut().for_each(|s| *s = 0.0);
        grad_dot.iter_mut().for_each(|d| *d = 0.0);
        for (dy, x) in grad_output.chunks_exact(n).zip(input.chunks_exact(n)) {
            zip_lanes(n, [dy, x, mean, inverse_std], [&mut *grad_sum, &mut *grad_dot], [], |[dy, x, mean, inverse_std], [sum, dot]| {
                ([sum.add(dy), dot.add(dy.mul(normalize(x, mean, inverse_std)))], [])
            });
        }
        vector::axpy(1.0, grad_sum, &mut self.bias.grad);
        vector::axpy(1.0, grad_dot, &mut self.weight.grad);

        let grad_input = match grad_input {
            Some(grad_input) => grad_input,
            None => return,
        };
        let slope = &mut self.slope[..n];
        vector::mul(&self.weight.value, inverse_std, slope);
        match self.mode {
            // The running statistics are constants: ∂L/∂x = a·∂L/∂y with a = γ/σ.
            Mode::Eval => {
                for (dy, dx) in grad_output.chunks_exact(n).zip(grad_input.chunks_exact_mut(n)) {
                    vector::mul(dy, slope, dx);
                }
            }
            // Through μ_B and σ²_B as well: ∂L/∂x = a·∂L/∂y − a·mean(∂L/∂y) − x̂·a·mean(∂L/∂y·x̂).
            Mode::Train => {
                let (shift, tilt) = (grad_sum, grad_dot);
                for j in 0..n {
                    shift[j] *= slope[j] / rows;
                    tilt[j] *= slope[j] / rows;
                }
                let (shift, tilt, slope) = (&*shift, &*tilt, &*slope);
                let rows_of = grad_output.chunks_exact(n).zip(input.chunks_exact(n));
                for ((dy, x), dx) in rows_of.zip(grad_input.chunks_exact_mut(n)) {
                    let per_feature = [dy, x, mean, inverse_std, slope, shift, tilt];
                    zip_lanes(n, per_feature, [], [dx], |[dy, x, mean, inverse_std, slope, shift, tilt], []| {
                        ([], [slope.mul(dy).sub(shift).sub(normalize(x, mean, inverse_std).mul(tilt))])
                    });
                }
            }
        }
    }

    fn visit_params<'a>(&'a mut self, visit: &mut dyn FnMut(&'a mut Param)) {
        visit(&mut self.weight);
        visit(&mut self.bias);
    }

    /// Its output is the pre-activation of the nonlinearity that follows it.
    fn signals<'a>(&'a self, _input: &'a [f32], output: &'a [f32]) -> Option<Signals<'a>> {
        Some(Signals { activation: Some(Activation::Identity), pre_activation: output, output, units: self.features })
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&mut Buffer)) {
        visit(&mut self.running_mean);
        visit(&mut self.running_var);
    }

}
