/**
 * One measured run of the doctor: a network trained for a step budget in a worker (the worker
 * trainer), and the health measurements on a probe batch, taken in this thread on a model
 * rebuilt from the weights at initialisation and at the end.
 *
 * @packageDocumentation
 */
import { createModelSync, type LayerMeasurements } from '../model/model.js';
import type { Dataset, EvaluateResult, LayerDiagnostics, StateDict } from '../model/types.js';
import { createTrainer, type CreateTrainerOptions } from '../trainer/trainer.js';
import type { ModelSpec } from '../model/spec.js';
import type { Core } from '../runtime/wasm.js';
import type { LayerHealth } from './report.js';

/** How a run trains: the same for the original and every trial. */
export interface Budget {
  steps: number;
  batchSize: number;
  seed: number;
  /** Points kept of each layer's ‖∂C/∂W‖ over the run. */
  historyPoints: number;
}

/** What one probe batch measured. */
export interface Probe {
  diagnostics: LayerDiagnostics[];
  measurements: LayerMeasurements[];
  /** Global gradient norm (data loss + penalty). */
  gradNorm: number;
  loss: number;
}

/** A finished run. */
export interface RunRecord {
  start: Probe;
  end: Probe;
  steps: number;
  /** Steps the non-finite guard refused, and where the first went non-finite. */
  skippedSteps: number;
  nonFiniteAt: string | null;
  validation: EvaluateResult;
  /** Per layer name: ‖∂C/∂W‖ at the sampled steps. */
  weightGradNormHistory: Map<string, number[]>;
  /** The last step's diagnostics (its update ratios). */
  lastStep: LayerDiagnostics[] | null;
}

/** Gradients on `probe` with the health measurements on: one forward and backward pass, no update. */
export function probe(core: Core, spec: ModelSpec, seed: number, state: StateDict | null, batch: Dataset): Probe {
  const model = createModelSync(core, spec, seed);
  try {
    if (state) model.loadStateDict(state);
    model.setHealthMeasurement(true);
    const { gradNorm, loss } = model.gradients(batch.x, batch.y);
    return { diagnostics: model.diagnostics(), measurements: model.health(), gradNorm, loss };
  } finally {
    model.dispose();
  }
}

/**
 * Trains `spec` from `seed` (or from `state`) on `train` for the budget in a worker, then
 * evaluates it on `validation` and probes it at the start and the end.
 */
export async function measuredRun(
  core: Core,
  spec: ModelSpec,
  state: StateDict | null,
  data: { train: Dataset; validation: Dataset; probe: Dataset },
  budget: Budget,
  options: { wasm?: CreateTrainerOptions['wasm']; onStep?: (done: number, total: number) => void },
): Promise<RunRecord> {
  const start = probe(core, spec, budget.seed, state, data.probe);
  const trainer = await createTrainer(spec, { seed: budget.seed, ...(options.wasm ? { wasm: options.wasm } : {}) });
  try {
    if (state) await trainer.loadStateDict(state);
    const rows = data.train.x.shape[0];
    const stepsPerEpoch = Math.ceil(rows / budget.batchSize);
    const every = Math.max(1, Math.floor(budget.steps / budget.historyPoints));
    const history = new Map<string, number[]>();
    const stop = new AbortController();
    let done = 0;
    let lastStep: LayerDiagnostics[] | null = null;
    const result = await trainer.fit(data.train, {
      epochs: Math.ceil(budget.steps / stepsPerEpoch),
      batchSize: budget.batchSize,
      seed: budget.seed,
      signal: stop.signal,
      onProgress: (progress) => {
        done = progress.epoch * stepsPerEpoch + progress.step + 1;
        if (progress.diagnostics) {
          lastStep = progress.diagnostics;
          if ((done - 1) % every === 0) progress.diagnostics.forEach((layer) => history.set(layer.name, [...(history.get(layer.name) ?? []), layer.weightGradNorm]));
        }
        options.onStep?.(Math.min(done, budget.steps), budget.steps);
        if (done >= budget.steps) stop.abort();
      },
    });
    const skippedSteps = result.epochs.reduce((sum, epoch) => sum + epoch.skippedSteps, 0);
    const nonFiniteAt = result.epochs.find((epoch) => epoch.nonFiniteAt !== undefined)?.nonFiniteAt ?? null;
    const validation = await trainer.evaluate(data.validation);
    const end = probe(core, spec, budget.seed, await trainer.stateDict(), data.probe);
    return { start, end, steps: done, skippedSteps, nonFiniteAt, validation, weightGradNormHistory: history, lastStep };
  } finally {
    await trainer.dispose();
  }
}

/** The report's per-layer health: the end probe's measurements, the last step's update ratios and the run's history. */
export function layerHealth(run: RunRecord): LayerHealth[] {
  const measured = new Map(run.end.measurements.map((m) => [m.name, m]));
  const updates = new Map((run.lastStep ?? []).map((d) => [d.name, d.updateRatio]));
  return run.end.diagnostics.map((layer) => {
    const m = measured.get(layer.name);
    const empty = { min: 0, max: 0, log: false, counts: [], excluded: 0 };
    const health: LayerHealth = {
      name: layer.name,
      kind: layer.kind,
      activation: m?.activation ?? null,
      biasGradNorm: layer.learningSpeed,
      weightGradNorm: layer.weightGradNorm,
      updateRatio: updates.get(layer.name) ?? 0,
      preActivationMean: m?.preActivationMean ?? NaN,
      preActivationStd: m?.preActivationStd ?? NaN,
      saturatedFraction: m?.saturatedFraction ?? null,
      deadFraction: m?.deadFraction ?? null,
      histograms: m?.histograms ?? { activations: empty, preActivations: empty, gradients: empty },
      weightGradNormHistory: run.weightGradNormHistory.get(layer.name) ?? [],
    };
    if (layer.timeGradNorms) health.timeGradNorms = layer.timeGradNorms;
    return health;
  });
}
