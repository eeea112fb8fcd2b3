/**
 * `gradlab doctor` as a user runs it: the package's bin in a child process, the real
 * `diagnose`, data files written by NumPy (test/fixtures/data/make_files.py).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../dist/ts/cli/main.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/data/', import.meta.url));

function gradlab(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('gradlab doctor, end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradlab-doctor-e2e-'));
  const spec = join(dir, 'spec.json');
  writeFileSync(
    spec,
    JSON.stringify({
      input: [4],
      layers: [
        { type: 'dense', units: 8, activation: 'sigmoid' },
        { type: 'dense', units: 3 },
      ],
      loss: 'softmaxCrossEntropy',
      optimizer: { type: 'sgd', lr: 0.1 },
    }),
  );

  it.each([
    ['a CSV with a header', ['--data', join(FIXTURES, 'xy_header.csv')]],
    ['NumPy features and labels', ['--data', join(FIXTURES, 'x_f4.npy'), '--labels', join(FIXTURES, 'y_i8.npy')]],
  ])('reads %s and prints one JSON report with a verdict per the contract', (_, data) => {
    const out = join(dir, `report-${data.length}`);
    const run = gradlab(['doctor', spec, ...data, '--json', '--no-trials', '--steps', '20', '--seed', '3', '--out', out]);
    expect(run.stderr).not.toMatch(/Error|at .*\.js/);
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]);
    expect(['vanishing', 'exploding', 'saturated', 'dead', 'vanishingThroughTime', 'nonFinite', 'healthy']).toContain(report.verdict);
    expect(report.layers.map((layer: { name: string }) => layer.name)).toEqual(['0', '1']);
    for (const layer of report.layers) expect(Number.isFinite(layer.weightGradNorm) && layer.weightGradNorm > 0).toBe(true);
    expect(report.trials).toEqual([]);
    expect(report.recommendation.remedy).toBe(report.verdict === 'healthy' ? 'none' : report.recommendation.remedy);
    expect(readFileSync(join(out, 'doctor.html'), 'utf8')).toContain('<svg');
    expect(JSON.parse(readFileSync(join(out, 'doctor.json'), 'utf8'))).toEqual(report);
  });

  it('refuses a data file that does not fit the spec with exit code 1 and the typed error', () => {
    const narrow = join(dir, 'narrow.csv');
    writeFileSync(narrow, 'a,b,label\n0.5,1.5,0\n-1,2,1\n');
    const run = gradlab(['doctor', spec, '--data', narrow, '--json', '--no-trials']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/4/);
  });
});
