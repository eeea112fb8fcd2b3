/**
 * Trials: each remedy's spec trained on the same data, seed and budget as the original, in
 * workers, several at once; compared by the validation metric and the gradient balance.
 *
 * @packageDocumentation
 */
import { createModelSync } from '../model/model.js';
import type { Dataset, StateDict } from '../model/types.js';
import { pretrain } from '../model/pretrain.js';
import type { ModelSpec } from '../model/spec.js';
import type { Core } from '../runtime/wasm.js';
import { findingsOf, gradientRatio, timeRatio, verdictOf } from './findings.js';
import { PRETRAINING } from './remedies.js';
import type { RemedyName, Trial, TrialMetrics } from './report.js';
import { measuredRun, type Budget, type RunRecord } from './run.js';
import { GRADIENT_GAIN_CAP, GRADIENT_WEIGHT } from './thresholds.js';

/** The numbers a run is compared by. */
export function metricsOf(run: RunRecord): TrialMetrics {
  return {
    loss: run.validation.loss,
    accuracy: run.validation.accuracy,
    gradientRatio: gradientRatio(run.start.diagnostics),
    timeRatio: timeRatio(run.start.diagnostics),
    verdict: verdictOf(findingsOf(run)),
  };
}

/**
 * How much better `after` is than `before` (see {@link GRADIENT_WEIGHT}): −1 for a trial whose
 * validation loss is not finite; a trial that stays finite where the original overflowed
 * gains 1 on top of its accuracy gain.
 */
export function improvement(before: TrialMetrics, after: TrialMetrics): number {
  if (!Number.isFinite(after.loss)) return -1;
  const rescued = Number.isFinite(before.loss) ? 0 : 1;
  let metricGain: number;
  if (before.accuracy !== null && after.accuracy !== null) metricGain = rescued + after.accuracy - before.accuracy;
  else if (rescued) metricGain = rescued;
  else metricGain = before.loss > 0 ? (before.loss - after.loss) / before.loss : 0;
  const through = before.timeRatio != null && after.timeRatio != null ? balanceGain(before.timeRatio, after.timeRatio) : 0;
  return metricGain + GRADIENT_WEIGHT * (balanceGain(before.gradientRatio, after.gradientRatio) + through);
}

/** log10(before/after) of a ratio where 1 is best, clamped to ±{@link GRADIENT_GAIN_CAP}; 0 where it is undefined. */
function balanceGain(before: number, after: number): number {
  const gain = Math.log10(before / after);
  if (Number.isNaN(gain)) return 0;
  return Math.max(-GRADIENT_GAIN_CAP, Math.min(GRADIENT_GAIN_CAP, gain));
}

/** The weights a pretraining remedy starts from: greedy layer-wise pretraining, one epoch per layer (in this thread). */
function pretrainedState(core: Core, remedy: RemedyName, spec: ModelSpec, train: Dataset, seed: number): StateDict | null {
  const settings = PRETRAINING[remedy];
  if (!settings) return null;
  const model = createModelSync(core, spec, seed);
  try {
    pretrain(model, train.x, { method: settings.method, epochs: 1, lr: settings.lr, k: 1, momentum: 0.5, batchSize: 10, seed });
    return model.stateDict();
  } finally {
    model.dispose();
  }
}

/** Runs `tasks` with at most `limit` under way at once; results in the tasks' order. */
async function pooled<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, lane));
  return results;
}

/** Trains every candidate in workers, `concurrency` at once, and returns the trials best first. */
export async function runTrials(
  core: Core,
  candidates: { remedy: RemedyName; spec: ModelSpec }[],
  before: TrialMetrics,
  data: { train: Dataset; validation: Dataset; probe: Dataset },
  budget: Budget,
  options: { concurrency: number; wasm?: Parameters<typeof measuredRun>[5]['wasm']; onTrial?: (remedy: RemedyName, done: number, total: number) => void },
): Promise<Trial[]> {
  const trials = await pooled(
    candidates.map(({ remedy, spec }) => async (): Promise<Trial> => {
      const state = pretrainedState(core, remedy, spec, data.train, budget.seed);
      const run = await measuredRun(core, spec, state, data, budget, { ...(options.wasm ? { wasm: options.wasm } : {}), onStep: (done, total) => options.onTrial?.(remedy, done, total) });
      const after = metricsOf(run);
      return { remedy, spec, before, after, improvement: improvement(before, after) };
    }),
    options.concurrency,
  );
  return trials.sort((a, b) => b.improvement - a.improvement);
}
