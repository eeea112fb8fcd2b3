/**
 * `gradlab doctor`: arguments, data loading from disk, the one JSON document of --json, exit
 * codes, and the HTML report. `diagnose` is replaced by a recorder here so that these tests
 * check the command itself: what it hands to diagnose and what it makes of the report.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDoctor, type DoctorEnvironment } from '../dist/ts/cli/doctor.js';
import type { DoctorReport, Histogram, LayerHealth } from '../dist/ts/doctor/report.js';
import type { Dataset, ModelSpec } from '../dist/ts/index.js';

const FIXTURES = new URL('./fixtures/data/', import.meta.url).pathname;
const spec: ModelSpec = { input: [4], layers: [{ type: 'dense', units: 5, activation: 'sigmoid', name: 'h1' }, { type: 'dense', units: 3, name: 'out' }], loss: 'softmaxCrossEntropy' };

const histogram = (log: boolean): Histogram => ({ min: log ? -6 : -1, max: log ? 0 : 1, log, counts: [1, 4, 9, 4, 1], excluded: log ? 2 : 0 });
const layer = (name: string, scale: number): LayerHealth => ({
  name,
  kind: 'dense',
  biasGradNorm: 0.01 * scale,
  weightGradNorm: 0.02 * scale,
  updateRatio: 1e-3,
  preActivationMean: 0.1,
  preActivationStd: 1.5,
  saturatedFraction: 0.25,
  deadFraction: null,
  histograms: { activations: histogram(false), preActivations: histogram(false), gradients: histogram(true) },
  weightGradNormHistory: [0.02 * scale, 0.015 * scale, 0.01 * scale],
});
const report: DoctorReport = {
  verdict: 'vanishing',
  findings: [{ kind: 'vanishing', layer: 'h1', measured: { ratio: 117 }, threshold: { ratio: 10 }, message: 'h1 learns <117×> slower' }],
  layers: [layer('h1', 1), { ...layer('out', 117), timeGradNorms: [1e-6, 0.25] }],
  trials: [
    { remedy: 'relu', spec, before: { loss: 1.1, accuracy: 0.3, gradientRatio: 117, verdict: 'vanishing' }, after: { loss: 0.6, accuracy: 0.8, gradientRatio: 1.4, verdict: 'healthy' }, improvement: 0.9 },
    { remedy: 'l2', spec, before: { loss: 1.1, accuracy: 0.3, gradientRatio: 117, verdict: 'vanishing' }, after: { loss: 1.2, accuracy: 0.25, gradientRatio: 120, verdict: 'vanishing' }, improvement: -0.1 },
  ],
  recommendation: { remedy: 'relu', spec },
};

async function doctor(argv: string[]) {
  const calls: { spec: ModelSpec; data: Dataset; options: { seed: number; steps?: number; trials: boolean } }[] = [];
  let stdout = '';
  let stderr = '';
  const environment: DoctorEnvironment = {
    diagnose: async (s, data, options) => {
      calls.push({ spec: s, data, options });
      options.onProgress({ run: 'original', step: 3, steps: 3 });
      return report;
    },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    interactive: false,
  };
  const code = await runDoctor(argv, environment);
  return { code, stdout, stderr, calls };
}

async function specFile(value: unknown = spec): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gradlab-doctor-'));
  const path = join(dir, 'spec.json');
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('gradlab doctor', () => {
  it('reads the spec and a CSV from disk and prints exactly one JSON document with --json', async () => {
    const result = await doctor([await specFile(), '--data', join(FIXTURES, 'xy_header.csv'), '--json', '--seed', '7', '--steps', '40']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(report);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.calls).toHaveLength(1);
    const [{ data, options, spec: given }] = result.calls;
    expect(options).toMatchObject({ seed: 7, steps: 40, trials: true });
    expect(given.optimizer).toBeDefined(); // the validated spec, defaults filled in
    expect(data.x.shape).toEqual([6, 4]);
    expect(Array.from(data.y.data)).toEqual([0, 2, 1, 2, 0, 1]);
    expect(result.stderr).toMatch(/original trained/);
  });

  it('takes separate label files, --label-column, built-in sources and --no-trials', async () => {
    const path = await specFile();
    const npy = await doctor([path, '--data', join(FIXTURES, 'x_f4.npy'), '--labels', join(FIXTURES, 'y_i8.npy'), '--no-trials']);
    expect(npy.code).toBe(0);
    expect(npy.calls[0].options.trials).toBe(false);
    expect(npy.stdout).toMatch(/^verdict: vanishing/);
    expect(npy.stdout).toMatch(/relu +1\.1 → 0\.6 +30% → 80% +117 → 1\.4 +healthy +0\.9/);
    expect(npy.stdout).toMatch(/recommendation: relu\n$/);
    expect(npy.stdout).toContain('out: ‖∂L/∂h_t‖ from t = 0 to 1: 1.00e-6 … 0.25');
    const csvText = 'label,a,b,c,d\n1,0,0,0,0\n0,1,1,1,1\n';
    const csv = join(await mkdtemp(join(tmpdir(), 'gradlab-doctor-')), 'first.csv');
    await writeFile(csv, csvText);
    const first = await doctor([path, '--data', csv, '--label-column', '0', '--json']);
    expect(Array.from(first.calls[0].data.y.data)).toEqual([1, 0]);
    const sequence = await doctor([await specFile({ input: [6, 2], layers: [{ type: 'rnn', units: 4 }, { type: 'dense', units: 1 }], loss: 'mse' }), '--data', 'adding:6', '--json']);
    expect(sequence.code).toBe(0);
    expect(sequence.calls[0].data.x.shape).toEqual([2048, 6, 2]);
  });

  it('writes a self-contained doctor.html with the pictures, and doctor.json', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'gradlab-doctor-')), 'report', 'nested');
    const result = await doctor([await specFile(), '--data', join(FIXTURES, 'xy_deflated.npz'), '--out', out, '--json']);
    expect(result.code).toBe(0);
    const html = await readFile(join(out, 'doctor.html'), 'utf8');
    expect(JSON.parse(await readFile(join(out, 'doctor.json'), 'utf8'))).toEqual(report);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('Verdict: <b>vanishing</b>');
    expect(html).toContain('h1 learns &lt;117×&gt; slower'); // escaped
    expect(html.match(/<svg /g)).toHaveLength(7); // history, ‖∂L/∂h_t‖, three histogram kinds, two trial charts
    expect(html).toContain('‖∂L/∂h_t‖ through time');
    expect(html.match(/<polygon /g)).toHaveLength(6); // two layers × three histogram kinds
    expect(html).toContain('<tr class="best"><td>relu</td>');
  });

  it('reports usage errors in one line with exit code 2, and bad files with their typed error and 1', async () => {
    const path = await specFile();
    const usage: [string[], RegExp][] = [
      [[], /missing <spec.json>/],
      [[path], /missing --data/],
      [[path, '--data'], /--data needs a value/],
      [[path, '--data', 'mnist', '--seed', '-1'], /--seed must be an integer/],
      [[path, '--data', 'mnist', '--steps', '0'], /--steps must be an integer ≥ 1/],
      [[path, '--data', 'mnist', '--frobnicate'], /unknown option '--frobnicate'/],
      [[path, '--data', '/nonexistent/data.csv'], /--data: cannot read/],
      [['/nonexistent/spec.json', '--data', 'mnist'], /<spec.json>: cannot read/],
      [[path, '--data', 'mnist', '--labels', 'y.csv'], /--labels goes with a data file/],
    ];
    for (const [argv, message] of usage) {
      const result = await doctor(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toMatch(message);
      expect(result.stderr.trim().split('\n'), argv.join(' ')).toHaveLength(1);
      expect(result.stdout).toBe('');
      expect(result.calls).toHaveLength(0);
    }
    const failures: [string[], RegExp][] = [
      [[await specFile('{not json'), '--data', 'mnist'], /is not JSON/],
      [[await specFile({ ...spec, loss: 'hinge' }), '--data', 'mnist'], /loss/],
      [[path, '--data', 'mnist'], /784 values per row/],
      [[path, '--data', join(FIXTURES, 'x_plain.csv'), '--labels', join(FIXTURES, 'x_u1.npy')], /'labels' has shape \[6, 4\], expected \[6\] class indices/],
      [[await specFile({ ...spec, layers: [{ type: 'dense', units: 2 }] }), '--data', join(FIXTURES, 'xy_stored.npz')], /labels\[1\].*\[0, 1\]/],
    ];
    for (const [argv, message] of failures) {
      const result = await doctor(argv);
      expect(result.code, argv.join(' ')).toBe(1);
      expect(result.stderr, argv.join(' ')).toMatch(message);
      expect(result.calls).toHaveLength(0);
    }
  });
});
