/**
 * Greedy layer-wise pretraining (Hinton, Osindero & Teh 2006; Bengio et al. 2007), the first
 * remedy the article names for vanishing gradients: train the hidden layers one at a time,
 * bottom up, each as a shallow unsupervised model of the representation below it, then
 * fine-tune the whole net with backpropagation.
 *
 * - {@link pretrain} does it for a model's leading dense layers, with autoencoders or RBMs.
 * - {@link Rbm} is a restricted Boltzmann machine trained by contrastive divergence (CD-k),
 *   usable on its own.
 */
import { GradlabError, describe, invalidArgument, shapeMismatch, shapeString, numberArg } from '../runtime/errors.js';
import { createModelSync, type Model } from './model.js';
import type { Dataset, StateDict, TensorData, TensorLike } from './types.js';
import type { DenseSpec, ModelSpec } from './spec.js';
import { core as loadedCore, init as initWasm, type Core, type WasmSource } from '../runtime/wasm.js';
import type { RbmCore } from '../../pkg/gradlab.js';

/** An RBM's parameters: `weight` [hidden, visible] (a dense layer's layout), the two biases. */
export interface RbmParameters {
  weight: TensorData;
  visibleBias: TensorData;
  hiddenBias: TensorData;
}

/** Hyper-parameters of one epoch of CD-k. */
export interface RbmTrainOptions {
  /** Learning rate of gradient ascent on the log-likelihood. */
  lr: number;
  /** Gibbs steps per update (CD-k); default 1. */
  k?: number;
  /** Examples per update; default 10. */
  batchSize?: number;
  /** Momentum in [0, 1); default 0. */
  momentum?: number;
  /** L2 weight cost on W (not the biases); default 0. */
  weightDecay?: number;
  /**
   * Sample the visible units at every Gibbs step (an exact Gibbs chain) instead of using their
   * probabilities as Hinton's practical guide recommends (less noise); default false.
   */
  sampleVisible?: boolean;
}


/** Checks that `x` is a batch [rows, features] of `features`-long rows and returns rows. */
function rowsOf(op: string, arg: string, x: TensorLike, features: number): number {
  if (typeof x !== 'object' || x === null || !Array.isArray(x.shape) || x.data === undefined || x.data === null) {
    invalidArgument(op, arg, 'a tensor {shape, data}', describe(x));
  }
  const [rows, columns] = x.shape;
  if (x.shape.length !== 2 || columns !== features || !Number.isInteger(rows) || rows < 1) {
    shapeMismatch(op, arg, `[N, ${features}] with N ≥ 1`, shapeString(x.shape));
  }
  if (x.data.length !== rows * features) shapeMismatch(op, arg, `${rows * features} values for shape ${shapeString(x.shape)}`, `${x.data.length} values`);
  return rows;
}

/**
 * A Bernoulli–Bernoulli restricted Boltzmann machine in WASM memory: binary (or probability)
 * visible units v, binary hidden units h, `p(h=1|v) = σ(c + W·v)`, `p(v=1|h) = σ(b + Wᵀ·h)`,
 * trained by CD-k. Create it with {@link createRbm}; free it with `dispose()`.
 */
export class Rbm {
  readonly visible: number;
  readonly hidden: number;
  private readonly core: Core;
  private inner: RbmCore | undefined;

  /** @internal Use {@link createRbm}. */
  constructor(core: Core, visible: number, hidden: number, inner: RbmCore) {
    this.core = core;
    this.visible = visible;
    this.hidden = hidden;
    this.inner = inner;
  }

  private live(op: string): RbmCore {
    if (this.inner === undefined) throw new GradlabError({ code: 'Disposed', op, message: `${op}: the RBM has been disposed` });
    return this.inner;
  }

  /** Runs a call of the bindings on `x` ([rows, visible]). */
  private withData<R>(op: string, x: TensorLike, call: (inner: RbmCore, data: Float32Array, rows: number) => R): R {
    const inner = this.live(op);
    const rows = rowsOf(op, 'x', x, this.visible);
    const data = this.core.f32Arg(op, 'x', x.data);
    return this.core.call(() => call(inner, data, rows));
  }

  /**
   * Sets each visible bias to the log-odds of that unit being on in `x` (Hinton's guide §8),
   * a good start before training.
   */
  initVisibleBias(x: TensorLike): void {
    this.withData('rbm.initVisibleBias', x, (inner, data, rows) => inner.initVisibleBias(data, rows));
  }

  /**
   * One epoch of CD-k over `x` ([N, visible], values in [0, 1]) in shuffled mini-batches.
   * Returns the reconstruction error after the epoch (see {@link reconstructionError}).
   */
  trainEpoch(x: TensorLike, options: RbmTrainOptions): number {
    const op = 'rbm.trainEpoch';
    if (typeof options !== 'object' || options === null) invalidArgument(op, 'options', '{ lr, k?, batchSize?, momentum?, weightDecay? }', describe(options));
    const { lr, k = 1, batchSize = 10, momentum = 0, weightDecay = 0, sampleVisible = false } = options;
    const numbers = { batchSize, k, lr, momentum, weightDecay };
    for (const [arg, value] of Object.entries(numbers)) numberArg(op, arg, value);
    return this.withData(op, x, (inner, data, rows) => inner.trainEpoch(data, rows, batchSize, k, lr, momentum, weightDecay, sampleVisible === true));
  }

  /**
   * The mean over rows of `Σᵢ (vᵢ − v̂ᵢ)²`, where `v̂ = p(v | p(h | v))` is the deterministic
   * reconstruction: the squared error Hinton's guide monitors during training.
   */
  reconstructionError(x: TensorLike): number {
    return this.withData('rbm.reconstructionError', x, (inner, data, rows) => inner.reconstructionError(data, rows));
  }

  /** `p(h = 1 | v)` for every row of `x`: [N, hidden], the features the RBM has learned. */
  hiddenProbabilities(x: TensorLike): TensorData {
    return this.withData('rbm.hiddenProbabilities', x, (inner, data, rows) => ({ shape: [rows, this.hidden], data: inner.hiddenProbabilities(data, rows) }));
  }

  /** Copies of W [hidden, visible], b [visible] and c [hidden]. */
  parameters(): RbmParameters {
    const inner = this.live('rbm.parameters');
    const read = (part: keyof RbmParameters, shape: number[]): TensorData => ({ shape, data: this.core.call(() => inner.parameter(part)) });
    return { weight: read('weight', [this.hidden, this.visible]), visibleBias: read('visibleBias', [this.visible]), hiddenBias: read('hiddenBias', [this.hidden]) };
  }

  /** Replaces the given parameters (each must have its exact size and be finite). */
  setParameters(parameters: Partial<Record<keyof RbmParameters, TensorLike>>): void {
    const op = 'rbm.setParameters';
    const inner = this.live(op);
    for (const [part, values] of Object.entries(parameters)) {
      if (values !== undefined) this.core.call(() => inner.setParameter(part, this.core.f32Arg(op, part, values.data)));
    }
  }

  /** Frees the RBM's WASM memory; later calls throw `Disposed`. */
  dispose(): void {
    this.inner?.free();
    this.inner = undefined;
  }
}

export interface CreateRbmOptions {
  /** Seed of the initial weights (N(0, 0.01²); zero biases), the shuffling and the sampling; default 0. */
  seed?: number;
  /** Where to load gradlab.wasm from (defaults to the packaged file). */
  wasm?: WasmSource;
}

/** Creates an RBM with `visible` and `hidden` units (loading the wasm if needed). */
export async function createRbm(visible: number, hidden: number, options: CreateRbmOptions = {}): Promise<Rbm> {
  return createRbmSync(await initWasm(options.wasm), visible, hidden, options.seed ?? 0);
}

/** {@link createRbm} for an instance that is already loaded. */
export function createRbmSync(core: Core, visible: number, hidden: number, seed = 0): Rbm {
  const op = 'createRbm';
  const [visibleUnits, hiddenUnits, seedValue] = [numberArg(op, 'visible', visible), numberArg(op, 'hidden', hidden), numberArg(op, 'seed', seed)];
  return new Rbm(core, visibleUnits, hiddenUnits, core.call((b) => new b.RbmCore(visibleUnits, hiddenUnits, seedValue)));
}

/** The number of live RBMs in this thread's instance (for leak tests). */
export function numRbms(): number {
  return loadedCore().call((b) => b.numRbms());
}

// ---------------------------------------------------------------------------------------------
// Greedy layer-wise pretraining of a model
// ---------------------------------------------------------------------------------------------

export type PretrainMethod = 'autoencoder' | 'rbm';

export interface PretrainOptions {
  /**
   * `autoencoder`: each layer is the encoder of a one-hidden-layer autoencoder trained to
   * reconstruct its input. `rbm`: each layer is an RBM trained by CD-k (a deep belief net;
   * the layers must be sigmoid dense layers with bias).
   */
  method: PretrainMethod;
  /** Epochs per layer (0 leaves the model as it is and reports only the initial errors). */
  epochs: number;
  /** Learning rate (SGD for autoencoders, CD-k for RBMs). */
  lr: number;
  /** Gibbs steps per RBM update; default 1. */
  k?: number;
  /** Examples per update; default 10. */
  batchSize?: number;
  /** Seed of everything random (autoencoder decoders, shuffling, RBM weights and sampling); default 0. */
  seed?: number;
  /** Momentum in [0, 1); default 0. */
  momentum?: number;
  /** L2 weight cost; default 0. RBMs apply it to W only; autoencoders through SGD's `weightDecay`. */
  weightDecay?: number;
  /** How many leading layers to pretrain; default every layer but the output layer. */
  layers?: number;
  /**
   * The autoencoder's reconstruction loss: `crossEntropy` (a sigmoid decoder with sigmoid
   * cross-entropy, for inputs in [0, 1] such as pixels and sigmoid activations) or `mse` (a
   * linear decoder). Default: `crossEntropy` when the layer's input lies in [0, 1], else `mse`.
   */
  reconstruction?: 'crossEntropy' | 'mse';
  /** Called after each epoch of each layer (for progress bars). */
  onEpoch?: (progress: { layer: number; epoch: number; reconstructionError: number }) => void;
  /** Called when a layer is done, with its report. */
  onLayer?: (report: LayerPretrainReport) => void;
}

/** What pretraining one layer measured. */
export interface LayerPretrainReport {
  /** The layer's name (the prefix of its state-dict entries, e.g. `0`). */
  name: string;
  /** Its position in `model.spec.layers`. */
  index: number;
  inputSize: number;
  units: number;
  method: PretrainMethod;
  /** The autoencoder's loss, or `rbm` (squared error of the mean-field reconstruction). */
  loss: 'crossEntropy' | 'mse' | 'rbm';
  /**
   * Before training: the mean over examples of `Σᵢ (xᵢ − x̂ᵢ)²`, where x̂ is the deterministic
   * reconstruction of x (the autoencoder's output; the RBM's `p(v | p(h | x))`).
   */
  initialReconstructionError: number;
  /** The same measure after each epoch. */
  reconstructionError: number[];
}

export interface PretrainReport {
  method: PretrainMethod;
  /** One report per pretrained layer, bottom up. */
  layers: LayerPretrainReport[];
}

/** A layer to pretrain: its spec and where its parameters live in the model's state dict. */
interface Target {
  index: number;
  name: string;
  spec: DenseSpec;
  inputSize: number;
}

interface Settings {
  method: PretrainMethod;
  epochs: number;
  lr: number;
  k: number;
  batchSize: number;
  seed: number;
  momentum: number;
  weightDecay: number;
  reconstruction?: 'crossEntropy' | 'mse';
}

/** The options with their defaults; the numeric ranges are checked in the core, up front. */
function checkOptions(core: Core, options: PretrainOptions): Settings {
  const op = 'pretrain';
  if (typeof options !== 'object' || options === null) invalidArgument(op, 'options', '{ method, epochs, lr, ... }', describe(options));
  const { method, epochs, lr, k = 1, batchSize = 10, seed = 0, momentum = 0, weightDecay = 0, reconstruction } = options;
  if (method !== 'autoencoder' && method !== 'rbm') invalidArgument(op, 'method', "'autoencoder' or 'rbm'", describe(method));
  if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 0) invalidArgument(op, 'epochs', 'an integer ≥ 0', describe(epochs));
  const numbers = { batchSize, k, lr, momentum, weightDecay, seed };
  for (const [arg, value] of Object.entries(numbers)) numberArg(op, arg, value);
  core.call((b) => b.checkPretrainOptions(batchSize, k, lr, momentum, weightDecay, seed));
  if (reconstruction !== undefined && reconstruction !== 'crossEntropy' && reconstruction !== 'mse') {
    invalidArgument(op, 'reconstruction', "'crossEntropy' or 'mse'", describe(reconstruction));
  }
  return { method, epochs, lr, k, batchSize, seed, momentum, weightDecay, reconstruction };
}

/** The leading dense layers to pretrain, checked against the method. */
function targetsOf(model: Model, settings: Settings, layers: number | undefined): Target[] {
  const op = 'pretrain';
  const specs = model.spec.layers;
  const count = layers ?? specs.length - 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > specs.length - 1) {
    invalidArgument(op, 'layers', `an integer in [0, ${specs.length - 1}] (the output layer is trained in fine-tuning)`, describe(layers));
  }
  if (model.inputShape.length !== 1) {
    invalidArgument(op, 'model', 'a model with per-example input [features]', `input ${shapeString(model.inputShape)}`);
  }
  const targets: Target[] = [];
  let inputSize = model.inputShape[0];
  for (let index = 0; index < count; index++) {
    const spec = specs[index];
    const arg = `model.spec.layers[${index}]`;
    if (spec.type !== 'dense') invalidArgument(op, arg, 'a dense layer (pretraining covers the leading dense layers)', `a ${spec.type} layer`);
    if (settings.method === 'rbm') {
      if (spec.activation !== 'sigmoid') invalidArgument(op, `${arg}.activation`, "'sigmoid' (an RBM's hidden units are sigmoid)", describe(spec.activation ?? 'identity'));
      if (spec.bias === false) invalidArgument(op, `${arg}.bias`, 'true (an RBM has a hidden bias)', 'false');
    }
    targets.push({ index, name: spec.name ?? String(index), spec, inputSize });
    inputSize = spec.units;
  }
  return targets;
}

/** The input rows as a Float32Array [N, features], checked against the model. */
function inputOf(model: Model, data: TensorLike | Dataset): TensorData {
  const op = 'pretrain';
  const x = typeof data === 'object' && data !== null && 'x' in data ? data.x : data;
  const features = model.inputShape[0];
  const rows = rowsOf(op, 'data', x as TensorLike, features);
  const values = Float32Array.from((x as TensorLike).data);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) invalidArgument(op, 'data', 'finite numbers', `${values[bad]} at index ${bad}`);
  return { shape: [rows, features], data: values };
}

function inUnitInterval(x: TensorData): boolean {
  return x.data.every((v) => v >= 0 && v <= 1);
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** The mean over rows of `Σᵢ (xᵢ − x̂ᵢ)²`. */
function squaredError(x: TensorData, reconstruction: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.data.length; i++) sum += (x.data[i] - reconstruction[i]) ** 2;
  return sum / x.shape[0];
}

/**
 * One layer's state-dict entries keyed without the layer's name (`weight`, `bias`, and a
 * PReLU activation's `alpha`), so they move between models where the layer has other names.
 */
type LayerState = Record<string, TensorData>;

/** The entries of `state` named `<prefix>.<key>`, keyed by `key`. */
function layerState(state: StateDict, prefix: string): LayerState {
  const layer: LayerState = {};
  for (const [name, value] of Object.entries(state)) if (name.startsWith(`${prefix}.`)) layer[name.slice(prefix.length + 1)] = value;
  return layer;
}

/** `layer`'s entries renamed to `<prefix>.<key>`. */
function named(prefix: string, layer: LayerState): StateDict {
  return Object.fromEntries(Object.entries(layer).map(([key, value]) => [`${prefix}.${key}`, value]));
}

/** What training one layer produced: the dense layer's new entries and the errors. */
interface Trained {
  layer: LayerState;
  loss: LayerPretrainReport['loss'];
  initialReconstructionError: number;
  reconstructionError: number[];
}

/** A dense layer spec without a name or init, so its entries are `0.weight`, `0.bias`… in a fresh model. */
function anonymous(spec: DenseSpec): DenseSpec {
  return { type: 'dense', units: spec.units, activation: spec.activation, bias: spec.bias };
}

/**
 * Trains a one-hidden-layer autoencoder `x → f(W·x + b) → decoder → x̂` whose encoder is the
 * target layer (same units, activation and bias, starting from the layer's current weights)
 * and whose decoder is untied (its own weights, discarded afterwards: gradlab's dense layers
 * own their weights). With `crossEntropy` the decoder's logits go through a sigmoid
 * (sigmoidCrossEntropy); with `mse` it is linear.
 */
function trainAutoencoder(core: Core, target: Target, x: TensorData, current: LayerState, settings: Settings, seed: number, onEpoch: (epoch: number, error: number) => void): Trained {
  const loss = settings.reconstruction ?? (inUnitInterval(x) ? 'crossEntropy' : 'mse');
  const spec: ModelSpec = {
    input: [target.inputSize],
    layers: [anonymous(target.spec), { type: 'dense', units: target.inputSize }],
    loss: loss === 'crossEntropy' ? 'sigmoidCrossEntropy' : 'mse',
    optimizer: { type: 'sgd', lr: settings.lr, momentum: settings.momentum, weightDecay: settings.weightDecay },
  };
  const autoencoder = createModelSync(core, spec, seed);
  try {
    autoencoder.loadStateDict({ ...autoencoder.stateDict(), ...named('0', current) });
    const error = (): number => {
      let output: Float32Array;
      try {
        output = autoencoder.predict(x).data;
      } catch (thrown) {
        // A diverged autoencoder is reported, not thrown: its error is infinite.
        if (thrown instanceof GradlabError && thrown.code === 'NonFinite') return Infinity;
        throw thrown;
      }
      if (loss === 'crossEntropy') for (let i = 0; i < output.length; i++) output[i] = sigmoid(output[i]);
      return squaredError(x, output);
    };
    const initialReconstructionError = error();
    const reconstructionError: number[] = [];
    autoencoder.fit({ x, y: x }, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      seed,
      diagnostics: 'none',
      onEpoch: ({ epoch }) => {
        reconstructionError.push(error());
        onEpoch(epoch, reconstructionError[epoch]);
      },
    });
    return { layer: layerState(autoencoder.stateDict(), '0'), loss, initialReconstructionError, reconstructionError };
  } finally {
    autoencoder.dispose();
  }
}

/**
 * Trains an RBM with the layer's input as visible units and its units as hidden units,
 * starting from the layer's weight and bias (W and the hidden bias) and, as Hinton's guide
 * suggests, visible biases at the data's log-odds; the layer takes W and the hidden bias.
 */
function trainRbm(core: Core, target: Target, x: TensorData, current: LayerState, settings: Settings, seed: number, onEpoch: (epoch: number, error: number) => void): Trained {
  const rbm = createRbmSync(core, target.inputSize, target.spec.units, seed);
  try {
    rbm.setParameters({ weight: current.weight, hiddenBias: current.bias });
    rbm.initVisibleBias(x);
    const initialReconstructionError = rbm.reconstructionError(x);
    const reconstructionError: number[] = [];
    for (let epoch = 0; epoch < settings.epochs; epoch++) {
      reconstructionError.push(rbm.trainEpoch(x, settings));
      onEpoch(epoch, reconstructionError[epoch]);
    }
    const { weight, hiddenBias } = rbm.parameters();
    return { layer: { weight, bias: hiddenBias }, loss: 'rbm', initialReconstructionError, reconstructionError };
  } finally {
    rbm.dispose();
  }
}

/** The target layer's output on `x` (`f(x·Wᵀ + b)`), through a model of that layer alone. */
function propagate(core: Core, target: Target, x: TensorData, layer: LayerState): TensorData {
  const model = createModelSync(core, { input: [target.inputSize], layers: [anonymous(target.spec)], loss: 'mse' });
  try {
    model.loadStateDict(named('0', layer));
    return model.predict(x);
  } finally {
    model.dispose();
  }
}

/**
 * Greedy layer-wise pretraining of `model`'s leading dense layers (all but the output layer
 * by default), bottom up: layer l is trained, unsupervised, on the representation that the
 * already-pretrained layers below it produce from `data`, then its weight and bias are copied
 * into `model` and the data is propagated through it (`f(x·Wᵀ + b)`) to feed layer l + 1.
 * The output layer is left for supervised fine-tuning (`model.fit`).
 *
 * Both methods start from the layer's current parameters, so the model's `init` is the
 * starting point (Hinton's guide starts an RBM at W ~ N(0, 0.01²), zero hidden bias: the
 * init `{ type: 'normal', std: 0.01 }`). An autoencoder's decoder starts at PyTorch's default.
 *
 * `data` is the inputs [N, features] (or a dataset, whose `x` is used); labels are not needed.
 * Everything random derives from `options.seed`, so a seed reproduces the run exactly.
 * Runs synchronously on the calling thread (the model's instance must be loaded).
 */
export function pretrain(model: Model, data: TensorLike | Dataset, options: PretrainOptions): PretrainReport {
  const core = loadedCore();
  const settings = checkOptions(core, options);
  const targets = targetsOf(model, settings, options.layers);
  let x = inputOf(model, data);
  if (settings.method === 'rbm' && !inUnitInterval(x)) {
    invalidArgument('pretrain', 'data', 'values in [0, 1] for RBM pretraining (binary data or probabilities)', 'values outside [0, 1]');
  }
  const report: PretrainReport = { method: settings.method, layers: [] };
  for (const target of targets) {
    const seed = settings.seed + target.index;
    const onEpoch = (epoch: number, reconstructionError: number): void => options.onEpoch?.({ layer: target.index, epoch, reconstructionError });
    const state = model.stateDict();
    const trained =
      settings.method === 'rbm' ? trainRbm(core, target, x, layerState(state, target.name), settings, seed, onEpoch) : trainAutoencoder(core, target, x, layerState(state, target.name), settings, seed, onEpoch);
    model.loadStateDict({ ...state, ...named(target.name, trained.layer) });
    x = propagate(core, target, x, trained.layer);
    const layerReport: LayerPretrainReport = {
      name: target.name,
      index: target.index,
      inputSize: target.inputSize,
      units: target.spec.units,
      method: settings.method,
      loss: trained.loss,
      initialReconstructionError: trained.initialReconstructionError,
      reconstructionError: trained.reconstructionError,
    };
    report.layers.push(layerReport);
    options.onLayer?.(layerReport);
  }
  return report;
}
