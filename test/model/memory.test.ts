/**
 * No leaks: a 10,000-step training run keeps the WASM memory size, the number of live models
 * and the number of live tensors flat after warm-up. Memory never shrinks (WebAssembly memory
 * only grows), so any leak in a per-step path shows up as growth here.
 */
import { describe, expect, it } from 'vitest';
import * as gradlab from '../../dist/ts/index.js';
import { createModel, init, numModels, type ModelSpec } from '../../dist/ts/index.js';

const SPEC: ModelSpec = {
  input: [784],
  layers: [{ type: 'dense', units: 30, activation: 'sigmoid' }, { type: 'batchnorm' }, { type: 'dense', units: 30, activation: 'relu' }, { type: 'dense', units: 10 }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', lr: 1e-3 },
  clip: { norm: 5 },
  regularization: { l2: 1e-5 },
};
const BATCH = 10;
const STEPS = 10_000;
const WARM_UP = 200;

/** `numTensors()` of the eager tensor API when this build exports it. */
const numTensors = (gradlab as unknown as { numTensors?: () => number }).numTensors;

function batchAt(step: number, pool: Float32Array, labels: Int32Array): { x: { shape: number[]; data: Float32Array }; y: { shape: number[]; data: Int32Array } } {
  const rows = pool.length / 784;
  const start = (step * BATCH) % (rows - BATCH);
  return {
    x: { shape: [BATCH, 784], data: pool.subarray(start * 784, (start + BATCH) * 784) },
    y: { shape: [BATCH], data: labels.subarray(start, start + BATCH) },
  };
}

describe('memory', () => {
  it(`stays flat over ${STEPS.toLocaleString('en-US')} training steps`, async () => {
    const memory = (await init()).memory;
    const pool = Float32Array.from({ length: 1000 * 784 }, (_, i) => ((i * 2654435761) >>> 0) / 2 ** 32);
    const labels = Int32Array.from({ length: 1000 }, (_, i) => (i * 7) % 10);
    const model = await createModel(SPEC, { seed: 1 });

    /** One step, with every other per-call path (predict, gradients, state, diagnostics, a model's life) now and then. */
    const step = async (index: number): Promise<void> => {
      const { x, y } = batchAt(index, pool, labels);
      expect(model.trainStep(x, y).applied).toBe(true);
      if (index % 100 === 0) {
        model.predict(x);
        model.gradients(x, y);
        model.diagnostics();
        model.loadStateDict(model.stateDict());
        model.evaluateBatch(x, y);
      }
      if (index % 1000 === 0) {
        const other = await createModel(SPEC, { seed: index });
        other.trainStep(x, y);
        other.dispose();
      }
    };

    for (let i = 0; i < WARM_UP; i++) await step(i);
    const warm = { bytes: memory.buffer.byteLength, models: numModels(), tensors: numTensors?.() };
    for (let i = WARM_UP; i < STEPS; i++) await step(i);

    expect(memory.buffer.byteLength, 'WASM memory after warm-up vs the end').toBe(warm.bytes);
    expect(numModels()).toBe(warm.models);
    if (numTensors) expect(numTensors()).toBe(warm.tensors);
    model.dispose();
    expect(numModels()).toBe(warm.models - 1);
  }, 60_000);
});
