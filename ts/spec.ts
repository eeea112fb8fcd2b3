/**
 * The model spec: plain JSON that describes a network, crosses into workers and can be saved.
 * {@link validateSpec} checks a value against it and fills in defaults, naming the path of
 * any bad field (`layers[2].units`) in a `GradlabError` with code `InvalidSpec`.
 */
import { GradlabError, describe } from './errors.js';

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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`.replace(/^\./, ''), `absent (allowed: ${allowed.join(', ')})`, value[key]);
  }
}

function integer(value: unknown, path: string, min: number, max = 2 ** 24): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

function number(value: unknown, path: string, min: number, max = Infinity, inclusiveMax = true): number {
  const aboveMax = inclusiveMax ? (value as number) > max : (value as number) >= max;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || aboveMax) {
    fail(path, `a finite number in [${min}, ${max}${inclusiveMax ? ']' : ')'}`, value);
  }
  return value;
}

function optional<T>(value: unknown, check: (v: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'true or false', value);
  return value;
}

function name(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 256 || value.includes('.')) {
    fail(path, "a non-empty name without '.' of at most 256 characters", value);
  }
  return value;
}

const NAMED_ACTIVATIONS = ['identity', 'sigmoid', 'tanh', 'relu', 'softmax'] as const;
const PARAMETRIC_ACTIVATIONS = ['leakyRelu', 'prelu', 'elu'] as const;

function activation(value: unknown, path: string): Activation {
  if (typeof value === 'string') {
    if ((NAMED_ACTIVATIONS as readonly string[]).includes(value)) return value as Activation;
    if ((PARAMETRIC_ACTIVATIONS as readonly string[]).includes(value)) return { type: value } as Activation;
  }
  if (isObject(value) && (PARAMETRIC_ACTIVATIONS as readonly string[]).includes(value.type as string)) {
    checkKeys(value, path, ['type', 'alpha']);
    const alpha = optional(value.alpha, (a) => number(a, `${path}.alpha`, -1e6, 1e6));
    return { type: value.type, ...(alpha === undefined ? {} : { alpha }) } as Activation;
  }
  return fail(path, `one of ${[...NAMED_ACTIVATIONS, ...PARAMETRIC_ACTIVATIONS].join(', ')} or {type, alpha}`, value);
}

const NAMED_INITS = ['nielsen', 'normal', 'xavier', 'xavierUniform', 'he', 'heUniform', 'lecun', 'zeros'] as const;

function init(value: unknown, path: string): Init {
  if (typeof value === 'string' && (NAMED_INITS as readonly string[]).includes(value)) return value as Init;
  if (isObject(value) && value.type === 'normal') {
    checkKeys(value, path, ['type', 'std']);
    return { type: 'normal', std: number(value.std, `${path}.std`, 0, 1e6) };
  }
  return fail(path, `one of ${NAMED_INITS.join(', ')} or {type:'normal', std}`, value);
}

function layer(value: unknown, path: string): LayerSpec {
  if (!isObject(value)) fail(path, 'a layer object', value);
  switch (value.type) {
    case 'dense': {
      checkKeys(value, path, ['type', 'units', 'activation', 'init', 'bias', 'name']);
      return {
        type: 'dense',
        units: integer(value.units, `${path}.units`, 1, 65536),
        activation: value.activation === undefined ? 'identity' : activation(value.activation, `${path}.activation`),
        ...(value.init === undefined ? {} : { init: init(value.init, `${path}.init`) }),
        bias: value.bias === undefined ? true : boolean(value.bias, `${path}.bias`),
        ...withName(value.name, path),
      };
    }
    case 'activation':
      checkKeys(value, path, ['type', 'activation', 'name']);
      return { type: 'activation', activation: activation(value.activation, `${path}.activation`), ...withName(value.name, path) };
    case 'batchnorm':
      checkKeys(value, path, ['type', 'momentum', 'eps', 'name']);
      return {
        type: 'batchnorm',
        momentum: value.momentum === undefined ? 0.1 : number(value.momentum, `${path}.momentum`, 0, 1),
        eps: value.eps === undefined ? 1e-5 : number(value.eps, `${path}.eps`, 0, 1),
        ...withName(value.name, path),
      };
    case 'residual': {
      checkKeys(value, path, ['type', 'layers', 'name']);
      if (!Array.isArray(value.layers) || value.layers.length === 0) fail(`${path}.layers`, 'a non-empty array of layers', value.layers);
      return { type: 'residual', layers: value.layers.map((l, i) => layer(l, `${path}.layers[${i}]`)), ...withName(value.name, path) };
    }
    case 'rnn':
    case 'lstm': {
      checkKeys(value, path, ['type', 'units', 'returnSequences', 'forgetBias', 'bpttSteps', 'name']);
      if (value.type === 'rnn' && value.forgetBias !== undefined) fail(`${path}.forgetBias`, 'absent for rnn (LSTM only)', value.forgetBias);
      return {
        type: value.type,
        units: integer(value.units, `${path}.units`, 1, 65536),
        returnSequences: value.returnSequences === undefined ? false : boolean(value.returnSequences, `${path}.returnSequences`),
        ...(value.type === 'lstm' ? { forgetBias: value.forgetBias === undefined ? 0 : number(value.forgetBias, `${path}.forgetBias`, -1e3, 1e3) } : {}),
        ...(value.bpttSteps === undefined ? {} : { bpttSteps: integer(value.bpttSteps, `${path}.bpttSteps`, 1) }),
        ...withName(value.name, path),
      };
    }
    default:
      return fail(`${path}.type`, "one of 'dense', 'activation', 'batchnorm', 'residual', 'rnn', 'lstm'", value.type);
  }
}

function withName(value: unknown, path: string): { name?: string } {
  const n = name(value, `${path}.name`);
  return n === undefined ? {} : { name: n };
}

function schedule(value: unknown, path: string): ScheduleSpec {
  if (isObject(value) && value.type === 'step') {
    checkKeys(value, path, ['type', 'stepSize', 'gamma']);
    return { type: 'step', stepSize: integer(value.stepSize, `${path}.stepSize`, 1, 2 ** 31), gamma: value.gamma === undefined ? 0.1 : number(value.gamma, `${path}.gamma`, 0, 1e6) };
  }
  if (isObject(value) && value.type === 'cosine') {
    checkKeys(value, path, ['type', 'tMax', 'etaMin']);
    return { type: 'cosine', tMax: integer(value.tMax, `${path}.tMax`, 1, 2 ** 31), etaMin: value.etaMin === undefined ? 0 : number(value.etaMin, `${path}.etaMin`, 0) };
  }
  return fail(path, "{type:'step', stepSize, gamma?} or {type:'cosine', tMax, etaMin?}", value);
}

function optimizer(value: unknown): OptimizerSpec {
  const path = 'optimizer';
  if (value === undefined) return { type: 'sgd', lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 };
  if (!isObject(value)) fail(path, 'an optimizer object', value);
  const lr = number(value.lr, `${path}.lr`, 0, 1e6);
  const sched = optional(value.schedule, (s) => schedule(s, `${path}.schedule`));
  const withSchedule = sched === undefined ? {} : { schedule: sched };
  if (value.type === 'sgd') {
    checkKeys(value, path, ['type', 'lr', 'momentum', 'nesterov', 'weightDecay', 'schedule']);
    const momentum = value.momentum === undefined ? 0 : number(value.momentum, `${path}.momentum`, 0, 1, false);
    const nesterov = value.nesterov === undefined ? false : boolean(value.nesterov, `${path}.nesterov`);
    if (nesterov && momentum === 0) fail(`${path}.momentum`, 'a momentum > 0 with nesterov', momentum);
    const weightDecay = value.weightDecay === undefined ? 0 : number(value.weightDecay, `${path}.weightDecay`, 0);
    return { type: 'sgd', lr, momentum, nesterov, weightDecay, ...withSchedule };
  }
  if (value.type === 'adam' || value.type === 'adamw') {
    checkKeys(value, path, ['type', 'lr', 'betas', 'eps', 'weightDecay', 'schedule']);
    let betas: [number, number] = [0.9, 0.999];
    if (value.betas !== undefined) {
      if (!Array.isArray(value.betas) || value.betas.length !== 2) fail(`${path}.betas`, 'a pair [beta1, beta2]', value.betas);
      betas = [number(value.betas[0], `${path}.betas[0]`, 0, 1, false), number(value.betas[1], `${path}.betas[1]`, 0, 1, false)];
    }
    const eps = value.eps === undefined ? 1e-8 : number(value.eps, `${path}.eps`, 0);
    const defaultDecay = value.type === 'adamw' ? 0.01 : 0;
    const weightDecay = value.weightDecay === undefined ? defaultDecay : number(value.weightDecay, `${path}.weightDecay`, 0);
    return { type: value.type, lr, betas, eps, weightDecay, ...withSchedule };
  }
  return fail(`${path}.type`, "one of 'sgd', 'adam', 'adamw'", value.type);
}

const LOSSES: readonly LossName[] = ['mse', 'softmaxCrossEntropy', 'sigmoidCrossEntropy'];

/**
 * Checks `spec` against the model spec and returns a copy with every default filled in.
 * Throws a `GradlabError` (`InvalidSpec`) naming the first bad field's path.
 */
export function validateSpec(spec: unknown): ModelSpec {
  if (!isObject(spec)) fail('(spec)', 'a model spec object', spec);
  checkKeys(spec, '', ['input', 'layers', 'loss', 'optimizer', 'clip', 'regularization']);
  if (!Array.isArray(spec.input) || spec.input.length < 1 || spec.input.length > 2) {
    fail('input', 'a per-example shape [features] or [time, features]', spec.input);
  }
  const input = spec.input.map((d, i) => integer(d, `input[${i}]`, 1));
  if (!Array.isArray(spec.layers)) fail('layers', 'an array of layers', spec.layers);
  const layers = spec.layers.map((l, i) => layer(l, `layers[${i}]`));
  if (!LOSSES.includes(spec.loss as LossName)) fail('loss', `one of ${LOSSES.join(', ')}`, spec.loss);
  const result: ModelSpec = { input, layers, loss: spec.loss as LossName, optimizer: optimizer(spec.optimizer) };
  if (spec.clip !== undefined) {
    if (!isObject(spec.clip)) fail('clip', '{norm?, value?}', spec.clip);
    checkKeys(spec.clip, 'clip', ['norm', 'value']);
    const norm = optional(spec.clip.norm, (v) => number(v, 'clip.norm', Number.MIN_VALUE));
    const value = optional(spec.clip.value, (v) => number(v, 'clip.value', Number.MIN_VALUE));
    result.clip = { ...(norm === undefined ? {} : { norm }), ...(value === undefined ? {} : { value }) };
  }
  if (spec.regularization !== undefined) {
    if (!isObject(spec.regularization)) fail('regularization', '{l1?, l2?}', spec.regularization);
    checkKeys(spec.regularization, 'regularization', ['l1', 'l2']);
    result.regularization = {
      l1: spec.regularization.l1 === undefined ? 0 : number(spec.regularization.l1, 'regularization.l1', 0),
      l2: spec.regularization.l2 === undefined ? 0 : number(spec.regularization.l2, 'regularization.l2', 0),
    };
  }
  return result;
}
