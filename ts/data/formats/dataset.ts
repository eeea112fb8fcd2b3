/**
 * Turns the arrays read from files into a {@link Dataset} that a spec can train on, checking
 * everything a file can get wrong: rows that do not match the spec's input, a labels count
 * other than the rows', NaN or values beyond float32, and class labels that are not whole
 * numbers in `[0, classes)`. Each is an `InvalidArgument` or `ShapeMismatch` error naming the
 * array, the row and the value.
 */
import { invalidArgument, shapeMismatch, shapeString } from '../../runtime/errors.js';
import type { LossName } from '../../model/spec.js';
import type { Dataset } from '../../model/types.js';
import type { ParsedArray } from './parsed-array.js';

/** What the data must fit: the spec's per-example input shape, the model's output shape and the loss. */
export interface DataTarget {
  input: readonly number[];
  output: readonly number[];
  loss: LossName;
}

const OP = 'loadDataset';
const FLOAT32_MAX = 3.4028234663852886e38;

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** `array` as float32, every value finite and within float32's range; errors name the row and position. */
function float32Values(array: ParsedArray, name: string, rowLength: number): Float32Array {
  const { data } = array;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (!(Math.abs(value) <= FLOAT32_MAX)) {
      const row = Math.floor(i / rowLength);
      invalidArgument(OP, `${name}[${row}]`, 'finite numbers within float32 range', `${value} at row ${row}, position ${i - row * rowLength}`);
    }
  }
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** Class indices: whole numbers in `[0, classes)`; errors name the row. */
function classIndices(array: ParsedArray, name: string, classes: number): Int32Array {
  const indices = new Int32Array(array.data.length);
  for (let row = 0; row < indices.length; row++) {
    const value = array.data[row];
    if (!Number.isInteger(value) || value < 0 || value >= classes) {
      invalidArgument(OP, `${name}[${row}]`, `a class index, a whole number in [0, ${classes - 1}] (the output has ${classes} units)`, String(value));
    }
    indices[row] = value;
  }
  return indices;
}

/**
 * A dataset from `features` [N, ...] and `labels` [N, ...] for `target`. Features may hold
 * the input flattened (a CSV row of T·F values for input [T, F]). Labels are class indices
 * for `softmaxCrossEntropy`; for the other losses they are targets shaped like the output,
 * or class indices that become one-hot rows when the output has several units.
 */
export function toDataset(features: ParsedArray, labels: ParsedArray, target: DataTarget): Dataset {
  if (features.shape.length === 0 || features.shape[0] === 0) invalidArgument(OP, 'features', 'at least one row', `shape ${shapeString(features.shape)}`);
  const rows = features.shape[0];
  const rowLength = product(features.shape.slice(1));
  const inputLength = product(target.input);
  if (rowLength !== inputLength) {
    shapeMismatch(OP, 'features', `[${rows}, ${target.input.join(', ')}] (${inputLength} values per row, the spec's input ${shapeString(target.input)})`, `${shapeString(features.shape)} (${rowLength} values per row)`);
  }
  if (labels.shape.length === 0 || labels.shape[0] !== rows) {
    shapeMismatch(OP, 'labels', `${rows} rows (one per row of the features)`, `${labels.shape[0] ?? 0} rows, shape ${shapeString(labels.shape)}`);
  }
  const x = { shape: [rows, ...target.input], data: float32Values(features, 'features', rowLength) };
  const labelLength = product(labels.shape.slice(1));
  const outputLength = product(target.output);
  if (target.loss === 'softmaxCrossEntropy') {
    if (labelLength !== 1) shapeMismatch(OP, 'labels', `[${rows}] class indices (softmaxCrossEntropy)`, shapeString(labels.shape));
    return { x, y: { shape: [rows], data: classIndices(labels, 'labels', outputLength) } };
  }
  if (labelLength === outputLength) return { x, y: { shape: [rows, ...target.output], data: float32Values(labels, 'labels', labelLength) } };
  if (labelLength === 1) {
    const oneHot = new Float32Array(rows * outputLength);
    classIndices(labels, 'labels', outputLength).forEach((index, row) => (oneHot[row * outputLength + index] = 1));
    return { x, y: { shape: [rows, ...target.output], data: oneHot } };
  }
  return shapeMismatch(OP, 'labels', `[${rows}, ${target.output.join(', ')}] targets shaped like the output (or [${rows}] class indices)`, shapeString(labels.shape));
}
