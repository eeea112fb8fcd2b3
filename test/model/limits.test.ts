// The limits through the public API: specs whose sizes wrapped in 32-bit WebAssembly, and a
// batch too large for memory, are TooLarge errors, and the instance goes on working.
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, init, numModels, type ModelSpec } from '../../dist/ts/index.js';
import { expectRejection, expectError } from '../expect-error.js';

const small: ModelSpec = { input: [2], layers: [{ type: 'dense', units: 2 }], loss: 'mse' };

async function stillWorks(): Promise<void> {
  const before = numModels();
  const model = await createModel(small);
  expect(model.trainStep({ shape: [1, 2], data: new Float32Array([1, 2]) }, { shape: [1, 2], data: new Float32Array([0, 1]) }).applied).toBe(true);
  expect(numModels()).toBe(before + 1);
  model.dispose();
  expect(numModels()).toBe(before);
}

describe('model limits', () => {
  beforeAll(() => init());

  it.each<[string, ModelSpec]>([
    ['input [65536] and dense 65536', { input: [65536], layers: [{ type: 'dense', units: 65536 }], loss: 'mse' }],
    ['input [16777216] and dense 256', { input: [16777216], layers: [{ type: 'dense', units: 256 }], loss: 'mse' }],
    ['an LSTM of 32768 units', { input: [4, 3], layers: [{ type: 'lstm', units: 32768 }], loss: 'mse' }],
  ])('%s is refused at createModel with TooLarge naming the layer (it used to trap at predict)', async (_, spec) => {
    const before = numModels();
    const error = await expectRejection(createModel(spec), 'TooLarge', 'layers[0]');
    expect(error.message).toMatch(/more than the limit of 67108864/);
    expect(numModels()).toBe(before);
    await stillWorks();
  });

  it('a batch that does not fit is TooLarge before it runs, and the model stays usable', async () => {
    const model = await createModel({ input: [1], layers: [{ type: 'dense', units: 65536, activation: 'relu' }, { type: 'dense', units: 1 }], loss: 'mse' });
    // 5 · 65536 + 2 values per example (the wide layer's output, pre-activation and its
    // gradient, two gradient buffers): 820 examples pass 2^28.
    const x = { shape: [820, 1], data: new Float32Array(820) };
    expectError(() => model.predict(x), 'TooLarge', 'x');
    expectError(() => model.trainStep(x, { shape: [820, 1], data: new Float32Array(820) }), 'TooLarge', 'x');
    expect(model.predict({ shape: [2, 1], data: new Float32Array([1, 2]) }).data).toHaveLength(2);
    model.dispose();
    await stillWorks();
  });
});

describe('the guard', () => {
  it('refuses the step of a 1.7e38 weight at lr 10: its loss is Infinity in f32, and nothing changes', async () => {
    const model = await createModel({ input: [1], layers: [{ type: 'dense', units: 1, bias: false }], loss: 'mse', optimizer: { type: 'sgd', lr: 10 } });
    model.loadStateDict({ '0.weight': { shape: [1, 1], data: [1.7e38] } });
    const x = { shape: [1, 1], data: new Float32Array([1]) };
    const y = { shape: [1, 1], data: new Float32Array([0]) };
    const step = model.trainStep(x, y);
    expect(step).toMatchObject({ applied: false, nonFiniteAt: 'loss', loss: Infinity });
    expect(model.stateDict()['0.weight'].data[0]).toBe(Math.fround(1.7e38));
    model.loadStateDict({ '0.weight': { shape: [1, 1], data: [1] } });
    expect(model.trainStep(x, y).applied).toBe(true);
    model.dispose();
  });

  it('refuses Adam with eps 0, which would write NaN, before any step (the guard backs it up: crates/core/tests/guard.rs)', async () => {
    const spec = { input: [1], layers: [{ type: 'dense' as const, units: 1, init: 'zeros' as const, name: 'only' }], loss: 'mse' as const };
    await expect(createModel({ ...spec, optimizer: { type: 'adam', lr: 0.1, eps: 0 } })).rejects.toMatchObject({ code: 'InvalidSpec', arg: 'optimizer.eps' });
    await expect(createModel({ ...spec, optimizer: { type: 'adam', lr: 0.1, eps: 1e-50 } })).rejects.toMatchObject({ code: 'InvalidSpec', arg: 'optimizer.eps' });
    const model = await createModel({ ...spec, optimizer: { type: 'adam', lr: 0.1, eps: 1e-30 } });
    expect(model.trainStep({ shape: [1, 1], data: new Float32Array([0]) }, { shape: [1, 1], data: new Float32Array([1]) }).applied).toBe(true);
    expect(Object.values(model.stateDict()).flatMap((t) => Array.from(t.data)).every(Number.isFinite)).toBe(true);
    model.dispose();
  });
});
