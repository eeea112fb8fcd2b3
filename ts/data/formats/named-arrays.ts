/**
 * Which arrays of a multi-array file (`.npz`, `.safetensors`) are the features and which the
 * labels: the first name present of each list below, or, for an archive of exactly two
 * positional arrays (`np.savez(f, x, y)`), `arr_0` and `arr_1`.
 */
import { invalidArgument } from '../../runtime/errors.js';
import type { ParsedArray } from './parsed-array.js';

/** The names looked for, in order of preference. */
export const FEATURE_NAMES = ['features', 'x', 'X', 'inputs', 'data'] as const;
export const LABEL_NAMES = ['labels', 'y', 'Y', 'targets', 'target'] as const;

function first(arrays: Map<string, ParsedArray>, names: readonly string[]): ParsedArray | undefined {
  const name = names.find((n) => arrays.has(n));
  return name === undefined ? undefined : arrays.get(name);
}

/**
 * The features and, when the file has them, the labels of `arrays`. `requireLabels` is false
 * when the labels come from another file (`--labels`).
 */
export function pickArrays(op: string, arrays: Map<string, ParsedArray>, requireLabels: boolean): { features: ParsedArray; labels?: ParsedArray } {
  const found = arrays.size === 0 ? 'no arrays' : `arrays ${[...arrays.keys()].map((n) => JSON.stringify(n)).join(', ')}`;
  const features = first(arrays, FEATURE_NAMES) ?? (arrays.size === 2 ? arrays.get('arr_0') : undefined);
  const labels = first(arrays, LABEL_NAMES) ?? (arrays.size === 2 ? arrays.get('arr_1') : undefined);
  if (features === undefined) invalidArgument(op, 'features', `an array named ${FEATURE_NAMES.join(', ')} (or two positional arrays arr_0, arr_1)`, found);
  if (labels === undefined && requireLabels) invalidArgument(op, 'labels', `an array named ${LABEL_NAMES.join(', ')} (or give the labels in another file)`, found);
  return labels === undefined ? { features } : { features, labels };
}
