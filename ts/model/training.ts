/**
 * Training loops over a whole dataset in this thread: `fit` (seeded shuffling, per-step or
 * per-epoch diagnostics, early stop from a callback) and `evaluate`. The schedule
 * (step-plan.ts) and the batches (batches.ts) are the ones the worker trainer uses.
 */
import { describe, invalidArgument } from '../runtime/errors.js';
import { BatchGatherer, datasetLayout } from './batches.js';
import { EpochTally, StepPlan, epochOrder, identityOrder, type Permuter } from './step-plan.js';
import type { ModelSpec } from './spec.js';
import type { Dataset, EpochResult, EvaluateResult, History, LayerDiagnostics, StepProgress, StepResult, TensorLike } from './types.js';

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
  /** Checked before every step: when it returns true, training stops. */
  shouldStop?: () => boolean;
}

/** What the loops use of a model ({@link Model} has all of it). */
export interface TrainableModel extends Permuter {
  readonly spec: ModelSpec;
  trainStep(x: TensorLike, y: TensorLike): StepResult;
  evaluateBatch(x: TensorLike, y: TensorLike): { loss: number; correct: number | null; nonFiniteAt?: string };
  diagnostics(): LayerDiagnostics[];
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

/** Trains `model` on `data` for `epochs` epochs of mini-batches. */
export function fit(model: TrainableModel, data: Dataset, options: FitOptions): History {
  const { epochs, batchSize, shuffle, seed } = checkFitOptions('fit', options);
  const { count } = datasetLayout('fit', data);
  const when = options.diagnostics ?? 'epoch';
  const plan = new StepPlan(count, batchSize, options.dropLast ?? false);
  const batches = new BatchGatherer('fit', data, model.spec);
  const history: History = { epochs: [], stopped: false };
  for (let epoch = 0; epoch < epochs && !history.stopped; epoch++) {
    const order = epochOrder(model, count, epoch, shuffle, seed);
    const tally = new EpochTally(epoch);
    for (const { step, start, end, last } of plan.steps()) {
      if (options.shouldStop?.()) {
        history.stopped = true;
        break;
      }
      const { x, y } = batches.batch(order, start, end);
      const outcome = model.trainStep(x, y);
      const diagnostics = when === 'step' || (when === 'epoch' && last) ? model.diagnostics() : undefined;
      tally.add(outcome, last ? diagnostics : undefined);
      const progress: StepProgress = { ...outcome, epoch, step, stepsPerEpoch: plan.stepsPerEpoch, ...(diagnostics && when === 'step' ? { diagnostics } : {}) };
      if (options.onStep?.(progress) === false) {
        history.stopped = true;
        break;
      }
    }
    const result = tally.finish();
    if (options.validationData) result.validation = evaluate(model, options.validationData, { batchSize: Math.max(batchSize, 256) });
    history.epochs.push(result);
    if (history.stopped || options.onEpoch?.(result) === false) history.stopped = true;
  }
  return history;
}

/** Mean data loss over `data` in evaluation mode, and arg-max accuracy where it applies. */
export function evaluate(model: TrainableModel, data: Dataset, options: { batchSize?: number } = {}): EvaluateResult {
  if (typeof options !== 'object' || options === null) invalidArgument('evaluate', 'options', '{batchSize?}', describe(options));
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) invalidArgument('evaluate', 'batchSize', 'a positive integer', describe(batchSize));
  const { count } = datasetLayout('evaluate', data);
  const batches = new BatchGatherer('evaluate', data, model.spec);
  const order = identityOrder(count);
  let lossSum = 0;
  let correct: number | null = 0;
  let rows = 0;
  let nonFiniteAt: string | undefined;
  for (const { start, end } of new StepPlan(count, batchSize).steps()) {
    const { x, y } = batches.batch(order, start, end);
    const batch = model.evaluateBatch(x, y);
    lossSum += batch.loss * (end - start);
    rows += end - start;
    correct = batch.correct === null || correct === null ? null : correct + batch.correct;
    nonFiniteAt ??= batch.nonFiniteAt;
  }
  const result: EvaluateResult = { loss: lossSum / rows, accuracy: correct === null ? null : correct / rows };
  if (nonFiniteAt !== undefined) result.nonFiniteAt = nonFiniteAt;
  return result;
}
