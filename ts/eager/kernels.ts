/**
 * Direct access to gradlab's SIMD128 kernels, for tests and benchmarks of the kernels
 * themselves: sgemm, activations, elementwise arithmetic and row softmax on plain
 * `Float32Array`s. Models and tensors call the same kernels inside the core; this module adds
 * nothing to them.
 *
 * Two levels: the plain functions copy their inputs into WASM memory and the result out; the
 * `…Staged` functions work on {@link StagedMatrix} buffers that stay in WASM memory, so a
 * benchmark times the kernel and not the copies. Everything is synchronous after `await init()`.
 * The kernels' shape and scalar checks live in crates/wasm/src/kernels.rs.
 */
import { GradlabError, describe, invalidArgument, shapeMismatch, shapeString, numberArg } from '../runtime/errors.js';
import { core } from '../runtime/wasm.js';
import type { StagedMatrixCore } from '../../pkg/gradlab.js';

/** A row-major matrix: `data[i · shape[1] + j]`, `data.length === shape[0] · shape[1]`. */
export interface Matrix {
  shape: readonly [number, number] | readonly number[];
  data: Float32Array;
}

/** Activations the unary kernel computes; `alpha` is the slope (leakyRelu) or scale (elu). */
export type ActivationKind = 'identity' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'elu';

/** Elementwise binary operations. */
export type BinaryKind = 'add' | 'sub' | 'mul' | 'div';

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

/** True when the loaded gradlab.wasm was compiled with SIMD128 (it always should be). */
export function simdEnabled(): boolean {
  return core().call((b) => b.simdEnabled());
}

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
 * kernels, read it, and {@link dispose} it (garbage collection frees it too, but only as a
 * safety net).
 */
export class StagedMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly length: number;
  #inner: StagedMatrixCore | undefined;

  /** A zero-filled rows×cols matrix in WASM memory. */
  constructor(rows: number, cols: number) {
    const loaded = core();
    const inner = loaded.call((b) => new b.StagedMatrixCore(numberArg('StagedMatrix', 'rows', rows), numberArg('StagedMatrix', 'cols', cols)));
    this.rows = inner.rows;
    this.cols = inner.cols;
    this.length = this.rows * this.cols;
    this.#inner = inner;
  }

  /** A staged copy of `matrix`. */
  static from(matrix: Matrix): StagedMatrix {
    const [rows, cols] = dimensions('StagedMatrix.from', 'matrix', matrix);
    const staged = new StagedMatrix(rows, cols);
    staged.write(matrix.data);
    return staged;
  }

  /** @internal The matrix in the bindings. Throws `Disposed` after {@link dispose}. */
  get inner(): StagedMatrixCore {
    if (this.#inner === undefined) {
      throw new GradlabError({ code: 'Disposed', op: 'StagedMatrix', message: 'StagedMatrix: used after dispose()' });
    }
    return this.#inner;
  }

  /** The address in WASM memory (0 when empty). Throws `Disposed` after {@link dispose}. */
  get ptr(): number {
    return this.inner.ptr;
  }

  /** A live view of the data; valid only until the next call that may grow memory. */
  view(): Float32Array {
    return core().f32(this.ptr, this.length);
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
    this.#inner?.free();
    this.#inner = undefined;
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

/** A kernel's name as a string; which names exist is the core's to check. */
function kindArg(op: string, kind: unknown): string {
  if (typeof kind !== 'string') invalidArgument(op, 'kind', 'a kernel name', describe(kind));
  return kind;
}

/**
 * Checks that the output `out` (argument `arg` of `op`) is neither input: the bindings may not
 * lend one matrix for reading and writing at once.
 */
function distinct(op: string, arg: string, out: StagedMatrix, first: StagedMatrix, firstName: string, second?: StagedMatrix, secondName?: string): void {
  const same = out === first ? firstName : out === second ? secondName : undefined;
  if (same !== undefined) invalidArgument(op, arg, `a matrix other than '${same}'`, `the same StagedMatrix as '${same}'`);
}

/**
 * `C = alpha · op(A) · op(B) + beta · C` in place on staged matrices: op(A) is m×k, op(B)
 * k×n and C m×n (C distinct from A and B). Shape errors name the argument; bad scalars come
 * back as typed errors from the core.
 */
export function sgemmStaged(a: StagedMatrix, b: StagedMatrix, c: StagedMatrix, options: SgemmOptions = {}): void {
  const { transA = false, transB = false, alpha = 1, beta = 0 } = options;
  if (typeof transA !== 'boolean') invalidArgument('sgemm', 'transA', 'a boolean', describe(transA));
  if (typeof transB !== 'boolean') invalidArgument('sgemm', 'transB', 'a boolean', describe(transB));
  numberArg('sgemm', 'alpha', alpha);
  numberArg('sgemm', 'beta', beta);
  distinct('sgemm', 'c', c, a, 'a', b, 'b');
  core().call((bindings) => bindings.sgemm(a.inner, b.inner, c.inner, transA, transB, alpha, beta));
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

/** `y = f(x)` elementwise on staged buffers of equal length (which may not be the same buffer). */
export function activationStaged(kind: ActivationKind, x: StagedMatrix, y: StagedMatrix, alpha = 1): void {
  const slope = numberArg('activation', 'alpha', alpha);
  distinct('activation', 'y', y, x, 'x');
  core().call((b) => b.activation(kindArg('activation', kind), slope, x.inner, y.inner));
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
  distinct('binary', 'out', out, a, 'a', b, 'b');
  core().call((bindings) => bindings.binary(kindArg('binary', kind), a.inner, b.inner, out.inner));
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
  distinct('softmax', 'y', y, x, 'x');
  core().call((b) => b.softmax(x.inner, y.inner, options.log === true));
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
