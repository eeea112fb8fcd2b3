// Prints, as JSON, what one gradlab build computes on fixed inputs: sgemm in every layout,
// the exp-based activations, softmax, and the losses of a few training steps. Run by
// test/runtime/relaxed-simd.test.ts under a Node with relaxed SIMD, once per build.
//
//   node test/runtime/relaxed/outputs.mjs <gradlab.wasm>
import { readFileSync } from 'node:fs';

const gradlab = await import(new URL('../../../dist/ts/index.js', import.meta.url).href);
await gradlab.init(readFileSync(process.argv[2]));
const { kernels } = gradlab;

/** Deterministic values in [-scale, scale) (mulberry32). */
function values(length, seed, scale = 1) {
  let state = seed >>> 0;
  return Float32Array.from({ length }, () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  });
}

const sgemm = [];
let seed = 1;
for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [17, 13, 11], [64, 64, 64], [10, 30, 784], [33, 129, 257]]) {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = values(m * k, seed++);
    const b = values(k * n, seed++);
    const shapeA = transA ? [k, m] : [m, k];
    const shapeB = transB ? [n, k] : [k, n];
    const c = kernels.sgemm({ shape: shapeA, data: a }, { shape: shapeB, data: b }, { transA, transB });
    sgemm.push({ m, n, k, transA, transB, a: Array.from(a), b: Array.from(b), c: Array.from(c.data) });
  }
}

const x = values(4099, 99, 12);
const activations = Object.fromEntries(['sigmoid', 'tanh', 'elu'].map((kind) => [kind, Array.from(kernels.activation(kind, x, 1))]));
const rows = { shape: [37, 111], data: values(37 * 111, 7, 20) };
const softmax = Array.from(kernels.softmax(rows).data);

const model = await gradlab.createModel({
  input: [64],
  layers: [{ type: 'dense', units: 32, activation: 'sigmoid' }, { type: 'dense', units: 32, activation: 'tanh' }, { type: 'dense', units: 10 }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd', lr: 0.5 },
}, { seed: 3 });
const batch = { shape: [16, 64], data: values(16 * 64, 5) };
const labels = { shape: [16], data: Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 10) };
const losses = [];
for (let step = 0; step < 20; step++) losses.push(model.trainStep(batch, labels).loss);
model.dispose();

console.log(JSON.stringify({ x: Array.from(x), rows: Array.from(rows.data), sgemm, activations, softmax, losses }));
