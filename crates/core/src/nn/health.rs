//! Gradient-health measurements of one batch, taken right after its backward pass from the
//! values the pass already holds (no extra forward or backward): per layer the pre-activation
//! mean and standard deviation, the share of saturated sigmoid/tanh outputs, the share of dead
//! ReLU units, and fixed-bin histograms of activations, pre-activations and weight gradients.
//! The doctor (ts/doctor) turns them into findings.
//!
//! A layer's *pre-activation* is what enters the nonlinearity that follows it: a dense layer's
//! `x·Wᵀ + b`, a BatchNorm's output, a recurrent layer's z_t. A parameterless activation layer
//! right after an identity layer in the same chain (`dense → batchnorm → activation`) is
//! measured as that layer's nonlinearity, so every record names a layer of `diagnostics()`.

use super::activation::Activation;
use super::layer::{Layer, Role};
use super::sequential::Sequential;

/// Bins of every histogram.
pub const HISTOGRAM_BINS: usize = 30;

/// A sigmoid or tanh output within this distance of a bound (0 or ±1) is saturated: its
/// derivative is below 0.01 (sigmoid) or 0.02 (tanh) of its peak's neighbourhood.
pub const SATURATION_MARGIN: f32 = 0.01;

/// The decades of |∂C/∂W| the log-scaled gradient histogram spans: 10⁻⁸ … 10².
pub const GRADIENT_LOG10_RANGE: (f64, f64) = (-8.0, 2.0);

/// Counts of values in [`HISTOGRAM_BINS`] equal bins over `[min, max]`; on a log scale the
/// bins are over log10|v| and `min`, `max` are decades.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub log: bool,
    pub counts: [u32; HISTOGRAM_BINS],
    /// Values left out: non-finite ones always, zeros on a log scale.
    pub excluded: u32,
}

impl Histogram {
    /// Linear bins over the range of the finite values: value v falls in bin
    /// `min(BINS − 1, ⌊(v − min)·BINS/(max − min)⌋)`, computed in f64; all in bin 0 when every
    /// value is the same.
    pub fn linear(values: &[f32]) -> Histogram {
        let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in values.iter().filter(|v| v.is_finite()) {
            min = min.min(v);
            max = max.max(v);
        }
        let mut histogram = Histogram { min: 0.0, max: 0.0, log: false, counts: [0; HISTOGRAM_BINS], excluded: 0 };
        if min > max {
            histogram.excluded = values.len() as u32;
            return histogram;
        }
        histogram.min = min as f64;
        histogram.max = max as f64;
        let scale = if max > min { HISTOGRAM_BINS as f64 / (max as f64 - min as f64) } else { 0.0 };
        for &v in values {
            if v.is_finite() {
                let bin = ((v as f64 - histogram.min) * scale) as usize;
                histogram.counts[bin.min(HISTOGRAM_BINS - 1)] += 1;
            } else {
                histogram.excluded += 1;
            }
        }
        histogram
    }

    /// An empty histogram over log10|v| in `range` (decades); fill it with
    /// [`Histogram::add_magnitudes`].
    pub fn log_magnitude(range: (f64, f64)) -> Histogram {
        Histogram { min: range.0, max: range.1, log: true, counts: [0; HISTOGRAM_BINS], excluded: 0 }
    }

    /// Counts `values` on a log scale: bin i holds 10^(min + i·w) ≤ |v| < 10^(min + (i+1)·w),
    /// w = (max − min)/BINS, magnitudes outside the range in the first or last bin; zeros and
    /// non-finite values are excluded. Exact comparisons against the edges, no logarithm per value.
    pub fn add_magnitudes(&mut self, values: &[f32]) {
        let width = (self.max - self.min) / HISTOGRAM_BINS as f64;
        let mut edges = [0.0f64; HISTOGRAM_BINS - 1];
        for (i, edge) in edges.iter_mut().enumerate() {
            *edge = 10f64.powf(self.min + (i + 1) as f64 * width);
        }
        for &v in values {
            let magnitude = (v as f64).abs();
            if magnitude == 0.0 || !magnitude.is_finite() {
                self.excluded += 1;
            } else {
                self.counts[edges.partition_point(|&edge| edge <= magnitude)] += 1;
            }
        }
    }
}

/// What a layer's last forward pass holds for the measurements.
pub struct Signals<'a> {
    /// The nonlinearity that made `output` from `pre_activation`; `None` where it is not one
    /// activation (an LSTM's gates), so neither saturation nor dead units are measured.
    pub activation: Option<Activation>,
    pub pre_activation: &'a [f32],
    pub output: &'a [f32],
    /// Units per row of `output` (its last axis).
    pub units: usize,
}

/// One layer's measurements on the last batch.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerHealth {
    pub name: String,
    pub kind: &'static str,
    pub activation: Option<Activation>,
    pub pre_activation_mean: f64,
    pub pre_activation_std: f64,
    /// Share of sigmoid/tanh outputs within [`SATURATION_MARGIN`] of a bound; `None` for
    /// other activations.
    pub saturated_fraction: Option<f64>,
    /// Share of ReLU units whose output is zero for every row of the batch; `None` for other
    /// activations (leaky ReLU, PReLU and ELU always pass some gradient back).
    pub dead_fraction: Option<f64>,
    pub activations: Histogram,
    pub pre_activations: Histogram,
    /// log10|∂C/∂W| over the layer's weights (BatchNorm: its scale).
    pub gradients: Histogram,
}

/// Mean and (biased, as PyTorch's `std(unbiased=False)`) standard deviation, in f64.
fn mean_std(values: &[f32]) -> (f64, f64) {
    let (mut sum, mut squares) = (0.0f64, 0.0f64);
    for &v in values {
        sum += v as f64;
        squares += (v as f64) * (v as f64);
    }
    let n = values.len().max(1) as f64;
    let mean = sum / n;
    (mean, (squares / n - mean * mean).max(0.0).sqrt())
}

fn saturated_fraction(activation: Activation, output: &[f32]) -> Option<f64> {
    let saturated = match activation {
        Activation::Sigmoid => output.iter().filter(|&&y| y <= SATURATION_MARGIN || y >= 1.0 - SATURATION_MARGIN).count(),
        Activation::Tanh => output.iter().filter(|&&y| y.abs() >= 1.0 - SATURATION_MARGIN).count(),
        _ => return None,
    };
    Some(saturated as f64 / output.len().max(1) as f64)
}

fn dead_fraction(activation: Activation, output: &[f32], units: usize) -> Option<f64> {
    if activation != Activation::Relu || units == 0 {
        return None;
    }
    let mut alive = vec![false; units];
    for row in output.chunks_exact(units) {
        alive.iter_mut().zip(row).for_each(|(a, &y)| *a |= y != 0.0);
    }
    Some(alive.iter().filter(|a| !**a).count() as f64 / units as f64)
}

impl LayerHealth {
    /// Sets the nonlinearity's part of the record: its activation, saturation, dead units and
    /// the activation histogram.
    fn set_nonlinearity(&mut self, activation: Option<Activation>, output: &[f32], units: usize) {
        self.activation = activation;
        self.saturated_fraction = activation.and_then(|a| saturated_fraction(a, output));
        self.dead_fraction = activation.and_then(|a| dead_fraction(a, output, units));
        self.activations = Histogram::linear(output);
    }
}

/// Measures every layer of `body` (nested residual bodies included) after a backward pass on
/// `input`, replacing the contents of `records`, in forward order.
pub fn measure(body: &mut Sequential, input: &[f32], records: &mut Vec<LayerHealth>) {
    records.clear();
    walk(body, input, records);
}

fn walk(body: &mut Sequential, input: &[f32], records: &mut Vec<LayerHealth>) {
    let (layers, outputs) = body.layers_and_outputs();
    // The record a following activation layer may still complete: the last one, when it was
    // made by the previous layer of this chain and has no nonlinearity of its own.
    let mut open: Option<usize> = None;
    for (i, layer) in layers.iter_mut().enumerate() {
        let layer_input: &[f32] = if i == 0 { input } else { &outputs[i - 1] };
        let layer_output: &[f32] = &outputs[i];
        if let Some(nested) = layer.body_mut() {
            walk(nested, layer_input, records);
            open = None;
            continue;
        }
        // Layers that own a weight or bias get a record, as in `Model::layer_stats`.
        let mut owns_params = false;
        let mut histogram = Histogram::log_magnitude(GRADIENT_LOG10_RANGE);
        layer.visit_params(&mut |p| {
            owns_params |= p.role != Role::Slope;
            if matches!(p.role, Role::Weight | Role::Scale) {
                histogram.add_magnitudes(&p.grad);
            }
        });
        let gradients = if owns_params { Some(histogram) } else { None };
        let layer: &dyn Layer = layer.as_ref();
        let signals = match layer.signals(layer_input, layer_output) {
            Some(signals) => signals,
            None => {
                open = None;
                continue;
            }
        };
        match (gradients, open) {
            (Some(gradients), _) => {
                let (mean, std) = mean_std(signals.pre_activation);
                let mut record = LayerHealth {
                    name: layer.name().to_string(),
                    kind: layer.kind(),
                    activation: None,
                    pre_activation_mean: mean,
                    pre_activation_std: std,
                    saturated_fraction: None,
                    dead_fraction: None,
                    activations: Histogram::linear(&[]),
                    pre_activations: Histogram::linear(signals.pre_activation),
                    gradients,
                };
                record.set_nonlinearity(signals.activation, signals.output, signals.units);
                open = if signals.activation == Some(Activation::Identity) { Some(records.len()) } else { None };
                records.push(record);
            }
            (None, Some(index)) => {
                records[index].set_nonlinearity(signals.activation, signals.output, signals.units);
                open = None;
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_histogram_puts_each_value_in_its_bin_and_the_maximum_in_the_last() {
        let values = [0.0, 1.0, 2.0, 3.0, f32::NAN, 0.5];
        let h = Histogram::linear(&values);
        assert_eq!((h.min, h.max, h.excluded), (0.0, 3.0, 1));
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[5], 1); // 0.5 · 30/3 = 5
        assert_eq!(h.counts[10], 1);
        assert_eq!(h.counts[20], 1);
        assert_eq!(h.counts[HISTOGRAM_BINS - 1], 1);
        assert_eq!(h.counts.iter().sum::<u32>(), 5);
        let constant = Histogram::linear(&[2.0; 4]);
        assert_eq!((constant.counts[0], constant.min, constant.max), (4, 2.0, 2.0));
    }

    #[test]
    fn log_histogram_bins_by_decade_and_excludes_zeros() {
        // 3 bins per decade over [-8, 2]: 1e-8 starts bin 0, 1.2 is in bin 24, 1e-3 starts bin 15.
        let mut h = Histogram::log_magnitude((-8.0, 2.0));
        h.add_magnitudes(&[0.0, 1.2, -1.5e-3, 1e-12, 1e9]);
        h.add_magnitudes(&[f32::INFINITY]);
        assert_eq!(h.excluded, 2);
        assert_eq!((h.counts[24], h.counts[15], h.counts[0], h.counts[29]), (1, 1, 1, 1));
        assert_eq!(h.counts.iter().sum::<u32>(), 4);
    }

    #[test]
    fn saturation_and_dead_units_follow_their_definitions() {
        assert_eq!(saturated_fraction(Activation::Sigmoid, &[0.005, 0.5, 0.995, 0.2]), Some(0.5));
        assert_eq!(saturated_fraction(Activation::Tanh, &[-0.995, 0.0, 0.98, 1.0]), Some(0.5));
        assert_eq!(saturated_fraction(Activation::Relu, &[0.0]), None);
        // Three units over two rows: unit 1 is zero in both.
        assert_eq!(dead_fraction(Activation::Relu, &[0.0, 0.0, 1.0, 2.0, 0.0, 0.0], 3), Some(1.0 / 3.0));
        assert_eq!(dead_fraction(Activation::LeakyRelu(0.01), &[0.0, 0.0], 2), None);
        let (mean, std) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert!((mean - 2.5).abs() < 1e-12 && (std - 1.25f64.sqrt()).abs() < 1e-12);
    }
}
