/**
 * The built-in data sources a `--data` argument may name instead of a file:
 *
 * - `mnist` (1,000 real digits, 100 of each, as the lab trains on) or `mnist:N` (N of each);
 * - `adding:T`, the adding problem with T steps (regression, input [T, 2]);
 * - `firstSymbol:T`, remember the first of T one-hot symbols (4 classes, input [T, 4]).
 *
 * Labels follow the loss as for files: class indices for softmax cross-entropy, one-hot rows
 * for the other losses on mnist.
 */
import { describe, invalidArgument } from '../../runtime/errors.js';
import { MNIST_MAX_PER_DIGIT, loadMnist } from '../mnist.js';
import { addingProblem, firstSymbolTask } from '../tasks.js';
import type { Dataset } from '../../model/types.js';
import { toDataset, type DataTarget } from './dataset.js';

/** A built-in source: its name and its one number (digits per class, or sequence length). */
export interface BuiltinSource {
  name: 'mnist' | 'adding' | 'firstSymbol';
  size: number;
}

/** Sequences generated for the sequence tasks. */
export const SEQUENCE_COUNT = 2048;
const MNIST_DEFAULT_PER_DIGIT = 100;
const OP = 'builtinDataset';

/** The built-in source `text` names, or `undefined` when it names none (then it is a file). */
export function parseBuiltinSource(text: string): BuiltinSource | undefined {
  const match = /^(mnist|adding|firstSymbol)(?::(.*))?$/.exec(text);
  if (match === null) return undefined;
  const name = match[1] as BuiltinSource['name'];
  if (name === 'mnist' && match[2] === undefined) return { name, size: MNIST_DEFAULT_PER_DIGIT };
  const size = match[2] === undefined || !/^\d+$/.test(match[2]) ? NaN : Number(match[2]);
  const [min, max, meaning] = name === 'mnist' ? [1, MNIST_MAX_PER_DIGIT, 'digits of each class'] : [name === 'adding' ? 2 : 1, 10_000, 'time steps T'];
  if (!(size >= min && size <= max)) invalidArgument(OP, 'data', `${name}:N with N the ${meaning}, an integer in [${min}, ${max}]`, describe(text));
  return { name, size };
}

/** Loads or generates a built-in source for `target` (seeded, so reruns see the same data). */
export async function builtinDataset(source: BuiltinSource, target: DataTarget, seed: number): Promise<Dataset> {
  if (source.name === 'mnist') {
    const digits = await loadMnist({ perDigit: source.size });
    const labels = { shape: [digits.labels.shape[0]], data: Float64Array.from(digits.labels.data), dtype: 'int32' };
    return toDataset({ ...digits.x, dtype: 'float32' }, labels, target);
  }
  const task =
    source.name === 'adding'
      ? await addingProblem({ length: source.size, count: SEQUENCE_COUNT, seed })
      : await firstSymbolTask({ length: source.size, count: SEQUENCE_COUNT, seed });
  const labels = { shape: task.y.shape, data: Float64Array.from(task.y.data), dtype: 'float32' };
  return toDataset({ ...task.x, dtype: 'float32' }, labels, target);
}
