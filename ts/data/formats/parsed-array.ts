/**
 * What every file parser returns: one numeric array as the file holds it, before it is
 * checked against a spec and turned into a dataset (`dataset.ts`).
 */
import { invalidArgument } from '../../runtime/errors.js';

/** An n-dimensional array read from a file, in row-major (C) order. */
export interface ParsedArray {
  /** The array's shape; the first axis is the row (example) axis. */
  shape: number[];
  /**
   * The values. Float32 files stay float32 (no copy to a wider type); every other type is
   * widened to float64, which holds any integer up to 2^53 exactly.
   */
  data: Float32Array | Float64Array;
  /** The type the file declared (`'<f4'`, `'I64'`, `'csv'`). */
  dtype: string;
}

/**
 * The element count of `shape`, refused (an `InvalidArgument` naming `arg`) when it is not a
 * safe integer or exceeds `limit`, so that a hostile header never overflows the size arithmetic.
 */
export function elementCount(op: string, arg: string, shape: readonly number[], limit: number): number {
  let count = 1;
  for (const dimension of shape) {
    if (!Number.isSafeInteger(dimension) || dimension < 0) invalidArgument(op, arg, 'a shape of non-negative integers', `(${shape.join(', ')})`);
    count *= dimension;
    if (count > limit) invalidArgument(op, arg, `a shape of at most ${limit} elements`, `(${shape.join(', ')})`);
  }
  return count;
}
