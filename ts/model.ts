/**
 * `createModel(spec)`: a network that lives in WASM memory and trains one whole step per call.
 */
import { GradlabError, describe, invalidArgument, shapeMismatch, shapeString } from './errors.js';
import { validateSpec, type Activation, type Init, type LayerSpec, type ModelSpec } from './spec.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { evaluate, fit, type Dataset, type EvaluateResult, type FitOptions, type History } from './training.js';
import { core as loadedCore, handleRegistry, init as initWasm, seedParts, type Core, type WasmSource } from './wasm.js';

/** A dense f32 tensor as plain data: row-major `data` of `shape`'s size. */
export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** Class indices, one per output row (for `softmaxCrossEntropy`). */
export interface Labels {
  shape: number[];
  data: Int32Array;
}

/** Anything tensor-like accepted as input: `data` may be any array of numbers. */
export interface TensorLike {
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** The state dict: PyTorch names and layouts (`0.weight` [out, in], …). */
export type StateDict = Record<string, TensorData>;

/** What one batch's forward and backward pass measured. */
export interface LossResult {
  /** `dataLoss + penalty`. */
  loss: number;
  dataLoss: number;
  /** The L1/L2 penalty (0 without regularisation). */
  penalty: number;
  /** Global L2 norm of the gradients (after the penalty, before clipping). */
  gradNorm: number;
}

export interface GradientsResult extends LossResult {
  /** ∂loss/∂parameter for every trainable parameter (not buffers). */
  grads: StateDict;
}

export interface StepResult extends LossResult {
  /** False when the non-finite guard refused the step (the weights are unchanged). */
  applied: boolean;
  /** Where the step first went non-finite: a layer name, or `loss`. */
  nonFiniteAt?: string;
}

/** Per-layer diagnostics of the last backward pass (and, for `updateRatio`, the last step). */
export interface LayerDiagnostics {
  name: string;
  kind: string;
  /** Nielsen's learning speed ‖∂L/∂b‖ (BatchNorm: its shift); `null` for layers without bias. */
  learningSpeed: number | null;
  /** ‖∂L/∂W‖ over the layer's weights (BatchNorm: its scale): comparable across architectures. */
  weightGradNorm: number;
  weightNorm: number;
  /** ‖ΔW‖/‖W‖ of the last applied update. */
  updateRatio: number;
  /** Recurrent layers: ‖∂L/∂h_t‖ for every time step t. */
  timeGradNorms?: number[];
}

export interface CreateModelOptions {
  /** Seed for the initial weights (and `fit`'s default shuffling); default 0. */
  seed?: number;
  /** Where to load gradlab.wasm from (defaults to the packaged file). */
  wasm?: WasmSource;
}

interface ModelExports {
  gl_spec_new(dimsPtr: number, rank: number, outSpec: number): number;
  gl_spec_free(spec: number): number;
  gl_spec_dense(spec: number, units: number, act: number, alpha: number, init: number, std: number, bias: number, namePtr: number, nameLen: number): number;
  gl_spec_activation(spec: number, act: number, alpha: number, namePtr: number, nameLen: number): number;
  gl_spec_batchnorm?(spec: number, momentum: number, eps: number, namePtr: number, nameLen: number): number;
  gl_spec_recurrent?(spec: number, cell: number, units: number, returnSequences: number, forgetBias: number, bpttSteps: number, namePtr: number, nameLen: number): number;
  gl_spec_residual_begin(spec: number, namePtr: number, nameLen: number): number;
  gl_spec_residual_end(spec: number): number;
  gl_spec_loss(spec: number, code: number): number;
  gl_spec_optimizer(spec: number, code: number, lr: number, momentum: number, nesterov: number, weightDecay: number, beta1: number, beta2: number, eps: number, schedule: number, a: number, b: number): number;
  gl_spec_clip(spec: number, norm: number, value: number): number;
  gl_spec_regularization(spec: number, l1: number, l2: number): number;
  gl_model_build(spec: number, seedLow: number, seedHigh: number, outModel: number): number;
  gl_model_free(model: number): number;
  gl_model_count(): number;
  gl_model_describe(model: number): number;
  gl_model_entry(model: number, index: number, gradient: number, write: number, ptr: number, len: number): number;
  gl_model_set_training(model: number, on: number): number;
  gl_model_set_lr(model: number, lr: number): number;
  gl_model_predict(model: number, xPtr: number, xLen: number, shapePtr: number, rank: number, outPtr: number, outLen: number): number;
  gl_model_step(model: number, apply: number, xPtr: number, xLen: number, shapePtr: number, rank: number, yPtr: number, yLen: number, yClasses: number, reportPtr: number): number;
  gl_model_evaluate(model: number, xPtr: number, xLen: number, shapePtr: number, rank: number, yPtr: number, yLen: number, yClasses: number, outPtr: number): number;
  gl_model_apply_gradients(model: number, loss: number, dataLoss: number, penalty: number, reportPtr: number): number;
  gl_model_flat_gradients(model: number, mode: number, weight: number, ptr: number, len: number): number;
  gl_model_gradient_spans(model: number, outPtr: number, cap: number): number;
  gl_model_layer_stats(model: number, outPtr: number, cap: number, outLen: number): number;
  gl_permutation(seedLow: number, seedHigh: number, n: number, outPtr: number): number;
  gl_text_ptr(): number;
  gl_text_len(): number;
}

const ACTIVATION_CODES = { identity: 0, sigmoid: 1, tanh: 2, relu: 3, leakyRelu: 4, prelu: 5, elu: 6, softmax: 7 } as const;
const ACTIVATION_DEFAULT_ALPHA = { leakyRelu: 0.01, prelu: 0.25, elu: 1 } as const;
const INIT_CODES = { nielsen: 1, normal: 2, xavier: 4, xavierUniform: 5, he: 6, heUniform: 7, lecun: 8, zeros: 9 } as const;
const LOSS_CODES = { mse: 0, softmaxCrossEntropy: 1, sigmoidCrossEntropy: 2 } as const;
const REPORT_LEN = 6;
/** `gl_model_flat_gradients` modes: set the gradients to, or add, a weighted flat vector; scale those held. */
const FLAT_SET = 0;
const FLAT_ADD = 1;
const FLAT_SCALE = 2;

function activationCode(activation: Activation | undefined): [number, number] {
  if (activation === undefined) return [0, 0];
  if (typeof activation === 'string') return [ACTIVATION_CODES[activation], 0];
  return [ACTIVATION_CODES[activation.type], activation.alpha ?? ACTIVATION_DEFAULT_ALPHA[activation.type]];
}

function initCode(init: Init | undefined): [number, number] {
  if (init === undefined) return [0, 0];
  if (typeof init === 'string') return [INIT_CODES[init], 0];
  return [3, init.std];
}


/** Reads the instance's text buffer (JSON descriptions, layer names). */
function readText(core: Core, fns: ModelExports): string {
  return new TextDecoder().decode(new Uint8Array(core.exports.memory.buffer, fns.gl_text_ptr(), fns.gl_text_len()).slice());
}

/**
 * Whether `y` holds class indices (sent as i32) rather than float targets: an Int32Array always
 * does; for softmax cross-entropy so does any array that is not a Float32Array.
 */
export function holdsClasses(spec: ModelSpec, y: TensorLike): boolean {
  return y.data instanceof Int32Array || (spec.loss === 'softmaxCrossEntropy' && !(y.data instanceof Float32Array));
}

function checkShape(op: string, arg: string, value: unknown): TensorLike {
  if (typeof value !== 'object' || value === null) invalidArgument(op, arg, 'a tensor {shape, data}', describe(value));
  const { shape, data } = value as Partial<TensorLike>;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 31)) {
    invalidArgument(op, `${arg}.shape`, 'an array of non-negative integers', describe(shape));
  }
  if (data === undefined || data === null || typeof (data as ArrayLike<number>).length !== 'number') {
    invalidArgument(op, `${arg}.data`, 'a typed array or array of numbers', describe(data));
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) shapeMismatch(op, arg, `${size} values for shape ${shapeString(shape)}`, `${data.length} values`);
  return { shape, data };
}

/** A network in WASM memory. Create it with {@link createModel}; free it with `dispose()`. */
export class Model {
  /** The validated spec with defaults filled in. */
  readonly spec: ModelSpec;
  /** Per-example input and output shapes. */
  readonly inputShape: number[];
  readonly outputShape: number[];
  /** Every state-dict entry in order; `trainable` ones have gradients. */
  readonly entries: ReadonlyArray<{ name: string; shape: number[]; trainable: boolean }>;
  private readonly core: Core;
  private readonly fns: ModelExports;
  private handle: number;
  private training = true;

  /** @internal Use {@link createModel}. */
  constructor(core: Core, spec: ModelSpec, handle: number) {
    this.core = core;
    this.fns = core.fns<ModelExports>();
    this.spec = spec;
    this.handle = handle;
    core.check(this.fns.gl_model_describe(handle));
    const description = JSON.parse(readText(core, this.fns)) as { input: number[]; output: number[]; entries: { name: string; shape: number[]; trainable: boolean }[] };
    this.inputShape = description.input;
    this.outputShape = description.output;
    this.entries = description.entries;
    registry?.register(this, { core, handle }, this);
  }

  private live(op: string): number {
    if (this.handle === 0) throw new GradlabError({ code: 'Disposed', op, message: `${op}: the model has been disposed` });
    return this.handle;
  }

  /** Whether `gradients` and `trainStep` run in training mode (batch statistics). */
  get isTraining(): boolean {
    return this.training;
  }

  /** Training mode (batch statistics in BatchNorm) or evaluation mode (running statistics) for `gradients` and `trainStep`; `predict` always runs in evaluation mode. */
  setTraining(on: boolean): void {
    this.core.check(this.fns.gl_model_set_training(this.live('setTraining'), on ? 1 : 0));
    this.training = on;
  }

  /** Sets the base learning rate of the optimiser (schedules scale it). */
  setLearningRate(lr: number): void {
    this.core.check(this.fns.gl_model_set_lr(this.live('setLearningRate'), lr));
  }

  /** Inference: the last layer's raw output, shape [batch, ...outputShape]. */
  predict(x: TensorLike): TensorData {
    const handle = this.live('predict');
    const input = checkShape('predict', 'x', x);
    const batch = input.shape[0] ?? 0;
    const outLen = batch * this.outputShape.reduce((a, b) => a * b, 1);
    const { values } = this.core.withOut(outLen, (outPtr) =>
      this.core.withStaged(input.shape, (shapePtr, rank) =>
        this.core.withStaged(input.data, (xPtr, xLen) => this.core.check(this.fns.gl_model_predict(handle, xPtr, xLen, shapePtr, rank, outPtr, outLen))),
      'i32'),
    );
    return { shape: [batch, ...this.outputShape], data: values };
  }

  private step(op: 'gradients' | 'trainStep', x: TensorLike, y: TensorLike): Float32Array {
    return this.withBatch(op, x, y, REPORT_LEN, (handle, xPtr, xLen, shapePtr, rank, yPtr, yLen, classes, outPtr) =>
      this.fns.gl_model_step(handle, op === 'trainStep' ? 1 : 0, xPtr, xLen, shapePtr, rank, yPtr, yLen, classes, outPtr),
    );
  }

  /**
   * The data loss on a batch in evaluation mode, and how many rows the arg-max classifies
   * correctly (`null` where accuracy does not apply). Changes nothing in the model.
   */
  evaluateBatch(x: TensorLike, y: TensorLike): { loss: number; correct: number | null } {
    const [loss, correct] = this.withBatch('evaluate', x, y, 2, (handle, xPtr, xLen, shapePtr, rank, yPtr, yLen, classes, outPtr) =>
      this.fns.gl_model_evaluate(handle, xPtr, xLen, shapePtr, rank, yPtr, yLen, classes, outPtr),
    );
    return { loss, correct: correct < 0 ? null : correct };
  }

  /** Stages a batch (x, its shape, y) in WASM memory, runs `call`, and returns its `outLen` outputs. */
  private withBatch(
    op: string,
    x: TensorLike,
    y: TensorLike,
    outLen: number,
    call: (handle: number, xPtr: number, xLen: number, shapePtr: number, rank: number, yPtr: number, yLen: number, classes: number, outPtr: number) => number,
  ): Float32Array {
    const handle = this.live(op);
    const input = checkShape(op, 'x', x);
    const target = checkShape(op, 'y', y);
    const classes = holdsClasses(this.spec, target);
    if (classes && this.spec.loss !== 'softmaxCrossEntropy') {
      invalidArgument(op, 'y', `float targets shaped like the output for ${this.spec.loss}`, 'Int32Array class indices');
    }
    if (classes && !(target.data instanceof Int32Array)) {
      for (let i = 0; i < target.data.length; i++) {
        const c = target.data[i];
        if (!Number.isInteger(c)) invalidArgument(op, 'y', 'integer class indices', describe(c));
      }
    }
    const { values } = this.core.withOut(outLen, (outPtr) =>
      this.core.withStaged(input.shape, (shapePtr, rank) =>
        this.core.withStaged(input.data, (xPtr, xLen) =>
          this.core.withStaged(target.data, (yPtr, yLen) => this.core.check(call(handle, xPtr, xLen, shapePtr, rank, yPtr, yLen, classes ? 1 : 0, outPtr)), classes ? 'i32' : 'f32'),
        ),
      'i32'),
    );
    return values;
  }

  private report(values: Float32Array): StepResult {
    const result: StepResult = { loss: values[0], dataLoss: values[1], penalty: values[2], gradNorm: values[3], applied: values[4] === 1 };
    if (values[5] === 1) result.nonFiniteAt = readText(this.core, this.fns);
    return result;
  }

  /** The gradient of the total loss (data + penalty, before clipping) for every parameter. */
  gradients(x: TensorLike, y: TensorLike): GradientsResult {
    const { loss, dataLoss, penalty, gradNorm } = this.report(this.step('gradients', x, y));
    return { loss, dataLoss, penalty, gradNorm, grads: this.readEntries(true) };
  }

  /** One optimiser step on a batch: forward, backward, penalty, guard, clipping, update. */
  trainStep(x: TensorLike, y: TensorLike): StepResult {
    return this.report(this.step('trainStep', x, y));
  }

  /**
   * Applies the guard, clipping and one optimiser step to the given gradients (e.g. averaged
   * across data-parallel workers); `losses` is only reported back.
   */
  applyGradients(grads: Record<string, TensorLike>, losses: Pick<LossResult, 'loss' | 'dataLoss' | 'penalty'>): StepResult {
    const handle = this.live('applyGradients');
    this.writeEntries('applyGradients', grads, true);
    const { values } = this.core.withOut(REPORT_LEN, (reportPtr) =>
      this.core.check(this.fns.gl_model_apply_gradients(handle, losses.loss, losses.dataLoss, losses.penalty, reportPtr)),
    );
    return this.report(values);
  }

  /** The number of parameter values: the length of a flat gradient vector. */
  get parameterCount(): number {
    return this.entries.reduce((sum, entry) => sum + (entry.trainable ? entry.shape.reduce((a, b) => a * b, 1) : 0), 0);
  }

  /**
   * Data parallel: `gradients` on a batch, with the gradients copied into `target` as one flat
   * vector (every parameter end to end in state-dict order, {@link parameterCount} values)
   * instead of a dict.
   */
  gradientsInto(x: TensorLike, y: TensorLike, target: Float32Array): LossResult {
    const { loss, dataLoss, penalty, gradNorm } = this.report(this.step('gradients', x, y));
    const handle = this.live('gradientsInto');
    if (target.length !== this.parameterCount) shapeMismatch('gradientsInto', 'target', `${this.parameterCount} values`, `${target.length} values`);
    // Straight from each parameter's gradient in WASM memory: no staging copy in between.
    const cap = 2 * this.entries.filter((entry) => entry.trainable).length;
    const spansPtr = this.core.alloc(cap * 4);
    try {
      this.core.check(this.fns.gl_model_gradient_spans(handle, spansPtr, cap));
      const spans = this.core.i32(spansPtr, cap);
      for (let i = 0, offset = 0; i < cap; i += 2) {
        // The offsets are u32: `>>> 0` keeps those past 2 GiB positive.
        target.set(this.core.f32(spans[i] >>> 0, spans[i + 1]), offset);
        offset += spans[i + 1];
      }
    } finally {
      this.core.free(spansPtr, cap * 4);
    }
    return { loss, dataLoss, penalty, gradNorm };
  }

  /**
   * Data parallel: sets the gradients to `Σ weights[i] · sources[i]` (flat vectors as
   * {@link gradientsInto} writes them, summed in order inside WASM so every replica computes
   * the same bits; zero weights are skipped), then applies the guard, clipping and one
   * optimiser step as {@link applyGradients} does; `losses` is only reported back.
   *
   * One source may be `'held'`: the gradients this model holds from its last backward pass
   * (after `gradientsInto`, its own shard's), scaled where they are instead of copied back in.
   * The sum starts from it, so it may stand only at index 0 or 1, where the in-order sum is the
   * same because its first addition commutes.
   */
  applyWeightedGradients(sources: (Float32Array | 'held')[], weights: number[], losses: Pick<LossResult, 'loss' | 'dataLoss' | 'penalty'>): StepResult {
    const handle = this.live('applyWeightedGradients');
    const held = sources.indexOf('held');
    if (held > 1 || sources.lastIndexOf('held') !== held) invalidArgument('applyWeightedGradients', 'sources', "'held' at most once, at index 0 or 1", `'held' at index ${sources.lastIndexOf('held')}`);
    let first = true;
    const add = (i: number) => {
      const source = sources[i];
      if (weights[i] === 0) return;
      if (source === 'held') this.core.check(this.fns.gl_model_flat_gradients(handle, FLAT_SCALE, weights[i], 0, this.parameterCount));
      else this.core.withStaged(source, (ptr, len) => this.core.check(this.fns.gl_model_flat_gradients(handle, first ? FLAT_SET : FLAT_ADD, weights[i], ptr, len)));
      first = false;
    };
    if (held >= 0) add(held);
    sources.forEach((_, i) => i !== held && add(i));
    if (first) invalidArgument('applyWeightedGradients', 'weights', 'at least one non-zero weight', describe(weights));
    const { values } = this.core.withOut(REPORT_LEN, (reportPtr) =>
      this.core.check(this.fns.gl_model_apply_gradients(handle, losses.loss, losses.dataLoss, losses.penalty, reportPtr)),
    );
    return this.report(values);
  }

  /** Per-layer diagnostics of the last `gradients` or `trainStep`. */
  diagnostics(): LayerDiagnostics[] {
    const handle = this.live('diagnostics');
    let capacity = 64 * Math.max(this.entries.length, 1);
    for (;;) {
      const { values } = this.core.withOut(capacity + 1, (ptr) => this.core.check(this.fns.gl_model_layer_stats(handle, ptr, capacity, ptr + capacity * 4)));
      const needed = values[capacity];
      if (needed > capacity) {
        capacity = needed;
        continue;
      }
      const layers = JSON.parse(readText(this.core, this.fns)) as { name: string; kind: string }[];
      let offset = 0;
      return layers.map(({ name, kind }) => {
        const [bias, weightGrad, weightNorm, updateRatio, steps] = values.subarray(offset, offset + 5);
        const diagnostics: LayerDiagnostics = {
          name,
          kind,
          learningSpeed: Number.isNaN(bias) ? null : bias,
          weightGradNorm: weightGrad,
          weightNorm,
          updateRatio,
        };
        if (steps > 0) diagnostics.timeGradNorms = Array.from(values.subarray(offset + 5, offset + 5 + steps));
        offset += 5 + steps;
        return diagnostics;
      });
    }
  }

  private readEntries(gradients: boolean): StateDict {
    const handle = this.live(gradients ? 'gradients' : 'stateDict');
    const dict: StateDict = {};
    this.entries.forEach((entry, index) => {
      if (gradients && !entry.trainable) return;
      const len = entry.shape.reduce((a, b) => a * b, 1);
      const { values } = this.core.withOut(len, (ptr) => this.core.check(this.fns.gl_model_entry(handle, index, gradients ? 1 : 0, 0, ptr, len)));
      dict[entry.name] = { shape: [...entry.shape], data: values };
    });
    return dict;
  }

  private writeEntries(op: string, dict: Record<string, TensorLike>, gradients: boolean): void {
    const handle = this.live(op);
    if (typeof dict !== 'object' || dict === null) invalidArgument(op, 'dict', 'a record of tensors', describe(dict));
    const targets = this.entries.map((e, index) => ({ ...e, index })).filter((e) => !gradients || e.trainable);
    const known = new Set(targets.map((e) => e.name));
    for (const name of Object.keys(dict)) {
      if (!known.has(name)) invalidArgument(op, name, `one of the model's entries (${[...known].join(', ')})`, 'an unknown name');
    }
    // Check everything first so a bad entry leaves the model untouched.
    const checked = targets.map((entry) => {
      const value = dict[entry.name];
      if (value === undefined) invalidArgument(op, entry.name, `a tensor of shape ${shapeString(entry.shape)}`, 'nothing (missing)');
      const tensor = checkShape(op, entry.name, value);
      if (tensor.shape.length !== entry.shape.length || tensor.shape.some((d, i) => d !== entry.shape[i])) {
        shapeMismatch(op, entry.name, shapeString(entry.shape), shapeString(tensor.shape as number[]));
      }
      for (let i = 0; i < tensor.data.length; i++) {
        if (!Number.isFinite(tensor.data[i])) invalidArgument(op, entry.name, 'finite numbers', `${tensor.data[i]} at index ${i}`);
      }
      return { index: entry.index, data: tensor.data };
    });
    for (const { index, data } of checked) {
      this.core.withStaged(data, (ptr, len) => this.core.check(this.fns.gl_model_entry(handle, index, gradients ? 1 : 0, 1, ptr, len)));
    }
  }

  /** Every parameter and buffer by PyTorch name (copies). */
  stateDict(): StateDict {
    return this.readEntries(false);
  }

  /** Replaces every parameter and buffer; names and shapes must match exactly (nothing is changed on error). */
  loadStateDict(dict: Record<string, TensorLike>): void {
    this.writeEntries('loadStateDict', dict, false);
  }

  /**
   * The state dict as safetensors bytes (F32, PyTorch names and layouts), with `metadata` in
   * the header: what `safetensors.torch.load_file` reads into the equivalent PyTorch model.
   */
  saveSafetensors(metadata?: Record<string, string>): Uint8Array {
    return encodeSafetensors(this.stateDict(), metadata);
  }

  /** Loads safetensors bytes as {@link loadStateDict} does: strict names and shapes, nothing changed on error. */
  loadSafetensors(bytes: Uint8Array): void {
    this.live('loadSafetensors');
    this.loadStateDict(decodeSafetensors(bytes));
  }

  /** Trains on a whole dataset in mini-batches; see {@link FitOptions}. */
  fit(data: Dataset, options: FitOptions): History {
    return fit(this, data, options);
  }

  /** Mean data loss (evaluation mode) and arg-max accuracy over a dataset. */
  evaluate(data: Dataset, options: { batchSize?: number } = {}): EvaluateResult {
    return evaluate(this, data, options);
  }

  /** A permutation of 0..n-1 from the seeded generator (the same in every runtime). */
  permutation(n: number, seed: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 28) invalidArgument('permutation', 'n', 'an integer in [0, 2^28]', describe(n));
    const [low, high] = seedParts('permutation', seed);
    const { values } = this.core.withOut(n, (ptr) => this.core.check(this.fns.gl_permutation(low, high, n, ptr)));
    return new Int32Array(values.buffer);
  }

  /** Frees the model's WASM memory; later calls throw `Disposed`. */
  dispose(): void {
    if (this.handle === 0) return;
    registry?.unregister(this);
    this.core.check(this.fns.gl_model_free(this.handle));
    this.handle = 0;
  }
}

/** Frees models that were garbage-collected without `dispose()` (a safety net only). */
const registry = handleRegistry((core, handle) => core.fns<ModelExports>().gl_model_free(handle));

function addLayers(core: Core, fns: ModelExports, spec: number, layers: LayerSpec[]): void {
  for (const layer of layers) {
    core.withString(layer.name ?? '', (namePtr, nameLen) => {
      switch (layer.type) {
        case 'dense': {
          const [act, alpha] = activationCode(layer.activation);
          const [init, std] = initCode(layer.init);
          core.check(fns.gl_spec_dense(spec, layer.units, act, alpha, init, std, layer.bias === false ? 0 : 1, namePtr, nameLen));
          break;
        }
        case 'activation': {
          const [act, alpha] = activationCode(layer.activation);
          core.check(fns.gl_spec_activation(spec, act, alpha, namePtr, nameLen));
          break;
        }
        case 'batchnorm':
          if (!fns.gl_spec_batchnorm) throw unavailable(layer.type);
          core.check(fns.gl_spec_batchnorm(spec, layer.momentum ?? 0.1, layer.eps ?? 1e-5, namePtr, nameLen));
          break;
        case 'residual':
          core.check(fns.gl_spec_residual_begin(spec, namePtr, nameLen));
          addLayers(core, fns, spec, layer.layers);
          core.check(fns.gl_spec_residual_end(spec));
          break;
        case 'rnn':
        case 'lstm':
          if (!fns.gl_spec_recurrent) throw unavailable(layer.type);
          core.check(fns.gl_spec_recurrent(spec, layer.type === 'lstm' ? 1 : 0, layer.units, layer.returnSequences ? 1 : 0, layer.forgetBias ?? 0, layer.bpttSteps ?? 0, namePtr, nameLen));
          break;
      }
    });
  }
}

function unavailable(type: string): GradlabError {
  return new GradlabError({ code: 'InvalidSpec', op: 'createModel', arg: 'layers', message: `createModel: layer type '${type}' is not available in this build of gradlab` });
}

const SCHEDULE_CODES = { step: 1, cosine: 2 } as const;

function buildSpec(core: Core, spec: ModelSpec): number {
  const fns = core.fns<ModelExports>();
  const { values } = core.withOut(1, (out) => core.withStaged(spec.input, (dims, rank) => core.check(fns.gl_spec_new(dims, rank, out)), 'i32'));
  const handle = new Uint32Array(values.buffer)[0];
  try {
    addLayers(core, fns, handle, spec.layers);
    core.check(fns.gl_spec_loss(handle, LOSS_CODES[spec.loss]));
    const opt = spec.optimizer ?? { type: 'sgd', lr: 0.01 };
    const schedule = opt.schedule;
    const [scheduleCode, a, b] = schedule === undefined ? [0, 0, 0] : schedule.type === 'step' ? [SCHEDULE_CODES.step, schedule.stepSize, schedule.gamma ?? 0.1] : [SCHEDULE_CODES.cosine, schedule.tMax, schedule.etaMin ?? 0];
    if (opt.type === 'sgd') {
      core.check(fns.gl_spec_optimizer(handle, 0, opt.lr, opt.momentum ?? 0, opt.nesterov ? 1 : 0, opt.weightDecay ?? 0, 0, 0, 0, scheduleCode, a, b));
    } else {
      const [beta1, beta2] = opt.betas ?? [0.9, 0.999];
      const decay = opt.weightDecay ?? (opt.type === 'adamw' ? 0.01 : 0);
      core.check(fns.gl_spec_optimizer(handle, opt.type === 'adam' ? 1 : 2, opt.lr, 0, 0, decay, beta1, beta2, opt.eps ?? 1e-8, scheduleCode, a, b));
    }
    core.check(fns.gl_spec_clip(handle, spec.clip?.norm ?? 0, spec.clip?.value ?? 0));
    core.check(fns.gl_spec_regularization(handle, spec.regularization?.l1 ?? 0, spec.regularization?.l2 ?? 0));
  } catch (error) {
    fns.gl_spec_free(handle);
    throw error;
  }
  return handle;
}

/**
 * Builds a model from its spec, with initial weights drawn from `seed` (the same seed gives
 * bit-identical weights and training in Node and in browsers).
 */
export async function createModel(spec: ModelSpec, options: CreateModelOptions = {}): Promise<Model> {
  const core = await initWasm(options.wasm);
  return createModelSync(core, spec, options.seed ?? 0);
}

/** {@link createModel} for an instance that is already loaded. */
export function createModelSync(core: Core, spec: ModelSpec, seed = 0): Model {
  const validated = validateSpec(spec);
  const [low, high] = seedParts('createModel', seed);
  const fns = core.fns<ModelExports>();
  const specHandle = buildSpec(core, validated);
  const { values } = core.withOut(1, (out) => core.check(fns.gl_model_build(specHandle, low, high, out)));
  return new Model(core, validated, new Uint32Array(values.buffer)[0]);
}

/** The number of live models in this thread's instance (for leak tests). */
export function numModels(): number {
  return loadedCore().fns<ModelExports>().gl_model_count();
}
