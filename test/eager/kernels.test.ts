/**
 * The SIMD128 kernels through the bindings (`kernels` in the public API), against f64 JS
 * references: sgemm for every m, n, k in 0..17 in all four layouts, with α/β and NaN-filled C;
 * the activations, elementwise ops and softmax over every tail length; and bad arguments,
 * which must come back as typed GradlabErrors that leave the instance working.
 *
 * The native Rust tests check the same kernels more densely, but on the scalar twin of
 * `F32x4`; these run the real SIMD128 code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { GradlabError, init, kernels, simdEnabled } from '../../dist/ts/index.js';
import type { StagedMatrixCore } from '../../dist/pkg/gradlab.js';
import { errorOf, expectError } from '../expect-error.js';
import { productElement } from '../sgemm-reference.js';
import { randomSource } from '../tensor-helpers.js';

const { StagedMatrix } = kernels;
type Layout = { transA: boolean; transB: boolean };
const LAYOUTS: Layout[] = [
  { transA: false, transB: false },
  { transA: true, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: true },
];

let loaded: Awaited<ReturnType<typeof init>>;
beforeAll(async () => {
  loaded = await init();
});

function randomArray(length: number, random: () => number): Float32Array {
  return Float32Array.from({ length }, () => random() * 2 - 1);
}

/**
 * Checks `got` against `alpha·op(A)·op(B) + beta·C` in f64, with a tolerance of f32 rounding
 * on each of the k + 2 terms of every element.
 */
function expectProduct(
  got: Float32Array, a: Float32Array, b: Float32Array, c: Float32Array,
  m: number, n: number, k: number, { transA, transB }: Layout, alpha: number, beta: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let { exact, magnitude } = productElement(a, b, m, n, k, transA, transB, i, j);
      exact *= alpha;
      magnitude *= Math.abs(alpha);
      if (beta !== 0) {
        exact += beta * c[i * n + j];
        magnitude += Math.abs(beta * c[i * n + j]);
      }
      const error = Math.abs(got[i * n + j] - exact);
      if (!(error <= 2e-7 * (k + 4) * magnitude + 1e-30)) {
        throw new Error(`m=${m} n=${n} k=${k} ${JSON.stringify({ transA, transB })} C[${i}][${j}] = ${got[i * n + j]}, expected ${exact}`);
      }
    }
  }
}

describe('kernels.sgemm', () => {
  it('is compiled with SIMD128', () => {
    expect(simdEnabled()).toBe(true);
  });

  it('matches an f64 reference for every m, n, k in 0..17 in all four layouts', () => {
    const random = randomSource(1);
    const size = 17;
    // One staged A, B and C big enough for every case, reused so the test times the kernel.
    const a = StagedMatrix.from({ shape: [size, size], data: randomArray(size * size, random) });
    const b = StagedMatrix.from({ shape: [size, size], data: randomArray(size * size, random) });
    try {
      for (const layout of LAYOUTS) {
        for (let m = 0; m <= size; m++) {
          for (let n = 0; n <= size; n++) {
            for (let k = 0; k <= size; k++) {
              const [aRows, aCols] = layout.transA ? [k, m] : [m, k];
              const [bRows, bCols] = layout.transB ? [n, k] : [k, n];
              const aData = a.read().subarray(0, aRows * aCols);
              const bData = b.read().subarray(0, bRows * bCols);
              const c = { shape: [m, n], data: new Float32Array(m * n).fill(Number.NaN) };
              const result = kernels.sgemm({ shape: [aRows, aCols], data: aData }, { shape: [bRows, bCols], data: bData }, { ...layout, c });
              expect(result.shape).toEqual([m, n]);
              expectProduct(result.data, aData, bData, c.data, m, n, k, layout, 1, 0);
            }
          }
        }
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('applies alpha and beta on odd and blocked sizes', () => {
    const random = randomSource(2);
    const cases: [number, number, number, number, number][] = [
      [31, 63, 65, 0.5, 1],
      [129, 127, 33, -2, 0.25],
      [70, 300, 280, 1, -1], // k > one 256-deep slab, m > one 64-row block
      [10, 30, 784, 1, 0], // a small dense layer: A·Bᵀ of these skips packing
      [3, 5, 259, 0.5, 1],
    ];
    for (const [m, n, k, alpha, beta] of cases) {
      for (const layout of LAYOUTS) {
        const a = randomArray(m * k, random);
        const b = randomArray(k * n, random);
        const c = randomArray(m * n, random);
        const aShape = layout.transA ? [k, m] : [m, k];
        const bShape = layout.transB ? [n, k] : [k, n];
        const result = kernels.sgemm({ shape: aShape, data: a }, { shape: bShape, data: b }, { ...layout, alpha, beta, c: { shape: [m, n], data: c } });
        expectProduct(result.data, a, b, c, m, n, k, layout, alpha, beta);
      }
    }
  });

  it('works in place on staged matrices', () => {
    const a = StagedMatrix.from({ shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    const b = StagedMatrix.from({ shape: [2, 3], data: Float32Array.from([1, 0, 1, 0, 1, 0]) });
    const c = new StagedMatrix(2, 2);
    try {
      kernels.sgemmStaged(a, b, c, { transB: true });
      expect(Array.from(c.read())).toEqual([4, 2, 10, 5]);
      kernels.sgemmStaged(a, b, c, { transB: true, alpha: 1, beta: 1 });
      expect(Array.from(c.read())).toEqual([8, 4, 20, 10]);
    } finally {
      for (const matrix of [a, b, c]) matrix.dispose();
    }
    expect(() => a.ptr).toThrow(GradlabError);
  });
});

/** f64 references of the activations. */
const ACTIVATIONS: Record<kernels.ActivationKind, (x: number, alpha: number) => number> = {
  identity: (x) => x,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: (x) => Math.tanh(x),
  relu: (x) => (x > 0 ? x : 0),
  leakyRelu: (x, alpha) => (x > 0 ? x : alpha * x),
  elu: (x, alpha) => (x > 0 ? x : alpha * Math.expm1(x)),
};

describe('kernels elementwise', () => {
  const lengths = [...Array.from({ length: 38 }, (_, i) => i), 10_001];

  it('activations match f64 within 2.5e-7 relative over every tail length', () => {
    const random = randomSource(3);
    for (const length of lengths) {
      const x = Float32Array.from({ length }, () => (random() * 2 - 1) * 30);
      if (length > 5) x.set([0, -0, 1e-30, -1e-20, 88], 0);
      for (const [kind, reference] of Object.entries(ACTIVATIONS) as [kernels.ActivationKind, (x: number, alpha: number) => number][]) {
        const y = kernels.activation(kind, x, 0.3);
        for (let i = 0; i < length; i++) {
          const expected = reference(x[i], 0.3);
          const error = Math.abs(y[i] - expected);
          if (!(error <= 2.5e-7 * Math.abs(expected) + 1e-37)) throw new Error(`${kind}(${x[i]}) = ${y[i]}, expected ${expected}`);
        }
      }
    }
  });

  it('keeps NaN and saturates at the infinities', () => {
    const x = Float32Array.from([Number.NaN, Infinity, -Infinity]);
    const sigmoid = kernels.activation('sigmoid', x);
    const tanh = kernels.activation('tanh', x);
    const elu = kernels.activation('elu', x, 2);
    expect([sigmoid[0], tanh[0], elu[0]].every(Number.isNaN)).toBe(true);
    expect(Array.from(sigmoid.subarray(1))).toEqual([1, 0]);
    expect(Array.from(tanh.subarray(1))).toEqual([1, -1]);
    expect(Array.from(elu.subarray(1))).toEqual([Infinity, -2]);
  });

  it('binary ops equal f32 arithmetic exactly', () => {
    const random = randomSource(4);
    const ops: Record<kernels.BinaryKind, (a: number, b: number) => number> = {
      add: (a, b) => a + b,
      sub: (a, b) => a - b,
      mul: (a, b) => a * b,
      div: (a, b) => a / b,
    };
    for (const length of lengths) {
      const a = randomArray(length, random);
      const b = randomArray(length, random);
      for (const [kind, op] of Object.entries(ops) as [kernels.BinaryKind, (a: number, b: number) => number][]) {
        const out = kernels.binary(kind, a, b);
        expect(out).toEqual(Float32Array.from(a, (value, i) => op(value, b[i])));
      }
    }
  });

  it('softmax and log-softmax rows match f64', () => {
    const random = randomSource(5);
    for (const cols of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000]) {
      const rows = 3;
      const data = Float32Array.from({ length: rows * cols }, () => (random() * 2 - 1) * 20);
      const y = kernels.softmax({ shape: [rows, cols], data });
      const logY = kernels.softmax({ shape: [rows, cols], data }, { log: true });
      for (let r = 0; r < rows; r++) {
        const row = Array.from(data.subarray(r * cols, (r + 1) * cols));
        const max = Math.max(...row);
        const total = row.reduce((sum, v) => sum + Math.exp(v - max), 0);
        row.forEach((v, j) => {
          const expected = Math.exp(v - max) / total;
          // Rounding x − max to f32 alone moves exp(x − max) by up to |x − max|·6e-8 relative.
          const tolerance = 2e-7 * (4 + Math.abs(v - max)) * expected + 1e-38;
          expect(Math.abs(y.data[r * cols + j] - expected)).toBeLessThanOrEqual(tolerance);
          const logExpected = v - max - Math.log(total);
          expect(Math.abs(logY.data[r * cols + j] - logExpected)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(logExpected)));
        });
      }
    }
  });
});

describe('kernels bad arguments', () => {
  /** The instance still multiplies correctly. */
  function stillWorks(): void {
    const product = kernels.sgemm({ shape: [1, 2], data: Float32Array.from([1, 2]) }, { shape: [2, 1], data: Float32Array.from([3, 4]) });
    expect(Array.from(product.data)).toEqual([11]);
  }

  it('reports shape mismatches by argument', () => {
    const a = { shape: [2, 3], data: new Float32Array(6) };
    const error = expectError(() => kernels.sgemm(a, { shape: [2, 3], data: new Float32Array(6) }), 'ShapeMismatch', 'b');
    expect(error.expected).toContain('3 rows');
    expectError(() => kernels.sgemm(a, a, { transB: true, c: { shape: [3, 3], data: new Float32Array(9) } }), 'ShapeMismatch', 'c');
    expectError(() => kernels.sgemm({ shape: [2, 3], data: new Float32Array(5) }, a), 'ShapeMismatch', 'a.data');
    expectError(() => kernels.sgemm({ shape: [2, -3], data: new Float32Array(6) }, a), 'InvalidArgument', 'a.shape');
    expectError(() => kernels.sgemm(a, a, { transA: 1 as unknown as boolean }), 'InvalidArgument', 'transA');
    stillWorks();
  });

  it('rejects non-finite scalars in the core', () => {
    const a = { shape: [2, 2], data: new Float32Array(4) };
    expectError(() => kernels.sgemm(a, a, { alpha: Number.NaN }), 'InvalidArgument', 'alpha');
    expectError(() => kernels.sgemm(a, a, { beta: Infinity }), 'InvalidArgument', 'beta');
    expectError(() => kernels.activation('elu', new Float32Array(4), Number.NaN), 'InvalidArgument', 'alpha');
    expectError(() => kernels.activation('swish' as kernels.ActivationKind, new Float32Array(4)), 'InvalidArgument', 'kind');
    stillWorks();
  });

  it('validates raw binding calls: sizes, overflow, scalars and aliasing', () => {
    const made: StagedMatrixCore[] = [];
    const staged = (rows: number, cols: number): StagedMatrixCore => {
      const matrix = loaded.call((b) => new b.StagedMatrixCore(rows, cols));
      made.push(matrix);
      return matrix;
    };
    const x = staged(4, 4);
    const y = staged(4, 4);
    try {
      const call = (args: Partial<{ transA: boolean; transB: boolean; a: StagedMatrixCore; b: StagedMatrixCore; c: StagedMatrixCore; alpha: number; beta: number }>): void => {
        const merged = { transA: false, transB: false, a: x, b: x, c: y, alpha: 1, beta: 0, ...args };
        loaded.call((b) => b.sgemm(merged.a, merged.b, merged.c, merged.transA, merged.transB, merged.alpha, merged.beta));
      };
      call({});
      const cases: [() => void, string, string][] = [
        [() => call({ b: staged(5, 4) }), 'ShapeMismatch', 'b'],
        [() => call({ transA: true, a: staged(5, 4) }), 'ShapeMismatch', 'b'],
        [() => call({ c: staged(4, 3) }), 'ShapeMismatch', 'c'],
        [() => call({ alpha: Number.NaN }), 'InvalidArgument', 'alpha'],
        [() => call({ beta: 1e39 }), 'InvalidArgument', 'beta'],
        [() => staged(0x10000, 0x10000), 'TooLarge', 'shape'],
        [() => staged(0xffffffff, 0xffffffff), 'InvalidArgument', 'rows'],
        [() => staged(4, -1), 'InvalidArgument', 'cols'],
        [() => staged(2.5, 4), 'InvalidArgument', 'rows'],
      ];
      for (const [body, code, arg] of cases) {
        const error = errorOf(body);
        expect([error.code, error.arg], body.toString()).toEqual([code, arg]);
      }
      // Aliasing an output with an input is refused before the call reaches the bindings.
      const matrixX = StagedMatrix.from({ shape: [4, 4], data: new Float32Array(16) });
      const matrixY = new StagedMatrix(4, 4);
      try {
        expectError(() => kernels.sgemmStaged(matrixX, matrixX, matrixX), 'InvalidArgument', 'c');
        expectError(() => kernels.activationStaged('relu', matrixX, matrixX), 'InvalidArgument', 'y');
        expectError(() => kernels.binaryStaged('add', matrixX, matrixX, matrixX), 'InvalidArgument', 'out');
        expectError(() => kernels.softmaxStaged(matrixX, matrixX), 'InvalidArgument', 'y');
      } finally {
        matrixX.dispose();
      }
      expectError(() => kernels.activationStaged('relu', matrixX, matrixY), 'Disposed');
      matrixY.dispose();
    } finally {
      for (const matrix of made) matrix.free();
    }
    stillWorks();
  });
});
