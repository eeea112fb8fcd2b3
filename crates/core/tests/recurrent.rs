//! Recurrent layers: finite-difference checks of whole models (parameters, and inputs through
//! a dense layer before the recurrent one), an independent f64 reference for outputs and for
//! truncated BPTT, typed errors, ∂L/∂h_t norms, and clipping across time.

mod common;

use common::{check_model_gradients, random};
use gradlab_core::nn::recurrent::{Recurrent, RecurrentOptions};
use gradlab_core::nn::{Activation, Clip, Init, Layer, LayerConfig, Loss, Method, Mode, Model, ModelConfig, Optimizer, Penalty, Schedule, Target};
use gradlab_core::recurrence::CellKind;
use gradlab_core::rng::Rng;

const CELLS: [CellKind; 2] = [CellKind::Rnn, CellKind::Lstm];

fn options(cell: CellKind, units: usize, return_sequences: bool, bptt_steps: Option<usize>) -> RecurrentOptions {
    let forget_bias = if cell == CellKind::Lstm { 1.0 } else { 0.0 };
    RecurrentOptions { cell, units, return_sequences, forget_bias, bptt_steps }
}

fn recurrent(options: RecurrentOptions) -> LayerConfig {
    LayerConfig::Recurrent { name: None, options }
}

fn dense(units: usize, activation: Activation) -> LayerConfig {
    LayerConfig::Dense { name: None, units, activation, init: Init::Xavier, bias: true }
}

fn config(input_dims: Vec<usize>, layers: Vec<LayerConfig>, clip: Clip) -> ModelConfig {
    ModelConfig {
        input_dims,
        layers,
        loss: Loss::Mse,
        optimizer: Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 0.1, Schedule::Constant),
        clip,
        penalty: Penalty::default(),
    }
}

/// dense(tanh) → recurrent → dense on [T, 3] inputs: the first dense layer's gradients are
/// correct only if the recurrent layer's ∂L/∂x is.
fn sandwich(cell: CellKind, steps: usize, return_sequences: bool, bptt_steps: Option<usize>) -> ModelConfig {
    let layers = vec![dense(4, Activation::Tanh), recurrent(options(cell, 3, return_sequences, bptt_steps)), dense(2, Activation::Identity)];
    config(vec![steps, 3], layers, Clip::default())
}

fn targets_for(batch: usize, steps: usize, return_sequences: bool, rng: &mut Rng) -> Vec<f32> {
    random(rng, batch * if return_sequences { steps * 2 } else { 2 }, 1.0)
}

#[test]
fn parameter_and_input_gradients_match_finite_differences() {
    for (seed, &cell) in CELLS.iter().enumerate() {
        for &steps in &[1, 4] {
            for &return_sequences in &[false, true] {
                let mut rng = Rng::new(seed as u64 * 10 + steps as u64);
                let batch = 3;
                let x = random(&mut rng, batch * steps * 3, 1.0);
                let y = targets_for(batch, steps, return_sequences, &mut rng);
                let model = sandwich(cell, steps, return_sequences, None);
                check_model_gradients(model, seed as u64, &x, batch, Target::Values(&y), 40);
            }
        }
    }
}

#[test]
fn a_window_of_at_least_t_steps_is_full_bptt() {
    let all_grads = |model: &mut Model| -> Vec<Vec<u32>> {
        let count = model.state_entries().len();
        (0..count).map(|i| model.with_entry("t", i, |_, g| g.unwrap().iter().map(|v| v.to_bits()).collect()).unwrap()).collect()
    };
    for &cell in &CELLS {
        let (batch, steps) = (2, 5);
        let mut rng = Rng::new(4);
        let x = random(&mut rng, batch * steps * 3, 1.0);
        let y = targets_for(batch, steps, true, &mut rng);
        let mut grads = Vec::new();
        for &window in &[None, Some(steps), Some(steps + 3)] {
            let mut model = Model::new(sandwich(cell, steps, true, window), 7).unwrap();
            model.compute_gradients("t", &x, batch, &Target::Values(&y)).unwrap();
            grads.push(all_grads(&mut model));
        }
        assert_eq!(grads[0], grads[1]);
        assert_eq!(grads[0], grads[2]);
    }
}

/// One layer's parameters in f64: weight_ih, weight_hh, bias_ih, bias_hh.
type Weights = [Vec<f64>; 4];

/// An independent f64 forward pass of one example over `steps` steps: steps before `start` use
/// `prefix`, later steps `window`. Returns `L = Σ coefficient · output` for the layer's output
/// (the last hidden state, or every step's).
#[allow(clippy::too_many_arguments)]
fn reference_loss(cell: CellKind, units: usize, prefix: &Weights, window: &Weights, x: &[f64], steps: usize, start: usize, return_sequences: bool, coefficients: &[f64]) -> f64 {
    let features = x.len() / steps;
    let gates = cell.gates_per_unit() * units;
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let (mut hidden, mut state) = (vec![0.0; units], vec![0.0; units]);
    let mut loss = 0.0;
    for t in 0..steps {
        let [w_ih, w_hh, b_ih, b_hh] = if t < start { prefix } else { window };
        let x_t = &x[t * features..(t + 1) * features];
        let z: Vec<f64> = (0..gates)
            .map(|g| {
                let input: f64 = (0..features).map(|j| w_ih[g * features + j] * x_t[j]).sum();
                let recurrent: f64 = (0..units).map(|j| w_hh[g * units + j] * hidden[j]).sum();
                input + recurrent + b_ih[g] + b_hh[g]
            })
            .collect();
        for j in 0..units {
            match cell {
                CellKind::Rnn => hidden[j] = z[j].tanh(),
                CellKind::Lstm => {
                    let (i, f, g, o) = (sigmoid(z[j]), sigmoid(z[units + j]), z[2 * units + j].tanh(), sigmoid(z[3 * units + j]));
                    state[j] = f * state[j] + i * g;
                    hidden[j] = o * state[j].tanh();
                }
            }
        }
        if return_sequences {
            loss += (0..units).map(|j| coefficients[t * units + j] * hidden[j]).sum::<f64>();
        }
    }
    if !return_sequences {
        loss = (0..units).map(|j| coefficients[j] * hidden[j]).sum();
    }
    loss
}

fn weights_of(layer: &mut Recurrent) -> Weights {
    let mut values = Vec::new();
    layer.visit_params(&mut |p| values.push(p.value.iter().map(|&v| v as f64).collect::<Vec<f64>>()));
    [values[0].clone(), values[1].clone(), values[2].clone(), values[3].clone()]
}

fn grads_of(layer: &mut Recurrent) -> Vec<Vec<f32>> {
    let mut grads = Vec::new();
    layer.visit_params(&mut |p| grads.push(p.grad.clone()));
    grads
}

/// Checks one layer against the f64 reference: outputs, and the truncated gradient as the
/// derivative of the loss with the first T − k steps frozen at the current weights.
fn check_against_reference(cell: CellKind, return_sequences: bool, steps: usize, window: Option<usize>) {
    let (batch, features, units) = (2, 3, 4);
    let mut rng = Rng::new(steps as u64 + 17 * window.unwrap_or(0) as u64);
    let mut layer = Recurrent::new("r".into(), &[steps, features], options(cell, units, return_sequences, window), &mut rng).unwrap();
    let x = random(&mut rng, batch * steps * features, 1.0);
    let output_len = if return_sequences { steps * units } else { units };
    let coefficients = random(&mut rng, batch * output_len, 1.0);
    let mut output = vec![f32::NAN; batch * output_len];
    layer.forward(&x, batch, Mode::Train, &mut output);
    let mut grad_input = vec![f32::NAN; x.len()];
    layer.backward(&x, &output, &coefficients, batch, Some(&mut grad_input));
    let analytic = grads_of(&mut layer);
    let start = steps - window.unwrap_or(steps).min(steps);
    let weights = weights_of(&mut layer);
    let example = |b: usize| -> (Vec<f64>, Vec<f64>) {
        let xs = x[b * steps * features..(b + 1) * steps * features].iter().map(|&v| v as f64).collect();
        let cs = coefficients[b * output_len..(b + 1) * output_len].iter().map(|&v| v as f64).collect();
        (xs, cs)
    };
    let total = |window_weights: &Weights, inputs: &[Vec<f64>]| -> f64 {
        (0..batch).map(|b| reference_loss(cell, units, &weights, window_weights, &inputs[b], steps, start, return_sequences, &example(b).1)).sum()
    };
    let inputs: Vec<Vec<f64>> = (0..batch).map(|b| example(b).0).collect();
    let what = format!("{:?} steps {} window {:?} sequences {}", cell, steps, window, return_sequences);
    // Outputs: the reference's ∂L/∂coefficient is the output itself.
    for b in 0..batch {
        for (index, &c) in example(b).1.iter().enumerate() {
            let mut unit = vec![0.0; output_len];
            unit[index] = 1.0;
            let expected = reference_loss(cell, units, &weights, &weights, &inputs[b], steps, 0, return_sequences, &unit);
            let got = output[b * output_len + index] as f64;
            assert!((got - expected).abs() < 1e-5, "{} output[{}][{}]: {} vs {} (coefficient {})", what, b, index, got, expected, c);
        }
    }
    // Parameters: central differences of the reference, perturbing only the window's copy.
    let h = 1e-6;
    for (param, grads) in analytic.iter().enumerate() {
        for (i, &got) in grads.iter().enumerate() {
            let mut plus = weights.clone();
            plus[param][i] += h;
            let mut minus = weights.clone();
            minus[param][i] -= h;
            let numeric = (total(&plus, &inputs) - total(&minus, &inputs)) / (2.0 * h);
            assert!((got as f64 - numeric).abs() <= 1e-4 + 1e-4 * numeric.abs(), "{} param {}[{}]: {} vs {}", what, param, i, got, numeric);
        }
    }
    // Inputs: zero before the window; inside it the truncated gradient is the full one.
    for (index, &got) in grad_input.iter().enumerate() {
        let (b, t) = (index / (steps * features), index / features % steps);
        let numeric = if t < start {
            0.0
        } else {
            let mut shifted = inputs.clone();
            shifted[b][index % (steps * features)] += h;
            let plus = total(&weights, &shifted);
            shifted[b][index % (steps * features)] -= 2.0 * h;
            (plus - total(&weights, &shifted)) / (2.0 * h)
        };
        assert!((got as f64 - numeric).abs() <= 1e-4 + 1e-4 * numeric.abs(), "{} dx[{}] (t {}): {} vs {}", what, index, t, got, numeric);
    }
    let norms = layer.time_grad_norms().unwrap();
    assert_eq!(norms.len(), steps);
    assert!(norms[..start].iter().all(|&n| n == 0.0), "{}: {:?}", what, norms);
    assert!(norms[start..].iter().all(|&n| n > 0.0), "{}: {:?}", what, norms);
}

#[test]
fn outputs_and_gradients_match_an_f64_reference() {
    for &cell in &CELLS {
        for &return_sequences in &[false, true] {
            check_against_reference(cell, return_sequences, 1, None);
            check_against_reference(cell, return_sequences, 5, None);
        }
    }
}

#[test]
fn truncated_bptt_is_the_gradient_with_the_earlier_steps_frozen() {
    for &cell in &CELLS {
        for &return_sequences in &[false, true] {
            check_against_reference(cell, return_sequences, 6, Some(1));
            check_against_reference(cell, return_sequences, 6, Some(4));
        }
    }
}

#[test]
fn bad_specs_and_inputs_are_typed_errors() {
    let build = |input: Vec<usize>, layer: RecurrentOptions| Model::new(config(input, vec![recurrent(layer)], Clip::default()), 0).err().expect("an error");
    let err = build(vec![3], options(CellKind::Lstm, 4, false, None));
    assert_eq!((err.code(), err.to_string().contains("layers[0]")), ("ShapeMismatch", true), "{}", err);
    // The values of a layer's options are the spec's to check.
    for (layer, field) in [(r#"{"type":"rnn","units":0}"#, "units"), (r#"{"type":"rnn","units":4,"forgetBias":1}"#, "forgetBias"), (r#"{"type":"lstm","units":4,"bpttSteps":0}"#, "bpttSteps")] {
        let text = format!(r#"{{"input":[5,3],"layers":[{}],"loss":"mse"}}"#, layer);
        let err = gradlab_core::nn::spec::parse(&text).err().expect("an error");
        assert_eq!(err.code(), "InvalidSpec");
        assert!(err.to_string().contains(&format!("layers[0].{}", field)), "{}", err);
    }
    let err = build(vec![1 << 20, 3], options(CellKind::Lstm, 64, false, None));
    assert_eq!(err.code(), "TooLarge");
    // A recurrent layer after one that flattened the sequence.
    let layers = vec![recurrent(options(CellKind::Rnn, 4, false, None)), recurrent(options(CellKind::Lstm, 4, false, None))];
    let err = Model::new(config(vec![5, 3], layers, Clip::default()), 0).err().unwrap();
    assert!(err.to_string().contains("layers[1]"), "{}", err);

    let mut model = Model::new(config(vec![5, 3], vec![recurrent(options(CellKind::Lstm, 4, false, None))], Clip::default()), 0).unwrap();
    for shape in [vec![2, 4, 3], vec![2, 5, 2], vec![2, 15]] {
        let len: usize = shape.iter().product();
        let err = model.check_input("predict", &vec![0.0; len], &shape).unwrap_err();
        assert_eq!(err.code(), "ShapeMismatch", "{:?}", shape);
    }
    assert_eq!(model.predict(&[0.5; 30], 2).len(), 8);

    // The saved states of a long sequence bound the batch, not just the layer's output: per
    // example 1000 steps × (3·4H + 3H) + 2H of LSTM workspace, its output H, two gradient
    // buffers and ∂L/∂output of H each: 15,006,000 values, so 17 examples fit in 2^28 and 18
    // do not.
    let model = Model::new(config(vec![1000, 1], vec![recurrent(options(CellKind::Lstm, 1000, false, None))], Clip::default()), 0).unwrap();
    assert!(model.check_input("predict", &vec![0.0; 17_000], &[17, 1000, 1]).is_ok());
    let err = model.check_input("predict", &vec![0.0; 18_000], &[18, 1000, 1]).unwrap_err();
    assert_eq!((err.code(), err.to_string().contains("asks for 270108000 elements")), ("TooLarge", true), "{}", err);
}

/// ∂L/∂h_t of a small-weight tanh RNN shrinks going back in time; the LSTM with a forget
/// bias keeps much more of it.
#[test]
fn time_gradient_norms_show_vanishing_in_the_rnn() {
    let steps = 30;
    let mut ratios = Vec::new();
    for &cell in &CELLS {
        let mut model = Model::new(config(vec![steps, 2], vec![recurrent(options(cell, 16, false, None)), dense(1, Activation::Identity)], Clip::default()), 5).unwrap();
        let mut rng = Rng::new(1);
        let x = random(&mut rng, 8 * steps * 2, 1.0);
        let y = random(&mut rng, 8, 1.0);
        model.compute_gradients("t", &x, 8, &Target::Values(&y)).unwrap();
        let stats = model.layer_stats();
        assert_eq!(stats[0].kind, if cell == CellKind::Rnn { "rnn" } else { "lstm" });
        let norms = &stats[0].time_grad_norms;
        assert_eq!(norms.len(), steps);
        ratios.push(norms[0] / norms[steps - 1]);
    }
    assert!(ratios[0] < 1e-3, "rnn first/last {}", ratios[0]);
    assert!(ratios[1] > 10.0 * ratios[0], "lstm first/last {} vs rnn {}", ratios[1], ratios[0]);
}

/// An RNN with large recurrent weights explodes; clipping by norm keeps every step finite.
#[test]
fn clipping_by_norm_tames_an_exploding_rnn() {
    let steps = 40;
    let run = |clip: Clip| -> (f64, Vec<f64>) {
        let layers = vec![recurrent(options(CellKind::Rnn, 16, true, None)), dense(1, Activation::Identity)];
        let mut model = Model::new(config(vec![steps, 1], layers, clip), 2).unwrap();
        // weight_hh × 6: spectral radius far above 1.
        model.with_entry("t", 1, |v, _| v.iter_mut().for_each(|w| *w *= 6.0)).unwrap();
        let mut rng = Rng::new(3);
        let x = random(&mut rng, 4 * steps, 0.05);
        let y = random(&mut rng, 4 * steps, 1.0);
        let mut losses = Vec::new();
        let mut first_norm = 0.0;
        for step in 0..20 {
            let report = model.train_step("t", &x, 4, &Target::Values(&y)).unwrap();
            if step == 0 {
                first_norm = report.losses.grad_norm;
            }
            assert!(report.applied, "step {} refused: {:?}", step, report);
            losses.push(report.losses.loss);
        }
        (first_norm, losses)
    };
    let (norm, clipped) = run(Clip { max_norm: Some(1.0), max_value: None });
    assert!(norm > 10.0, "the gradient should explode before clipping: {}", norm);
    assert!(clipped.iter().all(|l| l.is_finite()), "{:?}", clipped);
}
