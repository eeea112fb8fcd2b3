/**
 * What the lab page can train, and how a choice on the page becomes networks: the CLI's own
 * `mlp` builder and remedy options (lab/src), so equal choices give the CLI's numbers.
 */
import { REMEDIES, type RemedyName } from '../src/experiments/remedies.js';
import { mlp, sizesLabel, type MlpOptions } from '../src/nets.js';
import type { ModelSpec } from 'gradlab';

/** `vanishing`: one net, as chosen. `remedy`: the chosen net beside the sigmoid baseline of the same depth. */
export const PAGE_EXPERIMENTS = ['vanishing', 'remedy'] as const;
export type PageExperiment = (typeof PAGE_EXPERIMENTS)[number];

export const ACTIVATIONS = ['sigmoid', 'tanh', 'relu', 'leakyRelu', 'prelu', 'elu'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const PAGE_REMEDIES = ['none', 'batchnorm', 'residual', 'clipNorm', 'l2'] as const;
export type PageRemedy = (typeof PAGE_REMEDIES)[number];

/** Hidden layers a page net may have, and its epochs. */
export const DEPTH_RANGE = { min: 2, max: 10 } as const;
export const EPOCH_RANGE = { min: 1, max: 500 } as const;
/** Nielsen's width: every hidden layer has 30 units, as in the CLI's vanishing experiment. */
export const HIDDEN_UNITS = 30;

/** One run of the page, as the form describes it. */
export interface RunConfig {
  experiment: PageExperiment;
  /** Hidden layers. */
  depth: number;
  activation: ActivationName;
  remedy: PageRemedy;
  epochs: number;
  seed: number;
}

/** The CLI's default seed and the vanishing set-up ([784,30,30,30,30,10] sigmoid, no remedy). */
export const DEFAULT_CONFIG: RunConfig = { experiment: 'vanishing', depth: 4, activation: 'sigmoid', remedy: 'none', epochs: 30, seed: 1 };

/** A net the worker trains: `key` names it in messages, `title` on the chart. */
export interface PageNet {
  key: 'net' | 'baseline' | 'remedy';
  title: string;
  sizes: number[];
  spec: ModelSpec;
}

function remedyEntry(name: RemedyName): MlpOptions {
  const entry = REMEDIES.find((r) => r.remedy === name);
  if (!entry) throw new Error(`the lab has no remedy '${name}'`);
  return entry.options;
}

/**
 * The activation and its initialisation as the CLI's remedies experiment pairs them: Nielsen's
 * for sigmoid (its baseline), He's for the ReLU family; tanh keeps Nielsen's.
 */
function activationOptions(activation: ActivationName): MlpOptions {
  if (activation === 'sigmoid') return remedyEntry('baseline');
  if (activation === 'tanh') return { activation: 'tanh', init: 'nielsen' };
  return remedyEntry(activation);
}

/** Adds what the CLI's remedy entry changes beyond the activation (BatchNorm, shortcuts, clipping, L2). */
function withRemedy(options: MlpOptions, remedy: PageRemedy): MlpOptions {
  if (remedy === 'none') return options;
  const { batchnorm, residual, clip, regularization } = remedyEntry(remedy);
  return { ...options, batchnorm, residual, clip, regularization };
}

/** [784, 30 × depth, 10]. */
export function sizesFor(depth: number): number[] {
  return [784, ...Array<number>(depth).fill(HIDDEN_UNITS), 10];
}

function describeChoice(config: RunConfig): string {
  return config.remedy === 'none' ? config.activation : `${config.activation} + ${config.remedy}`;
}

/** The nets a run trains, in the order the worker steps them each epoch. */
export function netsFor(config: RunConfig): PageNet[] {
  const sizes = sizesFor(config.depth);
  const chosen = mlp(sizes, withRemedy(activationOptions(config.activation), config.remedy));
  if (config.experiment === 'vanishing') return [{ key: 'net', title: `${describeChoice(config)} ${sizesLabel(sizes)}`, sizes, spec: chosen }];
  return [
    { key: 'baseline', title: `baseline: sigmoid ${sizesLabel(sizes)}`, sizes, spec: mlp(sizes, activationOptions('sigmoid')) },
    { key: 'remedy', title: `${describeChoice(config)} ${sizesLabel(sizes)}`, sizes, spec: chosen },
  ];
}

function oneOf<T extends string>(list: readonly T[], value: unknown, name: string): T {
  if (!list.includes(value as T)) throw new Error(`${name} must be one of ${list.join(', ')}; got ${String(value)}`);
  return value as T;
}

function integerIn(value: unknown, min: number, max: number, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw new Error(`${name} must be an integer in [${min}, ${max}]; got ${String(value)}`);
  return number;
}

/** Checks a config from the form (strings or numbers), naming the first bad field. */
export function parseConfig(fields: Record<keyof RunConfig, unknown>): RunConfig {
  return {
    experiment: oneOf(PAGE_EXPERIMENTS, fields.experiment, 'experiment'),
    depth: integerIn(fields.depth, DEPTH_RANGE.min, DEPTH_RANGE.max, 'depth'),
    activation: oneOf(ACTIVATIONS, fields.activation, 'activation'),
    remedy: oneOf(PAGE_REMEDIES, fields.remedy, 'remedy'),
    epochs: integerIn(fields.epochs, EPOCH_RANGE.min, EPOCH_RANGE.max, 'epochs'),
    seed: integerIn(fields.seed, 0, 2 ** 31 - 1, 'seed'),
  };
}
