/**
 * Fuzzing the raw ABI. Every `gl_*` export of the tensor ABI is called from a valid baseline
 * with one argument at a time replaced by garbage (null, freed and huge handles; unaligned,
 * negative and out-of-memory pointers; lengths of -1, 2^31 and 1e12 as they reach a u32; bad
 * kind codes and flags; NaN and infinite alphas; out-of-range axes and class indices), then
 * with every argument garbage at once (seeded). Each such call must return a non-zero status
 * with a readable typed error, create no tensor, and leave the instance working.
 *
 * Every other `gl_*` export (models, kernels, whatever is added later) is found by its name
 * prefix and called with garbage only; it must not trap (a trap is a
 * `WebAssembly.RuntimeError`, e.g. "unreachable" from a panic) and must leave the instance
 * working. Garbage here is never a valid pointer, so no call can write into live memory.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gl from '../dist/ts/index.js';
import { integer, randomSource } from './tensor-helpers.js';

/** Exports that are not called with garbage, and why. */
const SAFE_TO_SKIP: Record<string, string> = {
  gl_free: 'frees a raw pointer by contract (like C free): garbage would corrupt the allocator; called with null only',
  gl_alloc: 'tested below with 0 and huge sizes; a garbage size that happens to be valid would just allocate',
};

type Export = (...args: number[]) => number;
type Exports = Record<string, Export> & { memory: WebAssembly.Memory };

let raw: Exports;
/** A 4 KiB buffer of ours: the only valid pointer the tests pass. */
let buffer = 0;
const DATA = 0; // byte offsets inside `buffer`
const SHAPE = 256;
const LABELS = 512;
const OUT = 1024;
const DIMS = 1088;

const SEEDS = [11, 12, 13, 14, 15];

/** Pointers no call may accept: null, unaligned, negative, beyond any memory this test grows to. */
const BAD_POINTERS = [0, 1, 2, 3, -1, 2 ** 31, 1e12, 0xdeadbeef];
const BAD_HANDLES = [0, 0xffffffff, 0x7fffffff, 2 ** 31, 1e12, 123456789, -1, Number.NaN];
const BAD_LENGTHS = [-1, 2 ** 31, 1e12, 0x7fffffff, 2 ** 28 + 1, 5, 7];
const BAD_FLAGS = [2, -1, 2 ** 31, 7];
const BAD_ALPHAS = [Number.NaN, Infinity, -Infinity];
const BAD_RANKS = [9, -1, 2 ** 31, 1e12, 100];

/** Values for the exports this file does not know: invalid as pointers, handles and sizes alike. */
const GARBAGE = [0, -1, 2 ** 31, 1e12, 0x7ffffffd, 0xdeadbeef, 1, 3, Number.NaN, Infinity, -Infinity, -0.5];

function address(offset: number): number {
  return buffer + offset;
}

function stage(offset: number, values: number[], kind: 'f32' | 'i32'): void {
  const view = kind === 'f32' ? new Float32Array(raw.memory.buffer, address(offset), values.length) : new Int32Array(raw.memory.buffer, address(offset), values.length);
  view.set(values);
}

/** The last error as the instance reports it. */
function lastError(): { code: string; op: string; message: string } {
  const text = new TextDecoder().decode(new Uint8Array(raw.memory.buffer, raw.gl_last_error_ptr(), raw.gl_last_error_len()));
  return JSON.parse(text);
}

/** One export of the tensor ABI: a valid call, and the garbage each argument may take. */
interface Target {
  name: string;
  /** Arguments of a call that succeeds. */
  valid: () => number[];
  /** Argument index → values that must each make the call fail. */
  bad: Record<number, number[]>;
  /** The valid call creates a tensor whose handle lands in the out slot. */
  creates?: boolean;
  /** How many handle slots at `out` the valid call writes (default 1; 0 names none). */
  outSlots?: number;
}

/** Live tensors the targets use; created in beforeAll. */
const fixture = { matrix: 0, other: 0, loss: 0, constant: 0, probabilities: 0, freed: 0, sequence: 0, square: 0, vector: 0 };
const fixtureTensors: gl.Tensor[] = [];

function targets(): Target[] {
  const { matrix, other, loss, constant, probabilities, freed, sequence, square, vector } = fixture;
  const handles = [...BAD_HANDLES, freed];
  const out = address(OUT);
  return [
    {
      name: 'gl_tensor_from',
      valid: () => [address(DATA), 6, address(SHAPE), 2, 1, out],
      bad: { 0: BAD_POINTERS, 1: [...BAD_LENGTHS, 0], 2: BAD_POINTERS, 3: [...BAD_RANKS, 0, 1, 3], 4: BAD_FLAGS, 5: BAD_POINTERS },
      creates: true,
    },
    { name: 'gl_tensor_shape', valid: () => [matrix, address(DIMS), 8, out], bad: { 0: handles, 1: BAD_POINTERS, 2: [0, 1], 3: BAD_POINTERS } },
    { name: 'gl_tensor_len', valid: () => [matrix, out], bad: { 0: handles, 1: BAD_POINTERS } },
    { name: 'gl_tensor_requires_grad', valid: () => [matrix, out], bad: { 0: handles, 1: BAD_POINTERS } },
    { name: 'gl_tensor_read', valid: () => [matrix, address(DATA), 6], bad: { 0: handles, 1: BAD_POINTERS, 2: [...BAD_LENGTHS, 0] } },
    { name: 'gl_tensor_write', valid: () => [other, address(DATA), 6], bad: { 0: handles, 1: BAD_POINTERS, 2: [...BAD_LENGTHS, 0] } },
    { name: 'gl_tensor_free', valid: () => [], bad: { 0: handles } },
    { name: 'gl_backward', valid: () => [loss], bad: { 0: [...handles, matrix, constant] } },
    { name: 'gl_tensor_grad', valid: () => [matrix, out], bad: { 0: handles, 1: BAD_POINTERS }, creates: true },
    { name: 'gl_tensor_zero_grad', valid: () => [other], bad: { 0: handles } },
    {
      name: 'gl_op_binary',
      valid: () => [0, matrix, matrix, out],
      bad: { 0: [4, 99, -1, 2 ** 31], 1: handles, 2: [...handles, other], 3: BAD_POINTERS },
      creates: true,
    },
    {
      name: 'gl_op_unary',
      valid: () => [8, 0.1, matrix, out],
      bad: { 0: [12, 99, -1, 2 ** 31], 1: BAD_ALPHAS, 2: handles, 3: BAD_POINTERS },
      creates: true,
    },
    {
      name: 'gl_op_matmul',
      valid: () => [matrix, other, 0, 0, out],
      bad: { 0: [...handles, constant], 1: [...handles, matrix], 2: BAD_FLAGS, 3: BAD_FLAGS, 4: BAD_POINTERS },
      creates: true,
    },
    {
      name: 'gl_op_reduce',
      valid: () => [1, matrix, 1, -1, 1, out],
      bad: { 0: [2, -1, 2 ** 31], 1: handles, 2: BAD_FLAGS, 3: [2, -3, 2 ** 31 - 1, -(2 ** 31)], 4: BAD_FLAGS, 5: BAD_POINTERS },
      creates: true,
    },
    {
      name: 'gl_op_loss',
      valid: () => [1, matrix, probabilities, out],
      bad: { 0: [2, -1, 2 ** 31], 1: [...handles, other], 2: [...handles, other, matrix], 3: BAD_POINTERS },
      creates: true,
    },
    {
      name: 'gl_op_softmax_cross_entropy',
      valid: () => {
        stage(LABELS, [2, 0], 'i32');
        return [matrix, address(LABELS), 2, out];
      },
      bad: { 0: [...handles, constant], 1: BAD_POINTERS, 2: [...BAD_LENGTHS, 0, 1, 3], 3: BAD_POINTERS },
      creates: true,
    },
    {
      // rnn over [2, 2, 3] with hidden size 3 from h0 = matrix [2, 3]; 0 (or NaN, which
      // reaches WASM as 0) would be a valid "no initial state" for h0 and c0.
      name: 'gl_op_recurrent',
      valid: () => [0, sequence, square, square, vector, vector, matrix, 0, out],
      bad: {
        0: [2, 99, -1, 2 ** 31],
        1: [...handles, matrix],
        2: [...handles, matrix],
        3: [...handles, other],
        4: [...handles, matrix],
        5: [...handles, square],
        6: [...handles.filter((h) => h !== 0 && !Number.isNaN(h)), other],
        7: [...handles.filter((h) => h !== 0 && !Number.isNaN(h)), matrix],
        8: BAD_POINTERS,
      },
      creates: true,
      outSlots: 3,
    },
  ];
}

function call(name: string, args: number[]): number {
  return raw[name](...args);
}

/** Calls `name` with `args`, expecting a typed failure that creates nothing. */
function expectFailure(name: string, args: number[]): void {
  const before = gl.numTensors();
  const status = call(name, args);
  const context = `${name}(${args.join(', ')})`;
  expect(status, context).not.toBe(0);
  const error = lastError();
  expect(['InvalidArgument', 'ShapeMismatch', 'InvalidHandle', 'TooLarge', 'InvalidState'], context).toContain(error.code);
  expect(error.message.length, context).toBeGreaterThan(0);
  expect(gl.numTensors(), `${context} created a tensor`).toBe(before);
}

/** A product the instance must still get right. */
function expectInstanceWorks(): void {
  gl.scope(() => {
    const product = gl.matmul(gl.tensor([[1, 2], [3, 4]]), gl.tensor([[5], [6]]));
    expect(Array.from(product.data())).toEqual([17, 39]);
  });
}

let startTensors = 0;

beforeAll(async () => {
  const core = await gl.init();
  raw = core.exports as unknown as Exports;
  buffer = core.alloc(4096);
  new Uint8Array(raw.memory.buffer, buffer, 4096).fill(0);
  stage(DATA, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 'f32');
  stage(SHAPE, [2, 3], 'i32');
  startTensors = gl.numTensors();
  const keep = (name: keyof typeof fixture, t: gl.Tensor) => {
    fixtureTensors.push(gl.keep(t));
    fixture[name] = t.handle('fixture');
  };
  keep('matrix', gl.tensor([[1, 2, 3], [4, 5, 6]], undefined, { requiresGrad: true }));
  keep('other', gl.tensor([[1, 2], [3, 4], [5, 6]], undefined, { requiresGrad: true }));
  keep('constant', gl.tensor(1));
  keep('probabilities', gl.tensor([[0, 0.5, 1], [0.2, 0.4, 0.6]]));
  keep('loss', gl.scope(() => gl.sum(gl.mul(gl.tensor([1, 2, 3], [3], { requiresGrad: true }), 2))));
  keep('sequence', gl.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2], [2, 2, 3], { requiresGrad: true }));
  keep('square', gl.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], undefined, { requiresGrad: true }));
  keep('vector', gl.tensor([0.1, 0.2, 0.3]));
  const freed = gl.tensor([1]);
  fixture.freed = freed.handle('fixture');
  freed.dispose();
});

describe('the tensor ABI', () => {
  it('accepts every baseline call', () => {
    for (const target of targets()) {
      if (target.name === 'gl_tensor_free') continue;
      const before = gl.numTensors();
      const status = call(target.name, target.valid());
      expect(status === 0 ? 'ok' : JSON.stringify(lastError()), `${target.name} baseline`).toBe('ok');
      if (target.creates) {
        const slots = new Uint32Array(raw.memory.buffer, address(OUT), target.outSlots ?? 1);
        for (const handle of Array.from(slots)) if (handle !== 0) expect(call('gl_tensor_free', [handle])).toBe(0);
      }
      expect(gl.numTensors(), target.name).toBe(before);
    }
  });

  it('refuses garbage in each argument with a typed error and creates nothing', () => {
    for (const target of targets()) {
      for (const [index, values] of Object.entries(target.bad)) {
        for (const value of values) {
          const args = target.valid();
          args[Number(index)] = value;
          expectFailure(target.name, args);
        }
      }
    }
    expectInstanceWorks();
  });

  it('refuses garbage in every argument at once (seeded)', () => {
    for (const seed of SEEDS) {
      const random = randomSource(seed);
      for (const target of targets()) {
        const args = target.valid();
        const indices = Object.keys(target.bad).map(Number);
        for (const index of indices) {
          const values = target.bad[index];
          args[index] = values[integer(random, 0, values.length - 1)];
        }
        if (indices.length > 0) expectFailure(target.name, args);
      }
    }
    expectInstanceWorks();
  });

  it('names the argument, expected and actual values in its errors', () => {
    stage(LABELS, [0, 3], 'i32');
    expectFailure('gl_op_softmax_cross_entropy', [fixture.matrix, address(LABELS), 2, address(OUT)]);
    expect(lastError()).toMatchObject({ code: 'InvalidArgument', op: 'softmaxCrossEntropy', arg: 'labels', expected: 'class indices in [0, 3)' });
    expectFailure('gl_tensor_from', [address(DATA), 6, address(SHAPE), 2 ** 31, 0, address(OUT)]);
    expect(lastError()).toMatchObject({ code: 'InvalidArgument', arg: 'rank' });
    stage(SHAPE + 8, [1 << 20, 1 << 20], 'i32');
    expectFailure('gl_tensor_from', [address(DATA), 6, address(SHAPE + 8), 2, 0, address(OUT)]);
    expect(lastError()).toMatchObject({ code: 'TooLarge', arg: 'shape' });
    expectFailure('gl_op_unary', [4, Number.NaN, fixture.matrix, address(OUT)]);
    expect(lastError()).toMatchObject({ code: 'InvalidArgument', arg: 'alpha', actual: 'NaN' });
    expectFailure('gl_tensor_len', [fixture.freed, address(OUT)]);
    expect(lastError()).toMatchObject({ code: 'InvalidHandle', actual: String(fixture.freed) });
  });

  it('rejects zero, huge and negative allocation sizes and ignores a null free', () => {
    for (const size of [0, -1, 2 ** 31, 1e12, 0x7fffffff]) expect(raw.gl_alloc(size), `gl_alloc(${size})`).toBe(0);
    raw.gl_free(0, 16);
    raw.gl_free(0, 0);
    expectInstanceWorks();
  });
});

describe('every other gl_* export', () => {
  it('survives garbage without trapping and leaves the instance working', () => {
    const known = new Set(targets().map((t) => t.name));
    const others = Object.keys(raw).filter((name) => name.startsWith('gl_') && typeof raw[name] === 'function' && !known.has(name));
    expect(others.length).toBeGreaterThan(0);
    const models = raw.gl_model_count as Export | undefined;
    const modelsBefore = models?.();
    const random = randomSource(99);
    for (const name of others) {
      if (name in SAFE_TO_SKIP) continue;
      const arity = raw[name].length;
      for (let round = 0; round < 40; round++) {
        const args = Array.from({ length: arity }, () => GARBAGE[integer(random, 0, GARBAGE.length - 1)]);
        try {
          call(name, args);
        } catch (error) {
          // Only a call that needs BigInt (an i64 parameter) may throw, and it throws before running.
          if (error instanceof TypeError && /BigInt/.test(error.message)) break;
          throw new Error(`${name}(${args.join(', ')}) trapped: ${String(error)}`);
        }
      }
    }
    expect(gl.numTensors()).toBe(startTensors + fixtureTensors.length);
    if (models) expect(models()).toBe(modelsBefore);
    expectInstanceWorks();
  });

  it('lists why each skipped export is skipped', () => {
    for (const [name, reason] of Object.entries(SAFE_TO_SKIP)) {
      expect(reason.length, name).toBeGreaterThan(20);
    }
  });
});

describe('afterwards', () => {
  it('frees its fixtures and returns to the starting tensor count', () => {
    for (const tensor of fixtureTensors) tensor.dispose();
    expect(gl.numTensors()).toBe(startTensors);
  });
});
