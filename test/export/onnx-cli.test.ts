/**
 * `gradlab export onnx` (ts/cli/export-onnx.ts), run in this process on files in a temporary
 * folder: it writes what exportOnnx writes for the same weights; command-line mistakes are one
 * line and exit code 2; a weights file that does not fit the spec names the entry, exit code 1.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../dist/ts/cli/export-onnx.js';
import { createModel, exportOnnx, type ModelSpec } from '../../dist/ts/index.js';
import { randomState } from './onnx-cases.js';

const SPEC: ModelSpec = { input: [4, 3], layers: [{ type: 'lstm', units: 5 }, { type: 'dense', units: 2, activation: 'sigmoid' }], loss: 'mse' };

let dir = '';
let expected: Uint8Array;

/** Runs the command, returning its exit code and what it wrote to stdout and stderr. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => stdout.push(String(chunk)) > 0);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => stderr.push(String(chunk)) > 0);
  try {
    const code = await run(argv);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gradlab-onnx-cli-'));
  const model = await createModel(SPEC, { seed: 4 });
  model.loadStateDict(randomState(model, 8));
  expected = exportOnnx(model);
  await writeFile(join(dir, 'spec.json'), JSON.stringify(SPEC));
  await writeFile(join(dir, 'model.safetensors'), model.saveSafetensors());
  await writeFile(join(dir, 'other.json'), JSON.stringify({ ...SPEC, layers: [{ type: 'rnn', units: 5 }, SPEC.layers[1]] }));
  model.dispose();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gradlab export onnx', () => {
  it('writes the ONNX model of the spec with the weights', async () => {
    const out = join(dir, 'model.onnx');
    const result = await cli(join(dir, 'spec.json'), '--weights', join(dir, 'model.safetensors'), '--out', out);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`gradlab: wrote ${out} (${expected.length} bytes, ONNX opset 17): input 'x' [batch, 4, 3], output 'y'\n`);
    expect(new Uint8Array(await readFile(out))).toEqual(expected);
  });

  it('reports command-line mistakes in one line with exit code 2', async () => {
    const spec = join(dir, 'spec.json');
    const weights = join(dir, 'model.safetensors');
    for (const [argv, says] of [
      [[], 'expected one spec file, got 0'],
      [[spec, spec, '--weights', weights, '--out', 'x.onnx'], 'expected one spec file, got 2'],
      [[spec, '--out', 'x.onnx'], '--weights'],
      [[spec, '--weights', weights], '--out'],
      [[spec, '--weights', weights, '--out', 'x.onnx', '--opset', '18'], '--opset'],
    ] as const) {
      const result = await cli(...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(says);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    expect(await cli('--help')).toMatchObject({ code: 0, stdout: expect.stringContaining('usage: gradlab export onnx') });
  });

  it('names what does not fit: the spec file, the weights entry, the spec field', async () => {
    const weights = join(dir, 'model.safetensors');
    const missing = await cli(join(dir, 'nothing.json'), '--weights', weights, '--out', join(dir, 'a.onnx'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the spec');
    // An RNN's weights are [H, ·]; the LSTM's are [4H, ·].
    const mismatch = await cli(join(dir, 'other.json'), '--weights', weights, '--out', join(dir, 'b.onnx'));
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain("'0.weight_ih' has shape [20, 3], expected [5, 3]");
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...SPEC, layers: [{ type: 'lstm', units: -1 }] }));
    const bad = await cli(join(dir, 'bad.json'), '--weights', weights, '--out', join(dir, 'c.onnx'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('spec.layers[0].units');
  });
});
