/**
 * Scaling sweeps: training throughput (samples/s) of gradlab and PyTorch (1 thread) as the work
 * per call grows, in alternating turns at every point, printed and drawn as SVG charts under
 * bench/results/ (sweep-batch.svg, sweep-depth.svg, sweep-sequence.svg):
 *
 * - batch 1…1024, MLP [784,30,30,30,30,10] sigmoid: where per-call overhead stops mattering;
 * - depth 2…50 dense layers of 30 sigmoid units, batch 10: cost per layer;
 * - sequence length 10…200, LSTM 32→128, batch 32: cost per time step.
 *
 * Part of the full run; `--quick` skips it unless named (`node bench/run.mjs --quick sweeps`).
 *
 *   node bench/suites/sweeps.mjs [--quick]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TORCH_ONE_THREAD, encode, torchContender } from '../baselines/pytorch.mjs';
import { mnistLikeBatch, randomArray } from '../baselines/random.mjs';
import { GRADLAB, RESULTS_DIRECTORY, alternate, gradlabContender, rowsOf, runIfMain } from '../harness.mjs';
import { lineChartSvg } from '../svg.mjs';

/** @param {number[]} sizes @param {string} activation */
function mlpSpec(sizes, activation) {
  return {
    input: [sizes[0]],
    layers: sizes.slice(1).map((units, index) => (index < sizes.length - 2 ? { type: 'dense', units, activation } : { type: 'dense', units })),
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'sgd', lr: 0.1 },
  };
}

/** The contenders for an MLP training step of `sizes` at `batch`. */
function mlpContenders(sizes, batch) {
  const { pixels, labels } = mnistLikeBatch(batch, 7);
  const x = { shape: [batch, sizes[0]], data: pixels };
  const y = { shape: [batch], data: labels };
  return [
    gradlabContender(mlpSpec(sizes, 'sigmoid'), (model) => model.trainStep(x, y)),
    torchContender({ kind: 'mlp_train', sizes, activation: 'sigmoid', batch, lr: 0.1, x: encode(pixels), y: encode(labels) }),
  ];
}

/** The contenders for an LSTM 32→128 training step over `steps` time steps at batch 32. */
function lstmContenders(steps) {
  const batch = 32;
  const x = randomArray(batch * steps * 32, 11);
  const target = randomArray(batch, 12);
  const spec = { input: [steps, 32], layers: [{ type: 'lstm', units: 128 }, { type: 'dense', units: 1 }], loss: 'mse', optimizer: { type: 'sgd', lr: 0.01 } };
  return [
    gradlabContender(spec, (model) => model.trainStep({ shape: [batch, steps, 32], data: x }, { shape: [batch, 1], data: target })),
    torchContender({ kind: 'lstm_train', inputSize: 32, hidden: 128, steps, batch, output: 1, lr: 0.01, x: encode(x), target: encode(target) }),
  ];
}

const SWEEPS = [
  {
    name: 'batch',
    title: 'Training step, MLP [784,30,30,30,30,10] sigmoid: samples/s against batch size',
    xLabel: 'batch size',
    points: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    contenders: (batch) => mlpContenders([784, 30, 30, 30, 30, 10], batch),
    samples: (batch) => batch,
  },
  {
    name: 'depth',
    title: 'Training step, [784, 30 × (depth − 1), 10] sigmoid, batch 10: samples/s against depth',
    xLabel: 'dense layers',
    points: [2, 3, 5, 10, 20, 30, 50],
    contenders: (depth) => mlpContenders([784, ...new Array(depth - 1).fill(30), 10], 10),
    samples: () => 10,
  },
  {
    name: 'sequence',
    title: 'Training step, LSTM 32→128, batch 32: samples/s against sequence length',
    xLabel: 'time steps',
    points: [10, 20, 50, 100, 200],
    contenders: (steps) => lstmContenders(steps),
    samples: () => 32,
  },
];

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const rows = [];
  const notes = [];
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  for (const sweep of SWEEPS) {
    /** @type {Record<string, { x: number, y: number | null }[]>} */
    const series = { [GRADLAB]: [], [TORCH_ONE_THREAD]: [] };
    for (const point of sweep.points) {
      const group = `sweep ${sweep.name} = ${point}`;
      const timings = await alternate(sweep.contenders(point), { rounds: options.quick ? 2 : 3, turnMs: 30, warmupMs: 100, group });
      const pointRows = rowsOf(group, timings, { unit: 'samples/s', work: sweep.samples(point) });
      for (const row of pointRows) {
        series[row.contender]?.push({ x: point, y: row.value });
        rows.push({ ...row, group: `sweep: ${sweep.xLabel}`, contender: `${row.contender}, ${sweep.xLabel} ${point}` });
      }
    }
    const file = path.join(RESULTS_DIRECTORY, `sweep-${sweep.name}.svg`);
    writeFileSync(file, lineChartSvg({ title: sweep.title, xLabel: sweep.xLabel, yLabel: 'samples/s', series: Object.entries(series).map(([label, points]) => ({ label, points })) }));
    notes.push(`chart: ${path.relative(process.cwd(), file)}`);
  }
  return { suite: 'sweeps', rows, notes };
}

await runIfMain(import.meta.url, run);
