/**
 * `diagnose(specOrModel, data, options)`: the doctor. Trains the network for a short budget in
 * a worker, measures every layer's gradient health, names what is wrong, tries the article's
 * remedies for it on the same data, seed and budget (in workers, several at once) and
 * recommends the best.
 *
 * @packageDocumentation
 */
import { describe, invalidArgument } from '../runtime/errors.js';
import { Model } from '../model/model.js';
import { validateSpec, type ModelSpec } from '../model/spec.js';
import { datasetLayout } from '../model/batches.js';
import { init, type WasmSource } from '../runtime/wasm.js';
import type { Dataset, StateDict, TensorLike } from '../model/types.js';
import { findingsOf, verdictOf } from './findings.js';
import { applicableRemedies, REMEDIES } from './remedies.js';
import type { DoctorReport, RemedyName } from './report.js';
import { layerHealth, measuredRun, type Budget } from './run.js';
import { MIN_IMPROVEMENT } from './thresholds.js';
import { metricsOf, runTrials } from './trials.js';

/** What the doctor is doing, for progress bars. */
export interface DiagnoseProgress {
  /** `original`: the user's network; otherwise the remedy being tried. */
  run: 'original' | RemedyName;
  step: number;
  steps: number;
}

export interface DiagnoseOptions {
  /** Training steps of every run (the original's and each trial's); default 300. */
  steps?: number;
  /** Examples per step; default 10 (Nielsen's). */
  batchSize?: number;
  /** Seed of the initial weights and the shuffling, the same for every run; default 0. */
  seed?: number;
  /** Held-out data for the validation metric; default: the last 20 % of `data`'s rows. */
  validation?: Dataset;
  /** Try the remedies (default true); false gives the diagnosis alone, with no trials. */
  trials?: boolean;
  /** Only these remedies (of those that apply to the problems found). */
  remedies?: RemedyName[];
  /** Trials trained at once, each in its own worker; default 2. */
  concurrency?: number;
  /** Rows of the training data the health measurements are taken on; default 256. */
  probeSize?: number;
  /** Where to load gradlab.wasm from (defaults to the packaged file). */
  wasm?: WasmSource;
  onProgress?: (progress: DiagnoseProgress) => void;
}

const DEFAULTS = { steps: 300, batchSize: 10, seed: 0, concurrency: 2, probeSize: 256, validationShare: 0.2 };

function positiveInteger(arg: string, value: unknown, fallback: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max) invalidArgument('diagnose', `options.${arg}`, `an integer in [1, ${max}]`, describe(value));
  return value as number;
}

/** Rows `[start, end)` of a dataset, as views where the data are typed arrays. */
function rows(data: Dataset, start: number, end: number): Dataset {
  const { xRow, yRow } = datasetLayout('diagnose', data);
  const slice = (tensor: TensorLike, length: number): TensorLike => ({
    shape: [end - start, ...tensor.shape.slice(1)],
    data: ArrayBuffer.isView(tensor.data) ? (tensor.data as Float32Array).subarray(start * length, end * length) : Array.prototype.slice.call(tensor.data, start * length, end * length),
  });
  return { x: slice(data.x, xRow), y: slice(data.y, yRow) };
}

/** The training rows, the validation rows and the probe batch. */
function split(data: Dataset, validation: Dataset | undefined, probeSize: number): { train: Dataset; validation: Dataset; probe: Dataset } {
  const { count } = datasetLayout('diagnose', data);
  let train = data;
  if (validation === undefined) {
    if (count < 2) invalidArgument('diagnose', 'data', 'at least 2 rows (or options.validation)', `${count} row`);
    const held = Math.max(1, Math.floor(count * DEFAULTS.validationShare));
    train = rows(data, 0, count - held);
    validation = rows(data, count - held, count);
  } else {
    datasetLayout('diagnose', validation);
  }
  const trainRows = train.x.shape[0];
  return { train, validation, probe: rows(train, 0, Math.min(trainRows, probeSize)) };
}

/**
 * Diagnoses a network on `data`: trains it for `options.steps` steps (seeded, in a worker),
 * measures every layer on a probe batch at initialisation and at the end, and reports the
 * problems found (`findings`, worst first, and the `verdict`). Unless `options.trials` is
 * false, each of the article's remedies for those problems is tried on the same data, seed and
 * budget, and `recommendation` names the one that improved the validation metric and the
 * gradient balance most (`remedy: 'none'` for a healthy net or when nothing helps).
 *
 * A {@link Model} is diagnosed from its current weights; its trials start from the seed.
 */
export async function diagnose(specOrModel: ModelSpec | Model, data: Dataset, options: DiagnoseOptions = {}): Promise<DoctorReport> {
  if (typeof options !== 'object' || options === null) invalidArgument('diagnose', 'options', 'an options object', describe(options));
  const core = await init(options.wasm);
  const budget: Budget = {
    steps: positiveInteger('steps', options.steps, DEFAULTS.steps, 1_000_000),
    batchSize: positiveInteger('batchSize', options.batchSize, DEFAULTS.batchSize),
    seed: options.seed === undefined ? DEFAULTS.seed : Number.isSafeInteger(options.seed) && options.seed >= 0 ? options.seed : invalidArgument('diagnose', 'options.seed', 'a non-negative safe integer', describe(options.seed)),
    historyPoints: 50,
  };
  const concurrency = positiveInteger('concurrency', options.concurrency, DEFAULTS.concurrency, 64);
  const probeSize = positiveInteger('probeSize', options.probeSize, DEFAULTS.probeSize);
  if (options.trials !== undefined && typeof options.trials !== 'boolean') invalidArgument('diagnose', 'options.trials', 'a boolean', describe(options.trials));
  const allowed = options.remedies;
  if (allowed !== undefined && (!Array.isArray(allowed) || allowed.some((name) => !Object.prototype.hasOwnProperty.call(REMEDIES, name)))) {
    invalidArgument('diagnose', 'options.remedies', `an array of ${Object.keys(REMEDIES).join(', ')}`, describe(allowed));
  }
  let spec: ModelSpec;
  let state: StateDict | null = null;
  if (specOrModel instanceof Model) {
    spec = specOrModel.spec;
    state = specOrModel.stateDict();
  } else {
    spec = validateSpec(specOrModel, core);
  }
  const sets = split(data, options.validation, probeSize);
  const wasm = options.wasm ? { wasm: options.wasm } : {};
  const report = (run: DiagnoseProgress['run']) => (step: number, steps: number) => options.onProgress?.({ run, step, steps });

  const original = await measuredRun(core, spec, state, sets, budget, { ...wasm, onStep: report('original') });
  const findings = findingsOf(original);
  const verdict = verdictOf(findings);
  const before = metricsOf(original);
  const problems = [...new Set(findings.map((finding) => finding.kind))];
  const candidates = options.trials === false ? [] : applicableRemedies(spec, problems).filter(({ remedy }) => allowed === undefined || allowed.includes(remedy));
  const trials = await runTrials(core, candidates, before, sets, budget, { concurrency, ...wasm, onTrial: (remedy, step, steps) => options.onProgress?.({ run: remedy, step, steps }) });
  const best = trials[0];
  const recommendation = best && best.improvement > MIN_IMPROVEMENT ? { remedy: best.remedy, spec: best.spec } : { remedy: 'none' as const, spec };
  return { verdict, findings, layers: layerHealth(original), trials, recommendation };
}
