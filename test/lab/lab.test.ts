// The lab CLI: usage errors, and the JSON every experiment prints with --json --quick.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_NAMES } from '../../lab/dist/experiment.js';
import { UsageError, parseArgs, prepareOutput } from '../../lab/dist/options.js';

const run = promisify(execFile);
const CLI = new URL('../../lab/dist/main.js', import.meta.url).pathname;

async function lab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the command line, in-process', () => {
  it('parses flags and experiments, with the defaults', () => {
    expect(parseArgs(['lab'])).toEqual({ names: [...EXPERIMENT_NAMES], quick: false, seed: 1, json: false, workers: availableParallelism() });
    expect(parseArgs(['lab', 'lstm', 'vanishing', '--quick', '--json', '--seed', '0', '--workers', '1', '--out', 'x'])).toEqual({ names: ['lstm', 'vanishing'], quick: true, seed: 0, json: true, workers: 1, out: 'x' });
    expect(parseArgs(['lab', '--seed', '9007199254740991']).seed).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseArgs(['--help'])).toBe('help');
    expect(parseArgs(['lab', '-h'])).toBe('help');
  });

  it.each([
    [['lab', '--seed', ''], "--seed must be an integer ≥ 0, got ''"],
    [['lab', '--seed', '-1'], "--seed must be an integer ≥ 0, got '-1'"],
    [['lab', '--seed', '1e3'], "got '1e3'"],
    [['lab', '--seed', '9007199254740992'], "got '9007199254740992'"],
    [['lab', '--workers', '0'], "--workers must be an integer ≥ 1, got '0'"],
    [['lab', '--out', '--json'], '--out needs a value'],
    [['lab', '--seed'], '--seed needs a value'],
    [['lab', '--bogus'], "unknown option '--bogus'"],
    [['lab', 'nonsense'], "unknown experiment 'nonsense'"],
    [['train'], "the first argument must be the command 'lab'"],
    [[], "the first argument must be the command 'lab'"],
  ])('refuses %j: %s', (args, message) => {
    expect(() => parseArgs(args)).toThrow(UsageError);
    expect(() => parseArgs(args)).toThrow(message);
  });

  it('prepares the output directory, or says in one line why it cannot', async () => {
    const base = await mkdtemp(join(tmpdir(), 'gradlab-out-'));
    const nested = join(base, 'a', 'b');
    expect(await prepareOutput(nested)).toBe(resolve(nested));
    expect(await readdir(nested)).toEqual([]);
    expect(await prepareOutput(base)).toBe(base);
    await writeFile(join(base, 'file'), '');
    await expect(prepareOutput(join(base, 'file'))).rejects.toThrow(`--out: '${join(base, 'file')}' is not a directory`);
    await expect(prepareOutput(join(base, 'file', 'below'))).rejects.toThrow(/--out: cannot use/);
    await expect(prepareOutput('/proc/x/y')).rejects.toThrow("--out: cannot create '/proc/x'");
    await expect(prepareOutput('/proc')).rejects.toThrow(UsageError);
  });
});

describe('gradlab lab', () => {
  it.each([
    [['lab', '--bogus']],
    [['lab', 'nonsense']],
    [['lab', '--seed', 'x']],
    [['lab', '--seed']],
    [['lab', '--seed', '']],
    [['lab', '--seed', ' 1']],
    [['lab', '--workers', '0x2']],
    [['train']],
  ])('rejects %j with usage and exit code 2', async (args) => {
    const result = await lab(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: gradlab lab');
    expect(result.stdout).toBe('');
  });

  it.each([
    ['/proc/x/y', /cannot create '\/proc\/x'/],
    ['/proc', /cannot write into '\/proc'/],
    [CLI + '/report', /is not a directory|cannot use/],
  ])('--out %s fails at once with exit code 2, before any experiment runs', async (out, message) => {
    const result = await lab('lab', 'activations', '--quick', '--json', '--out', out);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('--json prints one JSON document per experiment and nothing else', async () => {
    const result = await lab('lab', 'activations', 'vanishing', 'exploding', 'remedies', '--quick', '--json', '--seed', '3');
    expect(result.code).toBe(0);
    const documents = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    const byName = Object.fromEntries(documents.map((d) => [d.experiment, d]));
    expect(Object.keys(byName).sort()).toEqual(['activations', 'exploding', 'remedies', 'vanishing']);

    const sigmoid = byName.activations.activations.find((a: { name: string }) => a.name === 'sigmoid');
    expect(sigmoid.maxDerivative).toBeCloseTo(0.25, 3);

    const nets = byName.vanishing.nets;
    expect(nets.map((n: { sizes: number[] }) => n.sizes.length)).toEqual([4, 5, 6]);
    for (const net of nets) {
      expect(net.activation).toBe('sigmoid');
      expect(net.speedsAtInit).toHaveLength(net.sizes.length - 2);
      expect(net.speedHistory.length).toBeGreaterThan(0);
      for (const epoch of net.speedHistory) expect(epoch).toHaveLength(net.sizes.length - 2);
    }
    const deepest = nets[2].speedsAtInit;
    expect(deepest[3] / deepest[0]).toBeGreaterThan(30); // Nielsen: ~100×

    for (const run of byName.exploding.runs) {
      for (const key of ['name', 'clip', 'l2', 'diverged', 'gradNormByLayer', 'lossHistory']) expect(run).toHaveProperty(key);
    }
    expect(byName.exploding.runs[0].diverged).toBe(true);
    expect(byName.exploding.runs.slice(1).every((r: { diverged: boolean }) => !r.diverged)).toBe(true);

    for (const row of byName.remedies.rows) {
      for (const key of ['remedy', 'speeds', 'weightGradNorms', 'speedRatio', 'weightGradRatio', 'testAccuracy']) expect(row).toHaveProperty(key);
    }
    const remedy = (name: string) => byName.remedies.rows.find((r: { remedy: string }) => r.remedy === name);
    expect(remedy('baseline').weightGradRatio).toBeGreaterThan(10);
    expect(remedy('relu').weightGradRatio).toBeLessThan(2);
    for (const row of byName.remedies.depthSweep) {
      for (const key of ['depth', 'residual', 'testAccuracy', 'weightGradRatio']) expect(row).toHaveProperty(key);
    }
  });

  it('--out writes a self-contained report and the JSON files', async () => {
    // Directories that do not exist yet are created, and the write probe leaves nothing.
    const dir = join(await mkdtemp(join(tmpdir(), 'gradlab-lab-')), 'new', 'nested');
    const result = await lab('lab', 'activations', '--quick', '--out', dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Maximum derivative of each activation');
    expect((await readdir(dir)).sort()).toEqual(['activations.json', 'report.html']);
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src="http/);
  });
});
