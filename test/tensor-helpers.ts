/**
 * Seeded random data for the tensor tests (tensor, gradcheck and fuzz suites).
 */
import { uniform } from '../bench/baselines/random.mjs';

/** A seeded generator of uniform numbers in [0, 1): the same seed, the same stream. */
export const randomSource: (seed: number) => () => number = uniform;

/** A standard normal sample by Box–Muller. */
export function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** An integer in [low, high]. */
export function integer(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** The number of elements of `shape`. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}
