//! Sizes from outside never overflow and never reach an allocation the instance cannot make:
//! a model that cannot fit is refused when it is built, naming the layer, and a batch that
//! cannot fit is refused before it runs (see `limits`).

use gradlab_core::limits::{MAX_BATCH_VALUES, MAX_PARAMETERS};
use gradlab_core::nn::recurrent::RecurrentOptions;
use gradlab_core::recurrence::CellKind;
use gradlab_core::nn::{Activation, Clip, Init, LayerConfig, Loss, Method, Model, ModelConfig, Optimizer, Penalty, Schedule, Target};
use gradlab_core::Error;

fn config(input_dims: Vec<usize>, layers: Vec<LayerConfig>) -> ModelConfig {
    ModelConfig {
        input_dims,
        layers,
        loss: Loss::Mse,
        optimizer: Optimizer::new(Method::Sgd { momentum: 0.0, nesterov: false, weight_decay: 0.0 }, 0.01, Schedule::Constant),
        clip: Clip::default(),
        penalty: Penalty::default(),
    }
}

fn dense(units: usize, activation: Activation) -> LayerConfig {
    LayerConfig::Dense { name: None, units, activation, init: Init::Default, bias: true }
}

fn lstm(units: usize) -> LayerConfig {
    LayerConfig::Recurrent { name: None, options: RecurrentOptions { cell: CellKind::Lstm, units, return_sequences: true, forget_bias: 0.0, bptt_steps: None } }
}

/// The `(arg, requested, limit)` of a `TooLarge` error.
fn too_large(error: Error) -> (String, u64, u64) {
    match error {
        Error::TooLarge { arg, requested, limit, .. } => (arg, requested, limit),
        other => panic!("expected TooLarge, got {:?}", other),
    }
}

#[test]
fn the_specs_that_wrapped_in_32_bits_are_refused_at_build_naming_the_layer() {
    // 65536 · 65536 and 16777216 · 256 are 2^32: 0 in a 32-bit usize.
    let cases = [
        (vec![65536], dense(65536, Activation::Identity), (1u64 << 32) + 65536),
        (vec![1 << 24], dense(256, Activation::Identity), (1u64 << 32) + 256),
        // 4H·I + 4H·H + 8H with H = 32768, I = 1.
        (vec![10, 1], lstm(32768), 4 * 32768 + 4 * 32768 * 32768 + 8 * 32768),
    ];
    for (input, layer, parameters) in cases {
        let error = Model::new(config(input.clone(), vec![layer]), 0).err().expect("refused");
        assert_eq!(error.code(), "TooLarge");
        assert_eq!(too_large(error), ("layers[0]".to_string(), parameters, MAX_PARAMETERS as u64), "input {:?}", input);
    }
}

#[test]
fn parameters_count_across_layers_and_nested_blocks() {
    // The second layer alone holds exactly 2^26 values (1023 · 65536 + 65536); with the
    // first one's 2046 the model is past the limit, refused before the second is allocated.
    let error = Model::new(config(vec![1], vec![dense(1023, Activation::Identity), dense(65536, Activation::Identity)]), 0).err().expect("refused");
    assert_eq!(too_large(error), ("layers[1]".to_string(), 2046 + (1 << 26), MAX_PARAMETERS as u64));
    // Inside a residual block the error names the nested path.
    let inner = LayerConfig::Residual { name: None, layers: vec![dense(65536, Activation::Identity)] };
    let error = Model::new(config(vec![4096], vec![inner]), 0).err().expect("refused");
    assert_eq!(too_large(error).0, "layers[0].layers[0]");
}

#[test]
fn an_input_whose_size_overflows_is_too_large() {
    let error = Model::new(config(vec![1 << 24, 1 << 24], vec![dense(1, Activation::Identity)]), 0).err().expect("refused");
    assert_eq!(too_large(error).0, "input");
}

#[test]
fn a_model_that_cannot_run_one_example_is_refused_at_build() {
    // Each LSTM keeps 4096 steps × (3·4H + 3H) + 2H = 3,932,288 values of one example, plus
    // its output 4096·64: 4,194,432 a layer, so the 64th takes one example past 2^28.
    let layers: Vec<LayerConfig> = (0..70).map(|_| lstm(64)).collect();
    let error = Model::new(config(vec![4096, 64], layers), 0).err().expect("refused");
    assert_eq!(too_large(error), ("layers[63]".to_string(), 64 * (3_932_288 + 4096 * 64), MAX_BATCH_VALUES as u64));
}

#[test]
fn a_batch_too_large_for_memory_is_refused_before_it_runs_and_the_model_survives() {
    // Per example: the dense output, pre-activation and its gradient (3 · 65536), two
    // gradient buffers and ∂L/∂output (3 · 65536): 393,216 values, so 682 examples fit.
    let mut model = Model::new(config(vec![1], vec![dense(65536, Activation::Relu)]), 0).unwrap();
    assert!(model.check_input("predict", &[0.5; 682], &[682, 1]).is_ok());
    let (arg, requested, limit) = too_large(model.check_input("predict", &[0.5; 683], &[683, 1]).unwrap_err());
    assert_eq!((arg.as_str(), requested, limit), ("x", 683 * 393_216, MAX_BATCH_VALUES as u64));
    let batch = model.check_input("trainStep", &[0.5; 2], &[2, 1]).unwrap();
    let targets = vec![0.0; 2 * 65536];
    assert!(model.train_step("trainStep", &[0.5; 2], batch, &Target::Values(&targets)).unwrap().applied);
}
