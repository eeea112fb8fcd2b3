/**
 * Training loops over a whole dataset: `fit` (seeded shuffling, per-step or per-epoch
 * diagnostics, early stop from a callback) and `evaluate`. The worker trainer runs the same
 * loop inside a worker.
 */
import { describe, invalidArgument, shapeMismatch, shapeString } from '../runtime/errors.js';
import type { LayerDiagnostics, Model, StepResult, TensorLike } from './model.js';
import type { ModelSpec } from './spec.js';

/**
 * Whether `y` holds class indices (sent as i32) rather than float targets: an Int32Array always
 * does; for softmax cross-entropy so does any array that is not a Float32Array.
 */
export function holdsClasses(spec: ModelSpec, y: TensorLike): boolean {
  return y.data instanceof Int32Array || (spec.loss === 'softmaxCrossEntropy' && !(y.data instanceof Float32Array));
}

/** A dataset: `x` [N, ...input] and `y` [N, ...] (class indices or targets), row-aligned. */
export interface Dataset {
  x: TensorLike;
  y: TensorLike;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /**
   * Skip each epoch's last batch when it is smaller than `batchSize` (PyTorch's `drop_last`;
   * default false). BatchNorm cannot train on a batch of one row.
   */
  dropLast?: boolean;
  /** Reshuffle every epoch (default true), from `seed` (default 0) and the epoch number. */
  shuffle?: boolean;
  seed?: number;
  /** When to collect per-layer diagnostics: after every step, at each epoch's last step (default), or never. */
  diagnostics?: 'step' | 'epoch' | 'none';
  /** Called after every step; return `false` to stop training. */
  onStep?: (step: StepProgress) => boolean | void;
  /** Called after every epoch; return `false` to stop training. */
  onEpoch?: (epoch: EpochResult) => boolean | void;
  /** Evaluated after every epoch when given. */
  validationData?: Dataset;
  /** Checked before every step: when it returns true, training stops (used for AbortSignal). */
  shouldStop?: () => boolean;
}

export interface StepProgress extends StepResult {
  epoch: number;
  /** Step within the epoch, from 0. */
  step: number;
  stepsPerEpoch: number;
  diagnostics?: LayerDiagnostics[];
}

export interface EvaluateResult {
  loss: number;
  /** Share of rows classified right (arg-max), or null where it does not apply. */
  accuracy: number | null;
  /** Where the first batch whose output went non-finite did so (a layer name, or `loss`). */
  nonFiniteAt?: string;
}

export interface EpochResult {
  epoch: number;
  /** Mean loss over the epoch's applied steps. */
  loss: number;
  steps: number;
  /** Steps the non-finite guard refused. */
  skippedSteps: number;
  /** Where the first refused step went non-finite. */
  nonFiniteAt?: string;
  diagnostics?: LayerDiagnostics[];
  validation?: EvaluateResult;
}

export interface History {
  epochs: EpochResult[];
  /** True when a callback or `shouldStop` ended training early. */
  stopped: boolean;
}

/** Checks that `value` is a tensor `{shape, data}`: a shape of non-negative integers, and array-like data. */
export function checkTensor(op: string, arg: string, value: unknown): TensorLike {
  if (typeof value !== 'object' || value === null) invalidArgument(op, arg, 'a tensor {shape, data}', describe(value));
  const { shape, data } = value as Partial<TensorLike>;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) invalidArgument(op, `${arg}.shape`, 'an array of non-negative integers', describe(shape));
  if (typeof data !== 'object' || data === null || !Number.isSafeInteger((data as ArrayLike<number>).length)) {
    invalidArgument(op, `${arg}.data`, 'a typed array or array of numbers', describe(data));
  }
  return { shape, data };
}

/** Validates a dataset's shapes: its row count and the values per row of `x` and `y`. */
export function rowsOf(op: string, data: Dataset): { count: number; xRow: number; yRow: number } {
  if (typeof data !== 'object' || data === null) invalidArgument(op, 'data', '{x, y}', describe(data));
  const x = checkTensor(op, 'data.x', data.x);
  const y = checkTensor(op, 'data.y', data.y);
  const count = x.shape[0];
  if (!Number.isInteger(count) || count < 1) invalidArgument(op, 'data.x', 'a tensor [N, ...] with N ≥ 1', describe(x.shape));
  if (y.shape[0] !== count) shapeMismatch(op, 'data.y', `[${count}, ...] (one row per example)`, shapeString(y.shape as number[]));
  if (x.data.length % count !== 0 || y.data.length % count !== 0) invalidArgument(op, 'data', 'data lengths that match the shapes', `${x.data.length} and ${y.data.length}`);
  return { count, xRow: x.data.length / count, yRow: y.data.length / count };
}

/** The options `fit` and the worker trainer's `fit` share, checked, with their defaults. */
export function checkFitOptions(op: string, options: unknown): { epochs: number; batchSize: number; shuffle: boolean; seed: number } {
  if (typeof options !== 'object' || options === null) invalidArgument(op, 'options', '{epochs, batchSize, ...}', describe(options));
  const { epochs, batchSize, shuffle = true, seed = 0 } = options as Partial<FitOptions>;
  if (!Number.isInteger(epochs) || (epochs as number) < 0) invalidArgument(op, 'epochs', 'a non-negative integer', describe(epochs));
  if (!Number.isInteger(batchSize) || (batchSize as number) < 1) invalidArgument(op, 'batchSize', 'a positive integer', describe(batchSize));
  if (typeof shuffle !== 'boolean') invalidArgument(op, 'shuffle', 'a boolean', describe(shuffle));
  if (!Number.isSafeInteger(seed) || seed < 0) invalidArgument(op, 'seed', 'a non-negative safe integer', describe(seed));
  return { epochs: epochs as number, batchSize: batchSize as number, shuffle, seed };
}

/**
 * A batch buffer for `y`: f32 targets, or class indices as doubles, which hold any label
 * exactly (an Int32Array would wrap 2^32 + 1 to 1 before the core could refuse it).
 */
function targetBuffer(op: string, model: Model, y: TensorLike, length: number): Float32Array | Float64Array {
  if (!holdsClasses(model.spec, y)) return new Float32Array(length);
  if (!(y.data instanceof Int32Array)) {
    for (let i = 0; i < y.data.length; i++) {
      if (!Number.isInteger(y.data[i])) invalidArgument(op, 'data.y', 'integer class indices', `${describe(y.data[i])} at index ${i}`);
    }
  }
  return new Float64Array(length);
}

/** Copies the rows `order[start..end)` of `source` (rows of `rowLength`) into `target`. */
export function gather(source: ArrayLike<number>, rowLength: number, order: ArrayLike<number>, start: number, end: number, target: Float32Array | Float64Array | Int32Array): void {
  for (let i = start; i < end; i++) {
    const from = order[i] * rowLength;
    const to = (i - start) * rowLength;
    if (ArrayBuffer.isView(source)) {
      target.set((source as unknown as Float32Array).subarray(from, from + rowLength), to);
    } else {
      for (let j = 0; j < rowLength; j++) target[to + j] = source[from + j];
    }
  }
}

/** Splits `data` into batches in the given row order and calls `visit` with each. */
function forEachBatch(op: string, model: Model, data: Dataset, batchSize: number, order: ArrayLike<number>, visit: (x: TensorLike, y: TensorLike, index: number) => boolean | void, dropLast = false): boolean {
  const { count: rowCount, xRow, yRow } = rowsOf(op, data);
  const count = dropLast ? rowCount - (rowCount % batchSize) : rowCount;
  const xBuffer = new Float32Array(batchSize * xRow);
  const yBuffer = targetBuffer(op, model, data.y, batchSize * yRow);
  for (let start = 0, index = 0; start < count; start += batchSize, index++) {
    const end = Math.min(start + batchSize, count);
    const rows = end - start;
    gather(data.x.data, xRow, order, start, end, xBuffer);
    gather(data.y.data, yRow, order, start, end, yBuffer);
    const x = { shape: [rows, ...data.x.shape.slice(1)], data: xBuffer.subarray(0, rows * xRow) };
    const y = { shape: [rows, ...data.y.shape.slice(1)], data: yBuffer.subarray(0, rows * yRow) };
    if (visit(x, y, index) === false) return false;
  }
  return true;
}

function identityOrder(count: number): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}

/**
 * The seed of one epoch's permutation: `seed · 1,000,003 + epoch`, exactly and mod 2^53, so
 * every epoch gets its own safe-integer seed (as a float product, a large seed would round
 * neighbouring epochs to the same one, or past 2^53).
 */
export function epochSeed(seed: number, epoch: number): number {
  return Number((BigInt(seed) * 1_000_003n + BigInt(epoch)) % 2n ** 53n);
}

/** The row order of one epoch: a seeded permutation, or 0..count-1 without shuffling (shared with the worker trainer). */
export function epochOrder(model: Model, count: number, epoch: number, shuffle: boolean, seed: number): Int32Array {
  return shuffle ? model.permutation(count, epochSeed(seed, epoch)) : identityOrder(count);
}

/** One epoch's result as its steps complete: the steps, the refused ones, the mean loss of the applied ones. */
export class EpochTally {
  private readonly result: EpochResult;
  private lossSum = 0;

  constructor(epoch: number) {
    this.result = { epoch, loss: 0, steps: 0, skippedSteps: 0 };
  }

  /** Counts a completed step; `diagnostics` are the epoch's when given (its last step's). */
  add(outcome: StepResult, diagnostics?: LayerDiagnostics[]): void {
    const { result } = this;
    result.steps++;
    if (outcome.applied) this.lossSum += outcome.loss;
    else {
      result.skippedSteps++;
      result.nonFiniteAt ??= outcome.nonFiniteAt;
    }
    if (diagnostics) result.diagnostics = diagnostics;
  }

  /** The epoch's result so far (its loss is NaN when no step was applied). */
  finish(): EpochResult {
    const applied = this.result.steps - this.result.skippedSteps;
    return { ...this.result, loss: applied > 0 ? this.lossSum / applied : NaN };
  }
}

/** Trains `model` on `data` for `epochs` epochs of mini-batches. */
export function fit(model: Model, data: Dataset, options: FitOptions): History {
  const { epochs, batchSize, shuffle, seed } = checkFitOptions('fit', options);
  const { count } = rowsOf('fit', data);
  const when = options.diagnostics ?? 'epoch';
  const dropLast = options.dropLast ?? false;
  const stepsPerEpoch = dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
  const history: History = { epochs: [], stopped: false };
  for (let epoch = 0; epoch < epochs && !history.stopped; epoch++) {
    const order = epochOrder(model, count, epoch, shuffle, seed);
    const tally = new EpochTally(epoch);
    const completed = forEachBatch('fit', model, data, batchSize, order, (x, y, step) => {
      if (options.shouldStop?.()) return false;
      const outcome = model.trainStep(x, y);
      const last = step === stepsPerEpoch - 1;
      const diagnostics = when === 'step' || (when === 'epoch' && last) ? model.diagnostics() : undefined;
      tally.add(outcome, last ? diagnostics : undefined);
      const progress: StepProgress = { ...outcome, epoch, step, stepsPerEpoch, ...(diagnostics && when === 'step' ? { diagnostics } : {}) };
      return options.onStep?.(progress);
    }, dropLast);
    const result = tally.finish();
    if (options.validationData) result.validation = evaluate(model, options.validationData, { batchSize: Math.max(batchSize, 256) });
    history.epochs.push(result);
    if (!completed || options.onEpoch?.(result) === false) history.stopped = true;
  }
  return history;
}

/** Mean data loss over `data` in evaluation mode, and arg-max accuracy where it applies. */
export function evaluate(model: Model, data: Dataset, options: { batchSize?: number } = {}): EvaluateResult {
  if (typeof options !== 'object' || options === null) invalidArgument('evaluate', 'options', '{batchSize?}', describe(options));
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) invalidArgument('evaluate', 'batchSize', 'a positive integer', describe(batchSize));
  const { count } = rowsOf('evaluate', data);
  let lossSum = 0;
  let correct: number | null = 0;
  let rows = 0;
  let nonFiniteAt: string | undefined;
  forEachBatch('evaluate', model, data, batchSize, identityOrder(count), (x, y) => {
    const n = x.shape[0];
    const batch = model.evaluateBatch(x, y);
    lossSum += batch.loss * n;
    rows += n;
    correct = batch.correct === null || correct === null ? null : correct + batch.correct;
    nonFiniteAt ??= batch.nonFiniteAt;
  });
  const result: EvaluateResult = { loss: lossSum / rows, accuracy: correct === null ? null : correct / rows };
  if (nonFiniteAt !== undefined) result.nonFiniteAt = nonFiniteAt;
  return result;
}
