/**
 * Direct access to gradlab's SIMD128 kernels, for tests and benchmarks of the kernels
 * themselves: sgemm, activations, elementwise arithmetic and row softmax on plain
 * `Float32Array`s. Models and tensors call the same kernels inside the core; this module adds
 * nothing to them.
 *
 * Two levels: the plain functions copy their inputs into WASM memory and the result out; the
 * `…Staged` functions work on {@link StagedMatrix} buffers that stay in WASM memory, so a
 * benchmark times the kernel and not the copies. Everything is synchronous after `await init()`.
 *
 * Codes mirror crates/wasm/src/kernel_abi.rs.
 */
import { GradlabError, describe, invalidArgument, shapeMismatch, shapeString } from './errors.js';
import { core, type Core } from './wasm.js';

/** The kernel exports of gradlab.wasm (see crates/wasm/src/kernel_abi.rs). */
export interface KernelExports {
  gl_simd_enabled(): number;
  gl_sgemm(
    transA: number, transB: number, m: number, n: number, k: number, alpha: number,
    aPtr: number, aLen: number, bPtr: number, bLen: number, beta: number, cPtr: number, cLen: number,
  ): number;
  gl_kernel_unary(kind: number, alpha: number, xPtr: number, yPtr: number, len: number): number;
  gl_kernel_binary(kind: number, aPtr: number, bPtr: number, outPtr: number, len: number): number;
  gl_kernel_softmax(log: number, xPtr: number, yPtr: number, rows: number, cols: number): number;
}

/** A row-major matrix: `data[i · shape[1] + j]`, `data.length === shape[0] · shape[1]`. */
export interface Matrix {
  shape: readonly [number, number] | readonly number[];
  data: Float32Array;
}

/** Activations the unary kernel computes; `alpha` is the slope (leakyRelu) or scale (elu). */
export type ActivationKind = 'identity' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'elu';
const ACTIVATION: Record<ActivationKind, number> = { identity: 0, sigmoid: 1, tanh: 2, relu: 3, leakyRelu: 4, elu: 5 };

/** Elementwise binary operations. */
export type BinaryKind = 'add' | 'sub' | 'mul' | 'div';
const BINARY: Record<BinaryKind, number> = { add: 0, sub: 1, mul: 2, div: 3 };

/** Options of {@link sgemm}: `C = alpha · op(A) · op(B) + beta · C`. */
export interface SgemmOptions {
  /** Use Aᵀ: A is stored [k, m]. */
  transA?: boolean;
  /** Use Bᵀ: B is stored [n, k]. */
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0, which ignores C's old contents (even NaN). */
  beta?: number;
}

function kernels(): { core: Core; fns: KernelExports } {
  const loaded = core();
  return { core: loaded, fns: loaded.fns<KernelExports>() };
}

/** True when the loaded gradlab.wasm was compiled with SIMD128 (it always should be). */
export function simdEnabled(): boolean {
  return kernels().fns.gl_simd_enabled() === 1;
}

/** The largest rows or cols a matrix may have: dimensions cross the ABI as 32-bit integers. */
const MAX_DIMENSION = 2 ** 31 - 1;

/** The `[rows, cols]` of `matrix`, checked against its data length. */
function dimensions(op: string, arg: string, matrix: Matrix): [number, number] {
  if (typeof matrix !== 'object' || matrix === null || !(matrix.data instanceof Float32Array)) {
    invalidArgument(op, arg, 'a matrix { shape: [rows, cols], data: Float32Array }', describe(matrix));
  }
  const { shape, data } = matrix;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    invalidArgument(op, `${arg}.shape`, 'two non-negative integers [rows, cols]', describe(shape));
  }
  if (data.length !== shape[0] * shape[1]) {
    shapeMismatch(op, `${arg}.data`, `${shape[0] * shape[1]} values for ${shapeString(shape)}`, `${data.length} values`);
  }
  return [shape[0], shape[1]];
}

/**
 * A rows×cols f32 matrix living in WASM memory. Create it, fill it, pass it to the `…Staged`
 * kernels, read it, and {@link dispose} it (nothing frees it otherwise).
 */
export class StagedMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly length: number;
  #ptr: number;

  /** A zero-filled rows×cols matrix in WASM memory. */
  constructor(rows: number, cols: number) {
    for (const [arg, value] of [['rows', rows], ['cols', cols]] as const) {
      if (!Number.isInteger(value) || value < 0 || value > MAX_DIMENSION) {
        invalidArgument('StagedMatrix', arg, `an integer in 0..${MAX_DIMENSION}`, describe(value));
      }
    }
    this.rows = rows;
    this.cols = cols;
    this.length = rows * cols;
    this.#ptr = kernels().core.alloc(this.length * 4);
    this.view().fill(0);
  }

  /** A staged copy of `matrix`. */
  static from(matrix: Matrix): StagedMatrix {
    const [rows, cols] = dimensions('StagedMatrix.from', 'matrix', matrix);
    const staged = new StagedMatrix(rows, cols);
    staged.write(matrix.data);
    return staged;
  }

  /** The address in WASM memory (0 when empty). Throws `Disposed` after {@link dispose}. */
  get ptr(): number {
    if (this.#ptr < 0) {
      throw new GradlabError({ code: 'Disposed', op: 'StagedMatrix', message: 'StagedMatrix: used after dispose()' });
    }
    return this.#ptr;
  }

  /** A live view of the data; valid only until the next call that may grow memory. */
  view(): Float32Array {
    return kernels().core.f32(this.ptr, this.length);
  }

  /** A copy of the data. */
  read(): Float32Array {
    return this.view().slice();
  }

  /** Copies `values` (exactly {@link length} of them) in. */
  write(values: ArrayLike<number>): void {
    if (values.length !== this.length) {
      shapeMismatch('StagedMatrix.write', 'values', `${this.length} values`, `${values.length} values`);
    }
    this.view().set(values);
  }

  /** The matrix as `{ shape, data }` (a copy). */
  toMatrix(): Matrix {
    return { shape: [this.rows, this.cols], data: this.read() };
  }

  /** Frees the WASM memory; later use throws. Idempotent. */
  dispose(): void {
    if (this.#ptr < 0) return;
    kernels().core.free(this.#ptr, this.length * 4);
    this.#ptr = -1;
  }
}

/** Runs `body` with staged copies of `matrices`, disposing them whatever happens. */
function withStagedMatrices<R>(matrices: Matrix[], body: (staged: StagedMatrix[]) => R): R {
  const staged: StagedMatrix[] = [];
  try {
    for (const matrix of matrices) staged.push(StagedMatrix.from(matrix));
    return body(staged);
  } finally {
    for (const matrix of staged) matrix.dispose();
  }
}

/** The shape of op(X) for a stored rows×cols X. */
function operandShape(matrix: StagedMatrix, transposed: boolean): [number, number] {
  return transposed ? [matrix.cols, matrix.rows] : [matrix.rows, matrix.cols];
}

/**
 * `C = alpha · op(A) · op(B) + beta · C` in place on staged matrices: op(A) is m×k, op(B)
 * k×n and C m×n. Shape errors name the argument; bad scalars come back as typed errors from
 * the core.
 */
export function sgemmStaged(a: StagedMatrix, b: StagedMatrix, c: StagedMatrix, options: SgemmOptions = {}): void {
  const { transA = false, transB = false, alpha = 1, beta = 0 } = options;
  if (typeof transA !== 'boolean') invalidArgument('sgemm', 'transA', 'a boolean', describe(transA));
  if (typeof transB !== 'boolean') invalidArgument('sgemm', 'transB', 'a boolean', describe(transB));
  const [m, k] = operandShape(a, transA);
  const [kB, n] = operandShape(b, transB);
  if (kB !== k) shapeMismatch('sgemm', 'b', `${k} rows in op(B) (op(A) is ${shapeString([m, k])})`, shapeString([kB, n]));
  if (c.rows !== m || c.cols !== n) shapeMismatch('sgemm', 'c', shapeString([m, n]), shapeString([c.rows, c.cols]));
  const { core: loaded, fns } = kernels();
  loaded.check(fns.gl_sgemm(+transA, +transB, m, n, k, alpha, a.ptr, a.length, b.ptr, b.length, beta, c.ptr, c.length));
}

/** `op(A) · op(B)` (times `alpha`, plus `beta · c` when `c` is given), as a new matrix. */
export function sgemm(a: Matrix, b: Matrix, options: SgemmOptions & { c?: Matrix } = {}): Matrix {
  const [aRows, aCols] = dimensions('sgemm', 'a', a);
  const [bRows, bCols] = dimensions('sgemm', 'b', b);
  const m = options.transA ? aCols : aRows;
  const n = options.transB ? bRows : bCols;
  if (options.c) dimensions('sgemm', 'c', options.c);
  const c = options.c ?? { shape: [m, n], data: new Float32Array(m * n) };
  return withStagedMatrices([a, b, c], ([stagedA, stagedB, stagedC]) => {
    sgemmStaged(stagedA, stagedB, stagedC, options);
    return stagedC.toMatrix();
  });
}

function checkSameLength(op: string, arg: string, expected: StagedMatrix, actual: StagedMatrix): void {
  if (actual.length !== expected.length) shapeMismatch(op, arg, `${expected.length} values`, `${actual.length} values`);
}

/** `y = f(x)` elementwise on staged buffers of equal length (which may not be the same buffer). */
export function activationStaged(kind: ActivationKind, x: StagedMatrix, y: StagedMatrix, alpha = 1): void {
  const code = ACTIVATION[kind];
  if (code === undefined) invalidArgument('activation', 'kind', `one of ${Object.keys(ACTIVATION).join(', ')}`, describe(kind));
  checkSameLength('activation', 'y', x, y);
  const { core: loaded, fns } = kernels();
  loaded.check(fns.gl_kernel_unary(code, alpha, x.ptr, y.ptr, x.length));
}

/** `f(x)` elementwise, as a new array. */
export function activation(kind: ActivationKind, x: Float32Array, alpha = 1): Float32Array {
  const shape = [1, x.length];
  return withStagedMatrices([{ shape, data: x }, { shape, data: new Float32Array(x.length) }], ([stagedX, stagedY]) => {
    activationStaged(kind, stagedX, stagedY, alpha);
    return stagedY.read();
  });
}

/** `out = a ∘ b` elementwise on staged buffers of equal length (`out` distinct from both). */
export function binaryStaged(kind: BinaryKind, a: StagedMatrix, b: StagedMatrix, out: StagedMatrix): void {
  const code = BINARY[kind];
  if (code === undefined) invalidArgument('binary', 'kind', `one of ${Object.keys(BINARY).join(', ')}`, describe(kind));
  checkSameLength('binary', 'b', a, b);
  checkSameLength('binary', 'out', a, out);
  const { core: loaded, fns } = kernels();
  loaded.check(fns.gl_kernel_binary(code, a.ptr, b.ptr, out.ptr, a.length));
}

/** `a ∘ b` elementwise, as a new array. */
export function binary(kind: BinaryKind, a: Float32Array, b: Float32Array): Float32Array {
  const matrices = [a, b, new Float32Array(a.length)].map((data) => ({ shape: [1, data.length], data }));
  return withStagedMatrices(matrices, ([stagedA, stagedB, stagedOut]) => {
    binaryStaged(kind, stagedA, stagedB, stagedOut);
    return stagedOut.read();
  });
}

/** Row-wise softmax (or log-softmax with `log`) of staged `x` into `y` (same shape, distinct). */
export function softmaxStaged(x: StagedMatrix, y: StagedMatrix, options: { log?: boolean } = {}): void {
  if (y.rows !== x.rows || y.cols !== x.cols) shapeMismatch('softmax', 'y', shapeString([x.rows, x.cols]), shapeString([y.rows, y.cols]));
  const { core: loaded, fns } = kernels();
  loaded.check(fns.gl_kernel_softmax(options.log ? 1 : 0, x.ptr, y.ptr, x.rows, x.cols));
}

/** Row-wise softmax (or log-softmax with `log`) of `x`, as a new matrix. */
export function softmax(x: Matrix, options: { log?: boolean } = {}): Matrix {
  const [rows, cols] = dimensions('softmax', 'x', x);
  const y = { shape: [rows, cols], data: new Float32Array(rows * cols) };
  return withStagedMatrices([x, y], ([stagedX, stagedY]) => {
    softmaxStaged(stagedX, stagedY, options);
    return stagedY.toMatrix();
  });
}
