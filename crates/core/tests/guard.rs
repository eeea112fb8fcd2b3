//! The non-finite guard: a step whose loss (as reported, in f32), gradients or updated
//! parameters would be non-finite is refused, leaves every parameter and the optimiser's
//! state as they were, and says where it went wrong.

use gradlab_core::nn::{Activation, Clip, Init, LayerConfig, Loss, Method, Model, ModelConfig, Optimizer, Penalty, Schedule, Target};

fn dense(name: &str, units: usize) -> LayerConfig {
    LayerConfig::Dense { name: Some(name.into()), units, activation: Activation::Identity, init: Init::Zeros, bias: false }
}

fn model(layers: Vec<LayerConfig>, method: Method, lr: f32) -> Model {
    let config = ModelConfig {
        input_dims: vec![1],
        layers,
        loss: Loss::Mse,
        optimizer: Optimizer::new(method, lr, Schedule::Constant),
        clip: Clip::default(),
        penalty: Penalty::default(),
    };
    Model::new(config, 0).unwrap()
}

fn sgd(weight_decay: f32) -> Method {
    Method::Sgd { momentum: 0.0, nesterov: false, weight_decay }
}

/// Every state entry's values, in order.
fn state(model: &mut Model) -> Vec<Vec<f32>> {
    (0..model.state_entries().len()).map(|i| model.with_entry("t", i, |v, _| v.clone()).unwrap()).collect()
}

fn set(model: &mut Model, index: usize, values: &[f32]) {
    model.with_entry("t", index, |v, _| v.copy_from_slice(values)).unwrap();
}

#[test]
fn a_loss_beyond_f32_is_refused_though_its_f64_value_is_finite() {
    // The case: a weight of 1.7e38 and lr 10. The output 1.7e38 is finite, its square
    // 2.9e76 is finite in f64 but Infinity once reported as f32.
    let mut model = model(vec![dense("out", 1)], sgd(0.0), 10.0);
    set(&mut model, 0, &[1.7e38]);
    let step = model.train_step("trainStep", &[1.0], 1, &Target::Values(&[0.0])).unwrap();
    assert!(step.losses.loss.is_finite() && (step.losses.loss as f32).is_infinite());
    assert_eq!((step.applied, step.non_finite_at.as_deref()), (false, Some("loss")));
    assert_eq!(state(&mut model), vec![vec![1.7e38]]);
    assert_eq!(model.optimizer_mut().steps, 0);
    // The model still trains once the weight is sane.
    set(&mut model, 0, &[1.0]);
    let step = model.train_step("trainStep", &[1.0], 1, &Target::Values(&[0.0])).unwrap();
    assert!(step.applied && step.non_finite_at.is_none());
    assert_eq!(model.optimizer_mut().steps, 1);
}

#[test]
fn an_update_that_would_overflow_is_refused_naming_the_layer() {
    // The output hits its target: loss and gradients are 0, but the head's update
    // w − lr·(g + wd·w) = 3e38 − 3e39 overflows; the hidden layer's (1 − 10) would not.
    let mut model = model(vec![dense("hidden", 1), dense("head", 1)], sgd(10.0), 1.0);
    set(&mut model, 0, &[1.0]);
    set(&mut model, 1, &[3e38]);
    let before = state(&mut model);
    let step = model.train_step("trainStep", &[1.0], 1, &Target::Values(&[3e38])).unwrap();
    assert!((step.losses.loss as f32).is_finite() && step.losses.grad_norm.is_finite(), "{:?}", step);
    assert_eq!((step.applied, step.non_finite_at.as_deref()), (false, Some("head")));
    assert_eq!(state(&mut model), before, "no layer moved, not even the finite one");
}

#[test]
fn adam_with_eps_zero_cannot_write_nan_into_the_weights() {
    // x = 0 gives the weight a zero gradient: m / (√v + eps) = 0 / 0 with eps 0.
    let adam = Method::Adam { beta1: 0.9, beta2: 0.999, eps: 0.0, weight_decay: 0.0 };
    let layer = LayerConfig::Dense { name: None, units: 1, activation: Activation::Identity, init: Init::Zeros, bias: true };
    let mut model = model(vec![layer], adam, 0.1);
    let step = model.train_step("trainStep", &[0.0], 1, &Target::Values(&[1.0])).unwrap();
    assert_eq!((step.applied, step.non_finite_at.as_deref()), (false, Some("0")));
    assert!(state(&mut model).iter().flatten().all(|v| *v == 0.0));
}

#[test]
fn a_refused_step_changes_no_optimiser_state() {
    // Adam's v = g² overflows for |g| = 1e20. Training A: good, refused, good; B: good, good.
    let adam = Method::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
    let layer = || LayerConfig::Dense { name: None, units: 1, activation: Activation::Identity, init: Init::Normal, bias: true };
    let good = |m: &mut Model| assert!(m.train_step("t", &[0.5], 1, &Target::Values(&[1.0])).unwrap().applied);
    let mut a = model(vec![layer()], adam, 0.1);
    let mut b = model(vec![layer()], adam, 0.1);
    good(&mut a);
    good(&mut b);
    let refused = a.train_step("t", &[1e10], 1, &Target::Values(&[1e10])).unwrap();
    assert!(refused.losses.grad_norm.is_finite() && !refused.applied, "{:?}", refused);
    assert_eq!(refused.non_finite_at.as_deref(), Some("0"));
    good(&mut a);
    good(&mut b);
    assert_eq!(state(&mut a), state(&mut b), "the refused step left no trace in the moments or the step count");
    assert_eq!(a.optimizer_mut().steps, 2);
}

#[test]
fn a_step_that_leaves_a_running_statistic_non_finite_is_refused_and_the_statistics_put_back() {
    // Pre-activations ±1e30: the batch variance 1e60 is Infinity in f32, so the running
    // variance would be too, though the normalised output, the loss and the gradients are finite.
    let layers = vec![dense("in", 1), LayerConfig::BatchNorm { name: Some("norm".into()), momentum: 0.1, eps: 1e-5 }, dense("out", 1)];
    let mut model = model(layers, sgd(0.0), 0.1);
    set(&mut model, 0, &[1e30]);
    set(&mut model, 3, &[1.0]);
    let before = state(&mut model);
    let step = model.train_step("trainStep", &[1.0, -1.0], 2, &Target::Values(&[1.0, 0.0])).unwrap();
    assert!((step.losses.loss as f32).is_finite(), "{:?}", step);
    assert_eq!((step.applied, step.non_finite_at.as_deref()), (false, Some("norm")));
    assert_eq!(state(&mut model), before, "weights and running statistics as before the step");
    // A step refused for another reason (the head's gradient overflows) puts them back too.
    set(&mut model, 0, &[1.0]);
    set(&mut model, 3, &[3e38]);
    let before = state(&mut model);
    let step = model.train_step("trainStep", &[2.0, -2.0], 2, &Target::Values(&[0.0, 0.0])).unwrap();
    assert_eq!((step.applied, step.non_finite_at.as_deref()), (false, Some("out")));
    assert_eq!(state(&mut model), before);
    // An applied step moves them, and a later evaluation-mode refusal does not undo that.
    set(&mut model, 3, &[1.0]);
    assert!(model.train_step("trainStep", &[3.0, 1.0], 2, &Target::Values(&[0.0, 0.0])).unwrap().applied);
    let moved = state(&mut model);
    assert_ne!(moved[4], before[4], "running_mean moved");
    model.set_training(false);
    set(&mut model, 3, &[3e38]);
    let step = model.train_step("trainStep", &[2.0, -2.0], 2, &Target::Values(&[0.0, 0.0])).unwrap();
    assert!(!step.applied);
    assert_eq!(state(&mut model)[4..], moved[4..]);
}
