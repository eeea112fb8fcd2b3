//! Weight initialisers. `fan_in` is the number of inputs to a unit, `fan_out` the number of
//! units; every draw comes from the model's seeded generator.

use crate::error::Result;
use crate::rng::Rng;
use crate::size::{self, Count};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// PyTorch's `nn.Linear` default: weight and bias U(−1/√fan_in, 1/√fan_in).
    Default,
    /// Nielsen's: weights N(0, 1/fan_in) (std 1/√fan_in), biases N(0, 1).
    Nielsen,
    /// Weights and biases N(0, 1): the "large" initialisation that makes gradients explode.
    Normal,
    /// Weights N(0, std²), biases zero.
    NormalStd(f32),
    /// Glorot: N(0, 2/(fan_in + fan_out)), biases zero.
    Xavier,
    /// Glorot: U(±√(6/(fan_in + fan_out))), biases zero.
    XavierUniform,
    /// Kaiming for ReLU: N(0, 2/fan_in), biases zero.
    He,
    /// Kaiming for ReLU: U(±√(6/fan_in)), biases zero.
    HeUniform,
    /// LeCun: N(0, 1/fan_in), biases zero.
    Lecun,
    Zeros,
}

/// Values are allocated fallibly: a model too large for the memory left is an error.
const OP: &str = "createModel";

fn normal(rng: &mut Rng, len: usize, std: f32) -> Result<Vec<f32>> {
    size::filled(OP, "weights", len, || rng.normal(0.0, std))
}

fn uniform(rng: &mut Rng, len: usize, bound: f32) -> Result<Vec<f32>> {
    size::filled(OP, "weights", len, || rng.uniform(-bound, bound))
}

/// Initial `(weight [fan_out × fan_in], bias [fan_out])` of a dense layer. The builder has
/// bounded `fan_in · fan_out` (see `build::MAX_PARAMETERS`); it is checked again here.
pub fn dense(init: Init, fan_in: usize, fan_out: usize, rng: &mut Rng) -> Result<(Vec<f32>, Vec<f32>)> {
    let weights = Count::product(&[fan_in, fan_out]).at_most(OP, "weights", usize::MAX)?;
    let fan_in_f = fan_in.max(1) as f32;
    let fan_sum = (fan_in + fan_out).max(1) as f32;
    let zeros = || size::zeros(OP, "bias", fan_out);
    Ok(match init {
        Init::Default => {
            let bound = 1.0 / fan_in_f.sqrt();
            let w = uniform(rng, weights, bound)?;
            (w, uniform(rng, fan_out, bound)?)
        }
        Init::Nielsen => {
            let w = normal(rng, weights, 1.0 / fan_in_f.sqrt())?;
            (w, normal(rng, fan_out, 1.0)?)
        }
        Init::Normal => {
            let w = normal(rng, weights, 1.0)?;
            (w, normal(rng, fan_out, 1.0)?)
        }
        Init::NormalStd(std) => (normal(rng, weights, std)?, zeros()?),
        Init::Xavier => (normal(rng, weights, (2.0 / fan_sum).sqrt())?, zeros()?),
        Init::XavierUniform => (uniform(rng, weights, (6.0 / fan_sum).sqrt())?, zeros()?),
        Init::He => (normal(rng, weights, (2.0 / fan_in_f).sqrt())?, zeros()?),
        Init::HeUniform => (uniform(rng, weights, (6.0 / fan_in_f).sqrt())?, zeros()?),
        Init::Lecun => (normal(rng, weights, (1.0 / fan_in_f).sqrt())?, zeros()?),
        Init::Zeros => (size::zeros(OP, "weights", weights)?, zeros()?),
    })
}

/// U(−bound, bound) values, for layers with PyTorch's uniform defaults (RNN, LSTM).
pub fn uniform_values(rng: &mut Rng, len: usize, bound: f32) -> Result<Vec<f32>> {
    uniform(rng, len, bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_of(values: &[f32]) -> f64 {
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        (values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt()
    }

    #[test]
    fn scales_follow_fan_in_and_fan_out() {
        let mut rng = Rng::new(1);
        let (w, b) = dense(Init::Nielsen, 400, 100, &mut rng).unwrap();
        assert!((std_of(&w) - 0.05).abs() < 0.002);
        assert!((std_of(&b) - 1.0).abs() < 0.2);
        let (w, b) = dense(Init::He, 200, 300, &mut rng).unwrap();
        assert!((std_of(&w) - 0.1).abs() < 0.003);
        assert!(b.iter().all(|&v| v == 0.0));
        let (w, _) = dense(Init::XavierUniform, 100, 200, &mut rng).unwrap();
        let bound = (6.0f32 / 300.0).sqrt();
        assert!(w.iter().all(|&v| v.abs() <= bound));
        let (w, b) = dense(Init::Default, 16, 8, &mut rng).unwrap();
        assert!(w.iter().chain(&b).all(|&v| v.abs() <= 0.25));
    }
}
