/**
 * Training in workers: the cost of the worker hop (`trainer.fit` in one worker against
 * `model.fit` in-thread, [784,256,256,10] ReLU, batch 64), data-parallel scaling (2 workers
 * against 1 at global batch 256), and how responsive the calling thread stays while workers
 * train: Node's longest event-loop stall (perf_hooks.monitorEventLoopDelay) and, when Debian's
 * Chromium is installed, the longest gap between animation frames of a page training in
 * workers (test/browser/page?bench).
 *
 *   node bench/suites/workers.mjs [--quick]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { timePerCpu, withProcessPinned } from '../affinity.mjs';
import { mnistLikeBatch } from '../baselines/random.mjs';
import { GRADLAB, alternate, budget, loadGradlab, measure, rowsOf, runIfMain, speedupOver } from '../harness.mjs';
import { buildPage, chromiumMissing, launchChromium, pageResult, servePage } from '../../test/browser/chromium.mjs';

const SPEC = {
  input: [784],
  layers: [{ type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 10 }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd', lr: 0.01 },
};

/**
 * `rows` MNIST-like images and labels as the model API takes them.
 * @param {number} rows
 * @param {number} seed
 */
function digits(rows, seed) {
  const { pixels, labels } = mnistLikeBatch(rows, seed);
  return { x: { shape: [rows, 784], data: pixels }, y: { shape: [rows], data: labels } };
}

/** The calling thread's responsiveness is judged against this (ANCHORS.md / issue 5). */
const STALL_TARGET_MS = 20;

const HOP = 'fit in a worker vs in-thread, [784,256,256,10] ReLU, batch 64';
const SCALING = '2 workers vs 1, [784,256,256,10] ReLU, global batch 256';
const STALLS = 'longest stall of the calling thread while training (ms)';

/**
 * A contender that fits one epoch of `data` per run. `create` builds the trainer or model
 * (`alternate`'s warm-up round lets the workers' code tier up before timing).
 * @param {string} label
 * @param {() => Promise<{ fit: Function, dispose: () => unknown }>} create
 * @param {{ x: object, y: object }} data
 * @param {number} batchSize
 */
function fitContender(label, create, data, batchSize) {
  return {
    label,
    prepare: async () => {
      const trainer = await create();
      return { run: () => trainer.fit(data, { epochs: 1, batchSize }), dispose: () => void trainer.dispose() };
    },
  };
}

/**
 * The machine's ceiling for 2-worker scaling: two independent one-worker trainers, each
 * fitting half the rows at batch 128 at the same time, with no gradient exchange at all. On
 * a loaded or SMT-shared machine this stays far below 2×, and data parallelism cannot beat it.
 * @param {Record<string, any>} gradlab
 * @param {{ x: { shape: number[], data: Float32Array }, y: { shape: number[], data: Int32Array } }} data
 */
function independentPair(gradlab, data) {
  const rows = data.x.shape[0] / 2;
  const half = (part) => ({
    x: { shape: [rows, 784], data: data.x.data.subarray(part * rows * 784, (part + 1) * rows * 784) },
    y: { shape: [rows], data: data.y.data.subarray(part * rows, (part + 1) * rows) },
  });
  return {
    label: 'no exchange (ceiling)',
    prepare: async () => {
      const pair = await Promise.all([0, 1].map(() => gradlab.createTrainer(SPEC, { seed: 1 })));
      const fitBoth = () => Promise.all(pair.map((trainer, part) => trainer.fit(half(part), { epochs: 1, batchSize: 128 })));
      return { run: fitBoth, dispose: () => pair.forEach((trainer) => void trainer.dispose()) };
    },
  };
}

/**
 * The scaling two free cores would give, measured in one thread so other load barely skews
 * it: a whole step at batch 256 against one worker's share of a data-parallel step (its
 * shard's gradients at batch 128, then averaging two flat vectors and applying them).
 * @param {Record<string, any>} gradlab
 * @param {import('../harness.mjs').RunOptions} options
 */
async function idealScaling(gradlab, options) {
  const model = await gradlab.createModel(SPEC, { seed: 1 });
  const whole = digits(256, 3);
  const shard = digits(128, 4);
  const slots = [new Float32Array(model.parameterCount), new Float32Array(model.parameterCount)];
  const shareOfStep = () => {
    const losses = model.gradientsInto(shard.x, shard.y, slots[0]);
    slots[1].set(slots[0]);
    model.applyWeightedGradients(slots, [0.5, 0.5], losses);
  };
  const { rounds, ...settings } = budget(options);
  const single = await measure(() => model.trainStep(whole.x, whole.y), settings);
  const share = await measure(shareOfStep, settings);
  model.dispose();
  return single.medianMs / share.medianMs;
}

/**
 * One in-thread step at batch 64 on each CPU alone (null without taskset): on a virtual
 * machine whose cores run at different speeds, equal shards go at the slower core's pace.
 * @param {Record<string, any>} gradlab
 * @param {import('../harness.mjs').RunOptions} options
 */
async function stepPerCpu(gradlab, options) {
  const model = await gradlab.createModel(SPEC, { seed: 1 });
  const { x, y } = digits(64, 5);
  const { rounds, ...settings } = budget(options);
  try {
    return await timePerCpu(async () => (await measure(() => model.trainStep(x, y), settings)).medianMs);
  } finally {
    model.dispose();
  }
}

/**
 * What {@link stepPerCpu} found, and the bound unequal cores put on equal shards.
 * @param {string} when
 * @param {{ cpu: number, ms: number }[] | null} cores
 */
function coreNote(when, cores) {
  if (!cores) return `core speeds ${when}: not measured (no taskset)`;
  const fastest = cores.reduce((best, core) => (core.ms < best.ms ? core : best));
  const slowest = cores.reduce((worst, core) => (core.ms > worst.ms ? core : worst));
  const each = cores.map((core) => `cpu${core.cpu} ${core.ms.toFixed(2)} ms`).join(', ');
  return `one step at batch 64 on each core alone, ${when}: ${each} (${(slowest.ms / fastest.ms).toFixed(2)}× apart; while they are, equal shards go at the slower core's pace: at most ${((2 * fastest.ms) / slowest.ms).toFixed(2)}× one worker on the faster core)`;
}

/**
 * The longest event-loop stall (ms) of this thread while `body` runs.
 * @param {() => Promise<unknown>} body
 */
async function longestStall(body) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    await body();
  } finally {
    histogram.disable();
  }
  return histogram.max / 1e6;
}

/** @param {string} contender @param {number} ms */
function stallRow(contender, ms) {
  return { group: STALLS, contender, medianMs: null, value: ms, unit: 'ms', speedup: null };
}

/** The Chromium page's frame gaps while [784,256,256,10] trains in workers (cross-origin isolated). */
async function chromiumRows() {
  const missing = chromiumMissing();
  if (missing) return { rows: [], notes: [`Chromium frame gap not measured: ${missing}`] };
  const page = await buildPage();
  const browser = await launchChromium();
  const server = await servePage(page.outDir, true);
  try {
    const { runs } = await pageResult(browser, `${server.url}?bench`, 300_000);
    return {
      rows: runs.map((run) => stallRow(`Chromium frame gap, ${run.workers} worker${run.workers > 1 ? 's' : ''}, batch ${run.batchSize} (${Math.round(run.samplesPerSecond)} samples/s, ${run.frames} frames)`, run.maxFrameGapMs)),
      notes: [],
    };
  } finally {
    server.close();
    await browser.close();
    await page.remove();
  }
}

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const gradlab = await loadGradlab();
  const rows = options.quick ? 1024 : 4096;
  const data = digits(rows, 11);
  const trainer = (workers) => () => gradlab.createTrainer(SPEC, { seed: 1, workers });
  const inThread = () => gradlab.createModel(SPEC, { seed: 1 });
  // A fit takes 50–200 ms: single runs alternate between contenders (see `alternate`).
  const settings = { rounds: options.quick ? 5 : 15 };

  const cores = await stepPerCpu(gradlab, options);
  const fastest = cores?.reduce((best, core) => (core.ms < best.ms ? core : best));
  // The hop compares two threads: pinned to one core, neither wins by landing on a faster one.
  const { result: hop, pinned } = await withProcessPinned(String(fastest?.cpu ?? 0), () =>
    alternate([fitContender(GRADLAB, trainer(1), data, 64), fitContender('in-thread', inThread, data, 64)], { ...settings, group: HOP }),
  );
  const scaling = await alternate([fitContender(GRADLAB, trainer(2), data, 256), fitContender('1 worker', trainer(1), data, 256), independentPair(gradlab, data)], { ...settings, group: SCALING });
  const result = [...rowsOf(HOP, hop, { unit: 'samples/s', work: rows }), ...rowsOf(SCALING, scaling, { unit: 'samples/s', work: rows })];

  // The same measure on an idle event loop: this machine's scheduling noise, for reference.
  const idle = stallRow('Node event loop, idle for 500 ms (scheduling noise)', await longestStall(() => new Promise((resolve) => setTimeout(resolve, 500))));
  const stalls = [];
  for (const [workers, batchSize] of [[1, 64], [2, 256]]) {
    const fitting = await gradlab.createTrainer(SPEC, { seed: 1, workers });
    await fitting.fit(data, { epochs: 1, batchSize });
    stalls.push(stallRow(`Node event loop, ${workers} worker${workers > 1 ? 's' : ''}, batch ${batchSize}`, await longestStall(() => fitting.fit(data, { epochs: 1, batchSize }))));
    await fitting.dispose();
  }
  const browser = await chromiumRows();
  result.push(idle, ...stalls, ...browser.rows);

  const worstStall = Math.max(...[...stalls, ...browser.rows].map((row) => row.value));
  const hopRatio = speedupOver(result, HOP, 'in-thread');
  const scalingOf = (contender) => speedupOver(result, SCALING, contender);
  const ceilingRow = result.find((row) => row.group === SCALING && row.contender === 'no exchange (ceiling)');
  const oneRow = result.find((row) => row.group === SCALING && row.contender === '1 worker');
  const ceiling = ceilingRow?.value && oneRow?.value ? ceilingRow.value / oneRow.value : null;
  const ideal = await idealScaling(gradlab, options);
  const coresAfter = await stepPerCpu(gradlab, options);
  return {
    suite: 'workers',
    rows: result,
    targets: [
      { id: 'workers-2-vs-1', measured: scalingOf('1 worker') },
      { id: 'workers-2-vs-1-equal-cores', measured: scalingOf('1 worker'), detail: 'the same measurement, against issue 16\'s 1.8×' },
      { id: 'worker-hop-vs-in-thread', measured: hopRatio },
    ],
    notes: [
      `worker fit runs at ${hopRatio?.toFixed(2) ?? '—'}× in-thread throughput (target ≥ 0.95; ${pinned ? `both on cpu${fastest?.cpu}` : 'unpinned'})`,
      `2 workers: ${scalingOf('1 worker')?.toFixed(2) ?? '—'}× one worker; the machine's ceiling now (two independent workers, no exchange) is ${ceiling?.toFixed(2) ?? '—'}×; with two free cores the work per step allows ${ideal.toFixed(2)}× (one-thread timing of a step at batch 256 against one worker's share)`,
      coreNote('before the comparisons', cores),
      coreNote('after them', coresAfter),
      `longest stall of the calling thread while workers train: ${worstStall.toFixed(1)} ms (target < ${STALL_TARGET_MS} ms: ${worstStall < STALL_TARGET_MS ? 'pass' : 'FAIL'}; idle, the loop stalls up to ${idle.value.toFixed(1)} ms; in-thread model.fit blocks it for the whole fit)`,
      ...browser.notes,
    ],
  };
}

await runIfMain(import.meta.url, run);
