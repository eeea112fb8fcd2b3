//! Model-level behaviour: naming, shape errors, the non-finite guard, determinism.

mod common;

use common::random;
use gradlab_core::nn::{Activation, Clip, Init, LayerConfig, Loss, Method, Model, ModelConfig, Optimizer, Penalty, Schedule, Target};
use gradlab_core::rng::Rng;

fn mlp(sizes: &[usize], activation: Activation, init: Init) -> ModelConfig {
    let mut layers = Vec::new();
    for (i, &units) in sizes[1..].iter().enumerate() {
        let last = i + 2 == sizes.len();
        layers.push(LayerConfig::Dense { name: None, units, activation: if last { Activation::Identity } else { activation }, init, bias: true });
    }
    ModelConfig {
        input_dims: vec![sizes[0]],
        layers,
        loss: Loss::SoftmaxCrossEntropy,
        optimizer: Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 0.5, Schedule::Constant),
        clip: Clip::default(),
        penalty: Penalty::default(),
    }
}

#[test]
fn parameters_are_named_by_index_path() {
    let mut cfg = mlp(&[4, 3, 2], Activation::Relu, Init::He);
    cfg.layers.insert(1, LayerConfig::Residual { name: Some("skip".into()), layers: vec![LayerConfig::Dense { name: None, units: 3, activation: Activation::Prelu(0.25), init: Init::He, bias: false }] });
    let model = Model::new(cfg, 1).unwrap();
    let names: Vec<&str> = model.state_entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["0.weight", "0.bias", "skip.0.weight", "skip.0.alpha", "2.weight", "2.bias"]);
    assert_eq!(model.state_entries()[0].shape, vec![3, 4]);
}

#[test]
fn training_lowers_the_loss_and_is_deterministic() {
    let run = || {
        let mut model = Model::new(mlp(&[6, 8, 3], Activation::Tanh, Init::Xavier), 42).unwrap();
        let mut rng = Rng::new(0);
        let x = random(&mut rng, 12 * 6, 1.0);
        let y: Vec<i32> = (0..12).map(|i| (i % 3) as i32).collect();
        let first = model.train_step("t", &x, 12, &Target::Classes(&y)).unwrap().losses.loss;
        let mut last = first;
        for _ in 0..50 {
            last = model.train_step("t", &x, 12, &Target::Classes(&y)).unwrap().losses.loss;
        }
        (first, last, model.predict(&x, 12).to_vec())
    };
    let (first, last, out_a) = run();
    assert!(last < first * 0.5, "loss {} -> {}", first, last);
    let (_, _, out_b) = run();
    assert_eq!(out_a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), out_b.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
}

#[test]
fn bad_inputs_are_typed_errors_and_the_model_survives() {
    let mut model = Model::new(mlp(&[3, 4, 2], Activation::Sigmoid, Init::Nielsen), 1).unwrap();
    let err = model.check_input("predict", &[0.0; 6], &[2, 4]).unwrap_err();
    assert_eq!(err.code(), "ShapeMismatch");
    let err = model.check_input("predict", &[0.0, f32::NAN, 0.0], &[1, 3]).unwrap_err();
    assert_eq!(err.code(), "InvalidArgument");
    let err = model.train_step("trainStep", &[0.0; 3], 1, &Target::Classes(&[5])).unwrap_err();
    assert_eq!(err.code(), "InvalidArgument");
    let err = model.train_step("trainStep", &[0.0; 3], 1, &Target::Values(&[0.0, 1.0])).unwrap_err();
    assert_eq!(err.code(), "InvalidArgument");
    assert!(model.train_step("trainStep", &[0.1, 0.2, 0.3], 1, &Target::Classes(&[1])).unwrap().applied);
    let err = Model::new(ModelConfig { layers: vec![LayerConfig::Residual { name: None, layers: vec![LayerConfig::Dense { name: None, units: 5, activation: Activation::Relu, init: Init::He, bias: true }] }], ..mlp(&[3, 2], Activation::Relu, Init::He) }, 0).err().unwrap();
    assert_eq!(err.code(), "ShapeMismatch");
}

#[test]
fn the_guard_refuses_a_non_finite_step_and_names_the_layer() {
    let mut cfg = mlp(&[4, 8, 8, 8, 2], Activation::Identity, Init::NormalStd(1e12));
    cfg.loss = Loss::Mse;
    let mut model = Model::new(cfg, 3).unwrap();
    let x = [1.0f32, -1.0, 0.5, 2.0];
    let before = model.with_entry("t", 0, |v, _| v.clone()).unwrap();
    let step = model.train_step("trainStep", &x, 1, &Target::Values(&[0.0, 0.0])).unwrap();
    assert!(!step.applied);
    assert!(step.non_finite_at.is_some(), "{:?}", step);
    assert_eq!(model.with_entry("t", 0, |v, _| v.clone()).unwrap(), before);
}

#[test]
fn diagnostics_show_vanishing_gradients_in_deep_sigmoid_nets() {
    let mut model = Model::new(mlp(&[20, 30, 30, 30, 30, 10], Activation::Sigmoid, Init::Nielsen), 7).unwrap();
    let mut rng = Rng::new(1);
    let x: Vec<f32> = (0..50 * 20).map(|_| rng.uniform(0.0, 1.0)).collect();
    let y: Vec<i32> = (0..50).map(|i| (i % 10) as i32).collect();
    model.compute_gradients("t", &x, 50, &Target::Classes(&y)).unwrap();
    let stats = model.layer_stats();
    assert_eq!(stats.len(), 5);
    assert!(stats[0].bias_grad_norm < stats[3].bias_grad_norm, "{:?}", stats);
}

#[test]
fn huge_but_finite_gradients_are_not_mistaken_for_non_finite_ones() {
    // Gradients near 1e20 square beyond f32's range; the guard must still see a finite norm.
    let mut cfg = mlp(&[2, 2], Activation::Identity, Init::Zeros);
    cfg.loss = Loss::Mse;
    let mut model = Model::new(cfg, 0).unwrap();
    // ∂L/∂W = −1e10 · 1e10: finite in f32, but its square is not.
    let report = model.train_step("t", &[1e10, 1e10], 1, &Target::Values(&[1e10, 1e10])).unwrap();
    assert!(report.applied, "{:?}", report);
    assert!(report.losses.grad_norm.is_finite() && report.losses.grad_norm > 1e19);
}

#[test]
fn a_residual_block_bounds_batches_by_its_nested_layers_workspace() {
    use gradlab_core::nn::build::Builder;
    use gradlab_core::nn::recurrent::RecurrentOptions;
    use gradlab_core::recurrence::CellKind;
    let lstm = LayerConfig::Recurrent {
        name: None,
        options: RecurrentOptions { cell: CellKind::Lstm, units: 8, return_sequences: true, forget_bias: 0.0, bptt_steps: None },
    };
    let block = LayerConfig::Residual { name: None, layers: vec![lstm] };
    let built = Builder::new(&mut Rng::new(0)).sequential(&[block], &[50, 8], "", "layers").unwrap();
    let workspace = built.layers[0].workspace_per_example();
    // The LSTM's saved states, its output [50, 8], the body's two gradient buffers and ∂L/∂x
    // through the body.
    let lstm = CellKind::Lstm.workspace_per_example(50, 8);
    assert_eq!(workspace, lstm.plus(400).plus(2 * 400).plus(400));
    assert!(lstm.get() > 50 * 8, "the LSTM's saved states exceed its output");
}
