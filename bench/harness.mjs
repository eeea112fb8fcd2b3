/**
 * Shared benchmark machinery: timing with tinybench, interleaved comparisons of contenders,
 * ratios, the targets from /work/shared/ANCHORS.md, table printing and result files.
 *
 * A suite is a module in bench/suites/ exporting
 *   `async function run(options: RunOptions): Promise<SuiteResult>`
 * and ending with `await runIfMain(import.meta.url, run)` so it also runs alone
 * (`node bench/suites/mlp.mjs --quick`).
 *
 * @typedef {{ quick: boolean, sweeps?: boolean }} RunOptions
 * @typedef {{ run?: () => unknown, turn?: (ms: number) => Promise<number>,
 *   measure?: (options: MeasureOptions) => Promise<{ medianMs: number }>, dispose?: () => void }} Workload
 *   A prepared piece of work; `run` may return a promise (tfjs-layers `trainOnBatch`). A
 *   workload timed elsewhere (PyTorch, in its own process) has no `run` but `turn(ms)`, which
 *   runs it for about `ms` and returns the mean ms per run, and `measure`, tinybench's rule.
 * @typedef {{ label: string, prepare: () => Promise<Workload> }} Contender
 *   One implementation of a workload. `prepare` builds fresh state (and switches the tfjs
 *   backend) every round, so contenders never share or migrate each other's tensors.
 * @typedef {{ time?: number, iterations?: number, warmupTime?: number, warmupIterations?: number }} MeasureOptions
 *   `time` in ms and `iterations` are both minimums, as in tinybench.
 * @typedef {{ label: string, medianMs: number | null, roundsMs: number[], error?: string }} Timing
 * @typedef {{
 *   group: string, contender: string, medianMs: number | null, value: number | null, unit: string,
 *   speedup: number | null, roundsMs?: number[], anchor?: number, error?: string
 * }} Row
 *   One contender on one workload. `value` is the throughput in `unit` (or the ms themselves
 *   when unit is 'ms'); `speedup` is how many times faster gradlab is than this row (its time
 *   over gradlab's), null where either side did not run; `anchor` is ANCHORS.md's figure for
 *   this contender in the same unit, to spot a baseline that is far off.
 * @typedef {{ id: string, measured: number | null, detail?: string }} TargetMeasurement
 * @typedef {{ suite: string, rows: Row[], targets?: TargetMeasurement[], notes?: string[] }} SuiteResult
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { closeTorchPeer } from './baselines/pytorch.mjs';

export const BENCH_DIRECTORY = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIRECTORY = path.join(BENCH_DIRECTORY, 'results');

/** The contender every ratio is taken against. */
export const GRADLAB = 'gradlab';

/**
 * gradlab's targets, from ANCHORS.md. Each is "measured ≥ threshold"; suites report the
 * measured value under the same id (the worst case where a target spans several sizes).
 */
export const TARGETS = [
  // Issue 16: the strongest peers, in the same run.
  { id: 'elementwise-vs-tfjs-wasm', suite: 'kernels', benchmark: 'every elementwise/activation kernel and softmax, 1M elements', requirement: '≥ 1.0× tfjs-wasm', threshold: 1.0 },
  { id: 'batchnorm-vs-pytorch', suite: 'batchnorm', benchmark: 'BatchNorm train fwd+bwd [256×1024]', requirement: '≥ 0.6× PyTorch 1 thread', threshold: 0.6 },
  { id: 'mlp-sigmoid-vs-pytorch', suite: 'mlp', benchmark: 'MLP [784,30,30,30,30,10] sigmoid, batch 10', requirement: '≥ 3× PyTorch 1 thread', threshold: 3 },
  { id: 'lstm-vs-pytorch', suite: 'lstm', benchmark: 'LSTM in 32, hidden 128, T 50, batch 32', requirement: '≥ 1.0× PyTorch 1 thread', threshold: 1.0 },
  { id: 'mlp-relu-relaxed-vs-pytorch', suite: 'relaxed', benchmark: 'MLP [784,256,256,10] ReLU, batch 64, Node 24 relaxed SIMD', requirement: '≥ 0.55× PyTorch 1 thread', threshold: 0.55 },
  { id: 'sgemm-relaxed-vs-simd128', suite: 'relaxed', benchmark: 'sgemm n = 256…1024, A·B, Node 24', requirement: '≥ 1.2× the SIMD128 build', threshold: 1.2 },
  { id: 'predict-vs-ort', suite: 'predict', benchmark: 'predict, both MLPs and the LSTM, batch 10…256', requirement: '≥ 1.3× onnxruntime-web', threshold: 1.3 },
  { id: 'workers-2-vs-1-equal-cores', suite: 'workers', benchmark: '2 workers vs 1, global batch 256 (issue 16)', requirement: '≥ 1.8×', threshold: 1.8 },
  // ANCHORS.md's first targets.
  { id: 'sgemm-ab-gflops', suite: 'kernels', benchmark: 'sgemm n = 256…1024, A·B', requirement: '≥ 28 GFLOP/s', threshold: 28 },
  { id: 'sgemm-ab-vs-tfjs-wasm', suite: 'kernels', benchmark: 'sgemm n = 256…1024, A·B', requirement: '≥ 1.3× tfjs-wasm', threshold: 1.3 },
  { id: 'sgemm-ab-peak-fraction', suite: 'kernels', benchmark: 'sgemm n = 256…1024, A·B', requirement: '≥ 70 % of the SIMD128 peak', threshold: 0.7 },
  { id: 'sgemm-transposed-vs-own-ab', suite: 'kernels', benchmark: 'sgemm with either operand transposed', requirement: "≥ 0.9× gradlab's own A·B", threshold: 0.9 },
  { id: 'mlp-sigmoid-vs-tfjs-layers-wasm', suite: 'mlp', benchmark: 'MLP [784,30,30,30,30,10] sigmoid, batch 10', requirement: '≥ 13× tfjs-layers-wasm', threshold: 13 },
  { id: 'mlp-sigmoid-vs-pure-js', suite: 'mlp', benchmark: 'MLP [784,30,30,30,30,10] sigmoid, batch 10', requirement: '≥ 7× pure JS', threshold: 7 },
  { id: 'mlp-relu-vs-tfjs-layers-wasm', suite: 'mlp', benchmark: 'MLP [784,256,256,10] ReLU, batch 64', requirement: '≥ 10× tfjs-layers-wasm', threshold: 10 },
  { id: 'mlp-relu-vs-pure-js', suite: 'mlp', benchmark: 'MLP [784,256,256,10] ReLU, batch 64', requirement: '≥ 25× pure JS', threshold: 25 },
  { id: 'lstm-vs-tfjs-layers-wasm', suite: 'lstm', benchmark: 'LSTM in 32, hidden 128, T 50, batch 32', requirement: '≥ 10× tfjs-layers-wasm', threshold: 10 },
  { id: 'batchnorm-vs-pure-js', suite: 'batchnorm', benchmark: 'BatchNorm train fwd+bwd [256×1024]', requirement: '≥ 3× pure JS', threshold: 3 },
  { id: 'batchnorm-vs-tfjs-wasm', suite: 'batchnorm', benchmark: 'BatchNorm train fwd+bwd [256×1024]', requirement: '≥ 15× tfjs-wasm', threshold: 15 },
  { id: 'elementwise-vs-pure-js', suite: 'kernels', benchmark: 'elementwise and activation kernels, 1M elements', requirement: '≥ 4× pure JS', threshold: 4 },
  { id: 'workers-2-vs-1', suite: 'workers', benchmark: '2 workers vs 1, [784,256,256,10], global batch 256', requirement: '≥ 1.6×', threshold: 1.6 },
  { id: 'worker-hop-vs-in-thread', suite: 'workers', benchmark: 'fit in a worker vs in-thread, [784,256,256,10], batch 64', requirement: '≥ 0.95× in-thread', threshold: 0.95 },
];

/** Suites run in this order; any other suite file runs after them, alphabetically. */
export const SUITE_ORDER = ['kernels', 'mlp', 'batchnorm', 'lstm', 'predict', 'relaxed', 'workers', 'memory', 'sweeps'];

/** Suites a `--quick` run skips unless named (they only draw charts). */
export const FULL_ONLY_SUITES = ['sweeps'];

/**
 * Timing budgets: full runs take 3 interleaved rounds (ANCHORS.md's method), quick runs one
 * short round. Warm-up is generous: tfjs-layers needs a few hundred ms of calls before V8 has
 * optimised its JS (a cold trainOnBatch is 5–10× slower). Suites with slow steps lower the
 * iteration counts.
 * @param {RunOptions} options
 */
export function budget(options) {
  return options.quick
    ? { rounds: 1, time: 200, iterations: 2, warmupTime: 300, warmupIterations: 3 }
    : { rounds: 3, time: 1000, iterations: 5, warmupTime: 500, warmupIterations: 5 };
}

/**
 * Parses the command line shared by run.mjs and standalone suites: `--quick` and suite names.
 * @param {string[]} argv arguments after the script
 */
export function parseArguments(argv) {
  const quick = argv.includes('--quick');
  const sweeps = argv.includes('--sweeps');
  const suites = argv.filter((argument) => !argument.startsWith('--'));
  return { quick, sweeps, suites };
}

/**
 * Prints one progress line (the bench prints one per contender as each finishes, so a long run
 * is never silent).
 * @param {string} text
 */
export function progress(text) {
  console.log(`  · ${text}`);
}

/** @param {string | undefined} group @param {Timing} timing */
function reportTiming(group, timing) {
  const value = timing.error ? `unavailable (${timing.error.split('\n')[0].slice(0, 120)})` : `${formatNumber(timing.medianMs)} ms`;
  progress(`${group ? `${group} — ` : ''}${timing.label}: ${value}`);
}

/**
 * Times `fn` with tinybench and returns the median sample in ms.
 * @param {() => unknown} fn sync or async; called once first to learn which
 * @param {MeasureOptions} [options]
 */
export async function measure(fn, { time = 1000, iterations = 5, warmupTime = 200, warmupIterations = 2 } = {}) {
  const first = fn();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  const bench = new Bench({ time, iterations, warmupTime, warmupIterations, throws: true });
  // Discard return values: tinybench inspects them for duration overrides.
  bench.add('task', isAsync ? async () => { await fn(); } : () => { fn(); }, { async: isAsync });
  const [task] = await bench.run();
  const latency = task.result.latency;
  return { medianMs: latency.p50, samples: latency.samplesCount ?? task.runs };
}

/**
 * Times several contenders on the same workload, interleaved: each round prepares, measures
 * and disposes every contender in turn, starting one contender later each round, so slow
 * drifts of a noisy machine and position effects hit all alike. The
 * result per contender is the median of its round medians. A contender that fails (for
 * instance gradlab before its API exists) gets `medianMs: null` and the error message; the
 * others still run.
 * @param {Contender[]} contenders
 * @param {MeasureOptions & { rounds?: number }} options
 * @returns {Promise<Timing[]>}
 */
export async function compare(contenders, { rounds = 3, group, ...measureOptions } = {}) {
  /** @type {Timing[]} */
  const timings = contenders.map((contender) => ({ label: contender.label, medianMs: null, roundsMs: [] }));
  for (let round = 0; round < rounds; round++) {
    for (let position = 0; position < contenders.length; position++) {
      const index = (position + round) % contenders.length;
      const contender = contenders[index];
      const timing = timings[index];
      if (timing.error) continue;
      /** @type {Workload | undefined} */
      let workload;
      try {
        workload = await contender.prepare();
        const { medianMs } = workload.measure ? await workload.measure(measureOptions) : await measure(/** @type {() => unknown} */ (workload.run), measureOptions);
        timing.roundsMs.push(medianMs);
      } catch (error) {
        timing.error = error instanceof Error ? error.message : String(error);
      } finally {
        workload?.dispose?.();
      }
    }
  }
  for (const timing of timings) {
    if (!timing.error) timing.medianMs = median(timing.roundsMs);
    reportTiming(group, timing);
  }
  return timings;
}

/**
 * Times contenders by alternating short turns: each contender is prepared once, then every
 * round gives each contender one turn, starting one contender later each round. A turn is one
 * run, or as many runs as fill `turnMs` (their mean is the turn's time) for work that takes
 * well under a millisecond. A noisy machine's slow phases last seconds, so alternating turns
 * spread them over all contenders, where whole-second measurements of one contender at a time
 * would hand them to whoever ran then. The result per contender is the median of its turns
 * (all kept in `roundsMs`), after one untimed warm-up round; a contender that fails gets
 * `medianMs: null`. `warmupMs` lengthens the warm-up turn (tfjs-layers needs a few hundred ms
 * of calls before V8 has optimised it); a workload timed in its own process (PyTorch) runs its
 * turns there (`turn`).
 * @param {Contender[]} contenders
 * @param {{ rounds: number, turnMs?: number, warmupMs?: number, group?: string }} options
 * @returns {Promise<Timing[]>}
 */
export async function alternate(contenders, { rounds, turnMs = 0, warmupMs = turnMs, group }) {
  /** @type {Timing[]} */
  const timings = contenders.map((contender) => ({ label: contender.label, medianMs: null, roundsMs: [] }));
  /** @type {(Workload | undefined)[]} */
  const workloads = [];
  try {
    for (const [index, contender] of contenders.entries()) {
      try {
        workloads[index] = await contender.prepare();
      } catch (error) {
        timings[index].error = error instanceof Error ? error.message : String(error);
      }
    }
    // One untimed round first: the warm-up.
    for (let round = -1; round < rounds; round++) {
      for (let position = 0; position < contenders.length; position++) {
        const index = (position + Math.max(round, 0)) % contenders.length;
        const workload = workloads[index];
        if (!workload || timings[index].error) continue;
        const start = performance.now();
        const length = round < 0 ? warmupMs : turnMs;
        try {
          if (workload.turn) {
            const ms = await workload.turn(length);
            if (round >= 0) timings[index].roundsMs.push(ms);
            continue;
          }
          const run = /** @type {() => unknown} */ (workload.run);
          let runs = 0;
          do {
            await run();
            runs++;
          } while (performance.now() - start < length);
          if (round >= 0) timings[index].roundsMs.push((performance.now() - start) / runs);
        } catch (error) {
          timings[index].error = error instanceof Error ? error.message : String(error);
        }
      }
    }
  } finally {
    for (const workload of workloads) workload?.dispose?.();
  }
  for (const timing of timings) {
    if (!timing.error && timing.roundsMs.length > 0) timing.medianMs = median(timing.roundsMs);
    reportTiming(group, timing);
  }
  return timings;
}

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * numerator / denominator, or null when either is missing or not positive.
 * @param {number | null | undefined} numerator
 * @param {number | null | undefined} denominator
 */
export function ratio(numerator, denominator) {
  if (numerator == null || denominator == null || !(numerator > 0) || !(denominator > 0)) return null;
  return numerator / denominator;
}

/**
 * Turns one workload's timings into rows. `work` is what one run does, in the numerator of
 * `unit` (samples for samples/s, 1 for steps/s, GFLOP for GFLOP/s); for unit 'ms' the value is
 * the time itself. `anchors` are ANCHORS.md's figures by contender, in `unit`.
 * @param {string} group workload name
 * @param {Timing[]} timings
 * @param {{ unit: string, work?: number, anchors?: Record<string, number>, reference?: string }} measureOf
 *   `reference` is the contender speedups are taken against (default gradlab).
 * @returns {Row[]}
 */
export function rowsOf(group, timings, { unit, work = 1, anchors = {}, reference = GRADLAB }) {
  const gradlab = timings.find((timing) => timing.label === reference);
  return timings.map((timing) => ({
    group,
    contender: timing.label,
    medianMs: timing.medianMs,
    value: timing.medianMs == null ? null : unit === 'ms' ? timing.medianMs : work / (timing.medianMs / 1000),
    unit,
    speedup: timing.label === reference ? null : ratio(timing.medianMs, gradlab?.medianMs),
    roundsMs: timing.roundsMs,
    ...(anchors[timing.label] != null ? { anchor: anchors[timing.label] } : {}),
    ...(timing.error ? { error: timing.error } : {}),
  }));
}

/**
 * gradlab's speedup over `contender` in `group`, for a target measurement.
 * @param {Row[]} rows
 * @param {string} group
 * @param {string} contender
 */
export function speedupOver(rows, group, contender) {
  return rows.find((row) => row.group === group && row.contender === contender)?.speedup ?? null;
}

/** Formats a number with about three significant digits and thousands separators. */
export function formatNumber(value) {
  if (value == null || !Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * Prints an aligned text table.
 * @param {string[]} headers
 * @param {string[][]} cells
 */
export function printTable(headers, cells) {
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => row[column].length)));
  const line = (row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  console.log(line(headers));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of cells) console.log(line(row));
}

/**
 * Prints a suite's rows grouped by workload, with gradlab's speedup over each baseline, and any
 * errors (an unavailable gradlab says why).
 * @param {SuiteResult} result
 */
export function printSuite(result) {
  console.log(`\n## ${result.suite}`);
  const groups = [...new Set(result.rows.map((row) => row.group))];
  for (const group of groups) {
    const rows = result.rows.filter((row) => row.group === group);
    const anchored = rows.some((row) => row.anchor != null);
    console.log(`\n${group}`);
    printTable(
      ['contender', 'median ms', rows[0].unit, 'gradlab ×', ...(anchored ? [`anchor ${rows[0].unit}`] : [])],
      rows.map((row) => [
        row.contender,
        row.error ? 'unavailable' : formatNumber(row.medianMs),
        row.error ? '—' : formatNumber(row.value),
        row.contender === GRADLAB ? '' : row.speedup == null ? '—' : `${formatNumber(row.speedup)}×`,
        ...(anchored ? [row.anchor == null ? '' : formatNumber(row.anchor)] : []),
      ]),
    );
    for (const row of rows) if (row.error) console.log(`  ${row.contender} unavailable: ${row.error}`);
  }
  for (const note of result.notes ?? []) console.log(`note: ${note}`);
}

/** Machine and runtime facts recorded with every result. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    loadAverage1m: Number(os.loadavg()[0].toFixed(2)),
  };
}

/**
 * Warns when other processes already keep the CPUs busy. On a 2-core machine under load the
 * baselines suffer more than gradlab (V8's GC and JIT helper threads get starved: tfjs-layers
 * slowed 5× where gradlab slowed 1.4× at load 9), which inflates every ratio. Call before
 * timing anything: the 1-minute load average then counts other processes only.
 */
export function warnIfBusy() {
  const [load] = os.loadavg();
  if (load > 0.5) {
    console.warn(`warning: load average ${load.toFixed(2)} on ${os.cpus().length} CPUs before starting — other processes compete; ratios will be unreliable (inflated for gradlab)`);
  }
}

/**
 * Writes bench/results/<suite>.json.
 * @param {SuiteResult} result
 * @param {RunOptions} options
 */
export function writeSuiteResult(result, options) {
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  const file = path.join(RESULTS_DIRECTORY, `${result.suite}.json`);
  writeFileSync(file, JSON.stringify({ machine: machineInfo(), quick: options.quick, ...result }, null, 2) + '\n');
}

/**
 * Builds bench/results/summary.json from every suite result on disk (this run's and earlier
 * ones, each with its own date), so running a subset keeps the other suites' last figures.
 * @param {Record<string, unknown>} [extra] more facts for the summary (e.g. tfjs-wasm flags)
 */
export function writeSummary(extra = {}) {
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  /** @type {Map<string, { suite: string, date: string, quick: boolean, measured: number | null, detail?: string }>} */
  const measurements = new Map();
  for (const file of readdirSync(RESULTS_DIRECTORY)) {
    if (!file.endsWith('.json') || file === 'summary.json') continue;
    const result = JSON.parse(readFileSync(path.join(RESULTS_DIRECTORY, file), 'utf8'));
    for (const target of result.targets ?? []) {
      measurements.set(target.id, { suite: result.suite, date: result.machine?.date, quick: result.quick, measured: target.measured, detail: target.detail });
    }
  }
  const targets = TARGETS.map((target) => {
    const measurement = measurements.get(target.id);
    const measured = measurement?.measured ?? null;
    return {
      ...target,
      measured,
      pass: measured == null ? null : measured >= target.threshold,
      ...(measurement ? { measuredAt: measurement.date, quick: measurement.quick } : { status: 'not run' }),
      ...(measurement?.detail ? { detail: measurement.detail } : {}),
    };
  });
  const summary = { machine: machineInfo(), ...extra, targets };
  writeFileSync(path.join(RESULTS_DIRECTORY, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/**
 * Prints every target with its measured value and verdict.
 * @param {ReturnType<typeof writeSummary>} summary
 */
export function printSummary(summary) {
  console.log('\n## targets (ANCHORS.md)\n');
  printTable(
    ['benchmark', 'target', 'measured', 'verdict'],
    summary.targets.map((target) => [
      target.benchmark,
      target.requirement,
      target.measured == null ? '—' : formatNumber(target.measured) + (target.id.endsWith('gflops') ? ' GFLOP/s' : target.id.endsWith('fraction') ? '' : '×'),
      target.pass == null ? (target.status ?? 'unavailable') : target.pass ? 'pass' : 'FAIL',
    ]),
  );
}

/**
 * Runs a suite when its file is the script node was started with (`node bench/suites/x.mjs`),
 * printing its tables and writing its results and the summary.
 * @param {string} moduleUrl the suite's import.meta.url
 * @param {(options: RunOptions) => Promise<SuiteResult>} run
 */
export async function runIfMain(moduleUrl, run) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(path.resolve(process.argv[1])).href) return;
  const { quick, sweeps } = parseArguments(process.argv.slice(2));
  const options = { quick, sweeps };
  warnIfBusy();
  try {
    const result = await run(options);
    printSuite(result);
    writeSuiteResult(result, options);
    printSummary(writeSummary());
  } finally {
    await closeTorchPeer();
  }
}

/**
 * Loads the built gradlab package, or explains why it cannot. Suites use it for the gradlab
 * side and report the row as unavailable, with this message, rather than faking a number.
 * @returns {Promise<Record<string, any>>}
 */
export async function loadGradlab() {
  const entry = path.join(BENCH_DIRECTORY, '..', 'dist', 'ts', 'index.js');
  try {
    return await import(pathToFileURL(entry).href);
  } catch (error) {
    throw new Error(`cannot load ${path.relative(process.cwd(), entry)} (run npm run build): ${error instanceof Error ? error.message : error}`);
  }
}

/**
 * The gradlab contender for a model workload: builds the model through the public API
 * (`createModel(spec, { seed })`) each round and times `step(model)`. Fails with a clear
 * message, making the row "unavailable", when the API rejects the spec.
 * @param {object} spec a ModelSpec
 * @param {(model: any) => { loss: number }} step e.g. `(model) => model.trainStep(x, y)`
 * @returns {Contender}
 */
export function gradlabContender(spec, step) {
  return {
    label: GRADLAB,
    prepare: async () => {
      const gradlab = await loadGradlab();
      const model = await gradlab.createModel(spec, { seed: 1 });
      // A step that yields a non-finite loss is broken, and its speed means nothing.
      const { loss } = step(model);
      if (!Number.isFinite(loss)) {
        model.dispose?.();
        throw new Error(`gradlab returned a non-finite loss (${loss})`);
      }
      return { run: () => step(model), dispose: () => model.dispose?.() };
    },
  };
}
