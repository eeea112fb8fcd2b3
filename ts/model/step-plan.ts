/**
 * The schedule of training over a dataset, written once for in-thread `fit`, the worker
 * trainer and its workers: which rows each step of an epoch takes, the row order of every
 * epoch, which steps report progress, and what an epoch adds up to.
 */
import type { EpochResult, LayerDiagnostics, StepResult } from './types.js';

/** Where one step of an epoch reads: rows `[start, end)` of the epoch's order. */
export interface PlannedStep {
  step: number;
  start: number;
  end: number;
  /** The epoch's last step (its diagnostics go into the epoch's result). */
  last: boolean;
}

/** How every epoch over `count` rows splits into steps of `batchSize` rows. */
export class StepPlan {
  readonly stepsPerEpoch: number;

  /** `dropLast` skips each epoch's last batch when it is smaller than `batchSize` (PyTorch's `drop_last`). */
  constructor(
    readonly count: number,
    readonly batchSize: number,
    dropLast = false,
  ) {
    this.stepsPerEpoch = dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
  }

  /** The rows step `step` of an epoch trains on. */
  step(step: number): PlannedStep {
    const start = step * this.batchSize;
    return { step, start, end: Math.min(start + this.batchSize, this.count), last: step === this.stepsPerEpoch - 1 };
  }

  /** Every step of an epoch, in order. */
  *steps(): IterableIterator<PlannedStep> {
    for (let step = 0; step < this.stepsPerEpoch; step++) yield this.step(step);
  }

  /**
   * Whether step `step` of `epoch` reports progress when reporting every `every` steps of the
   * whole run (counted across epochs) and after every epoch's last step; never when `every` is 0.
   */
  reports(every: number, epoch: number, step: number): boolean {
    return every > 0 && ((epoch * this.stepsPerEpoch + step + 1) % every === 0 || step === this.stepsPerEpoch - 1);
  }
}

/**
 * The seed of one epoch's permutation: `seed · 1,000,003 + epoch`, exactly and mod 2^53, so
 * every epoch gets its own safe-integer seed (as a float product, a large seed would round
 * neighbouring epochs to the same one, or past 2^53).
 */
export function epochSeed(seed: number, epoch: number): number {
  return Number((BigInt(seed) * 1_000_003n + BigInt(epoch)) % 2n ** 53n);
}

/** The identity order 0..count-1. */
export function identityOrder(count: number): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}

/** The seeded generator every runtime shares (`Model.permutation`). */
export interface Permuter {
  permutation(n: number, seed: number): Int32Array;
}

/** The row order of one epoch: a seeded permutation of the rows, or 0..count-1 without shuffling. */
export function epochOrder(permuter: Permuter, count: number, epoch: number, shuffle: boolean, seed: number): Int32Array {
  return shuffle ? permuter.permutation(count, epochSeed(seed, epoch)) : identityOrder(count);
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
