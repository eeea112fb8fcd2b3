/**
 * Memory over a long run: 10,000 training steps (2,000 with --quick) of [784,30,30,10]
 * (sigmoid, batch 10) with gradlab's `trainStep`, reporting how much the WASM memory, `numModels()` and `numTensors()`
 * grew after a 200-step warm-up (all should be 0: WebAssembly memory never shrinks, so any
 * per-step leak shows as growth), and the time per step.
 *
 *   node bench/suites/memory.mjs [--quick]
 */
import { loadGradlab, runIfMain } from '../harness.mjs';
import { randomArray } from '../baselines/random.mjs';

const SPEC = {
  input: [784],
  layers: [{ type: 'dense', units: 30, activation: 'sigmoid' }, { type: 'dense', units: 30, activation: 'sigmoid' }, { type: 'dense', units: 10 }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd', lr: 3 },
};
const BATCH = 10;
const WARM_UP = 200;

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const steps = options.quick ? 2_000 : 10_000;
  const gradlab = await loadGradlab();
  const memory = (await gradlab.init()).memory;
  const rows = 1000;
  const pool = randomArray(rows * 784, 1, 1);
  const labels = Int32Array.from({ length: rows }, (_, i) => (i * 7) % 10);
  const model = await gradlab.createModel(SPEC, { seed: 1 });
  const step = (index) => {
    const start = (index * BATCH) % (rows - BATCH);
    const x = { shape: [BATCH, 784], data: pool.subarray(start * 784, (start + BATCH) * 784) };
    const y = { shape: [BATCH], data: labels.subarray(start, start + BATCH) };
    model.trainStep(x, y);
  };
  const sample = () => ({ bytes: memory.buffer.byteLength, models: gradlab.numModels(), tensors: gradlab.numTensors() });

  for (let i = 0; i < WARM_UP; i++) step(i);
  const warm = sample();
  const started = performance.now();
  for (let i = WARM_UP; i < steps; i++) step(i);
  const elapsedMs = performance.now() - started;
  const end = sample();
  model.dispose();

  const group = `Memory: ${steps.toLocaleString('en-US')} steps of [784,30,30,10] sigmoid, batch 10`;
  const growth = (what, before, after) => ({
    group,
    contender: `gradlab ${what}`,
    medianMs: elapsedMs / (steps - WARM_UP),
    value: after - before,
    unit: 'grown after warm-up',
    speedup: null,
  });
  const flat = end.bytes === warm.bytes && end.models === warm.models && end.tensors === warm.tensors;
  return {
    suite: 'memory',
    rows: [
      growth('WASM memory (bytes)', warm.bytes, end.bytes),
      growth('numModels()', warm.models, end.models),
      growth('numTensors()', warm.tensors, end.tensors),
    ],
    memory: { steps, warmUpSteps: WARM_UP, warm, end, flat },
    notes: [
      `median ms = time per step; growth is measured from step ${WARM_UP} to step ${steps.toLocaleString('en-US')}`,
      `WASM memory ${(warm.bytes / 2 ** 20).toFixed(2)} MiB after warm-up, ${(end.bytes / 2 ** 20).toFixed(2)} MiB at the end: ${flat ? 'flat' : 'GREW'}`,
    ],
  };
}

await runIfMain(import.meta.url, run);
