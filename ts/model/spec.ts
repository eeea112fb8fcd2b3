/**
 * The model spec: plain JSON that describes a network, crosses into workers and can be saved.
 * The types live here; the rules, ranges and defaults live in the Rust core
 * (crates/core/src/nn/spec.rs), which {@link validateSpec} asks. Errors name the path of the
 * bad field (`layers[2].units`) in a `GradlabError` with code `InvalidSpec`.
 */
import { GradlabError, describe } from '../runtime/errors.js';
import { core, type Core } from '../runtime/wasm.js';

/** An activation function; `alpha` is the negative slope (leakyRelu, prelu's initial slope) or ELU's scale. */
export type Activation =
  | 'identity'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'softmax'
  | { type: 'leakyRelu'; alpha?: number }
  | { type: 'prelu'; alpha?: number }
  | { type: 'elu'; alpha?: number };

/**
 * Weight initialisation. Without `init`, a dense layer uses PyTorch's `nn.Linear` default
 * (weights and biases U(±1/√fan_in)). `nielsen`: N(0, 1/fan_in) weights, N(0, 1) biases;
 * `normal`: N(0, 1) weights and biases; `{type:'normal', std}`: N(0, std²) weights, zero
 * biases; the others draw weights as their names say and zero the biases.
 */
export type Init =
  | 'nielsen'
  | 'normal'
  | 'xavier'
  | 'xavierUniform'
  | 'he'
  | 'heUniform'
  | 'lecun'
  | 'zeros'
  | { type: 'normal'; std: number };

export interface DenseSpec {
  type: 'dense';
  units: number;
  activation?: Activation;
  init?: Init;
  bias?: boolean;
  name?: string;
}
export interface ActivationSpec {
  type: 'activation';
  activation: Activation;
  name?: string;
}
/** BatchNorm1d over the last axis: eps 1e-5 and momentum 0.1 by default, as PyTorch. */
export interface BatchNormSpec {
  type: 'batchnorm';
  momentum?: number;
  eps?: number;
  name?: string;
}
/** `y = x + f(x)`; `layers` (f) must keep the shape. */
export interface ResidualSpec {
  type: 'residual';
  layers: LayerSpec[];
  name?: string;
}
/**
 * A recurrent layer over [time, features] inputs (batch-first). `returnSequences` gives every
 * step's hidden state ([time, units]) instead of the last ([units]). `forgetBias` (LSTM) is
 * added to the forget gate's bias at initialisation; `bpttSteps` truncates backpropagation
 * through time to the last k steps.
 */
export interface RecurrentSpec {
  type: 'rnn' | 'lstm';
  units: number;
  returnSequences?: boolean;
  forgetBias?: number;
  bpttSteps?: number;
  name?: string;
}
export type LayerSpec = DenseSpec | ActivationSpec | BatchNormSpec | ResidualSpec | RecurrentSpec;

export type LossName = 'mse' | 'softmaxCrossEntropy' | 'sigmoidCrossEntropy';

/** A learning-rate schedule, stepped once per optimiser step. */
export type ScheduleSpec = { type: 'step'; stepSize: number; gamma?: number } | { type: 'cosine'; tMax: number; etaMin?: number };

export type OptimizerSpec =
  | { type: 'sgd'; lr: number; momentum?: number; nesterov?: boolean; weightDecay?: number; schedule?: ScheduleSpec }
  | { type: 'adam' | 'adamw'; lr: number; betas?: [number, number]; eps?: number; weightDecay?: number; schedule?: ScheduleSpec };

export interface ModelSpec {
  /** Per-example input shape: `[features]` or `[time, features]`. */
  input: number[];
  layers: LayerSpec[];
  loss: LossName;
  /** Defaults to `{ type: 'sgd', lr: 0.01 }`. */
  optimizer?: OptimizerSpec;
  /** Global-norm and/or elementwise gradient clipping (norm first). */
  clip?: { norm?: number; value?: number };
  /** `l1·Σ|w| + l2·Σw²` over weight matrices. */
  regularization?: { l1?: number; l2?: number };
}

type ObjectActivation = Extract<Activation, object>;
type NamedActivation = Exclude<Activation, object>;
type NamedInit = Exclude<Init, object>;

/** `Keys` when it lists every key of `T` and nothing else; a compile error otherwise. */
type AllKeysOf<T, Keys extends readonly PropertyKey[]> = [Exclude<keyof T, Keys[number]>, Exclude<Keys[number], keyof T>] extends [never, never] ? Keys : never;
const keysOf =
  <T>() =>
  <const Keys extends readonly PropertyKey[]>(keys: AllKeysOf<T, Keys>): Keys =>
    keys;
/** Every member of the union `T`, each once (checked when compiling). */
const membersOf =
  <T extends string>() =>
  <const Names extends readonly T[]>(names: [T] extends [Names[number]] ? Names : never): Names =>
    names;

/**
 * Every name and field the types above allow, listed so that a test can compare them with
 * the core's (`specVocabulary`); the compiler checks that each list matches its type.
 */
export const SPEC_VOCABULARY = {
  activations: membersOf<NamedActivation>()(['identity', 'sigmoid', 'tanh', 'relu', 'softmax']),
  parametricActivations: membersOf<ObjectActivation['type']>()(['leakyRelu', 'prelu', 'elu']),
  inits: membersOf<NamedInit>()(['nielsen', 'normal', 'xavier', 'xavierUniform', 'he', 'heUniform', 'lecun', 'zeros']),
  losses: membersOf<LossName>()(['mse', 'softmaxCrossEntropy', 'sigmoidCrossEntropy']),
  fields: {
    spec: keysOf<ModelSpec>()(['input', 'layers', 'loss', 'optimizer', 'clip', 'regularization']),
    dense: keysOf<DenseSpec>()(['type', 'units', 'activation', 'init', 'bias', 'name']),
    activation: keysOf<ActivationSpec>()(['type', 'activation', 'name']),
    batchnorm: keysOf<BatchNormSpec>()(['type', 'momentum', 'eps', 'name']),
    residual: keysOf<ResidualSpec>()(['type', 'layers', 'name']),
    rnn: keysOf<RecurrentSpec>()(['type', 'units', 'returnSequences', 'forgetBias', 'bpttSteps', 'name']),
    lstm: keysOf<RecurrentSpec>()(['type', 'units', 'returnSequences', 'forgetBias', 'bpttSteps', 'name']),
    sgd: keysOf<Extract<OptimizerSpec, { type: 'sgd' }>>()(['type', 'lr', 'momentum', 'nesterov', 'weightDecay', 'schedule']),
    adam: keysOf<Exclude<OptimizerSpec, { type: 'sgd' }>>()(['type', 'lr', 'betas', 'eps', 'weightDecay', 'schedule']),
    adamw: keysOf<Exclude<OptimizerSpec, { type: 'sgd' }>>()(['type', 'lr', 'betas', 'eps', 'weightDecay', 'schedule']),
    step: keysOf<Extract<ScheduleSpec, { type: 'step' }>>()(['type', 'stepSize', 'gamma']),
    cosine: keysOf<Extract<ScheduleSpec, { type: 'cosine' }>>()(['type', 'tMax', 'etaMin']),
    clip: keysOf<NonNullable<ModelSpec['clip']>>()(['norm', 'value']),
    regularization: keysOf<NonNullable<ModelSpec['regularization']>>()(['l1', 'l2']),
    parametricActivation: keysOf<ObjectActivation>()(['type', 'alpha']),
    normalInit: keysOf<Extract<Init, object>>()(['type', 'std']),
  },
};

/**
 * Values JSON cannot carry (NaN, functions, typed arrays, holes) cross as
 * `{ "$gradlab": description }`, which the Rust checks describe as JavaScript would
 * (crates/core/src/nn/spec.rs reads the same key).
 */
export const NON_JSON_KEY = '$gradlab';
/** How deep the spec's arrays and objects may nest (the core's JSON parser stops at 128). */
const MAX_NESTING = 100;

function fail(path: string, expected: string, actual: unknown): never {
  throw new GradlabError({
    code: 'InvalidSpec',
    op: 'createModel',
    arg: path,
    expected,
    actual: describe(actual),
    message: `createModel: spec.${path} must be ${expected}, got ${describe(actual)}`,
  });
}

function plain(value: unknown, path: string, depth: number, open: Set<object>): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'object' || ArrayBuffer.isView(value)) return { [NON_JSON_KEY]: describe(value) };
  if (depth >= MAX_NESTING) fail(path, `arrays and objects nested at most ${MAX_NESTING} deep`, value);
  if (open.has(value)) fail(path, 'a tree of plain data (this object contains itself)', value);
  open.add(value);
  let copy: unknown;
  if (Array.isArray(value)) {
    copy = Array.from(value, (item, i) => plain(item, `${path}[${i}]`, depth + 1, open));
  } else {
    // A prototype-free copy, so that a key such as "__proto__" stays a plain key.
    const fields = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value)) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined) fields[key] = plain(field, path ? `${path}.${key}` : key, depth + 1, open);
    }
    copy = fields;
  }
  open.delete(value);
  return copy;
}

/**
 * The spec as the JSON text the core checks. Only the structure is looked at here (plain
 * data, no cycles, bounded nesting); every rule, range and default is the core's.
 */
export function specJson(spec: unknown): string {
  let copy: unknown;
  try {
    copy = plain(spec, '', 0, new Set());
  } catch (error) {
    if (error instanceof GradlabError) throw error;
    return fail('(spec)', 'plain data whose fields can be read', spec);
  }
  return JSON.stringify(copy);
}

/**
 * Checks `spec` against the model spec and returns a copy with every default filled in.
 * Throws a `GradlabError` (`InvalidSpec`) naming the first bad field's path. Needs the core
 * loaded ({@link init}), which owns the rules.
 */
export function validateSpec(spec: unknown, loaded: Core = core()): ModelSpec {
  const text = specJson(spec);
  return JSON.parse(loaded.call((b) => b.normalizeSpec(text))) as ModelSpec;
}
