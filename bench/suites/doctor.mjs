/**
 * The doctor's measurements left on: `fit` throughput (samples/s) with the health
 * measurements on against off, the same model, data and seed, in alternating turns. The
 * measurements run inside every step's WASM call (crates/core/src/nn/health.rs); the target is
 * to stay within 10 % of off.
 *
 *   node bench/suites/doctor.mjs [--quick]
 */
import { mnistLikeBatch } from '../baselines/random.mjs';
import { GRADLAB, alternate, loadGradlab, rowsOf, runIfMain, speedupOver } from '../harness.mjs';

const ON = 'measurements on';
const ROWS = 500;

const dense = (sizes, activation) => ({
  input: [sizes[0]],
  layers: sizes.slice(1).map((units, index) => (index < sizes.length - 2 ? { type: 'dense', units, activation } : { type: 'dense', units })),
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd', lr: 0.1 },
});

const WORKLOADS = [
  { group: 'fit MLP [784,30,30,30,30,10] sigmoid, batch 10', spec: dense([784, 30, 30, 30, 30, 10], 'sigmoid'), batch: 10 },
  { group: 'fit MLP [784,256,256,10] ReLU, batch 64', spec: dense([784, 256, 256, 10], 'relu'), batch: 64 },
  {
    group: 'fit LSTM in 32, hidden 128, T 50, batch 32',
    spec: { input: [50, 32], layers: [{ type: 'lstm', units: 128 }, { type: 'dense', units: 10 }], loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', lr: 0.1 } },
    batch: 32,
    rows: 64,
  },
];

/** A contender that runs one epoch of `fit` over `data` per call, with the measurements on or off. */
function fitContender(label, spec, data, batchSize, measure) {
  return {
    label,
    prepare: async () => {
      const { createModel } = await loadGradlab();
      const model = await createModel(spec, { seed: 1 });
      model.setHealthMeasurement(measure);
      return { run: () => model.fit(data, { epochs: 1, batchSize, seed: 1, diagnostics: 'none' }), dispose: () => model.dispose() };
    },
  };
}

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const rows = [];
  let worst = null;
  for (const workload of WORKLOADS) {
    const count = workload.rows ?? ROWS;
    const features = workload.spec.input.reduce((a, b) => a * b, 1);
    const { pixels, labels } = mnistLikeBatch(Math.ceil((count * features) / 784), 3);
    const data = { x: { shape: [count, ...workload.spec.input], data: pixels.subarray(0, count * features) }, y: { shape: [count], data: Int32Array.from(labels.subarray(0, count), (label) => label % 10) } };
    const timings = await alternate(
      [fitContender(GRADLAB, workload.spec, data, workload.batch, false), fitContender(ON, workload.spec, data, workload.batch, true)],
      { rounds: options.quick ? 3 : 11, turnMs: options.quick ? 150 : 400, warmupMs: 300, group: workload.group },
    );
    const workloadRows = rowsOf(workload.group, timings, { unit: 'samples/s', work: count });
    rows.push(...workloadRows);
    // speedupOver is how many times faster off runs; the target wants on's share of off's speed.
    const slowdown = speedupOver(workloadRows, workload.group, ON);
    if (slowdown !== null) worst = worst === null ? 1 / slowdown : Math.min(worst, 1 / slowdown);
  }
  return {
    suite: 'doctor',
    rows,
    targets: [{ id: 'doctor-measurements-on-vs-off', measured: worst }],
    notes: [`'${ON}' against gradlab with them off (the reference); the target is the worst workload's ratio.`],
  };
}

await runIfMain(import.meta.url, run);
