/**
 * Gradient checks through the ABI: for every op, the gradients `backward()` computes in WASM
 * against central differences computed from the op's forward values in JS f64 arithmetic.
 *
 * The checked scalar is L(x) = Σ w ⊙ f(x) with fixed random weights w, so each output element
 * carries a different upstream gradient. Inputs are f32, so the step actually taken is
 * `fround(x + ε) − fround(x − ε)`, and that is what the difference is divided by. ε = 1e-2;
 * an element passes when |analytic − numeric| ≤ 5e-3 + 1e-2·|numeric|. A missing factor of
 * 2 (the classic wrong gradient of x²) fails this, as the last test shows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gl from '../../dist/ts/index.js';
import type { Tensor } from '../../dist/ts/index.js';
import { integer, normal, randomSource, sizeOf } from '../tensor-helpers.js';

const EPSILON = 1e-2;
const ABSOLUTE_TOLERANCE = 5e-3;
const RELATIVE_TOLERANCE = 1e-2;
const SEEDS = [1, 2, 3];

/** Where an input's random values come from, to keep clear of kinks and poles. */
type Domain = 'any' | 'awayFromZero' | 'positive' | 'probability';

interface Input {
  shape: number[];
  domain?: Domain;
}

function sample(random: () => number, domain: Domain): number {
  switch (domain) {
    case 'any':
      return normal(random);
    case 'awayFromZero':
      return (random() < 0.5 ? -1 : 1) * (0.5 + 1.5 * random());
    case 'positive':
      return 0.5 + 1.5 * random();
    case 'probability':
      return 0.1 + 0.8 * random();
  }
}

function randomData(random: () => number, shape: number[], domain: Domain): Float32Array {
  return Float32Array.from({ length: sizeOf(shape) }, () => sample(random, domain));
}

/** ∂L/∂input for every input, by backward() in WASM. */
function analyticGradients(values: Float32Array[], inputs: Input[], weights: Float32Array, build: (xs: Tensor[]) => Tensor): Float32Array[] {
  return gl.scope(() => {
    const xs = values.map((data, i) => gl.tensor(data, inputs[i].shape, { requiresGrad: true }));
    const out = build(xs);
    gl.sum(gl.mul(out, gl.tensor(weights, out.shape))).backward();
    return xs.map((x) => x.grad?.data() ?? new Float32Array(x.size));
  });
}

/** L in f64 from the op's f32 outputs, with no gradient recorded. */
function weightedSum(values: Float32Array[], inputs: Input[], weights: Float32Array, build: (xs: Tensor[]) => Tensor): number {
  return gl.scope(() => {
    const out = build(values.map((data, i) => gl.tensor(data, inputs[i].shape))).data();
    return out.reduce((total, y, i) => total + y * weights[i], 0);
  });
}

/** ∂L/∂input for every input, by central differences. */
function numericGradients(values: Float32Array[], inputs: Input[], weights: Float32Array, build: (xs: Tensor[]) => Tensor): Float64Array[] {
  return values.map((data, index) => {
    const gradient = new Float64Array(data.length);
    for (let element = 0; element < data.length; element++) {
      const shifted = values.map((v) => v.slice());
      const x = data[element];
      shifted[index][element] = x + EPSILON;
      const above = weightedSum(shifted, inputs, weights, build);
      const step = shifted[index][element];
      shifted[index][element] = x - EPSILON;
      const below = weightedSum(shifted, inputs, weights, build);
      gradient[element] = (above - below) / (step - shifted[index][element]);
    }
    return gradient;
  });
}

/** The elements where `analytic` and `numeric` disagree beyond the tolerance, described. */
function mismatches(analytic: ArrayLike<number>[], numeric: ArrayLike<number>[]): string[] {
  const found: string[] = [];
  analytic.forEach((gradient, index) => {
    for (let element = 0; element < gradient.length; element++) {
      const exact = gradient[element];
      const estimate = numeric[index][element];
      if (!(Math.abs(exact - estimate) <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * Math.abs(estimate))) {
        found.push(`input ${index} element ${element}: backward ${exact}, finite differences ${estimate}`);
      }
    }
  });
  return found;
}

/** Checks `build`'s gradients for random inputs of `inputs` drawn with `seed`. */
function checkGradients(seed: number, inputs: Input[], build: (xs: Tensor[]) => Tensor): void {
  const random = randomSource(seed);
  const values = inputs.map((input) => randomData(random, input.shape, input.domain ?? 'any'));
  const outShape = gl.scope(() => [...build(values.map((data, i) => gl.tensor(data, inputs[i].shape))).shape]);
  const weights = randomData(random, outShape, 'any');
  const analytic = analyticGradients(values, inputs, weights, build);
  const numeric = numericGradients(values, inputs, weights, build);
  expect(mismatches(analytic, numeric), `seed ${seed}, shapes ${JSON.stringify(inputs.map((i) => i.shape))}`).toEqual([]);
}

/** A random shape of rank in [minRank, maxRank] with dimensions in [1, 4]. */
function randomShape(random: () => number, minRank = 1, maxRank = 3): number[] {
  return Array.from({ length: integer(random, minRank, maxRank) }, () => integer(random, 1, 4));
}

/** A shape that broadcasts against `shape`: some dimensions set to 1, some leading ones dropped. */
function broadcastPartner(random: () => number, shape: number[]): number[] {
  const partner = shape.map((dim) => (random() < 0.4 ? 1 : dim));
  return partner.slice(integer(random, 0, partner.length));
}

let startTensors = 0;

beforeAll(async () => {
  await gl.init();
  startTensors = gl.numTensors();
});

describe('gradients match central differences', () => {
  const binaryOps: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['add', gl.add],
    ['sub', gl.sub],
    ['mul', gl.mul],
    ['div', gl.div],
  ];
  for (const [name, op] of binaryOps) {
    it(`${name}, with broadcasting either way`, () => {
      for (const seed of SEEDS) {
        const random = randomSource(1000 + seed);
        const shape = randomShape(random);
        const partner = broadcastPartner(random, shape);
        const divisor: Domain = name === 'div' ? 'awayFromZero' : 'any';
        checkGradients(seed, [{ shape }, { shape: partner, domain: divisor }], ([a, b]) => op(a, b));
        checkGradients(seed, [{ shape: partner }, { shape, domain: divisor }], ([a, b]) => op(a, b));
      }
    });
  }

  it('matmul, for every transpose layout', () => {
    for (const seed of SEEDS) {
      const random = randomSource(2000 + seed);
      const [m, k, n] = [integer(random, 1, 4), integer(random, 1, 4), integer(random, 1, 4)];
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const a = { shape: transposeA ? [k, m] : [m, k] };
          const b = { shape: transposeB ? [n, k] : [k, n] };
          checkGradients(seed, [a, b], ([x, y]) => gl.matmul(x, y, { transposeA, transposeB }));
        }
      }
    }
  });

  for (const [name, op] of [
    ['sum', gl.sum],
    ['mean', gl.mean],
  ] as const) {
    it(`${name}, over everything and along every axis, with and without keepdim`, () => {
      for (const seed of SEEDS) {
        const shape = randomShape(randomSource(3000 + seed));
        const axes: (number | undefined)[] = [undefined, ...shape.map((_, d) => d), -1];
        for (const axis of axes) {
          for (const keepdim of [false, true]) {
            checkGradients(seed, [{ shape }], ([x]) => op(x, { axis, keepdim }));
          }
        }
      }
    });
  }

  const unaryOps: [string, (x: Tensor) => Tensor, Domain][] = [
    ['exp', gl.exp, 'any'],
    ['log', gl.log, 'positive'],
    ['sqrt', gl.sqrt, 'positive'],
    ['square', gl.square, 'any'],
    ['pow 3', (x) => gl.pow(x, 3), 'any'],
    ['pow -1.5', (x) => gl.pow(x, -1.5), 'positive'],
    ['sigmoid', gl.sigmoid, 'any'],
    ['tanh', gl.tanh, 'any'],
    ['relu', gl.relu, 'awayFromZero'],
    ['leakyRelu 0.2', (x) => gl.leakyRelu(x, 0.2), 'awayFromZero'],
    ['elu 1.3', (x) => gl.elu(x, 1.3), 'awayFromZero'],
    ['softmax', gl.softmax, 'any'],
    ['logSoftmax', gl.logSoftmax, 'any'],
  ];
  for (const [name, op, domain] of unaryOps) {
    it(name, () => {
      for (const seed of SEEDS) {
        const shape = randomShape(randomSource(4000 + seed));
        checkGradients(seed, [{ shape, domain }], ([x]) => op(x));
      }
    });
  }

  it('mseLoss, for prediction and target', () => {
    for (const seed of SEEDS) {
      const shape = randomShape(randomSource(5000 + seed));
      checkGradients(seed, [{ shape }, { shape }], ([p, t]) => gl.mseLoss(p, t));
    }
  });

  it('sigmoidCrossEntropy, for logits and targets', () => {
    for (const seed of SEEDS) {
      const shape = randomShape(randomSource(6000 + seed));
      checkGradients(seed, [{ shape }, { shape, domain: 'probability' }], ([x, y]) => gl.sigmoidCrossEntropy(x, y));
    }
  });

  it('softmaxCrossEntropy, for logits', () => {
    for (const seed of SEEDS) {
      const random = randomSource(7000 + seed);
      const [batch, classes] = [integer(random, 1, 5), integer(random, 1, 5)];
      const labels = Array.from({ length: batch }, () => integer(random, 0, classes - 1));
      checkGradients(seed, [{ shape: [batch, classes] }], ([x]) => gl.softmaxCrossEntropy(x, labels));
    }
  });

  for (const cell of ['rnn', 'lstm'] as const) {
    it(`${cell}: x, every parameter and the initial state, through every result, T = 1 and 3`, () => {
      const [batch, features, units] = [2, 3, 2];
      const gates = (cell === 'lstm' ? 4 : 1) * units;
      const state = cell === 'lstm' ? [[batch, units], [batch, units]] : [[batch, units]];
      for (const seed of SEEDS) {
        for (const steps of [1, 3]) {
          for (const withState of [false, true]) {
            const shapes = [[batch, steps, features], [gates, features], [gates, units], [gates], [gates], ...(withState ? state : [])];
            checkGradients(seed, shapes.map((shape) => ({ shape })), ([x, weightIh, weightHh, biasIh, biasHh, h0, c0]) => {
              const params = { weightIh, weightHh, biasIh, biasHh };
              const result: { output: Tensor; h: Tensor; c?: Tensor } = cell === 'lstm' ? gl.lstm(x, params, { h0, c0 }) : gl.rnn(x, params, { h0 });
              // Every path at once: Σ_t output + h (+ c), so h's gradient arrives twice.
              const total = gl.add(gl.sum(result.output, { axis: 1 }), result.h);
              return result.c ? gl.add(total, result.c) : total;
            });
          }
        }
      }
    });
  }

  it('a two-layer network composed of ops', () => {
    for (const seed of SEEDS) {
      const inputs = [{ shape: [4, 3] }, { shape: [5, 3] }, { shape: [5] }, { shape: [2, 5] }];
      checkGradients(seed, inputs, ([x, w1, b1, w2]) =>
        gl.softmaxCrossEntropy(gl.matmul(gl.tanh(gl.add(gl.matmul(x, w1, { transposeB: true }), b1)), w2, { transposeB: true }), [0, 1, 1, 0]),
      );
    }
  });
});

describe('the checker', () => {
  it('rejects a gradient that misses the factor 2 of d(x²)/dx', () => {
    const inputs = [{ shape: [3, 2] }];
    const random = randomSource(9);
    const values = [randomData(random, [3, 2], 'any')];
    const weights = randomData(random, [3, 2], 'any');
    const square = ([x]: Tensor[]) => gl.square(x);
    const halved = analyticGradients(values, inputs, weights, square).map((g) => g.map((v) => v / 2));
    const numeric = numericGradients(values, inputs, weights, square);
    expect(mismatches(halved, numeric).length).toBe(6);
    expect(mismatches(analyticGradients(values, inputs, weights, square), numeric)).toEqual([]);
  });

  it('leaves no tensors behind', () => {
    expect(gl.numTensors()).toBe(startTensors);
  });
});
