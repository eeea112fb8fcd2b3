//! BatchNorm: the forward pass and running statistics against an f64 reference, finite-
//! difference checks in training and evaluation mode (alone, inside dense → BN → activation
//! chains, in a residual block, on sequences [T, F]), and its errors.

mod common;

use common::{check_gradients, random};
use gradlab_core::nn::{Activation, Clip, Init, LayerConfig, Loss, Method, Model, ModelConfig, Optimizer, Penalty, Schedule, Target};
use gradlab_core::rng::Rng;

fn dense(units: usize, activation: Activation) -> LayerConfig {
    LayerConfig::Dense { name: None, units, activation, init: Init::Xavier, bias: true }
}

fn batchnorm() -> LayerConfig {
    LayerConfig::BatchNorm { name: None, momentum: 0.1, eps: 1e-5 }
}

fn activation(activation: Activation) -> LayerConfig {
    LayerConfig::Activation { name: None, activation }
}

fn config(input_dims: Vec<usize>, layers: Vec<LayerConfig>, loss: Loss) -> ModelConfig {
    ModelConfig {
        input_dims,
        layers,
        loss,
        optimizer: Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 0.1, Schedule::Constant),
        clip: Clip::default(),
        penalty: Penalty::default(),
    }
}

/// Replaces every parameter and buffer with random values, so no gradient is checked at a
/// special point (γ = 1, β = 0, running statistics 0 and 1). Variances stay positive.
fn randomize(model: &mut Model, rng: &mut Rng) {
    for (index, entry) in model.state_entries().to_vec().iter().enumerate() {
        let (low, high) = if entry.name.ends_with("running_var") { (0.5, 2.0) } else { (-1.0, 1.0) };
        model.with_entry("test", index, |values, _| values.iter_mut().for_each(|v| *v = rng.uniform(low, high))).unwrap();
    }
}

fn values_of(model: &mut Model, name: &str) -> Vec<f32> {
    let index = model.state_entries().iter().position(|e| e.name == name).unwrap_or_else(|| panic!("no entry {}", name));
    model.with_entry("test", index, |values, _| values.clone()).unwrap()
}

/// Builds `config`, randomises its state, sets the mode, and checks every parameter gradient.
fn check(config: ModelConfig, training: bool, x: &[f32], batch: usize, target: Target, seed: u64) {
    let mut model = Model::new(config, seed).unwrap();
    randomize(&mut model, &mut Rng::new(seed + 100));
    model.set_training(training);
    check_gradients(&mut model, x, batch, target, 12);
}

#[test]
fn training_forward_and_running_statistics_match_an_f64_reference() {
    let (rows, features, momentum, eps) = (7, 5, 0.25f32, 1e-3f32);
    let mut rng = Rng::new(1);
    // An offset of 50 checks that the variance is computed from centred values.
    let x: Vec<f32> = (0..rows * features).map(|_| 50.0 + rng.uniform(-2.0, 2.0)).collect();
    let layers = vec![LayerConfig::BatchNorm { name: Some("norm".into()), momentum, eps }];
    let mut model = Model::new(config(vec![features], layers, Loss::Mse), 0).unwrap();
    randomize(&mut model, &mut rng);
    let (gamma, beta) = (values_of(&mut model, "norm.weight"), values_of(&mut model, "norm.bias"));
    let (mean_before, var_before) = (values_of(&mut model, "norm.running_mean"), values_of(&mut model, "norm.running_var"));
    // mse against zeros is mean(y²): it checks every training output at once.
    let zeros = vec![0.0; rows * features];
    let loss = model.compute_gradients("test", &x, rows, &Target::Values(&zeros)).unwrap().data_loss;

    let (mean_after, var_after) = (values_of(&mut model, "norm.running_mean"), values_of(&mut model, "norm.running_var"));
    let close = |got: f32, expected: f64, what: &str| assert!((got as f64 - expected).abs() < 1e-4 * expected.abs().max(1.0), "{}: {} vs {}", what, got, expected);
    let mut square_sum_of_outputs = 0.0;
    for j in 0..features {
        let column: Vec<f64> = (0..rows).map(|r| x[r * features + j] as f64).collect();
        let mean = column.iter().sum::<f64>() / rows as f64;
        let square_sum: f64 = column.iter().map(|v| (v - mean).powi(2)).sum();
        let inverse_std = 1.0 / (square_sum / rows as f64 + eps as f64).sqrt();
        square_sum_of_outputs += column.iter().map(|v| ((v - mean) * inverse_std * gamma[j] as f64 + beta[j] as f64).powi(2)).sum::<f64>();
        let m = momentum as f64;
        close(mean_after[j], (1.0 - m) * mean_before[j] as f64 + m * mean, "running_mean");
        close(var_after[j], (1.0 - m) * var_before[j] as f64 + m * square_sum / (rows - 1) as f64, "running_var");
    }
    close(loss as f32, square_sum_of_outputs / (rows * features) as f64, "mean(y²)");
}

#[test]
fn gradients_in_training_mode_alone_and_in_a_chain() {
    let mut rng = Rng::new(2);
    let (batch, input) = (6, 4);
    let x = random(&mut rng, batch * input, 1.5);
    let y: Vec<i32> = (0..batch).map(|i| (i % 3) as i32).collect();
    // BatchNorm straight on the input (its ∂x is not needed) …
    let alone = config(vec![input], vec![batchnorm(), dense(3, Activation::Identity)], Loss::SoftmaxCrossEntropy);
    check(alone, true, &x, batch, Target::Classes(&y), 3);
    // … and between layers, where the dense layer before it sees the full backward through the
    // batch statistics.
    for (seed, act) in [Activation::Sigmoid, Activation::Relu, Activation::Tanh].into_iter().enumerate() {
        let layers = vec![dense(5, Activation::Identity), batchnorm(), activation(act), dense(5, Activation::Identity), batchnorm(), activation(act), dense(3, Activation::Identity)];
        check(config(vec![input], layers, Loss::SoftmaxCrossEntropy), true, &x, batch, Target::Classes(&y), 10 + seed as u64);
    }
}

#[test]
fn gradients_in_evaluation_mode() {
    let mut rng = Rng::new(3);
    let (batch, input) = (5, 4);
    let x = random(&mut rng, batch * input, 1.5);
    let y = random(&mut rng, batch * 2, 1.0);
    let layers = vec![dense(6, Activation::Identity), batchnorm(), activation(Activation::Elu(1.0)), dense(2, Activation::Identity)];
    check(config(vec![input], layers, Loss::Mse), false, &x, batch, Target::Values(&y), 4);
    // Evaluation mode accepts a batch of one.
    let layers = vec![dense(6, Activation::Identity), batchnorm(), dense(2, Activation::Identity)];
    check(config(vec![input], layers, Loss::Mse), false, &x[..input], 1, Target::Values(&y[..2]), 5);
}

#[test]
fn gradients_on_sequences_normalise_over_batch_and_time() {
    let mut rng = Rng::new(4);
    let (batch, time, features) = (3, 4, 3);
    let x = random(&mut rng, batch * time * features, 1.0);
    let y = random(&mut rng, batch * time * 2, 1.0);
    let layers = vec![dense(5, Activation::Identity), batchnorm(), activation(Activation::Tanh), dense(2, Activation::Identity)];
    for training in [true, false] {
        check(config(vec![time, features], layers.clone(), Loss::Mse), training, &x, batch, Target::Values(&y), 6);
    }
    // A single sequence still has T values per feature, enough for batch statistics.
    check(config(vec![time, features], layers, Loss::Mse), true, &x[..time * features], 1, Target::Values(&y[..time * 2]), 7);
}

#[test]
fn gradients_inside_a_residual_block() {
    let mut rng = Rng::new(5);
    let (batch, width) = (6, 4);
    let x = random(&mut rng, batch * width, 1.0);
    let y: Vec<i32> = (0..batch).map(|i| (i % 2) as i32).collect();
    let block = LayerConfig::Residual { name: Some("block".into()), layers: vec![dense(width, Activation::Identity), batchnorm(), activation(Activation::Relu)] };
    let layers = vec![dense(width, Activation::Tanh), block, dense(2, Activation::Identity)];
    check(config(vec![width], layers, Loss::SoftmaxCrossEntropy), true, &x, batch, Target::Classes(&y), 8);
}

#[test]
fn momentum_one_keeps_the_last_batch_statistics_and_zero_keeps_the_initial_ones() {
    let mut rng = Rng::new(6);
    let (rows, features) = (4, 3);
    let x = random(&mut rng, rows * features, 2.0);
    let target = vec![0.0; rows * features];
    for momentum in [0.0f32, 1.0] {
        let layers = vec![LayerConfig::BatchNorm { name: Some("norm".into()), momentum, eps: 1e-5 }];
        let mut model = Model::new(config(vec![features], layers, Loss::Mse), 0).unwrap();
        model.compute_gradients("test", &x, rows, &Target::Values(&target)).unwrap();
        let running_mean = values_of(&mut model, "norm.running_mean");
        let running_var = values_of(&mut model, "norm.running_var");
        for j in 0..features {
            let column: Vec<f32> = (0..rows).map(|r| x[r * features + j]).collect();
            let mean = column.iter().sum::<f32>() / rows as f32;
            let unbiased = column.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / (rows - 1) as f32;
            let (expected_mean, expected_var) = if momentum == 0.0 { (0.0, 1.0) } else { (mean, unbiased) };
            assert!((running_mean[j] - expected_mean).abs() < 1e-5 && (running_var[j] - expected_var).abs() < 1e-5, "momentum {} feature {}", momentum, j);
        }
    }
}

#[test]
fn evaluation_uses_the_running_statistics_and_changes_nothing() {
    let mut rng = Rng::new(7);
    let (rows, features) = (3, 4);
    let x = random(&mut rng, rows * features, 2.0);
    let layers = vec![LayerConfig::BatchNorm { name: Some("norm".into()), momentum: 0.1, eps: 1e-3 }];
    let mut model = Model::new(config(vec![features], layers, Loss::Mse), 0).unwrap();
    randomize(&mut model, &mut rng);
    let before: Vec<Vec<f32>> = ["norm.weight", "norm.bias", "norm.running_mean", "norm.running_var"].iter().map(|n| values_of(&mut model, n)).collect();
    let output = model.predict(&x, rows).to_vec();
    for (i, &y) in output.iter().enumerate() {
        let j = i % features;
        let expected = (x[i] - before[2][j]) / (before[3][j] + 1e-3).sqrt() * before[0][j] + before[1][j];
        assert!((y - expected).abs() < 1e-5 * expected.abs().max(1.0), "output[{}]: {} vs {}", i, y, expected);
    }
    assert_eq!(values_of(&mut model, "norm.running_mean"), before[2], "predict leaves the running statistics alone");
    assert_eq!(values_of(&mut model, "norm.running_var"), before[3]);
}

#[test]
fn a_training_batch_with_one_value_per_feature_is_a_typed_error() {
    let layers = vec![dense(3, Activation::Identity), LayerConfig::Residual { name: Some("block".into()), layers: vec![batchnorm()] }, dense(2, Activation::Identity)];
    let mut model = Model::new(config(vec![4], layers, Loss::Mse), 0).unwrap();
    let (x, y) = ([0.5f32; 4], [0.0f32; 2]);
    let weights_before = values_of(&mut model, "0.weight");
    let err = model.train_step("trainStep", &x, 1, &Target::Values(&y)).unwrap_err();
    assert_eq!(err.code(), "InvalidArgument");
    let message = err.to_string();
    assert!(message.contains("'x'") && message.contains("block.0") && message.contains("1 value per feature"), "{}", message);
    assert_eq!(values_of(&mut model, "0.weight"), weights_before, "nothing ran");
    assert_eq!(values_of(&mut model, "block.0.running_mean"), vec![0.0; 3]);
    // Still usable: a batch of two trains, and evaluation mode takes a batch of one.
    assert!(model.train_step("trainStep", &[0.5, 0.1, -0.3, 0.9, 0.2, 0.4, -0.6, 0.0], 2, &Target::Values(&[0.0; 4])).unwrap().applied);
    model.set_training(false);
    assert!(model.train_step("trainStep", &x, 1, &Target::Values(&y)).unwrap().applied);
}

#[test]
fn bad_options_name_the_spec_field() {
    for (options, field) in [(r#""momentum":1.5"#, "momentum"), (r#""momentum":-0.1"#, "momentum"), (r#""momentum":"NaN""#, "momentum"), (r#""eps":0"#, "eps"), (r#""eps":-1"#, "eps"), (r#""eps":1e-50"#, "eps")] {
        let text = format!(r#"{{"input":[2],"layers":[{{"type":"dense","units":3}},{{"type":"batchnorm",{}}}],"loss":"mse"}}"#, options);
        let err = gradlab_core::nn::spec::parse(&text).err().expect("rejected");
        assert_eq!(err.code(), "InvalidSpec");
        assert!(err.to_string().contains(&format!("layers[1].{}", field)), "{}", err);
    }
}
