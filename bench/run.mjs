/**
 * Runs the benchmark suites in bench/suites/ and prints their tables and a summary of every
 * target from ANCHORS.md and issue 16.
 *
 *   node bench/run.mjs              all suites (kernels, mlp, batchnorm, lstm, predict, relaxed,
 *                                   workers, memory, doctor, sweeps, then any other)
 *   node bench/run.mjs mlp lstm     a subset
 *   node bench/run.mjs --quick      fewer, shorter rounds, no sweeps (add --sweeps for them)
 *
 * Every contender prints a progress line as it finishes. Writes bench/results/<suite>.json,
 * bench/results/summary.json and the sweeps' SVG charts.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIRECTORY, FULL_ONLY_SUITES, SUITE_ORDER, parseArguments, printSuite, printSummary, warnIfBusy, writeSuiteResult, writeSummary } from './harness.mjs';
import { wasmInfo } from './baselines/tfjs.mjs';
import { closeTorchPeer, torchInfo } from './baselines/pytorch.mjs';
import { ortInfo } from './baselines/onnx.mjs';

const { quick, sweeps, suites: requested } = parseArguments(process.argv.slice(2));
const runStarted = performance.now();
const suitesDirectory = path.join(BENCH_DIRECTORY, 'suites');
const available = readdirSync(suitesDirectory)
  .filter((file) => file.endsWith('.mjs'))
  .map((file) => file.slice(0, -'.mjs'.length));
const rank = (name) => (SUITE_ORDER.includes(name) ? SUITE_ORDER.indexOf(name) : SUITE_ORDER.length);
const ordered = available.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; available: ${ordered.join(', ')}`);
  process.exit(2);
}
const selected =
  requested.length > 0
    ? ordered.filter((name) => requested.includes(name))
    : ordered.filter((name) => !(quick && !sweeps && FULL_ONLY_SUITES.includes(name)));

const options = { quick, sweeps };
console.log(`gradlab benchmarks${quick ? ' (quick)' : ''}: ${selected.join(', ')}`);
warnIfBusy();
let failures = 0;
for (const name of selected) {
  const started = performance.now();
  console.log(`\n▶ ${name} (${((started - runStarted) / 1000).toFixed(0)} s into the run)`);
  try {
    const suite = await import(pathToFileURL(path.join(suitesDirectory, `${name}.mjs`)).href);
    const result = await suite.run(options);
    printSuite(result);
    writeSuiteResult(result, options);
  } catch (error) {
    failures++;
    console.error(`\n## ${name} failed: ${error instanceof Error ? error.stack : error}`);
  }
  console.log(`(${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

const peers = { tfjsWasm: await wasmInfo(), pytorch: await torchInfo(), onnxruntimeWeb: ortInfo() };
await closeTorchPeer();
const totalSeconds = (performance.now() - runStarted) / 1000;
printSummary(writeSummary({ ...peers, suites: selected, quick, totalSeconds: Number(totalSeconds.toFixed(1)) }));
console.log(`\nwhole run: ${totalSeconds.toFixed(0)} s${quick ? ' (quick)' : ''}`);
if (failures > 0) process.exitCode = 1;
