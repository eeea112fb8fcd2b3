/**
 * Batches drawn from a dataset: the one gatherer that in-thread `fit` and `evaluate`, the
 * worker trainer (which packs a dataset for its workers) and the workers use, with the checks
 * a dataset passes once, before any step runs.
 *
 * Class labels are checked as the numbers they arrive as — integers in [0, 2^31), as the core
 * reads them — before they become Int32: converted first, a label of 2^32 + 1 would wrap to 1
 * and train silently. Whether a label names one of the model's classes the core checks per
 * batch, as it does for every batch.
 */
import { describe, invalidArgument, shapeMismatch, shapeString } from '../runtime/errors.js';
import type { ModelSpec } from './spec.js';
import type { Dataset, TensorLike } from './types.js';

/**
 * Whether `y` holds class indices (sent as i32) rather than float targets: an Int32Array always
 * does; for softmax cross-entropy so does any array that is not a Float32Array.
 */
export function holdsClasses(spec: ModelSpec, y: TensorLike): boolean {
  return y.data instanceof Int32Array || (spec.loss === 'softmaxCrossEntropy' && !(y.data instanceof Float32Array));
}

/** Whether `y`'s labels must be checked before they become Int32 (an Int32Array needs no check). */
export function labelsToCheck(spec: ModelSpec, y: TensorLike): boolean {
  return holdsClasses(spec, y) && !(y.data instanceof Int32Array);
}

/** Checks that `labels` (elements `offset…` of `op`'s `arg`) are integers that Int32 holds as they are, in [0, 2^31). */
export function checkClassLabels(op: string, arg: string, labels: ArrayLike<number>, offset = 0): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= 2 ** 31) {
      invalidArgument(op, arg, 'integer class indices in [0, 2^31)', `${describe(label)} at index ${offset + i}`);
    }
  }
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

/** A dataset's layout: its row count and the values per row of `x` and `y`. */
export interface DatasetLayout {
  count: number;
  xRow: number;
  yRow: number;
}

/** Validates a dataset's shapes and returns its layout. */
export function datasetLayout(op: string, data: Dataset): DatasetLayout {
  if (typeof data !== 'object' || data === null) invalidArgument(op, 'data', '{x, y}', describe(data));
  const x = checkTensor(op, 'data.x', data.x);
  const y = checkTensor(op, 'data.y', data.y);
  const count = x.shape[0];
  if (!Number.isInteger(count) || count < 1) invalidArgument(op, 'data.x', 'a tensor [N, ...] with N ≥ 1', describe(x.shape));
  if (y.shape[0] !== count) shapeMismatch(op, 'data.y', `[${count}, ...] (one row per example)`, shapeString(y.shape as number[]));
  if (x.data.length % count !== 0 || y.data.length % count !== 0) invalidArgument(op, 'data', 'data lengths that match the shapes', `${x.data.length} and ${y.data.length}`);
  return { count, xRow: x.data.length / count, yRow: y.data.length / count };
}

/** Copies the rows `order[start..end)` of `source` (rows of `rowLength`) into `target`. */
function gatherRows(source: ArrayLike<number>, rowLength: number, order: ArrayLike<number>, start: number, end: number, target: Float32Array | Int32Array): void {
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

/**
 * Draws batches of a dataset's rows in a given order into buffers it reuses. The dataset is
 * validated once, here: its shapes, and (where `y` holds class labels) every label, which
 * then travels as Int32.
 */
export class BatchGatherer {
  readonly layout: DatasetLayout;
  private readonly data: Dataset;
  private readonly labels: boolean;
  private xBuffer = new Float32Array(0);
  private yBuffer: Float32Array | Int32Array;

  constructor(op: string, data: Dataset, spec: ModelSpec) {
    this.layout = datasetLayout(op, data);
    this.data = data;
    this.labels = holdsClasses(spec, data.y);
    if (labelsToCheck(spec, data.y)) checkClassLabels(op, 'data.y', data.y.data);
    this.yBuffer = this.labels ? new Int32Array(0) : new Float32Array(0);
  }

  /** Rows `order[start..end)` as a batch: views of buffers that the next call overwrites. */
  batch(order: ArrayLike<number>, start: number, end: number): { x: TensorLike; y: TensorLike } {
    const { x, y } = this.data;
    const { xRow, yRow } = this.layout;
    const rows = end - start;
    if (this.xBuffer.length < rows * xRow) this.xBuffer = new Float32Array(rows * xRow);
    if (this.yBuffer.length < rows * yRow) this.yBuffer = this.labels ? new Int32Array(rows * yRow) : new Float32Array(rows * yRow);
    gatherRows(x.data, xRow, order, start, end, this.xBuffer);
    gatherRows(y.data, yRow, order, start, end, this.yBuffer);
    return {
      x: { shape: [rows, ...x.shape.slice(1)], data: this.xBuffer.subarray(0, rows * xRow) },
      y: { shape: [rows, ...y.shape.slice(1)], data: this.yBuffer.subarray(0, rows * yRow) },
    };
  }
}
