/**
 * The networks the ONNX export is checked on, in Node (onnx.test.ts) and in Chromium
 * (onnx-page): together they hold every layer kind, every activation, every loss's output head,
 * dense layers with and without bias on features and on sequences, named and nested layers.
 * Their weights are random (biases, BatchNorm statistics and PReLU slopes included), so no
 * parameter can be dropped, transposed or reordered unnoticed.
 */
import { uniform } from '../../bench/baselines/random.mjs';
import type { Model, ModelSpec, StateDict } from '../../dist/ts/index.js';

export interface OnnxCase {
  name: string;
  spec: ModelSpec;
}

const T = 5;

export const ONNX_CASES: OnnxCase[] = [
  {
    name: 'MLP: sigmoid, tanh, relu, logits (softmaxCrossEntropy head)',
    spec: {
      input: [6],
      layers: [
        { type: 'dense', units: 8, activation: 'sigmoid' },
        { type: 'dense', units: 7, activation: 'tanh' },
        { type: 'dense', units: 5, activation: 'relu' },
        { type: 'dense', units: 3 },
      ],
      loss: 'softmaxCrossEntropy',
    },
  },
  {
    name: 'every parametric activation, as dense activations and as layers (sigmoidCrossEntropy head)',
    spec: {
      input: [5],
      layers: [
        { type: 'dense', units: 6, activation: { type: 'leakyRelu', alpha: 0.2 } },
        { type: 'activation', activation: { type: 'leakyRelu' } },
        { type: 'dense', units: 6, activation: { type: 'elu' } },
        { type: 'activation', activation: { type: 'elu', alpha: 0.5 } },
        { type: 'dense', units: 6, activation: { type: 'prelu' }, name: 'learned' },
        { type: 'activation', activation: 'prelu' },
        { type: 'activation', activation: 'identity' },
        { type: 'dense', units: 4, bias: false },
      ],
      loss: 'sigmoidCrossEntropy',
    },
  },
  {
    name: 'softmax output head, activation layers (mse)',
    spec: {
      input: [4],
      layers: [{ type: 'dense', units: 6 }, { type: 'activation', activation: 'tanh' }, { type: 'activation', activation: 'relu' }, { type: 'dense', units: 5, activation: 'softmax' }],
      loss: 'mse',
    },
  },
  {
    name: 'BatchNorm with the default and a custom eps',
    spec: {
      input: [6],
      layers: [{ type: 'dense', units: 8 }, { type: 'batchnorm' }, { type: 'activation', activation: 'sigmoid' }, { type: 'dense', units: 4, bias: false }, { type: 'batchnorm', eps: 0.01, name: 'bn' }, { type: 'dense', units: 2 }],
      loss: 'mse',
    },
  },
  {
    name: 'residual blocks: named, nested, with BatchNorm inside',
    spec: {
      input: [6],
      layers: [
        { type: 'dense', units: 6, activation: 'relu' },
        { type: 'residual', layers: [{ type: 'dense', units: 6, activation: 'relu' }, { type: 'batchnorm' }, { type: 'dense', units: 6 }] },
        {
          type: 'residual',
          name: 'block',
          layers: [{ type: 'dense', units: 6, activation: 'tanh', name: 'inner' }, { type: 'residual', layers: [{ type: 'dense', units: 6, activation: { type: 'prelu' } }] }],
        },
        { type: 'dense', units: 3 },
      ],
      loss: 'softmaxCrossEntropy',
    },
  },
  {
    name: 'RNN, last step, then a dense head',
    spec: { input: [T, 3], layers: [{ type: 'rnn', units: 5 }, { type: 'dense', units: 2 }], loss: 'mse' },
  },
  {
    name: 'LSTM, last step, then a dense head',
    spec: { input: [T, 4], layers: [{ type: 'lstm', units: 6, forgetBias: 1 }, { type: 'dense', units: 3 }], loss: 'softmaxCrossEntropy' },
  },
  {
    name: 'stacked sequences: LSTM and RNN returning every step, dense, BatchNorm and softmax per step',
    spec: {
      input: [T, 3],
      layers: [
        { type: 'lstm', units: 5, returnSequences: true, name: 'encoder' },
        { type: 'batchnorm' },
        { type: 'rnn', units: 4, returnSequences: true, bpttSteps: 2 },
        { type: 'dense', units: 4, activation: 'relu' },
        { type: 'residual', layers: [{ type: 'dense', units: 4, bias: false }] },
        { type: 'lstm', units: 3, returnSequences: true },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
      loss: 'mse',
    },
  },
  {
    name: 'no layers: the identity',
    spec: { input: [3], layers: [], loss: 'mse' },
  },
];

/** Batch sizes every case runs at: a single example and a batch. */
export const BATCH_SIZES = [1, 7];

/**
 * Random values for every state-dict entry of `model`, drawn from `seed`: weights and biases
 * in ±1, BatchNorm scales in ±2 and running variances in [0.5, 2.5), PReLU slopes in [-0.5, 0.5).
 */
export function randomState(model: Model, seed: number): StateDict {
  const random = uniform(seed);
  const draw = (name: string): number => {
    const u = random();
    if (name.endsWith('.running_var')) return 0.5 + 2 * u;
    if (name.endsWith('.alpha')) return u - 0.5;
    return 2 * u - 1;
  };
  const state: StateDict = {};
  for (const { name, shape } of model.entries) {
    state[name] = { shape: [...shape], data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => draw(name)) };
  }
  return state;
}

/** A batch of `batch` inputs for `model`, in ±2 (so every activation sees both signs). */
export function randomInput(model: Model, batch: number, seed: number): { shape: number[]; data: Float32Array } {
  const random = uniform(seed);
  const shape = [batch, ...model.inputShape];
  return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 4 * random() - 2) };
}

/**
 * The largest error of `actual` against `expected`, relative to the tensor's magnitude:
 * max |a − e| / max(|e|, 1) over the elements, so that elements near zero are not judged by a
 * tiny denominator (float32 rounding of a large sum that cancels to nearly zero is absolute).
 */
export function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1);
    if (!Number.isFinite(error)) return Infinity;
    worst = Math.max(worst, error);
  }
  return worst;
}
