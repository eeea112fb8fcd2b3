// The core's health measurements against independent computations in JS: pre-activations
// recomputed from stateDict(), histogram counts binned here, dead and saturated units counted
// on hand-made batches, and the measurements off by default.
import { describe, expect, it } from 'vitest';
import { createModel, type HealthHistogram } from '../../dist/ts/index.js';

const BINS = 30;

/** x·Wᵀ + b for a batch x [rows, in] and W [out, in], in f64. */
function affine(x: Float32Array, rows: number, weight: Float32Array, bias: Float32Array): Float64Array {
  const out = bias.length;
  const inputs = weight.length / out;
  const z = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let sum = 0;
      for (let i = 0; i < inputs; i++) sum += x[r * inputs + i] * weight[o * inputs + i];
      z[r * out + o] = sum + bias[o];
    }
  }
  return z;
}

/** The linear histogram's definition: bin ⌊(v − min)·BINS/(max − min)⌋, the maximum in the last. */
function linearCounts(values: ArrayLike<number>, min: number, max: number): number[] {
  const counts = new Array<number>(BINS).fill(0);
  const scale = BINS / (max - min);
  for (const v of Array.from(values)) counts[Math.min(BINS - 1, Math.floor((v - min) * scale))]++;
  return counts;
}

describe('health measurements', () => {
  it('are off by default and, once on, are taken by every step', async () => {
    const model = await createModel({ input: [3], layers: [{ type: 'dense', units: 2, activation: 'relu' }, { type: 'dense', units: 2 }], loss: 'mse', optimizer: { type: 'sgd', lr: 0.1 } }, { seed: 1 });
    const x = { shape: [2, 3], data: Float32Array.of(1, 2, 3, -1, 0, 2) };
    const y = { shape: [2, 2], data: Float32Array.of(0, 1, 1, 0) };
    model.trainStep(x, y);
    expect(model.health()).toEqual([]);
    model.setHealthMeasurement(true);
    model.trainStep(x, y);
    expect(model.health().map((layer) => [layer.name, layer.kind, layer.activation])).toEqual([['0', 'dense', 'relu'], ['1', 'dense', 'identity']]);
    model.setHealthMeasurement(false);
    expect(model.health()).toEqual([]);
    model.dispose();
  });

  it('give the pre-activation mean, std and histograms of a JS recomputation from stateDict()', async () => {
    const model = await createModel(
      { input: [6], layers: [{ type: 'dense', units: 5, activation: 'tanh', name: 'hidden' }, { type: 'dense', units: 3, name: 'out' }], loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', lr: 0.1 } },
      { seed: 3 },
    );
    const rows = 40;
    const x = Float32Array.from({ length: rows * 6 }, (_, i) => Math.sin(i * 1.7) * 2);
    const y = Int32Array.from({ length: rows }, (_, i) => i % 3);
    model.setHealthMeasurement(true);
    const { grads } = model.gradients({ shape: [rows, 6], data: x }, { shape: [rows], data: y });
    const state = model.stateDict();
    const [hidden, out] = model.health();
    const z = affine(x, rows, state['hidden.weight'].data, state['hidden.bias'].data);
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const std = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
    expect(hidden.preActivationMean).toBeCloseTo(mean, 5);
    expect(hidden.preActivationStd).toBeCloseTo(std, 5);
    const pre = hidden.histograms.preActivations;
    expect(pre.log).toBe(false);
    expect(pre.min).toBeCloseTo(Math.min(...z), 5);
    expect(pre.max).toBeCloseTo(Math.max(...z), 5);
    // Binned from the core's own f32 pre-activations' range: the counts must match exactly.
    expect(pre.counts).toEqual(linearCounts(Float32Array.from(z), pre.min, pre.max));
    expect(pre.counts.reduce((a, b) => a + b, 0)).toBe(rows * 5);
    const activations = Float32Array.from(z, Math.tanh);
    const act = hidden.histograms.activations;
    expect(act.counts).toEqual(linearCounts(activations, act.min, act.max));
    const saturated = Array.from(activations).filter((a) => Math.abs(a) >= 0.99).length / activations.length;
    expect(hidden.saturatedFraction).toBeCloseTo(saturated, 10);
    expect(hidden.deadFraction).toBeNull();
    expect(out.saturatedFraction).toBeNull();
    // The gradient histogram: log10|∂C/∂W| in 3 bins per decade over [1e-8, 1e2).
    const gradients: HealthHistogram = hidden.histograms.gradients;
    expect([gradients.log, gradients.min, gradients.max]).toEqual([true, -8, 2]);
    const expected = new Array<number>(BINS).fill(0);
    let zeros = 0;
    for (const g of Array.from(grads['hidden.weight'].data)) {
      if (g === 0) zeros++;
      else expected[Math.max(0, Math.min(BINS - 1, Math.floor((Math.log10(Math.abs(g)) + 8) * 3)))]++;
    }
    expect(gradients.counts).toEqual(expected);
    expect(gradients.excluded).toBe(zeros);
    model.dispose();
  });

  it('count the ReLU units that are zero over the whole batch as dead', async () => {
    const model = await createModel({ input: [2], layers: [{ type: 'dense', units: 4, activation: 'relu', name: 'h' }, { type: 'dense', units: 1, name: 'out' }], loss: 'mse', optimizer: { type: 'sgd', lr: 0.1 } }, { seed: 1 });
    // Unit 0 sees x0, unit 1 −x0, unit 2 always −1, unit 3 x1 − 5: on x ≥ 0 with x1 < 5, units 2 and 3 are dead.
    const state = model.stateDict();
    model.loadStateDict({
      ...state,
      'h.weight': { shape: [4, 2], data: Float32Array.of(1, 0, -1, 0, 0, 0, 0, 1) },
      'h.bias': { shape: [4], data: Float32Array.of(0, 0, -1, -5) },
    });
    model.setHealthMeasurement(true);
    // Unit 1 is alive only through the second row (x0 = −1).
    model.gradients({ shape: [3, 2], data: Float32Array.of(1, 2, -1, 3, 2, 4) }, { shape: [3, 1], data: Float32Array.of(1, 0, 1) });
    const [hidden] = model.health();
    expect(hidden.deadFraction).toBe(0.5);
    expect(hidden.saturatedFraction).toBeNull();
    model.dispose();
  });

  it('measure a sigmoid after BatchNorm as the BatchNorm layer\'s nonlinearity, and a residual body\'s layers', async () => {
    const model = await createModel(
      {
        input: [4],
        layers: [
          { type: 'dense', units: 4, name: 'h1' },
          { type: 'batchnorm', name: 'bn1' },
          { type: 'activation', activation: 'sigmoid', name: 'a1' },
          { type: 'residual', name: 'r', layers: [{ type: 'dense', units: 4, activation: 'relu', name: 'h2' }] },
          { type: 'dense', units: 2, name: 'out' },
        ],
        loss: 'mse',
        optimizer: { type: 'sgd', lr: 0.1 },
      },
      { seed: 2 },
    );
    model.setHealthMeasurement(true);
    const rows = 8;
    model.gradients({ shape: [rows, 4], data: Float32Array.from({ length: rows * 4 }, (_, i) => Math.cos(i)) }, { shape: [rows, 2], data: new Float32Array(rows * 2) });
    const health = model.health();
    expect(health.map((h) => [h.name, h.activation])).toEqual([['h1', 'identity'], ['bn1', 'sigmoid'], ['r.h2', 'relu'], ['out', 'identity']]);
    expect(health.map((h) => h.name)).toEqual(model.diagnostics().map((d) => d.name));
    // BatchNorm's output (γ = 1, β = 0 at first) has mean 0 and std 1 per feature over the batch.
    expect(health[1].preActivationMean).toBeCloseTo(0, 5);
    expect(health[1].preActivationStd).toBeCloseTo(1, 3);
    expect(health[1].saturatedFraction).not.toBeNull();
    model.dispose();
  });

  it('measure an RNN\'s hidden states as tanh outputs and leave an LSTM\'s gates unclassified', async () => {
    for (const type of ['rnn', 'lstm'] as const) {
      const model = await createModel({ input: [5, 2], layers: [{ type, units: 3 }, { type: 'dense', units: 1 }], loss: 'mse', optimizer: { type: 'sgd', lr: 0.1 } }, { seed: 1 });
      model.setHealthMeasurement(true);
      model.gradients({ shape: [4, 5, 2], data: Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)) }, { shape: [4, 1], data: new Float32Array(4) });
      const [recurrent] = model.health();
      expect(recurrent.kind).toBe(type);
      expect(recurrent.activation).toBe(type === 'rnn' ? 'tanh' : null);
      // Every step's hidden state: batch · T · H values.
      expect(recurrent.histograms.activations.counts.reduce((a, b) => a + b, 0)).toBe(4 * 5 * 3);
      expect(recurrent.histograms.preActivations.counts.reduce((a, b) => a + b, 0)).toBe(4 * 5 * 3 * (type === 'rnn' ? 1 : 4));
      model.dispose();
    }
  });
});
