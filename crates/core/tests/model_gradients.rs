//! Finite-difference checks of whole models: every activation, PReLU, residual blocks, each
//! loss and the L1/L2 penalty.

mod common;

use common::{check_model_gradients, random, ACTIVATIONS};
use gradlab_core::nn::{Activation, Clip, Init, LayerConfig, Loss, Method, ModelConfig, Optimizer, Penalty, Schedule, Target};
use gradlab_core::rng::Rng;

fn dense(units: usize, activation: Activation) -> LayerConfig {
    LayerConfig::Dense { name: None, units, activation, init: Init::Xavier, bias: true }
}

fn config(input: usize, layers: Vec<LayerConfig>, loss: Loss, penalty: Penalty) -> ModelConfig {
    ModelConfig {
        input_dims: vec![input],
        layers,
        loss,
        optimizer: Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 0.1, Schedule::Constant),
        clip: Clip::default(),
        penalty,
    }
}

#[test]
fn every_activation_in_dense_and_activation_layers() {
    for (seed, &activation) in ACTIVATIONS.iter().enumerate() {
        let mut rng = Rng::new(seed as u64);
        let (batch, input) = (4, 5);
        let x = random(&mut rng, batch * input, 1.5);
        let y = random(&mut rng, batch * 3, 1.0);
        let layers = vec![dense(6, activation), LayerConfig::Activation { name: None, activation }, dense(3, Activation::Identity)];
        check_model_gradients(config(input, layers, Loss::Mse, Penalty::default()), seed as u64, &x, batch, Target::Values(&y), 12);
    }
}

#[test]
fn each_loss_and_the_penalty() {
    let mut rng = Rng::new(11);
    let (batch, input) = (5, 4);
    let x = random(&mut rng, batch * input, 1.0);
    let classes = [0, 2, 1, 2, 0];
    let probabilities: Vec<f32> = (0..batch * 3).map(|_| rng.uniform(0.0, 1.0)).collect();
    let layers = || vec![dense(7, Activation::Tanh), dense(3, Activation::Identity)];
    check_model_gradients(config(input, layers(), Loss::SoftmaxCrossEntropy, Penalty::default()), 1, &x, batch, Target::Classes(&classes), 20);
    check_model_gradients(config(input, layers(), Loss::SigmoidCrossEntropy, Penalty::default()), 2, &x, batch, Target::Values(&probabilities), 20);
    check_model_gradients(config(input, layers(), Loss::Mse, Penalty { l1: 0.05, l2: 0.1 }), 3, &x, batch, Target::Values(&probabilities), 20);
}

#[test]
fn residual_blocks_nested() {
    let mut rng = Rng::new(5);
    let (batch, input) = (3, 4);
    let x = random(&mut rng, batch * input, 1.0);
    let y = random(&mut rng, batch * 2, 1.0);
    let inner = LayerConfig::Residual { name: None, layers: vec![dense(5, Activation::Tanh)] };
    let block = LayerConfig::Residual { name: Some("block".into()), layers: vec![dense(5, Activation::Relu), inner, dense(4, Activation::Sigmoid)] };
    let layers = vec![block, dense(2, Activation::Identity)];
    check_model_gradients(config(input, layers, Loss::Mse, Penalty::default()), 9, &x, batch, Target::Values(&y), 16);
}

#[test]
fn dense_applies_per_time_step_on_sequences() {
    let mut rng = Rng::new(8);
    let (batch, time, features) = (2, 3, 4);
    let x = random(&mut rng, batch * time * features, 1.0);
    let y = random(&mut rng, batch * time * 2, 1.0);
    let mut cfg = config(features, vec![dense(5, Activation::Tanh), dense(2, Activation::Identity)], Loss::Mse, Penalty::default());
    cfg.input_dims = vec![time, features];
    check_model_gradients(cfg, 4, &x, batch, Target::Values(&y), 16);
}
