//! A Bernoulli–Bernoulli restricted Boltzmann machine trained by contrastive divergence (CD-k):
//! the building block of Hinton's deep belief nets (Hinton, Osindero & Teh 2006), and the
//! procedure of Hinton's "A Practical Guide to Training Restricted Boltzmann Machines" (2010).
//!
//! Binary visible units v (n_v of them) and hidden units h (n_h), energy
//! `E(v, h) = −bᵀv − cᵀh − hᵀWv` with W [n_h, n_v] — a dense layer's `[out, in]` layout, so a
//! trained RBM's W and hidden bias c drop straight into the dense layer it pretrains. The
//! conditionals factorise:
//!
//! ```text
//! p(h_j = 1 | v) = σ(c_j + Σ_i W_ji v_i)        p(v_i = 1 | h) = σ(b_i + Σ_j h_j W_ji)
//! ```
//!
//! and the gradient of the mean log-likelihood of the data is a difference of two correlations,
//! `∂ log p(v)/∂W_ji = ⟨v_i h_j⟩_data − ⟨v_i h_j⟩_model` (the biases: `⟨v_i⟩` and `⟨h_j⟩`).
//! The data term is exact (h given v is a product of sigmoids); CD-k estimates the model term
//! by k steps of block Gibbs sampling started at the data.

use crate::error::{shape_str, Error, Result};
use crate::kernels::activation::{self, Kind};
use crate::kernels::{sgemm, vector};
use crate::rng::Rng;
use crate::size::{self, Count};

/// The most weights an RBM may have (64 Mi values, 256 MiB of f32), so no call from outside
/// can ask for unbounded memory.
pub const MAX_WEIGHTS: usize = 1 << 26;
/// The most rows processed in one block by the whole-dataset passes (reconstruction error,
/// hidden probabilities), and the most values such a block may hold, bounding their scratch.
const BLOCK_ROWS: usize = 256;
const BLOCK_VALUES: usize = 1 << 24;
/// The most values one CD update's chain (or one call's output) may hold: 1 GiB of f32.
pub const MAX_BATCH_VALUES: usize = 1 << 28;
/// The most Gibbs steps one CD update may take.
pub const MAX_GIBBS_STEPS: usize = 100_000;

/// Which parameter of an RBM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// W, [hidden, visible].
    Weight,
    /// b, [visible].
    VisibleBias,
    /// c, [hidden].
    HiddenBias,
}

/// The gradient of the mean log-likelihood (an ascent direction) for every parameter, or an
/// update of the same shapes (the momentum velocity).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gradient {
    /// [hidden, visible]
    pub weight: Vec<f32>,
    /// [visible]
    pub visible_bias: Vec<f32>,
    /// [hidden]
    pub hidden_bias: Vec<f32>,
}

impl Gradient {
    /// Zeros for an RBM whose `visible × hidden` was bounded at construction; allocated
    /// fallibly.
    fn zeros(op: &str, visible: usize, hidden: usize) -> Result<Gradient> {
        Ok(Gradient { weight: size::zeros(op, "weight", visible * hidden)?, visible_bias: size::zeros(op, "visibleBias", visible)?, hidden_bias: size::zeros(op, "hiddenBias", hidden)? })
    }
}

/// The hyper-parameters of CD-k training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CdConfig {
    /// Gibbs steps per update (CD-k); at least 1.
    pub k: usize,
    /// Learning rate ε of `Δθ = ε·(∂ log p/∂θ − λ·W)`.
    pub lr: f32,
    /// Momentum in [0, 1): the update is `velocity ← momentum·velocity + Δθ`.
    pub momentum: f32,
    /// L2 weight cost λ on W (not the biases).
    pub weight_decay: f32,
    /// Sample the visible units at every Gibbs step, making the chain an exact Gibbs sampler
    /// (use it when the estimate must converge to the true gradient as k grows). When false,
    /// the reconstruction uses the visible probabilities as Hinton's guide recommends (less
    /// sampling noise, a small bias). Hidden units driven by data are always sampled.
    pub sample_visible: bool,
}

impl Default for CdConfig {
    fn default() -> CdConfig {
        CdConfig { k: 1, lr: 0.1, momentum: 0.0, weight_decay: 0.0, sample_visible: false }
    }
}

impl CdConfig {
    /// Checks every field; `op` names the operation in the error.
    pub fn validate(&self, op: &str) -> Result<()> {
        if self.k == 0 || self.k > MAX_GIBBS_STEPS {
            return Err(Error::invalid(op, "k", format!("an integer in 1..={}", MAX_GIBBS_STEPS), self.k.to_string()));
        }
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return Err(Error::invalid(op, "lr", "a finite number ≥ 0", self.lr.to_string()));
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return Err(Error::invalid(op, "momentum", "a number in [0, 1)", self.momentum.to_string()));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::invalid(op, "weightDecay", "a finite number ≥ 0", self.weight_decay.to_string()));
        }
        Ok(())
    }
}

/// Scratch buffers of one CD-k update, kept between batches to avoid reallocating.
#[derive(Default)]
struct Chain {
    /// p(h | v_data), [rows, hidden]
    hidden_data: Vec<f32>,
    /// The current hidden state of the chain, [rows, hidden]
    hidden_state: Vec<f32>,
    /// The current visible state (probabilities or samples), [rows, visible]
    visible_model: Vec<f32>,
    /// p(h | visible_model), [rows, hidden]
    hidden_model: Vec<f32>,
    /// Pre-activations of whichever layer was computed last.
    pre_activation: Vec<f32>,
}

/// A Bernoulli–Bernoulli RBM. See the module documentation for the model.
pub struct Rbm {
    visible: usize,
    hidden: usize,
    weight: Vec<f32>,
    visible_bias: Vec<f32>,
    hidden_bias: Vec<f32>,
    velocity: Gradient,
    rng: Rng,
    chain: Chain,
}

impl Rbm {
    /// An RBM with W ~ N(0, 0.01²) and zero biases (Hinton's guide, §8); `seed` drives the
    /// initial weights, the shuffling of each epoch and every Gibbs sample.
    pub fn new(visible: usize, hidden: usize, seed: u64) -> Result<Rbm> {
        let op = "createRbm";
        if visible == 0 {
            return Err(Error::invalid(op, "visible", "a positive integer", "0"));
        }
        if hidden == 0 {
            return Err(Error::invalid(op, "hidden", "a positive integer", "0"));
        }
        let weights = Count::product(&[visible, hidden]).at_most(op, "visible × hidden", MAX_WEIGHTS)?;
        let mut rng = Rng::new(seed);
        let weight = size::filled(op, "weight", weights, || rng.normal(0.0, 0.01))?;
        Ok(Rbm {
            visible,
            hidden,
            weight,
            visible_bias: size::zeros(op, "visibleBias", visible)?,
            hidden_bias: size::zeros(op, "hiddenBias", hidden)?,
            velocity: Gradient::zeros(op, visible, hidden)?,
            rng,
            chain: Chain::default(),
        })
    }

    pub fn visible(&self) -> usize {
        self.visible
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The shape of a parameter: W [hidden, visible], b [visible], c [hidden].
    pub fn shape(&self, part: Part) -> Vec<usize> {
        match part {
            Part::Weight => vec![self.hidden, self.visible],
            Part::VisibleBias => vec![self.visible],
            Part::HiddenBias => vec![self.hidden],
        }
    }

    pub fn parameter(&self, part: Part) -> &[f32] {
        match part {
            Part::Weight => &self.weight,
            Part::VisibleBias => &self.visible_bias,
            Part::HiddenBias => &self.hidden_bias,
        }
    }

    /// Replaces a parameter; `values` must have its size and be finite.
    pub fn set_parameter(&mut self, op: &str, part: Part, values: &[f32]) -> Result<()> {
        let shape = self.shape(part);
        let target = match part {
            Part::Weight => &mut self.weight,
            Part::VisibleBias => &mut self.visible_bias,
            Part::HiddenBias => &mut self.hidden_bias,
        };
        if values.len() != target.len() {
            return Err(Error::shape(op, "values", shape_str(&shape), format!("{} values", values.len())));
        }
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(Error::invalid(op, "values", "finite numbers", bad.to_string()));
        }
        target.copy_from_slice(values);
        Ok(())
    }

    /// Rows per block of the whole-dataset passes: [`BLOCK_ROWS`], fewer for wide layers so
    /// a block stays within [`BLOCK_VALUES`] (256 · a wide layer would overflow 32 bits).
    fn block_rows(&self) -> usize {
        (BLOCK_VALUES / self.visible.max(self.hidden)).max(1).min(BLOCK_ROWS)
    }

    /// Checks that a CD update on `rows` rows fits: its chain keeps three hidden states
    /// and two visible ones per row (see [`Chain`]). `arg` names what set `rows`.
    fn check_chain(&self, op: &str, arg: &str, rows: usize) -> Result<()> {
        let per_row = Count::of(self.hidden).times(3).plus(Count::of(self.visible).times(2));
        per_row.times(rows).at_most(op, arg, MAX_BATCH_VALUES).map(drop)
    }

    /// Checks that `data` is `rows` visible vectors with every value a probability in [0, 1].
    pub fn check_data(&self, op: &str, data: &[f32], rows: usize) -> Result<()> {
        if rows.checked_mul(self.visible) != Some(data.len()) {
            return Err(Error::shape(op, "x", shape_str(&[rows, self.visible]), format!("{} values", data.len())));
        }
        if let Some(bad) = data.iter().find(|v| !(**v >= 0.0 && **v <= 1.0)) {
            return Err(Error::invalid(op, "x", "values in [0, 1] (binary data or probabilities)", bad.to_string()));
        }
        Ok(())
    }

    /// Sets each visible bias to the log-odds `log(p_i / (1 − p_i))` of unit i being on in the
    /// data (p clamped to [0.001, 0.999]): Hinton's guide, §8, so that the hidden units need
    /// not learn the pixel frequencies first.
    pub fn init_visible_bias(&mut self, data: &[f32], rows: usize) -> Result<()> {
        self.check_data("rbm.initVisibleBias", data, rows)?;
        if rows == 0 {
            return Err(Error::invalid("rbm.initVisibleBias", "x", "at least one row", "0 rows"));
        }
        let mut on = vec![0.0f32; self.visible];
        vector::accumulate_column_sums(data, &mut on);
        for (bias, count) in self.visible_bias.iter_mut().zip(&on) {
            let p = (count / rows as f32).max(0.001).min(0.999);
            *bias = (p / (1.0 - p)).ln();
        }
        Ok(())
    }

    /// `out = σ(v · Wᵀ + c)` = p(h = 1 | v) for `rows` visible vectors; `out` is [rows, hidden].
    fn up(&self, v: &[f32], rows: usize, pre: &mut Vec<f32>, out: &mut [f32]) {
        let (nv, nh) = (self.visible, self.hidden);
        pre.resize(rows * nh, 0.0);
        sgemm(false, true, rows, nh, nv, 1.0, v, nv, &self.weight, nv, 0.0, pre, nh);
        vector::add_row(pre, &self.hidden_bias);
        activation::forward(Kind::Sigmoid, pre, out);
    }

    /// `out = σ(h · W + b)` = p(v = 1 | h) for `rows` hidden vectors; `out` is [rows, visible].
    fn down(&self, h: &[f32], rows: usize, pre: &mut Vec<f32>, out: &mut [f32]) {
        let (nv, nh) = (self.visible, self.hidden);
        pre.resize(rows * nv, 0.0);
        sgemm(false, false, rows, nv, nh, 1.0, h, nh, &self.weight, nv, 0.0, pre, nv);
        vector::add_row(pre, &self.visible_bias);
        activation::forward(Kind::Sigmoid, pre, out);
    }

    /// Replaces every probability with a Bernoulli sample of it (1 with probability p).
    fn sample(&mut self, probabilities: &mut [f32]) {
        for p in probabilities.iter_mut() {
            *p = if self.rng.uniform(0.0, 1.0) < *p { 1.0 } else { 0.0 };
        }
    }

    /// p(h = 1 | v) for `rows` visible vectors in `data` ([rows, visible]); returns [rows, hidden].
    pub fn hidden_probabilities(&self, op: &str, data: &[f32], rows: usize) -> Result<Vec<f32>> {
        self.check_data(op, data, rows)?;
        let len = Count::product(&[rows, self.hidden]).at_most(op, "x", MAX_BATCH_VALUES)?;
        let mut out = size::zeros(op, "x", len)?;
        let mut pre = Vec::new();
        let block = self.block_rows();
        for (v, h) in data.chunks(block * self.visible).zip(out.chunks_mut(block * self.hidden)) {
            self.up(v, v.len() / self.visible, &mut pre, h);
        }
        Ok(out)
    }

    /// The mean over rows of `Σ_i (v_i − v̂_i)²`, where `v̂ = p(v | p(h | v))` is the
    /// deterministic (mean-field) reconstruction: the squared error Hinton's guide monitors.
    pub fn reconstruction_error(&self, op: &str, data: &[f32], rows: usize) -> Result<f64> {
        self.check_data(op, data, rows)?;
        if rows == 0 {
            return Ok(0.0);
        }
        let (mut pre, mut hidden, mut reconstruction) = (Vec::new(), Vec::new(), Vec::new());
        let mut total = 0.0f64;
        for v in data.chunks(self.block_rows() * self.visible) {
            let block = v.len() / self.visible;
            hidden.resize(block * self.hidden, 0.0);
            reconstruction.resize(v.len(), 0.0);
            self.up(v, block, &mut pre, &mut hidden);
            self.down(&hidden, block, &mut pre, &mut reconstruction);
            // reconstruction ← v̂ − v
            vector::axpy(-1.0, v, &mut reconstruction);
            total += vector::sum_squares(&reconstruction);
        }
        Ok(total / rows as f64)
    }

    /// The free energy `F(v) = −bᵀv − Σ_j softplus(c_j + W_j·v)` of one visible vector, so that
    /// `p(v) = exp(−F(v)) / Z`. In f64; `v` must have `visible` values.
    pub fn free_energy(&self, v: &[f32]) -> Result<f64> {
        if v.len() != self.visible {
            return Err(Error::shape("freeEnergy", "v", shape_str(&[self.visible]), format!("{} values", v.len())));
        }
        let visible_term: f64 = v.iter().zip(&self.visible_bias).map(|(&x, &b)| x as f64 * b as f64).sum();
        let hidden_term: f64 = self
            .weight
            .chunks_exact(self.visible)
            .zip(&self.hidden_bias)
            .map(|(row, &c)| {
                let z = c as f64 + row.iter().zip(v).map(|(&w, &x)| w as f64 * x as f64).sum::<f64>();
                // softplus(z) = log(1 + eᶻ), written to stay finite for large |z|.
                z.max(0.0) + (-z.abs()).exp().ln_1p()
            })
            .sum();
        Ok(-visible_term - hidden_term)
    }

    /// The CD-k estimate of the gradient of the mean log-likelihood of `rows` visible vectors
    /// `data` ([rows, visible], values in [0, 1]), averaged over the rows. Each row starts its
    /// own chain. Changes no parameter (only the random stream advances).
    pub fn cd_gradient(&mut self, data: &[f32], rows: usize, k: usize, sample_visible: bool) -> Result<Gradient> {
        let op = "cdGradient";
        self.check_data(op, data, rows)?;
        CdConfig { k, sample_visible, ..CdConfig::default() }.validate(op)?;
        if rows == 0 {
            return Err(Error::invalid(op, "x", "at least one row", "0 rows"));
        }
        self.check_chain(op, "x", rows)?;
        let mut gradient = Gradient::zeros(op, self.visible, self.hidden)?;
        self.contrastive_divergence(data, rows, k, sample_visible, &mut gradient);
        Ok(gradient)
    }

    /// CD-k on a batch whose shape is already checked: writes the gradient estimate.
    ///
    /// Positive phase: `p(h | v₀)`; statistics `v₀ p(h|v₀)ᵀ`. Then k Gibbs steps from a sample
    /// of h: `v ~ p(v | h)` (or its probabilities), `h ~ p(h | v)`. Negative statistics use
    /// the last step's hidden probabilities, not a sample (Hinton's guide §3.3: less noise,
    /// same expectation).
    fn contrastive_divergence(&mut self, data: &[f32], rows: usize, k: usize, sample_visible: bool, gradient: &mut Gradient) {
        let (nv, nh) = (self.visible, self.hidden);
        let mut chain = std::mem::take(&mut self.chain);
        chain.hidden_data.resize(rows * nh, 0.0);
        chain.hidden_state.resize(rows * nh, 0.0);
        chain.hidden_model.resize(rows * nh, 0.0);
        chain.visible_model.resize(rows * nv, 0.0);

        self.up(data, rows, &mut chain.pre_activation, &mut chain.hidden_data);
        chain.hidden_state.copy_from_slice(&chain.hidden_data);
        for step in 0..k {
            self.sample(&mut chain.hidden_state);
            self.down(&chain.hidden_state, rows, &mut chain.pre_activation, &mut chain.visible_model);
            if sample_visible {
                self.sample(&mut chain.visible_model);
            }
            self.up(&chain.visible_model, rows, &mut chain.pre_activation, &mut chain.hidden_model);
            if step + 1 < k {
                chain.hidden_state.copy_from_slice(&chain.hidden_model);
            }
        }

        let scale = 1.0 / rows as f32;
        // ∂/∂W = (p(h|v₀)ᵀ·v₀ − p(h|v_k)ᵀ·v_k) / rows, both [hidden, rows]·[rows, visible].
        sgemm(true, false, nh, nv, rows, scale, &chain.hidden_data, nh, data, nv, 0.0, &mut gradient.weight, nv);
        sgemm(true, false, nh, nv, rows, -scale, &chain.hidden_model, nh, &chain.visible_model, nv, 1.0, &mut gradient.weight, nv);
        column_mean_difference(data, &chain.visible_model, rows, &mut gradient.visible_bias);
        column_mean_difference(&chain.hidden_data, &chain.hidden_model, rows, &mut gradient.hidden_bias);
        self.chain = chain;
    }

    /// One step of gradient ascent with momentum and weight cost:
    /// `velocity ← momentum·velocity + lr·(gradient − λ·W)`, then `θ ← θ + velocity`.
    fn apply(&mut self, gradient: &Gradient, config: &CdConfig) {
        let velocity = &mut self.velocity;
        vector::scale(config.momentum, &mut velocity.weight);
        vector::axpy(config.lr, &gradient.weight, &mut velocity.weight);
        vector::axpy(-config.lr * config.weight_decay, &self.weight, &mut velocity.weight);
        vector::axpy(1.0, &velocity.weight, &mut self.weight);
        for (velocity, gradient, value) in [
            (&mut velocity.visible_bias, &gradient.visible_bias, &mut self.visible_bias),
            (&mut velocity.hidden_bias, &gradient.hidden_bias, &mut self.hidden_bias),
        ] {
            vector::scale(config.momentum, velocity);
            vector::axpy(config.lr, gradient, velocity);
            vector::axpy(1.0, velocity, value);
        }
    }

    /// One epoch of CD-k over `data` ([rows, visible], values in [0, 1]) in shuffled
    /// mini-batches of `batch_size`, one update per batch. Returns the reconstruction error
    /// (see [`Rbm::reconstruction_error`]) over all of `data` after the epoch.
    pub fn train_epoch(&mut self, data: &[f32], rows: usize, batch_size: usize, config: &CdConfig) -> Result<f64> {
        let op = "rbm.trainEpoch";
        self.check_data(op, data, rows)?;
        config.validate(op)?;
        if batch_size == 0 {
            return Err(Error::invalid(op, "batchSize", "a positive integer", "0"));
        }
        if rows == 0 {
            return Err(Error::invalid(op, "x", "at least one row", "0 rows"));
        }
        self.check_chain(op, "batchSize", batch_size.min(rows))?;
        let nv = self.visible;
        let mut order: Vec<usize> = (0..rows).collect();
        self.rng.shuffle(&mut order);
        let mut batch = Vec::with_capacity(batch_size.min(rows) * nv);
        let mut gradient = Gradient::zeros(op, self.visible, self.hidden)?;
        for indices in order.chunks(batch_size) {
            batch.clear();
            for &row in indices {
                batch.extend_from_slice(&data[row * nv..(row + 1) * nv]);
            }
            self.contrastive_divergence(&batch, indices.len(), config.k, config.sample_visible, &mut gradient);
            self.apply(&gradient, config);
        }
        self.reconstruction_error(op, data, rows)
    }
}

/// `out[j] = (Σ_r a[r, j] − Σ_r b[r, j]) / rows` for two row-major matrices with `out.len()` columns.
fn column_mean_difference(a: &[f32], b: &[f32], rows: usize, out: &mut [f32]) {
    let mut negative = vec![0.0; out.len()];
    out.iter_mut().for_each(|v| *v = 0.0);
    vector::accumulate_column_sums(a, out);
    vector::accumulate_column_sums(b, &mut negative);
    vector::axpy(-1.0, &negative, out);
    vector::scale(1.0 / rows as f32, out);
}
