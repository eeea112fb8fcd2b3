// The non-finite guard through the wasm build, where the SIMD kernels run.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../dist/ts/index.js';

describe('non-finite guard', () => {
  it('takes huge but finite gradients (their squares overflow f32) as finite', async () => {
    const model = await createModel({ input: [2], layers: [{ type: 'dense', units: 2, init: 'zeros' }], loss: 'mse' });
    // ∂L/∂W = −1e10 · 1e10 per element: finite in f32, its square is not.
    const step = model.trainStep({ shape: [1, 2], data: new Float32Array([1e10, 1e10]) }, { shape: [1, 2], data: new Float32Array([1e10, 1e10]) });
    expect(step.applied).toBe(true);
    expect(step.gradNorm).toBeGreaterThan(1e19);
    expect(Number.isFinite(step.gradNorm)).toBe(true);
    model.dispose();
  });

  it('refuses a diverging step, names where it went non-finite, and leaves the weights as they were', async () => {
    const layers = [30, 30, 30, 30].map((units) => ({ type: 'dense' as const, units, activation: 'relu' as const, init: 'normal' as const }));
    const model = await createModel({ input: [50], layers: [...layers, { type: 'dense', units: 10, init: 'normal' }], loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', lr: 10 } }, { seed: 3 });
    const x = { shape: [4, 50], data: new Float32Array(200).map((_, i) => Math.sin(i)) };
    const y = { shape: [4], data: new Int32Array([0, 1, 2, 3]) };
    let refused;
    for (let i = 0; i < 10 && !refused; i++) {
      const step = model.trainStep(x, y);
      if (!step.applied) refused = step;
    }
    expect(refused).toBeDefined();
    expect(typeof refused!.nonFiniteAt).toBe('string');
    const before = model.stateDict();
    expect(model.trainStep(x, y).applied).toBe(false);
    const after = model.stateDict();
    for (const name of Object.keys(before)) expect(after[name].data).toEqual(before[name].data);
    model.dispose();
  });
});
