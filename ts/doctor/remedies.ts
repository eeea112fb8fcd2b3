/**
 * The article's remedies as spec transformations, one function per remedy: each takes the
 * user's spec and returns the modified spec, or `null` where the remedy does not apply to it
 * (a ReLU net needs no `relu`, a net without an RNN no `lstm`). Pretraining keeps the spec and
 * changes how the weights start (see {@link PRETRAINING}).
 *
 * @packageDocumentation
 */
import type { Activation, DenseSpec, Init, LayerSpec, ModelSpec } from '../model/spec.js';
import type { PretrainMethod } from '../model/pretrain.js';
import type { RemedyName, Verdict } from './report.js';

type Remedy = (spec: ModelSpec) => ModelSpec | null;

function activationName(activation: Activation | undefined): string {
  return typeof activation === 'object' ? activation.type : (activation ?? 'identity');
}

/** The index of the last dense layer at the top level: the output layer, left as it is. */
function outputIndex(layers: LayerSpec[]): number {
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i].type === 'dense') return i;
  return -1;
}

function isRecurrent(spec: ModelSpec): boolean {
  return spec.layers.some((layer) => layer.type === 'rnn' || layer.type === 'lstm');
}

/** Maps every hidden layer (every layer but the output layer, nested ones included). */
function mapHidden(spec: ModelSpec, map: (layer: LayerSpec) => LayerSpec | LayerSpec[]): ModelSpec {
  const last = outputIndex(spec.layers);
  const deep = (layer: LayerSpec): LayerSpec[] => {
    const mapped = layer.type === 'residual' ? { ...layer, layers: layer.layers.flatMap(deep) } : layer;
    const result = map(mapped);
    return Array.isArray(result) ? result : [result];
  };
  return { ...spec, layers: spec.layers.flatMap((layer, i) => (i === last ? [layer] : deep(layer))) };
}

/** Every hidden nonlinearity replaced by `activation`, dense layers initialised with `init`; `null` when nothing changes. */
function swapActivation(spec: ModelSpec, activation: Activation, init: Init): ModelSpec | null {
  const target = activationName(activation);
  let changed = false;
  const next = mapHidden(spec, (layer) => {
    if (layer.type === 'dense' && layer.activation !== undefined && activationName(layer.activation) !== 'identity' && activationName(layer.activation) !== 'softmax') {
      changed ||= activationName(layer.activation) !== target || layer.init !== init;
      return { ...layer, activation, init };
    }
    if (layer.type === 'dense') return { ...layer, init };
    if (layer.type === 'activation' && activationName(layer.activation) !== 'softmax') {
      changed ||= activationName(layer.activation) !== target;
      return { ...layer, activation };
    }
    return layer;
  });
  return changed && !isRecurrent(spec) ? next : null;
}

/** ReLU with He initialisation (the variance-preserving init for it). */
export const relu: Remedy = (spec) => swapActivation(spec, 'relu', 'he');
/** Leaky ReLU (slope 0.01 below zero: no unit can die) with He initialisation. */
export const leakyRelu: Remedy = (spec) => swapActivation(spec, { type: 'leakyRelu', alpha: 0.01 }, 'he');
/** PReLU (one learned slope per layer, starting at 0.25) with He initialisation. */
export const prelu: Remedy = (spec) => swapActivation(spec, { type: 'prelu' }, 'he');
/** ELU (α = 1: smooth, negative outputs pull the mean toward 0) with He initialisation. */
export const elu: Remedy = (spec) => swapActivation(spec, { type: 'elu', alpha: 1 }, 'he');

/** A BatchNorm between every hidden dense layer and its nonlinearity; `null` for nets that have one. */
export const batchnorm: Remedy = (spec) => {
  const has = (layers: LayerSpec[]): boolean => layers.some((l) => l.type === 'batchnorm' || (l.type === 'residual' && has(l.layers)));
  if (has(spec.layers) || isRecurrent(spec)) return null;
  let changed = false;
  const next = mapHidden(spec, (layer) => {
    if (layer.type !== 'dense' || activationName(layer.activation) === 'identity') return layer;
    changed = true;
    const { activation, ...dense } = layer;
    const name = layer.name;
    return [
      dense as DenseSpec,
      { type: 'batchnorm', ...(name ? { name: `${name}_bn` } : {}) },
      { type: 'activation', activation: activation as Activation, ...(name ? { name: `${name}_act` } : {}) },
    ];
  });
  return changed ? next : null;
};

/**
 * Residual shortcuts `y = x + f(x)` around every top-level hidden dense layer whose input is
 * as wide as its output (all but the first of an MLP of equal widths); `null` when none is.
 */
export const residual: Remedy = (spec) => {
  if (isRecurrent(spec) || spec.input.length !== 1) return null;
  const last = outputIndex(spec.layers);
  let width = spec.input[0];
  let changed = false;
  const layers = spec.layers.map((layer, i): LayerSpec => {
    if (layer.type !== 'dense') return layer;
    const wrap = i !== last && layer.units === width && activationName(layer.activation) !== 'identity';
    width = layer.units;
    if (!wrap) return layer;
    changed = true;
    return { type: 'residual', layers: [layer], ...(layer.name ? { name: `${layer.name}_res` } : {}) };
  });
  return changed ? { ...spec, layers } : null;
};

/** Clipping by global norm 1 (`clip_grad_norm_`), the lab's setting; `null` when the spec already clips as tightly. */
export const clipNorm: Remedy = (spec) => (spec.clip?.norm !== undefined && spec.clip.norm <= 1 ? null : { ...spec, clip: { ...spec.clip, norm: 1 } });
/** Clipping every gradient value to ±0.01 (`clip_grad_value_`); `null` when the spec already clips as tightly. */
export const clipValue: Remedy = (spec) => (spec.clip?.value !== undefined && spec.clip.value <= 0.01 ? null : { ...spec, clip: { ...spec.clip, value: 0.01 } });
/** An L2 penalty of 10⁻³ on the weights, holding them down; `null` when the spec has one as strong. */
export const l2: Remedy = (spec) => (spec.regularization?.l2 !== undefined && spec.regularization.l2 >= 1e-3 ? null : { ...spec, regularization: { ...spec.regularization, l2: 1e-3 } });

/** Dense nets on flat inputs, the ones greedy layer-wise pretraining builds (it needs two hidden layers to matter). */
function pretrainable(spec: ModelSpec, method: PretrainMethod): boolean {
  const flat = spec.input.length === 1 && spec.layers.every((l) => l.type === 'dense');
  const hidden = spec.layers.slice(0, -1) as DenseSpec[];
  const rbmReady = hidden.every((l) => activationName(l.activation) === 'sigmoid' && l.bias !== false);
  return flat && hidden.length >= 2 && (method === 'autoencoder' || rbmReady);
}
/** Greedy layer-wise pretraining as stacked autoencoders, then fine-tuning the same spec. */
export const pretrainAutoencoder: Remedy = (spec) => (pretrainable(spec, 'autoencoder') ? spec : null);
/** Greedy layer-wise pretraining as RBMs (a deep belief net; sigmoid layers with bias only), then fine-tuning. */
export const pretrainRbm: Remedy = (spec) => (pretrainable(spec, 'rbm') ? spec : null);

/** Every `rnn` layer as an `lstm` of the same size, its forget bias starting at 1 (remember by default). */
export const lstm: Remedy = (spec) => {
  if (!spec.layers.some((l) => l.type === 'rnn')) return null;
  return { ...spec, layers: spec.layers.map((l) => (l.type === 'rnn' ? { ...l, type: 'lstm', forgetBias: l.forgetBias ?? 1 } : l)) };
};

/** Every remedy by name. */
export const REMEDIES: Record<RemedyName, Remedy> = { relu, leakyRelu, prelu, elu, batchnorm, residual, clipNorm, clipValue, l2, pretrainAutoencoder, pretrainRbm, lstm };

/** The pretraining remedies and how they pretrain (the lab's settings: one epoch per layer). */
export const PRETRAINING: Partial<Record<RemedyName, { method: PretrainMethod; lr: number }>> = {
  pretrainAutoencoder: { method: 'autoencoder', lr: 0.1 },
  pretrainRbm: { method: 'rbm', lr: 0.05 },
};

/** The remedies the article gives for each problem, in the article's order. */
export const REMEDIES_FOR: Record<Exclude<Verdict, 'healthy'>, RemedyName[]> = {
  vanishing: ['relu', 'leakyRelu', 'prelu', 'elu', 'batchnorm', 'residual', 'pretrainAutoencoder', 'pretrainRbm'],
  saturated: ['relu', 'leakyRelu', 'elu', 'batchnorm'],
  dead: ['leakyRelu', 'prelu', 'elu', 'batchnorm'],
  exploding: ['clipNorm', 'clipValue', 'l2'],
  nonFinite: ['clipNorm', 'clipValue', 'l2'],
  vanishingThroughTime: ['lstm'],
};

/** The remedies to try for these problems, each once, with the specs they make (those that apply). */
export function applicableRemedies(spec: ModelSpec, problems: Exclude<Verdict, 'healthy'>[]): { remedy: RemedyName; spec: ModelSpec }[] {
  const names = [...new Set(problems.flatMap((problem) => REMEDIES_FOR[problem]))];
  return names.flatMap((remedy) => {
    const modified = REMEDIES[remedy](spec);
    return modified ? [{ remedy, spec: modified }] : [];
  });
}
