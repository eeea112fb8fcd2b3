/**
 * The memory limit through the public API. One pass: fill the WASM memory to its 4 GiB
 * maximum with models and tensors until every further allocation is a typed `TooLarge`
 * (checking the first error's fields), stage tensors and train a model at addresses past
 * 2 GiB, then dispose everything and check that the same thread creates and trains a small
 * model with exactly the results it had before the memory filled up.
 */
import { describe, expect, it } from 'vitest';
import { GradlabError, createModel, init, numModels, numTensors, tensor, type Model, type ModelSpec, type Tensor } from '../dist/ts/index.js';

const GIB = 2 ** 30;
/** WebAssembly's 32-bit address space: 65536 pages of 64 KiB. */
const MAX_BYTES = 4 * GIB;

const SMALL: ModelSpec = {
  input: [3],
  layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }],
  loss: 'mse',
  optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 },
};
const X = { shape: [2, 3], data: new Float32Array([0.5, -1, 2, 1.5, 0.25, -0.75]) };
const Y = { shape: [2, 2], data: new Float32Array([1, -1, 0, 0.5]) };

/** The first loss worked out in f64 from the model's initial state dict: the forward pass and MSE by hand. */
function lossByHand(model: Model): number {
  const state = model.stateDict();
  const [w1, b1, w2, b2] = ['0.weight', '0.bias', '1.weight', '1.bias'].map((name) => state[name].data);
  let total = 0;
  for (let row = 0; row < 2; row++) {
    const x = X.data.subarray(row * 3, row * 3 + 3);
    const hidden = Array.from({ length: 4 }, (_, j) => Math.tanh(b1[j] + x.reduce((sum, v, k) => sum + w1[j * 3 + k] * v, 0)));
    for (let i = 0; i < 2; i++) {
      const out = b2[i] + hidden.reduce((sum, h, j) => sum + w2[i * 4 + j] * h, 0);
      total += (out - Y.data[row * 2 + i]) ** 2;
    }
  }
  return total / 4;
}

/** Three steps of the small model from seed 5: each loss and the final state dict. */
async function trainSmall(): Promise<{ byHand: number; losses: number[]; state: Record<string, number[]> }> {
  const model = await createModel(SMALL, { seed: 5 });
  const byHand = lossByHand(model);
  const losses = [0, 1, 2].map(() => {
    const step = model.trainStep(X, Y);
    expect(step.applied).toBe(true);
    return step.loss;
  });
  const state = Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, Array.from(t.data)]));
  model.dispose();
  return { byHand, losses, state };
}

/** Runs `allocate` and returns null, or the GradlabError it threw (anything else fails the test). */
function typedFailure(allocate: () => unknown): GradlabError | null {
  try {
    allocate();
    return null;
  } catch (error) {
    if (!(error instanceof GradlabError)) throw error;
    return error;
  }
}

describe('the memory limit', () => {
  it('fills 4 GiB until TooLarge, works past 2 GiB, and trains correctly after everything is disposed', async () => {
    const memory = (await init()).memory;
    const baseline = { models: numModels(), tensors: numTensors() };
    const reference = await trainSmall();
    expect(reference.losses[0]).toBeCloseTo(reference.byHand, 6);
    expect(reference.losses[2]).toBeLessThan(reference.losses[0]);

    const big: Model[] = [];
    const tensors: Tensor[] = [];
    let firstError: GradlabError | null = null;
    let staged: Tensor | null = null;

    // Models of 8192 × units zero weights with Adam: weight, gradient and two moments, so
    // 8192 units take 1 GiB. Halve the units at each refusal, down to one.
    for (let units = 8192; units >= 1; ) {
      let made: Model | null = null;
      try {
        made = await createModel({ input: [8192], layers: [{ type: 'dense', units, bias: false, init: 'zeros' }], loss: 'mse', optimizer: { type: 'adam', lr: 1e-3 } });
      } catch (error) {
        if (!(error instanceof GradlabError)) throw error;
        expect(error.code).toBe('TooLarge');
        firstError ??= error;
        units /= 2;
      }
      if (made) big.push(made);
      if (!staged && memory.buffer.byteLength > 2 * GIB) {
        // Every block allocated so far is still live, so what comes now lies past 2 GiB:
        // a tensor staged there round-trips, and a model created there trains as before.
        const values = Float32Array.from({ length: 1 << 20 }, (_, i) => 1e6 + i * 0.25);
        staged = tensor(values, [1 << 20]);
        expect(staged.data()).toEqual(values);
        const high = new Float32Array(memory.buffer, 2 * GIB);
        const at = high.indexOf(values[0]);
        expect(at, 'the staged values lie past 2 GiB').toBeGreaterThanOrEqual(0);
        expect(high.subarray(at, at + values.length)).toEqual(values);
        expect(await trainSmall()).toEqual(reference);
      }
    }
    expect(big.length).toBeGreaterThanOrEqual(3);
    expect(firstError).not.toBeNull();
    const refused = firstError as GradlabError;
    expect({ code: refused.code, op: refused.op, arg: refused.arg, expected: refused.expected, actual: refused.actual }).toEqual({
      code: 'TooLarge',
      op: 'createModel',
      arg: '0.weight',
      expected: "what the instance's memory still holds",
      actual: String(8192 * 8192),
    });
    expect(refused.message).toMatch(/'0\.weight' needs 67108864 more values, but the instance is out of memory/);

    // Then tensors, halving from 4 MiB down to one value, until not even that fits.
    const chunk = new Float32Array(1 << 20).fill(0.5);
    let refusals = 0;
    for (let size = 1 << 20; size >= 1; ) {
      const error = typedFailure(() => tensors.push(tensor(chunk.subarray(0, size), [size])));
      if (error) {
        expect(error.code).toBe('TooLarge');
        refusals++;
        size /= 2;
      }
    }
    expect(refusals).toBe(21);
    // Full: within the headroom the core keeps for small allocations (1 MiB) and a page.
    expect(memory.buffer.byteLength).toBeLessThanOrEqual(MAX_BYTES);
    expect(memory.buffer.byteLength).toBeGreaterThan(MAX_BYTES - 4 * 1024 * 1024);
    expect(numModels()).toBe(baseline.models + big.length);

    // At the limit every call either works or is a typed TooLarge, and changes nothing.
    const atLimit = big[big.length - 1];
    for (const call of [() => atLimit.stateDict(), () => tensor([1, 2, 3]), () => atLimit.predict({ shape: [1, 8192], data: new Float32Array(8192) })]) {
      const error = typedFailure(call);
      if (error) expect(error.code).toBe('TooLarge');
    }
    expect(typedFailure(() => tensor(new Float32Array(1 << 20), [1 << 20]))?.arg).toBe('values');

    expect(staged, 'a tensor was staged past 2 GiB').not.toBeNull();
    for (const model of big) model.dispose();
    for (const t of tensors) t.dispose();
    staged?.dispose();
    expect({ models: numModels(), tensors: numTensors() }).toEqual(baseline);
    // The same thread creates and trains as it did before the memory filled up.
    expect(await trainSmall()).toEqual(reference);
  }, 120_000);
});
