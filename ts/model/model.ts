/**
 * `createModel(spec)`: a network that lives in WASM memory and trains one whole step per call.
 */
import { GradlabError, describe, invalidArgument, numberArg, shapeMismatch, shapeString } from '../runtime/errors.js';
import { validateSpec, type ModelSpec } from './spec.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { holdsClasses } from './batches.js';
import { evaluate, fit, type FitOptions } from './training.js';
import type { Dataset, EvaluateResult, GradientsResult, History, LayerDiagnostics, LossResult, StateDict, StepResult, TensorData, TensorLike } from './types.js';
import { core as loadedCore, init as initWasm, type Core, type WasmSource } from '../runtime/wasm.js';
import type { Batch, ModelCore, StepOutcome } from '../../pkg/gradlab.js';

/** Fixed-bin counts over `[min, max]` (over log10|v| when `log`); see crates/core/src/nn/health.rs. */
export interface HealthHistogram {
  min: number;
  max: number;
  log: boolean;
  /** Out-of-range values count in the first or last bin. */
  counts: number[];
  /** Left out: non-finite values, and zeros on a log scale. */
  excluded: number;
}

/**
 * One layer's health measurements on the last batch (see {@link Model.setHealthMeasurement}).
 * A layer's pre-activation is what enters its nonlinearity: a dense layer's `x·Wᵀ + b`, a
 * BatchNorm's output, a recurrent layer's z_t; an activation layer right after an identity
 * layer is measured as that layer's nonlinearity.
 */
export interface LayerMeasurements {
  /** As in {@link Model.diagnostics}. */
  name: string;
  kind: string;
  /** The nonlinearity measured (`null` for an LSTM's gates). */
  activation: string | null;
  preActivationMean: number;
  /** Biased (population) standard deviation. */
  preActivationStd: number;
  /** Share of sigmoid/tanh outputs within 0.01 of a bound; `null` for other activations. */
  saturatedFraction: number | null;
  /** Share of ReLU units whose output is 0 for every row of the batch; `null` otherwise. */
  deadFraction: number | null;
  /** Activations and pre-activations: linear bins over their range; gradients: log10|∂C/∂W| over fixed decades. */
  histograms: { activations: HealthHistogram; preActivations: HealthHistogram; gradients: HealthHistogram };
}

/** Values per histogram in the core's layout before its counts: min, max, log, excluded. */
const HISTOGRAM_FIXED_VALUES = 4;
/** Values per layer before its histograms: mean, std, saturated, dead. */
const HEALTH_FIXED_VALUES = 4;

export interface CreateModelOptions {
  /** Seed for the initial weights (and `fit`'s default shuffling); default 0. */
  seed?: number;
  /** Where to load gradlab.wasm from (defaults to the packaged file). */
  wasm?: WasmSource;
}

/** The values the core reports per layer before its time-step norms (see `Diagnostics` in crates/wasm/src/model.rs). */
const DIAGNOSTIC_FIXED_VALUES = 5;

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

/** The number of parameter values of a model with these state-dict entries (buffers have no gradient). */
export function parameterCount(entries: ReadonlyArray<{ shape: readonly number[]; trainable: boolean }>): number {
  return entries.reduce((sum, entry) => sum + (entry.trainable ? entry.shape.reduce((a, b) => a * b, 1) : 0), 0);
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
  private inner: ModelCore | undefined;
  private training = true;

  /** @internal Use {@link createModel}. */
  constructor(core: Core, spec: ModelSpec, inner: ModelCore) {
    this.core = core;
    this.spec = spec;
    this.inner = inner;
    const description = JSON.parse(inner.describe()) as { input: number[]; output: number[]; entries: { name: string; shape: number[]; trainable: boolean }[] };
    this.inputShape = description.input;
    this.outputShape = description.output;
    this.entries = description.entries;
  }

  private live(op: string): ModelCore {
    if (this.inner === undefined) throw new GradlabError({ code: 'Disposed', op, message: `${op}: the model has been disposed` });
    return this.inner;
  }

  /** Whether `gradients` and `trainStep` run in training mode (batch statistics). */
  get isTraining(): boolean {
    return this.training;
  }

  /** Training mode (batch statistics in BatchNorm) or evaluation mode (running statistics) for `gradients` and `trainStep`; `predict` always runs in evaluation mode. */
  setTraining(on: boolean): void {
    this.live('setTraining').setTraining(on === true);
    this.training = on === true;
  }

  /** Sets the base learning rate of the optimiser (schedules scale it). */
  setLearningRate(lr: number): void {
    const inner = this.live('setLearningRate');
    const value = numberArg('setLearningRate', 'lr', lr);
    this.core.call(() => inner.setLearningRate(value));
  }

  /** Inference: the last layer's raw output, shape [batch, ...outputShape]. */
  predict(x: TensorLike): TensorData {
    const inner = this.live('predict');
    const input = checkShape('predict', 'x', x);
    const data = this.core.call(() => inner.predict(this.core.f32Arg('predict', 'x', input.data), Float64Array.from(input.shape)));
    return { shape: [input.shape[0] ?? 0, ...this.outputShape], data };
  }

  /** Stages `x` and `y` as one batch in WASM memory, runs `body` on it, and frees it. */
  private withBatch<R>(op: string, x: TensorLike, y: TensorLike, body: (inner: ModelCore, batch: Batch) => R): R {
    const inner = this.live(op);
    const input = checkShape(op, 'x', x);
    const target = checkShape(op, 'y', y);
    const classes = holdsClasses(this.spec, target);
    if (classes && this.spec.loss !== 'softmaxCrossEntropy') {
      invalidArgument(op, 'y', `float targets shaped like the output for ${this.spec.loss}`, 'Int32Array class indices');
    }
    const shape = Float64Array.from(input.shape);
    const xData = this.core.f32Arg(op, 'x', input.data);
    const batch = this.core.call((b) =>
      classes ? b.Batch.withLabels(op, xData, shape, this.core.f64Arg(op, 'y', target.data)) : b.Batch.withValues(op, xData, shape, this.core.f32Arg(op, 'y', target.data)),
    );
    try {
      return this.core.call(() => body(inner, batch));
    } finally {
      batch.free();
    }
  }

  private report(outcome: StepOutcome): StepResult {
    try {
      const result: StepResult = { loss: outcome.loss, dataLoss: outcome.dataLoss, penalty: outcome.penalty, gradNorm: outcome.gradNorm, applied: outcome.applied };
      const at = outcome.nonFiniteAt;
      if (at !== undefined) result.nonFiniteAt = at;
      return result;
    } finally {
      outcome.free();
    }
  }

  private step(op: 'gradients' | 'trainStep', x: TensorLike, y: TensorLike): StepResult {
    return this.report(this.withBatch(op, x, y, (inner, batch) => inner.step(op === 'trainStep', batch)));
  }

  /**
   * The data loss on a batch in evaluation mode, and how many rows the arg-max classifies
   * correctly (`null` where accuracy does not apply). Changes nothing in the model. When
   * finite inputs overflow, `nonFiniteAt` names the first layer whose output went
   * non-finite (or `loss`), as a training step reports it.
   */
  evaluateBatch(x: TensorLike, y: TensorLike): { loss: number; correct: number | null; nonFiniteAt?: string } {
    const evaluation = this.withBatch('evaluate', x, y, (inner, batch) => inner.evaluate(batch));
    try {
      const at = evaluation.nonFiniteAt;
      return { loss: evaluation.loss, correct: evaluation.correct ?? null, ...(at === undefined ? {} : { nonFiniteAt: at }) };
    } finally {
      evaluation.free();
    }
  }

  /** The gradient of the total loss (data + penalty, before clipping) for every parameter. */
  gradients(x: TensorLike, y: TensorLike): GradientsResult {
    const { loss, dataLoss, penalty, gradNorm } = this.step('gradients', x, y);
    return { loss, dataLoss, penalty, gradNorm, grads: this.readEntries(true) };
  }

  /** One optimiser step on a batch: forward, backward, penalty, guard, clipping, update. */
  trainStep(x: TensorLike, y: TensorLike): StepResult {
    return this.step('trainStep', x, y);
  }

  private applyHeld(inner: ModelCore, losses: Pick<LossResult, 'loss' | 'dataLoss' | 'penalty'>, op: string): StepResult {
    if (typeof losses !== 'object' || losses === null) invalidArgument(op, 'losses', '{loss, dataLoss, penalty}', describe(losses));
    return this.report(inner.applyGradients(Number(losses.loss), Number(losses.dataLoss), Number(losses.penalty)));
  }

  /**
   * Applies the guard, clipping and one optimiser step to the given gradients (e.g. averaged
   * across data-parallel workers); `losses` is only reported back.
   */
  applyGradients(grads: Record<string, TensorLike>, losses: Pick<LossResult, 'loss' | 'dataLoss' | 'penalty'>): StepResult {
    const inner = this.live('applyGradients');
    this.writeEntries('applyGradients', grads, true);
    return this.applyHeld(inner, losses, 'applyGradients');
  }

  /** The number of parameter values: the length of a flat gradient vector. */
  get parameterCount(): number {
    return parameterCount(this.entries);
  }

  /**
   * Data parallel: `gradients` on a batch, with the gradients copied into `target` as one flat
   * vector (every parameter end to end in state-dict order, {@link parameterCount} values)
   * instead of a dict.
   */
  gradientsInto(x: TensorLike, y: TensorLike, target: Float32Array): LossResult {
    const { loss, dataLoss, penalty, gradNorm } = this.step('gradients', x, y);
    const inner = this.live('gradientsInto');
    if (!(target instanceof Float32Array) || target.length !== this.parameterCount) {
      shapeMismatch('gradientsInto', 'target', `a Float32Array of ${this.parameterCount} values`, describe(target));
    }
    // Straight from each parameter's gradient in WASM memory: no staging copy in between.
    const spans = inner.gradientSpans();
    for (let i = 0, offset = 0; i < spans.length; i += 2) {
      target.set(this.core.f32(spans[i], spans[i + 1]), offset);
      offset += spans[i + 1];
    }
    return { loss, dataLoss, penalty, gradNorm };
  }

  /**
   * Data parallel: sets the gradients to `Σ weights[i] · sources[i]` (see
   * {@link weightedGradients}), then applies the guard, clipping and one optimiser step as
   * {@link applyGradients} does; `losses` is only reported back.
   */
  applyWeightedGradients(sources: (Float32Array | 'held')[], weights: number[], losses: Pick<LossResult, 'loss' | 'dataLoss' | 'penalty'>): StepResult {
    const op = 'applyWeightedGradients';
    return this.applyHeld(this.sumGradients(op, sources, weights), losses, op);
  }

  /**
   * Data parallel: sets the gradients to `Σ weights[i] · sources[i]` and returns them by name,
   * as {@link gradients} does. The sources are flat vectors as {@link gradientsInto} writes
   * them, summed in order inside WASM so every replica computes the same bits; zero weights
   * are skipped. This is the one place data-parallel gradients are averaged.
   *
   * One source may be `'held'`: the gradients this model holds from its last backward pass
   * (after `gradientsInto`, its own shard's), scaled where they are instead of copied back in.
   * The sum starts from it, so it may stand only at index 0 or 1, where the in-order sum is the
   * same because its first addition commutes.
   */
  weightedGradients(sources: (Float32Array | 'held')[], weights: number[]): StateDict {
    this.sumGradients('weightedGradients', sources, weights);
    return this.readEntries(true);
  }

  /** The sum of {@link weightedGradients}, left in the model's gradients. */
  private sumGradients(op: string, sources: (Float32Array | 'held')[], weights: number[]): ModelCore {
    const inner = this.live(op);
    if (!Array.isArray(sources) || !Array.isArray(weights) || weights.length !== sources.length) {
      invalidArgument(op, 'weights', `an array of one weight per source (${Array.isArray(sources) ? sources.length : 0})`, describe(weights));
    }
    const held = sources.indexOf('held');
    if (held > 1 || sources.lastIndexOf('held') !== held) invalidArgument(op, 'sources', "'held' at most once, at index 0 or 1", `'held' at index ${sources.lastIndexOf('held')}`);
    let first = true;
    const add = (i: number) => {
      const source = sources[i];
      const weight = numberArg(op, `weights[${i}]`, weights[i]);
      if (weight === 0) return;
      if (source === 'held') this.core.call(() => inner.scaleGradients(weight));
      else this.core.call(() => inner.addGradients(this.core.f32Arg(op, `sources[${i}]`, source), weight, first));
      first = false;
    };
    if (held >= 0) add(held);
    sources.forEach((_, i) => i !== held && add(i));
    if (first) invalidArgument(op, 'weights', 'at least one non-zero weight', describe(weights));
    return inner;
  }

  /** Per-layer diagnostics of the last `gradients` or `trainStep`. */
  diagnostics(): LayerDiagnostics[] {
    const diagnostics = this.live('diagnostics').diagnostics();
    let layers: { name: string; kind: string }[];
    let values: Float32Array;
    try {
      layers = JSON.parse(diagnostics.layers) as { name: string; kind: string }[];
      values = diagnostics.values;
    } finally {
      diagnostics.free();
    }
    let offset = 0;
    return layers.map(({ name, kind }) => {
      const [bias, weightGrad, weightNorm, updateRatio, steps] = values.subarray(offset, offset + DIAGNOSTIC_FIXED_VALUES);
      const layer: LayerDiagnostics = { name, kind, learningSpeed: Number.isNaN(bias) ? null : bias, weightGradNorm: weightGrad, weightNorm, updateRatio };
      const start = offset + DIAGNOSTIC_FIXED_VALUES;
      if (steps > 0) layer.timeGradNorms = Array.from(values.subarray(start, start + steps));
      offset = start + steps;
      return layer;
    });
  }

  /**
   * Takes the health measurements in every later `gradients` and `trainStep` (and so `fit`),
   * inside the same WASM call as the step, from the values its forward and backward passes
   * hold; read them with {@link health}. Off by default; off forgets the last ones.
   */
  setHealthMeasurement(on: boolean): void {
    this.live('setHealthMeasurement').setHealthMeasurement(on === true);
  }

  /** The health measurements of the last `gradients` or `trainStep` with them on (empty before). */
  health(): LayerMeasurements[] {
    const report = this.live('health').health();
    let description: { bins: number; layers: { name: string; kind: string; activation: string | null }[] };
    let values: Float64Array;
    try {
      description = JSON.parse(report.layers) as typeof description;
      values = report.values;
    } finally {
      report.free();
    }
    const { bins } = description;
    let offset = 0;
    const histogram = (): HealthHistogram => {
      const [min, max, log, excluded] = values.subarray(offset, offset + HISTOGRAM_FIXED_VALUES);
      const counts = Array.from(values.subarray(offset + HISTOGRAM_FIXED_VALUES, offset + HISTOGRAM_FIXED_VALUES + bins));
      offset += HISTOGRAM_FIXED_VALUES + bins;
      return { min, max, log: log === 1, counts, excluded };
    };
    const orNull = (v: number) => (Number.isNaN(v) ? null : v);
    return description.layers.map(({ name, kind, activation }) => {
      const [mean, std, saturated, dead] = values.subarray(offset, offset + HEALTH_FIXED_VALUES);
      offset += HEALTH_FIXED_VALUES;
      const activations = histogram();
      const preActivations = histogram();
      const gradients = histogram();
      return { name, kind, activation, preActivationMean: mean, preActivationStd: std, saturatedFraction: orNull(saturated), deadFraction: orNull(dead), histograms: { activations, preActivations, gradients } };
    });
  }

  private readEntries(gradients: boolean): StateDict {
    const inner = this.live(gradients ? 'gradients' : 'stateDict');
    const dict: StateDict = {};
    this.entries.forEach((entry, index) => {
      if (gradients && !entry.trainable) return;
      dict[entry.name] = { shape: [...entry.shape], data: this.core.call(() => inner.readEntry(index, gradients)) };
    });
    return dict;
  }

  /** Matches `dict` to the entries by name and shape, and writes them all in one call. */
  private writeEntries(op: string, dict: Record<string, TensorLike>, gradients: boolean): void {
    const inner = this.live(op);
    if (typeof dict !== 'object' || dict === null) invalidArgument(op, 'dict', 'a record of tensors', describe(dict));
    const targets = this.entries.filter((e) => !gradients || e.trainable);
    const known = new Set(targets.map((e) => e.name));
    for (const name of Object.keys(dict)) {
      if (!known.has(name)) invalidArgument(op, name, `one of the model's entries (${[...known].join(', ')})`, 'an unknown name');
    }
    const tensors = targets.map((entry) => {
      const value = Object.prototype.hasOwnProperty.call(dict, entry.name) ? dict[entry.name] : undefined;
      if (value === undefined) invalidArgument(op, entry.name, `a tensor of shape ${shapeString(entry.shape)}`, 'nothing (missing)');
      const tensor = checkShape(op, entry.name, value);
      if (tensor.shape.length !== entry.shape.length || tensor.shape.some((d, i) => d !== entry.shape[i])) {
        shapeMismatch(op, entry.name, shapeString(entry.shape), shapeString(tensor.shape as number[]));
      }
      return tensor.data;
    });
    const values = new Float32Array(tensors.reduce((sum, data) => sum + data.length, 0));
    tensors.reduce((offset, data) => {
      values.set(data, offset);
      return offset + data.length;
    }, 0);
    this.core.call(() => inner.writeEntries(gradients, this.core.f32Arg(op, 'dict', values)));
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
    const count = numberArg('permutation', 'n', n);
    const seedValue = numberArg('permutation', 'seed', seed);
    return new Int32Array(this.core.call((b) => b.permutation(count, seedValue)).buffer);
  }

  /** Frees the model's WASM memory; later calls throw `Disposed`. */
  dispose(): void {
    this.inner?.free();
    this.inner = undefined;
  }
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
  const validated = validateSpec(spec, core);
  const seedValue = numberArg('createModel', 'seed', seed);
  return new Model(core, validated, core.call((b) => new b.ModelCore(JSON.stringify(validated), seedValue)));
}

/** The number of live models in this thread's instance (for leak tests). */
export function numModels(): number {
  return loadedCore().call((b) => b.numModels());
}
