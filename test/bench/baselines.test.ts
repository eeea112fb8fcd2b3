/**
 * The benchmark baselines compute the right thing: a benchmark against a broken baseline is
 * worthless. Matmul layouts against a naive reference, activations against their definitions,
 * and the pure-JS MLP, LSTM and BatchNorm backward passes against central differences; the
 * training steps lower the loss; tfjs's BatchNorm gradients agree with the pure-JS ones.
 */
import { describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM benchmark modules without type declarations
import { matmul } from '../../bench/baselines/sgemm.mjs';
// @ts-ignore
import { add, elu, mul, relu, sigmoid, softmaxRows, tanh } from '../../bench/baselines/elementwise.mjs';
// @ts-ignore
import { PureJsMlp, makeTfjsLayersMlp } from '../../bench/baselines/mlp.mjs';
// @ts-ignore
import { PureJsLstm, makeTfjsLayersLstm } from '../../bench/baselines/lstm.mjs';
// @ts-ignore
import { PureJsBatchNorm, batchnormData, makeTfjsBatchNorm } from '../../bench/baselines/batchnorm.mjs';
// @ts-ignore
import { mnistLikeBatch, randomArray, randomLabels } from '../../bench/baselines/random.mjs';

type Parameters = Record<string, Float32Array>;

/**
 * Compares analytic gradients with central differences of `loss` for every entry of every
 * parameter. f32 arithmetic: ε = 5e-3 and a tolerance of 2e-3 + 2 % of the numeric value.
 */
function expectGradientsMatch(parameters: Parameters, gradients: Parameters, loss: () => number) {
  const epsilon = 5e-3;
  const analytic = Object.fromEntries(Object.entries(gradients).map(([name, value]) => [name, value.slice()]));
  for (const [name, parameter] of Object.entries(parameters)) {
    for (let i = 0; i < parameter.length; i++) {
      const original = parameter[i];
      parameter[i] = original + epsilon;
      const plus = loss();
      parameter[i] = original - epsilon;
      const minus = loss();
      parameter[i] = original;
      const numeric = (plus - minus) / (2 * epsilon);
      const error = Math.abs(numeric - analytic[name][i]);
      if (error > 2e-3 + 0.02 * Math.abs(numeric)) {
        throw new Error(`${name}[${i}]: analytic ${analytic[name][i]}, numeric ${numeric}`);
      }
    }
  }
}

describe('sgemm baseline', () => {
  it('computes every layout like a naive triple loop', () => {
    const [m, k, n] = [5, 7, 3];
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const a = randomArray(m * k, 1);
        const b = randomArray(k * n, 2);
        const c = new Float32Array(m * n).fill(NaN);
        matmul(a, b, c, m, k, n, { transposeA, transposeB });
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let expected = 0;
            for (let p = 0; p < k; p++) {
              expected += (transposeA ? a[p * m + i] : a[i * k + p]) * (transposeB ? b[j * k + p] : b[p * n + j]);
            }
            expect(c[i * n + j]).toBeCloseTo(expected, 5);
          }
        }
      }
    }
  });
});

describe('elementwise baselines', () => {
  const x = Float32Array.from([-3, -0.5, 0, 0.25, 2, 10]);
  const y = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const out = () => new Float32Array(x.length);
  const each = (result: Float32Array, reference: (value: number, index: number) => number) =>
    result.forEach((value, index) => expect(value).toBeCloseTo(reference(x[index], index), 6));

  it('match their definitions', () => {
    each(add(x, y, out()), (value, index) => value + y[index]);
    each(mul(x, y, out()), (value, index) => value * y[index]);
    each(sigmoid(x, out()), (value) => 1 / (1 + Math.exp(-value)));
    each(tanh(x, out()), Math.tanh);
    each(relu(x, out()), (value) => Math.max(value, 0));
    each(elu(x, out()), (value) => (value > 0 ? value : Math.exp(value) - 1));
  });

  it('softmax normalises each row and is shift-invariant', () => {
    const rows = softmaxRows(x, out(), 3);
    expect(rows[0] + rows[1] + rows[2]).toBeCloseTo(1, 6);
    expect(rows[3] + rows[4] + rows[5]).toBeCloseTo(1, 6);
    const shifted = softmaxRows(x.map((value) => value + 100), out(), 3);
    shifted.forEach((value: number, index: number) => expect(value).toBeCloseTo(rows[index], 6));
  });
});

describe('pure-JS MLP baseline', () => {
  const cases = [
    { activation: 'sigmoid', loss: 'softmaxCrossEntropy' },
    { activation: 'sigmoid', loss: 'sigmoidCrossEntropy' },
    { activation: 'relu', loss: 'softmaxCrossEntropy' },
  ] as const;
  for (const options of cases) {
    it(`backprop matches finite differences (${options.activation}, ${options.loss})`, () => {
      const batch = 4;
      const model = new PureJsMlp([5, 4, 4, 3], { ...options, seed: 3 });
      const x = randomArray(batch * 5, 4, 2);
      const labels = randomLabels(batch, 3, 5);
      const loss = () => model.gradients(x, labels, batch);
      loss();
      const names = (prefix: string, list: Float32Array[]) => Object.fromEntries(list.map((value, index) => [`${prefix}${index}`, value]));
      expectGradientsMatch(
        { ...names('weight', model.weights), ...names('bias', model.biases) },
        { ...names('weight', model.weightGradients), ...names('bias', model.biasGradients) },
        loss,
      );
    });
  }

  it('lowers the loss over 50 SGD steps on [784,30,30,30,30,10]', () => {
    const model = new PureJsMlp([784, 30, 30, 30, 30, 10], { activation: 'sigmoid', learningRate: 0.5 });
    const { pixels, labels } = mnistLikeBatch(10, 3);
    const first = model.trainStep(pixels, labels, 10);
    let last = first;
    for (let step = 0; step < 50; step++) last = model.trainStep(pixels, labels, 10);
    expect(last).toBeLessThan(first * 0.9);
  });
});

describe('pure-JS LSTM baseline', () => {
  it('backprop through time matches finite differences', () => {
    const model = new PureJsLstm({ inputSize: 3, hiddenSize: 4, outputSize: 2, seed: 5 });
    // Larger weights than the default init, so every gate is exercised away from its linear range.
    for (const parameter of Object.values(model.parameters) as Float32Array[]) parameter.forEach((value, index) => { parameter[index] = value * 3; });
    const [batch, steps] = [2, 5];
    const x = randomArray(batch * steps * 3, 1);
    const target = randomArray(batch * 2, 2);
    const loss = () => model.lossAndGradients(x, target, batch, steps);
    loss();
    expectGradientsMatch(model.parameters, model.gradients, loss);
  });

  it('lowers the loss over 50 SGD steps', () => {
    const model = new PureJsLstm({ inputSize: 8, hiddenSize: 16, outputSize: 1, learningRate: 0.1 });
    const [batch, steps] = [8, 10];
    const x = randomArray(batch * steps * 8, 1);
    const target = randomArray(batch, 2);
    const first = model.trainStep(x, target, batch, steps);
    let last = first;
    for (let step = 0; step < 50; step++) last = model.trainStep(x, target, batch, steps);
    expect(last).toBeLessThan(first * 0.9);
  });
});

describe('pure-JS BatchNorm baseline', () => {
  it('backward matches finite differences for the input, weight and bias', () => {
    const shape = { batch: 6, features: 4 };
    const layer = new PureJsBatchNorm(shape.features);
    layer.weight.set([0.5, 1.5, -1, 2]);
    layer.bias.set([0.1, -0.2, 0.3, 0]);
    const { x, target } = batchnormData(shape);
    const loss = () => layer.lossAndGradients(x, target, shape.batch);
    loss();
    expectGradientsMatch(
      { input: x, weight: layer.weight, bias: layer.bias },
      { input: layer.inputGradient, weight: layer.weightGradient, bias: layer.biasGradient },
      loss,
    );
  });

  it('agrees with tfjs (gradients through the batch moments)', async () => {
    const shape = { batch: 16, features: 8 };
    const layer = new PureJsBatchNorm(shape.features);
    const { x, target } = batchnormData(shape);
    const loss = layer.lossAndGradients(x, target, shape.batch);
    const tfjs = await makeTfjsBatchNorm('cpu', shape);
    const reference = tfjs.gradients();
    tfjs.dispose();
    expect(loss).toBeCloseTo(reference.loss, 5);
    const close = (actual: Float32Array, expected: Float32Array) => actual.forEach((value, index) => expect(value).toBeCloseTo(expected[index], 5));
    close(layer.inputGradient, reference.input);
    close(layer.weightGradient, reference.weight);
    close(layer.biasGradient, reference.bias);
  });
});

describe('tfjs-layers baselines', () => {
  it('the MLP trains (loss falls over 30 trainOnBatch calls)', async () => {
    const workload = await makeTfjsLayersMlp('cpu', [784, 30, 10], 10, { activation: 'sigmoid', learningRate: 0.5 });
    const first = (await workload.run()) as number;
    let last = first;
    for (let step = 0; step < 30; step++) last = (await workload.run()) as number;
    workload.dispose();
    expect(last).toBeLessThan(first * 0.9);
  });

  it('the LSTM trains (loss falls over 30 trainOnBatch calls)', async () => {
    const workload = await makeTfjsLayersLstm('cpu', { inputSize: 4, hiddenSize: 8, steps: 5, batch: 4, outputSize: 1 });
    const first = (await workload.run()) as number;
    let last = first;
    for (let step = 0; step < 30; step++) last = (await workload.run()) as number;
    workload.dispose();
    expect(last).toBeLessThan(first);
  });
});
