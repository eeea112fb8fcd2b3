/**
 * A worker thread holding one gradlab build (the SIMD128 `dist/gradlab.wasm` or the relaxed-SIMD
 * rewrite of it) for bench/suites/relaxed.mjs, which alternates turns between two of these.
 * Each thread has its own instance, so both builds run in one process, on the same data.
 *
 * Messages: { prepare: workload } → { ok } | { error }; { turn: ms } → { ms } (mean per run).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { mnistLikeBatch, randomArray } from './baselines/random.mjs';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const gradlab = await import(pathToFileURL(path.join(root, 'dist', 'ts', 'index.js')).href);
await gradlab.init(readFileSync(workerData.wasm));

/** @type {(() => unknown) | undefined} */
let run;

/** The workloads this thread can run, by kind. */
const workloads = {
  sgemm({ n }) {
    const { kernels } = gradlab;
    const staged = (data) => {
      const matrix = new kernels.StagedMatrix(n, n);
      if (data) matrix.write(data);
      return matrix;
    };
    const [a, b, c] = [staged(randomArray(n * n, 1)), staged(randomArray(n * n, 2)), staged()];
    return () => kernels.sgemmStaged(a, b, c, {});
  },
  activation({ op }) {
    const { kernels } = gradlab;
    const elements = 1 << 20;
    const x = new kernels.StagedMatrix(1024, 1024);
    x.write(randomArray(elements, 1, 4));
    const y = new kernels.StagedMatrix(1024, 1024);
    return op === 'softmax' ? () => kernels.softmaxStaged(x, y) : () => kernels.activationStaged(op, x, y, 1);
  },
  async mlp({ sizes, activation, batch }) {
    const spec = {
      input: [sizes[0]],
      layers: sizes.slice(1).map((units, index) => (index < sizes.length - 2 ? { type: 'dense', units, activation } : { type: 'dense', units })),
      loss: 'softmaxCrossEntropy',
      optimizer: { type: 'sgd', lr: 0.01 },
    };
    const model = await gradlab.createModel(spec, { seed: 1 });
    const { pixels, labels } = mnistLikeBatch(batch, 7);
    const x = { shape: [batch, sizes[0]], data: pixels };
    const y = { shape: [batch], data: labels };
    return () => model.trainStep(x, y);
  },
};

parentPort.on('message', async (message) => {
  try {
    if (message.prepare) {
      run = await workloads[message.prepare.kind](message.prepare);
      run();
      parentPort.postMessage({ ok: true });
    } else if (message.turn !== undefined) {
      const start = performance.now();
      let runs = 0;
      do {
        run();
        runs++;
      } while (performance.now() - start < message.turn);
      parentPort.postMessage({ ms: (performance.now() - start) / runs });
    } else if (message.probe) {
      // Which sum the kernels give on fixed data: the two builds must agree within rounding.
      const { kernels } = gradlab;
      const n = 64;
      const c = kernels.sgemm({ shape: [n, n], data: randomArray(n * n, 3) }, { shape: [n, n], data: randomArray(n * n, 4) });
      const s = kernels.activation('sigmoid', randomArray(n * n, 5, 8));
      parentPort.postMessage({ sgemm: Array.from(c.data), sigmoid: Array.from(s) });
    }
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});
parentPort.postMessage({ ready: true });
