//! Every fused layer and loss against the same computation composed from tape ops (STYLE.md,
//! rule 3): the layers' hand-written backward passes (dense with each activation, the
//! activation layer, BatchNorm in training mode, residual blocks, the recurrent layers) and
//! the losses of both paths (the model's, `nn::Loss`, and the eager ops) must give the values
//! and gradients that the tape finds for matmul, broadcast arithmetic, activations,
//! reductions and pointwise maths put together. The tape's ops are checked by central
//! differences in their own files; here a wrong index, a missing term or a transposed product
//! in a fused backward shows up as a mismatch far beyond f32 rounding.

mod common;

use common::{random, ACTIVATIONS};
use gradlab_core::autograd::ops::activation::{activation, softmax};
use gradlab_core::autograd::ops::elementwise::{binary, BinaryKind};
use gradlab_core::autograd::ops::loss as eager;
use gradlab_core::autograd::ops::math::{pointwise, MathKind};
use gradlab_core::autograd::ops::matmul::matmul;
use gradlab_core::autograd::ops::recurrent::{recurrent, RecurrentParams};
use gradlab_core::autograd::ops::reduce::{reduce, ReduceKind};
use gradlab_core::autograd::{Tape, TensorId};
use gradlab_core::error::Result;
use gradlab_core::nn::build::Builder;
use gradlab_core::nn::recurrent::{Recurrent, RecurrentOptions};
use gradlab_core::nn::{Activation, Init, Layer, LayerConfig, Loss, Mode, Target};
use gradlab_core::recurrence::CellKind;
use gradlab_core::rng::Rng;
use gradlab_core::tensor::Tensor;

/// f32 rounding in differently ordered sums, far below what a wrong gradient gives.
fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{}: lengths", what);
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 2e-5 * scale + 1e-4 * w.abs(), "{}[{}]: fused {} composed {}", what, i, g, w);
    }
}

fn leaf(tape: &mut Tape, shape: &[usize], values: &[f32], requires_grad: bool) -> TensorId {
    tape.leaf(Tensor::new(shape.to_vec(), values.to_vec()).unwrap(), requires_grad).unwrap()
}

fn constant(tape: &mut Tape, value: f32) -> TensorId {
    tape.leaf(Tensor::scalar(value), false).unwrap()
}

fn values(tape: &Tape, id: TensorId) -> Vec<f32> {
    tape.value("test", "value", id).unwrap().data().to_vec()
}

fn grad(tape: &Tape, id: TensorId) -> Vec<f32> {
    tape.grad("test", "grad", id).unwrap().expect("a gradient").data().to_vec()
}

fn add(tape: &mut Tape, a: TensorId, b: TensorId) -> Result<TensorId> {
    binary(tape, BinaryKind::Add, a, b)
}

fn sub(tape: &mut Tape, a: TensorId, b: TensorId) -> Result<TensorId> {
    binary(tape, BinaryKind::Sub, a, b)
}

fn mul(tape: &mut Tape, a: TensorId, b: TensorId) -> Result<TensorId> {
    binary(tape, BinaryKind::Mul, a, b)
}

fn sum(tape: &mut Tape, x: TensorId) -> Result<TensorId> {
    reduce(tape, ReduceKind::Sum, x, None, false)
}

/// A layer's parameters as leaves on the tape, in state-dict order.
struct Params<'a> {
    ids: &'a [TensorId],
    next: usize,
}

impl Params<'_> {
    fn take(&mut self) -> TensorId {
        self.next += 1;
        self.ids[self.next - 1]
    }
}

/// How the tape computes a layer: from x [rows, features] and the parameters, in order.
type Composition = dyn Fn(&mut Tape, TensorId, &mut Params) -> Result<TensorId>;

/// Builds `configs` on per-example inputs `input_dims`, gives every parameter random values,
/// runs forward (training mode) and backward with a random upstream gradient ∂L/∂y, and
/// compares the output, ∂L/∂x and every parameter's gradient with `compose` on the tape
/// (with L = Σ upstream ⊙ y). On the tape x is [rows, features], every axis but the last
/// taken as rows, as the layers see a batch.
fn check_layers(what: &str, configs: Vec<LayerConfig>, input_dims: &[usize], batch: usize, seed: u64, compose: &Composition) {
    let features = *input_dims.last().unwrap();
    let rows = batch * input_dims.iter().product::<usize>() / features;
    check_layers_on(what, configs, input_dims, batch, &[rows, features], seed, compose);
}

/// [`check_layers`] with x of `x_shape` on the tape.
fn check_layers_on(what: &str, configs: Vec<LayerConfig>, input_dims: &[usize], batch: usize, x_shape: &[usize], seed: u64, compose: &Composition) {
    let mut rng = Rng::new(seed);
    let mut body = Builder::new(&mut rng).sequential(&configs, input_dims, "", "layers").unwrap();
    body.visit_params(&mut |p| p.value = random(&mut rng, p.value.len(), 1.0));
    let x = random(&mut rng, x_shape.iter().product(), 1.5);
    body.forward(&x, batch, Mode::Train);
    let output = body.output(&x).to_vec();
    let upstream = random(&mut rng, output.len(), 1.0);
    let mut grad_x = vec![f32::NAN; x.len()];
    body.backward(&x, &upstream, batch, Some(&mut grad_x));
    let mut params = Vec::new();
    body.visit_params(&mut |p| params.push((p.name.clone(), p.shape.clone(), p.value.clone(), p.grad.clone())));

    let mut tape = Tape::new();
    let x_id = leaf(&mut tape, x_shape, &x, true);
    let ids: Vec<TensorId> = params.iter().map(|(_, shape, value, _)| leaf(&mut tape, shape, value, true)).collect();
    let y = compose(&mut tape, x_id, &mut Params { ids: &ids, next: 0 }).unwrap();
    assert_close(&format!("{}: output", what), &output, &values(&tape, y));
    let shape = tape.value("test", "y", y).unwrap().shape().to_vec();
    let upstream_id = leaf(&mut tape, &shape, &upstream, false);
    let weighted = mul(&mut tape, y, upstream_id).unwrap();
    let loss = sum(&mut tape, weighted).unwrap();
    tape.backward(loss).unwrap();
    assert_close(&format!("{}: ∂L/∂x", what), &grad_x, &grad(&tape, x_id));
    for ((name, _, _, fused), &id) in params.iter().zip(&ids) {
        assert_close(&format!("{}: ∂L/∂{}", what, name), fused, &grad(&tape, id));
    }
}

fn dense_config(units: usize, activation: Activation, bias: bool) -> LayerConfig {
    LayerConfig::Dense { name: None, units, activation, init: Init::Xavier, bias }
}

/// `f(x·Wᵀ + b)` with f = `activation`; PReLU as `relu(z) + α·(z − relu(z))`.
fn apply(tape: &mut Tape, function: Activation, z: TensorId, params: &mut Params) -> Result<TensorId> {
    match function {
        Activation::Identity => Ok(z),
        Activation::Softmax => softmax(tape, z, false),
        Activation::Prelu(_) => {
            let alpha = params.take();
            let positive = activation(tape, Activation::Relu.kernel().unwrap(), z)?;
            let negative = sub(tape, z, positive)?;
            let scaled = mul(tape, negative, alpha)?;
            add(tape, positive, scaled)
        }
        other => activation(tape, other.kernel().unwrap(), z),
    }
}

fn dense(tape: &mut Tape, x: TensorId, function: Activation, bias: bool, params: &mut Params) -> Result<TensorId> {
    let weight = params.take();
    let mut z = matmul(tape, x, weight, false, true)?;
    if bias {
        let b = params.take();
        z = add(tape, z, b)?;
    }
    apply(tape, function, z, params)
}

/// BatchNorm1d in training mode: `γ·(x − μ)/√(σ² + ε) + β` with the batch's mean and biased
/// variance over the rows.
fn batchnorm(tape: &mut Tape, x: TensorId, eps: f32, params: &mut Params) -> Result<TensorId> {
    let (gamma, beta) = (params.take(), params.take());
    let mean = reduce(tape, ReduceKind::Mean, x, Some(0), true)?;
    let centred = sub(tape, x, mean)?;
    let squares = pointwise(tape, MathKind::Square, centred)?;
    let variance = reduce(tape, ReduceKind::Mean, squares, Some(0), true)?;
    let eps = constant(tape, eps);
    let shifted = add(tape, variance, eps)?;
    let std = pointwise(tape, MathKind::Sqrt, shifted)?;
    let normalised = binary(tape, BinaryKind::Div, centred, std)?;
    let scaled = mul(tape, normalised, gamma)?;
    add(tape, scaled, beta)
}

#[test]
fn dense_with_each_activation() {
    for (seed, &function) in ACTIVATIONS.iter().enumerate() {
        for bias in [true, false] {
            let what = format!("dense {:?} bias={}", function, bias);
            check_layers(&what, vec![dense_config(5, function, bias)], &[4], 3, seed as u64, &move |tape, x, params| dense(tape, x, function, bias, params));
        }
    }
}

#[test]
fn dense_on_sequences_applies_per_time_step() {
    check_layers("dense on [3, 4]", vec![dense_config(5, Activation::Tanh, true)], &[3, 4], 2, 1, &|tape, x, params| dense(tape, x, Activation::Tanh, true, params));
}

#[test]
fn activation_layers() {
    for (seed, &function) in ACTIVATIONS.iter().enumerate() {
        let layer = LayerConfig::Activation { name: None, activation: function };
        check_layers(&format!("activation {:?}", function), vec![layer], &[6], 3, seed as u64, &move |tape, x, params| apply(tape, function, x, params));
    }
}

#[test]
fn batchnorm_in_training_mode() {
    let layer = || vec![LayerConfig::BatchNorm { name: None, momentum: 0.1, eps: 1e-5 }];
    check_layers("batchnorm [5]", layer(), &[5], 6, 2, &|tape, x, params| batchnorm(tape, x, 1e-5, params));
    // Sequences: every (example, step) is a row of the batch statistics.
    check_layers("batchnorm [3, 4]", layer(), &[3, 4], 2, 3, &|tape, x, params| batchnorm(tape, x, 1e-5, params));
    // A large ε weighs in the variance: it must sit under the root in backward too.
    let wide = vec![LayerConfig::BatchNorm { name: None, momentum: 0.1, eps: 0.5 }];
    check_layers("batchnorm ε = 0.5", wide, &[4], 5, 4, &|tape, x, params| batchnorm(tape, x, 0.5, params));
}

#[test]
fn residual_blocks() {
    let body = vec![dense_config(4, Activation::Tanh, true), LayerConfig::BatchNorm { name: None, momentum: 0.1, eps: 1e-5 }, dense_config(4, Activation::Identity, true)];
    check_layers("residual", vec![LayerConfig::Residual { name: None, layers: body }], &[4], 5, 5, &|tape, x, params| {
        let h = dense(tape, x, Activation::Tanh, true, params)?;
        let h = batchnorm(tape, h, 1e-5, params)?;
        let h = dense(tape, h, Activation::Identity, true, params)?;
        add(tape, x, h)
    });
    let inner = LayerConfig::Residual { name: None, layers: vec![dense_config(5, Activation::Tanh, true)] };
    let outer = LayerConfig::Residual { name: None, layers: vec![dense_config(5, Activation::Relu, true), inner, dense_config(4, Activation::Sigmoid, true)] };
    check_layers("nested residual", vec![outer, dense_config(2, Activation::Identity, true)], &[4], 3, 6, &|tape, x, params| {
        let h = dense(tape, x, Activation::Relu, true, params)?;
        let through = dense(tape, h, Activation::Tanh, true, params)?;
        let h = add(tape, h, through)?;
        let h = dense(tape, h, Activation::Sigmoid, true, params)?;
        let y = add(tape, x, h)?;
        dense(tape, y, Activation::Identity, true, params)
    });
}

/// The recurrent layers and the eager recurrent op run one recurrence
/// (`gradlab_core::recurrence`): from the zero state, with the layer's weights, the op gives
/// the layer's outputs and gradients. (A bug inside the recurrence itself would show on both
/// sides; `tests/recurrent.rs` checks it against an independent f64 reference.)
#[test]
fn recurrent_layers_are_the_recurrent_op() {
    for cell in [CellKind::Rnn, CellKind::Lstm] {
        let options = RecurrentOptions { cell, units: 3, return_sequences: true, forget_bias: 0.0, bptt_steps: None };
        let configs = vec![LayerConfig::Recurrent { name: None, options }];
        let (batch, steps, features) = (2, 4, 3);
        check_layers_on(&format!("{} layer", cell.kind()), configs, &[steps, features], batch, &[batch, steps, features], 7, &move |tape, x, params| {
            let weights = RecurrentParams { weight_ih: params.take(), weight_hh: params.take(), bias_ih: params.take(), bias_hh: params.take() };
            Ok(recurrent(tape, cell, x, weights, None, None)?.output)
        });
    }
}

/// Bit for bit in evaluation mode: every h_t, the last h_t, and a cell state for the LSTM only.
#[test]
fn the_recurrent_op_from_the_zero_state_is_the_layer() {
    for cell in [CellKind::Rnn, CellKind::Lstm] {
        let (batch, steps, features, units) = (3, 4, 2, 5);
        let options = RecurrentOptions { cell, units, return_sequences: true, forget_bias: 0.0, bptt_steps: None };
        let mut layer = Recurrent::new("r".into(), &[steps, features], options, &mut Rng::new(1)).unwrap();
        let mut rng = Rng::new(5);
        let mut tape = Tape::new();
        let input = random(&mut rng, batch * steps * features, 1.0);
        let x = leaf(&mut tape, &[batch, steps, features], &input, false);
        let mut ids = Vec::new();
        layer.visit_params(&mut |param| {
            param.value = random(&mut rng, param.value.len(), 1.0);
            ids.push(leaf(&mut tape, &param.shape, &param.value, false));
        });
        let mut expected = vec![0.0; batch * steps * units];
        layer.forward(&input, batch, Mode::Eval, &mut expected);
        let weights = RecurrentParams { weight_ih: ids[0], weight_hh: ids[1], bias_ih: ids[2], bias_hh: ids[3] };
        let outputs = recurrent(&mut tape, cell, x, weights, None, None).unwrap();
        assert_eq!(values(&tape, outputs.output), expected, "{}", cell.kind());
        let last: Vec<f32> = expected.chunks_exact(steps * units).flat_map(|e| e[(steps - 1) * units..].to_vec()).collect();
        assert_eq!(values(&tape, outputs.hidden), last);
        assert_eq!(outputs.cell.is_some(), cell == CellKind::Lstm);
    }
}

/// What a loss compares logits [rows, cols] with: class indices (one per row) or float
/// targets of the logits' shape. `batch` is what the model averages over.
struct LossCase {
    loss: Loss,
    rows: usize,
    cols: usize,
    batch: usize,
    classes: Vec<i32>,
    targets: Vec<f32>,
}

/// A loss on the tape from logits and targets [rows, cols] (for class indices, their one-hot
/// rows), each a leaf.
type LossComposition = dyn Fn(&mut Tape, TensorId, TensorId) -> Result<TensorId>;

/// The model's loss (`nn::Loss::forward_backward`, as the training step runs it) and the eager
/// op against `compose`: the values, ∂loss/∂logits and (float targets) ∂loss/∂targets.
fn check_loss(what: &str, case: &LossCase, seed: u64, op: &LossComposition, compose: &LossComposition) {
    let mut rng = Rng::new(seed);
    let logits = random(&mut rng, case.rows * case.cols, 3.0);
    let target = if case.loss == Loss::SoftmaxCrossEntropy { Target::Classes(&case.classes) } else { Target::Values(&case.targets) };
    case.loss.validate_target("test", &target, logits.len(), case.cols).unwrap();
    let mut model_grad = vec![f32::NAN; logits.len()];
    let model_value = case.loss.forward_backward(&logits, case.cols, case.batch, &target, Some(&mut model_grad));

    let targets = if case.loss == Loss::SoftmaxCrossEntropy {
        let mut onehot = vec![0.0; logits.len()];
        case.classes.iter().enumerate().for_each(|(row, &class)| onehot[row * case.cols + class as usize] = 1.0);
        onehot
    } else {
        case.targets.clone()
    };
    let run = |build: &LossComposition| {
        let mut tape = Tape::new();
        let x = leaf(&mut tape, &[case.rows, case.cols], &logits, true);
        let y = leaf(&mut tape, &[case.rows, case.cols], &targets, case.loss != Loss::SoftmaxCrossEntropy);
        let loss = build(&mut tape, x, y).unwrap();
        let value = values(&tape, loss);
        assert_eq!(value.len(), 1, "{}: a scalar loss", what);
        tape.backward(loss).unwrap();
        let target_grad = if case.loss == Loss::SoftmaxCrossEntropy { Vec::new() } else { grad(&tape, y) };
        (value[0], grad(&tape, x), target_grad)
    };
    let (composed_value, composed_grad, composed_target_grad) = run(compose);
    let (op_value, op_grad, op_target_grad) = run(op);
    assert_close(&format!("{}: model's value", what), &[model_value as f32], &[composed_value]);
    assert_close(&format!("{}: model's ∂loss/∂logits", what), &model_grad, &composed_grad);
    assert_close(&format!("{}: op's value", what), &[op_value], &[composed_value]);
    assert_close(&format!("{}: op's ∂loss/∂logits", what), &op_grad, &composed_grad);
    assert_close(&format!("{}: op's ∂loss/∂targets", what), &op_target_grad, &composed_target_grad);
}

/// `mean((x − y)²)`.
fn composed_mse(tape: &mut Tape, x: TensorId, y: TensorId) -> Result<TensorId> {
    let difference = sub(tape, x, y)?;
    let squares = pointwise(tape, MathKind::Square, difference)?;
    reduce(tape, ReduceKind::Mean, squares, None, false)
}

/// `−Σ onehot ⊙ log_softmax(x) / rows`.
fn composed_softmax_cross_entropy(rows: usize) -> impl Fn(&mut Tape, TensorId, TensorId) -> Result<TensorId> {
    move |tape, x, onehot| {
        let log_probabilities = softmax(tape, x, true)?;
        let picked = mul(tape, log_probabilities, onehot)?;
        let total = sum(tape, picked)?;
        let factor = constant(tape, -1.0 / rows as f32);
        mul(tape, total, factor)
    }
}

/// `Σ [log(1 + eˣ) − x·y] / batch`, the textbook `−y log σ(x) − (1 − y) log(1 − σ(x))`
/// rewritten (fine for the moderate logits here).
fn composed_sigmoid_cross_entropy(batch: usize) -> impl Fn(&mut Tape, TensorId, TensorId) -> Result<TensorId> {
    move |tape, x, y| {
        let exp = pointwise(tape, MathKind::Exp, x)?;
        let one = constant(tape, 1.0);
        let shifted = add(tape, exp, one)?;
        let softplus = pointwise(tape, MathKind::Log, shifted)?;
        let product = mul(tape, x, y)?;
        let terms = sub(tape, softplus, product)?;
        let total = sum(tape, terms)?;
        let factor = constant(tape, 1.0 / batch as f32);
        mul(tape, total, factor)
    }
}

#[test]
fn mse_on_both_paths() {
    let mut rng = Rng::new(20);
    let case = LossCase { loss: Loss::Mse, rows: 4, cols: 3, batch: 4, classes: Vec::new(), targets: random(&mut rng, 12, 2.0) };
    check_loss("mse", &case, 21, &|tape, x, y| eager::mse(tape, x, y), &composed_mse);
}

#[test]
fn softmax_cross_entropy_on_both_paths() {
    let case = LossCase { loss: Loss::SoftmaxCrossEntropy, rows: 5, cols: 4, batch: 5, classes: vec![0, 3, 1, 1, 2], targets: Vec::new() };
    let classes = case.classes.clone();
    check_loss("softmaxCrossEntropy", &case, 22, &move |tape, x, _| eager::softmax_cross_entropy(tape, x, &classes), &composed_softmax_cross_entropy(5));
}

#[test]
fn sigmoid_cross_entropy_on_both_paths() {
    let mut rng = Rng::new(23);
    let targets: Vec<f32> = (0..12).map(|i| if i % 3 == 0 { (i % 2) as f32 } else { rng.uniform(0.0, 1.0) }).collect();
    let case = LossCase { loss: Loss::SigmoidCrossEntropy, rows: 4, cols: 3, batch: 4, classes: Vec::new(), targets };
    check_loss("sigmoidCrossEntropy", &case, 24, &|tape, x, y| eager::sigmoid_cross_entropy(tape, x, y), &composed_sigmoid_cross_entropy(4));
}

/// On sequence outputs [B, T, C] softmax cross-entropy averages over all B·T rows, and the
/// model's sigmoid cross-entropy over the B examples only (its eager op, on [B·T, C], would
/// average over B·T: only the model's value and gradient are compared for it).
#[test]
fn losses_on_sequence_outputs() {
    let (batch, steps, cols) = (2, 3, 4);
    let rows = batch * steps;
    let classes: Vec<i32> = (0..rows as i32).map(|row| row % cols as i32).collect();
    let case = LossCase { loss: Loss::SoftmaxCrossEntropy, rows, cols, batch, classes: classes.clone(), targets: Vec::new() };
    check_loss("softmaxCrossEntropy [B, T, C]", &case, 25, &move |tape, x, _| eager::softmax_cross_entropy(tape, x, &classes), &composed_softmax_cross_entropy(rows));

    let mut rng = Rng::new(26);
    let targets: Vec<f32> = (0..rows * cols).map(|_| rng.uniform(0.0, 1.0)).collect();
    let logits = random(&mut rng, rows * cols, 3.0);
    let mut model_grad = vec![f32::NAN; logits.len()];
    let model_value = Loss::SigmoidCrossEntropy.forward_backward(&logits, cols, batch, &Target::Values(&targets), Some(&mut model_grad));
    let mut tape = Tape::new();
    let x = leaf(&mut tape, &[rows, cols], &logits, true);
    let y = leaf(&mut tape, &[rows, cols], &targets, false);
    let loss = composed_sigmoid_cross_entropy(batch)(&mut tape, x, y).unwrap();
    assert_close("sigmoidCrossEntropy [B, T, C]: value", &[model_value as f32], &values(&tape, loss));
    tape.backward(loss).unwrap();
    assert_close("sigmoidCrossEntropy [B, T, C]: ∂loss/∂logits", &model_grad, &grad(&tape, x));
}

/// One rule for sigmoid cross-entropy's targets on both paths (see `gradlab_core::loss`):
/// probabilities in [0, 1]; anything else is `InvalidArgument` naming the target.
#[test]
fn sigmoid_cross_entropy_refuses_targets_outside_0_1_on_both_paths() {
    for bad in [1.5f32, -0.25] {
        let targets = [0.0, 1.0, bad, 0.5];
        let error = Loss::SigmoidCrossEntropy.validate_target("trainStep", &Target::Values(&targets), 4, 2).unwrap_err();
        assert_eq!(error.code(), "InvalidArgument", "{}", error);
        let mut tape = Tape::new();
        let x = leaf(&mut tape, &[2, 2], &[0.0; 4], true);
        let y = leaf(&mut tape, &[2, 2], &targets, false);
        let error = eager::sigmoid_cross_entropy(&mut tape, x, y).unwrap_err();
        assert_eq!(error.code(), "InvalidArgument", "{}", error);
    }
}
