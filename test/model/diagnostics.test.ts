// Per-layer diagnostics against their definitions, computed here from gradients() and the state
// dict: learning speed ‖∂C/∂b‖, ‖∂C/∂W‖, ‖W‖ and the update ratio ‖ΔW‖/‖W‖.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../dist/ts/index.js';

const norm = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((sum, v) => sum + v * v, 0));
const close = (got: number, expected: number) => expect(Math.abs(got - expected), `${got} vs ${expected}`).toBeLessThanOrEqual(1e-6 * expected + 1e-12);

describe('diagnostics', () => {
  it('report the norms of the gradients and weights gradients() and stateDict() hold', async () => {
    const names = ['first', 'second', 'out'];
    const model = await createModel(
      { input: [5], layers: [{ type: 'dense', units: 4, activation: 'sigmoid', name: 'first' }, { type: 'dense', units: 3, activation: 'tanh', name: 'second' }, { type: 'dense', units: 2, name: 'out' }], loss: 'mse', optimizer: { type: 'sgd', lr: 0.5 } },
      { seed: 5 },
    );
    const x = { shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => Math.cos(i)) };
    const y = { shape: [3, 2], data: Float32Array.from({ length: 6 }, (_, i) => Math.sin(i) * 3) };
    const { grads } = model.gradients(x, y);
    const before = model.stateDict();
    model.trainStep(x, y);
    const after = model.stateDict();
    const diagnostics = model.diagnostics();
    expect(diagnostics.map((d) => d.name)).toEqual(names);
    for (const layer of diagnostics) {
      const bias = norm(grads[`${layer.name}.bias`].data);
      // Speeds well away from 1, where a missing square root would not show.
      expect(bias < 0.9 || bias > 1.1).toBe(true);
      close(layer.learningSpeed as number, bias);
      close(layer.weightGradNorm, norm(grads[`${layer.name}.weight`].data));
      const weight = after[`${layer.name}.weight`].data;
      close(layer.weightNorm, norm(weight));
      const delta = weight.map((w, i) => w - before[`${layer.name}.weight`].data[i]);
      expect(Math.abs(layer.updateRatio - norm(delta) / norm(weight))).toBeLessThan(1e-5 * layer.updateRatio);
    }
    model.dispose();
  });
});
