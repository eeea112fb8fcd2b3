/**
 * The eager tensor API: values of every op against plain JS references, broadcasting, typed
 * errors, gradients of small known expressions, and ownership (dispose, scope, numTensors,
 * released tape nodes). Gradients of every op against finite differences: gradcheck.test.ts.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as gl from '../../dist/ts/index.js';
import { GradlabError, type Tensor } from '../../dist/ts/index.js';
import { errorOf } from '../expect-error.js';
import { normal, randomSource, sizeOf } from '../tensor-helpers.js';

let tapeNodes: () => number;
let startTensors = 0;

beforeAll(async () => {
  const core = await gl.init();
  tapeNodes = () => core.call((bindings) => bindings.tapeNodeCount());
});

beforeEach(() => {
  startTensors = gl.numTensors();
});

afterEach(() => {
  expect(gl.numTensors(), 'every test disposes what it creates').toBe(startTensors);
});

/** Expects `actual` to equal `expected` elementwise within `tolerance` (relative for large values). */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const limit = tolerance * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= limit)) {
      throw new Error(`element ${i}: ${actual[i]} is not within ${limit} of ${expected[i]}`);
    }
  }
}

function randomValues(seed: number, count: number): number[] {
  const random = randomSource(seed);
  return Array.from({ length: count }, () => Math.fround(normal(random)));
}

/** `values` of `shape` read at broadcast position `index` of an output of `outShape` (NumPy rules). */
function broadcastRead(values: number[], shape: number[], outShape: number[], index: number): number {
  let offset = 0;
  let stride = 1;
  let rest = index;
  const position: number[] = [];
  for (let d = outShape.length - 1; d >= 0; d--) {
    position[d] = rest % outShape[d];
    rest = Math.floor(rest / outShape[d]);
  }
  for (let d = shape.length - 1; d >= 0; d--) {
    const outD = outShape.length - shape.length + d;
    if (shape[d] !== 1) offset += position[outD] * stride;
    stride *= shape[d];
  }
  return values[offset];
}

describe('creating and reading tensors', () => {
  it('takes nested arrays, flat data with a shape, typed arrays and scalars', () => {
    gl.scope(() => {
      const nested = gl.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(nested.shape).toEqual([2, 3]);
      expect(nested.size).toBe(6);
      expect(Array.from(nested.data())).toEqual([1, 2, 3, 4, 5, 6]);
      const flat = gl.tensor(new Float32Array([1, 2, 3, 4]), [2, 1, 2]);
      expect(flat.shape).toEqual([2, 1, 2]);
      const scalar = gl.tensor(2.5);
      expect(scalar.shape).toEqual([]);
      expect(scalar.item()).toBe(2.5);
      const empty = gl.tensor([], [0, 3]);
      expect(empty.size).toBe(0);
      expect(empty.data().length).toBe(0);
      expect(gl.tensor([1, 2]).requiresGrad).toBe(false);
      expect(gl.tensor([1, 2], [2], { requiresGrad: true }).requiresGrad).toBe(true);
    });
  });

  it('returns copies: changing them does not change the tensor', () => {
    const t = gl.tensor([1, 2, 3]);
    const copy = t.data();
    copy[0] = 100;
    expect(t.data()[0]).toBe(1);
    t.dispose();
  });

  it('rejects bad data and shapes with typed errors', () => {
    const mismatch = errorOf(() => gl.tensor([1, 2, 3], [2, 2]));
    expect(mismatch.code).toBe('ShapeMismatch');
    expect(mismatch.op).toBe('tensor');
    expect(mismatch.expected).toContain('4 values for shape [2, 2]');
    expect(mismatch.actual).toBe('3 values');
    expect(errorOf(() => gl.tensor([[1, 2], [3]])).code).toBe('InvalidArgument');
    expect(errorOf(() => gl.tensor([1, 2], [2.5])).code).toBe('InvalidArgument');
    expect(errorOf(() => gl.tensor([1, 2], [-2])).code).toBe('InvalidArgument');
    expect(errorOf(() => gl.tensor([1], [1, 1, 1, 1, 1, 1, 1, 1, 1])).code).toBe('InvalidArgument');
    expect(errorOf(() => gl.tensor([1], [1 << 20, 1 << 20])).code).toBe('TooLarge');
    expect(errorOf(() => gl.tensor('abc' as unknown as number[])).code).toBe('InvalidArgument');
  });

  it('refuses to use a disposed tensor, and disposing twice is harmless', () => {
    const t = gl.tensor([1, 2]);
    t.dispose();
    t.dispose();
    expect(t.isDisposed).toBe(true);
    const error = errorOf(() => t.data());
    expect(error.code).toBe('Disposed');
    expect(errorOf(() => gl.exp(t)).code).toBe('Disposed');
  });
});

describe('op values', () => {
  it('binary ops broadcast rows, columns and scalars like NumPy', () => {
    const cases: [number[], number[], number[]][] = [
      [[3, 4], [3, 4], [3, 4]],
      [[3, 4], [4], [3, 4]],
      [[3, 4], [1, 4], [3, 4]],
      [[3, 1], [1, 4], [3, 4]],
      [[2, 3, 4], [3, 1], [2, 3, 4]],
      [[], [2, 3], [2, 3]],
      [[1], [2, 3], [2, 3]],
    ];
    const references: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
      ['add', gl.add, (x, y) => x + y],
      ['sub', gl.sub, (x, y) => x - y],
      ['mul', gl.mul, (x, y) => x * y],
      ['div', gl.div, (x, y) => x / y],
    ];
    cases.forEach(([aShape, bShape, outShape], index) => {
      const aValues = randomValues(index, sizeOf(aShape));
      const bValues = randomValues(100 + index, sizeOf(bShape)).map((v) => Math.fround(v + Math.sign(v) * 0.5));
      for (const [name, op, reference] of references) {
        gl.scope(() => {
          const out = op(gl.tensor(aValues, aShape), gl.tensor(bValues, bShape));
          expect(out.shape, `${name} ${aShape} ${bShape}`).toEqual(outShape);
          const expected = Array.from({ length: sizeOf(outShape) }, (_, i) =>
            reference(broadcastRead(aValues, aShape, outShape, i), broadcastRead(bValues, bShape, outShape, i)),
          );
          expectClose(out.data(), expected);
        });
      }
    });
  });

  it('binary ops take numbers as scalars and name both shapes on a mismatch', () => {
    gl.scope(() => {
      const x = gl.tensor([1, 2, 3]);
      expect(Array.from(gl.add(x, 1).data())).toEqual([2, 3, 4]);
      expect(Array.from(gl.div(6, x).data())).toEqual([6, 3, 2]);
      const error = errorOf(() => gl.mul(gl.tensor([[1, 2, 3]]), gl.tensor([1, 2])));
      expect(error.code).toBe('ShapeMismatch');
      expect(error.op).toBe('mul');
      expect(error.arg).toBe('b');
      expect(error.expected).toContain('[1, 3]');
      expect(error.actual).toBe('[2]');
    });
  });

  it('unary ops match Math', () => {
    const values = [-2, -0.5, 0.25, 1, 3];
    const positive = [0.25, 0.5, 1, 2, 9];
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const cases: [string, (x: Tensor) => Tensor, (x: number) => number, number[]][] = [
      ['exp', gl.exp, Math.exp, values],
      ['log', gl.log, Math.log, positive],
      ['sqrt', gl.sqrt, Math.sqrt, positive],
      ['square', gl.square, (x) => x * x, values],
      ['pow 3', (x) => gl.pow(x, 3), (x) => x ** 3, values],
      ['pow -0.5', (x) => gl.pow(x, -0.5), (x) => x ** -0.5, positive],
      ['sigmoid', gl.sigmoid, sigmoid, values],
      ['tanh', gl.tanh, Math.tanh, values],
      ['relu', gl.relu, (x) => Math.max(x, 0), values],
      ['leakyRelu', gl.leakyRelu, (x) => (x > 0 ? x : 0.01 * x), values],
      ['leakyRelu 0.2', (x) => gl.leakyRelu(x, 0.2), (x) => (x > 0 ? x : 0.2 * x), values],
      ['elu', gl.elu, (x) => (x > 0 ? x : Math.exp(x) - 1), values],
      ['elu 0.5', (x) => gl.elu(x, 0.5), (x) => (x > 0 ? x : 0.5 * (Math.exp(x) - 1)), values],
    ];
    for (const [name, op, reference, inputs] of cases) {
      gl.scope(() => {
        const out = op(gl.tensor(inputs));
        expect(out.shape, name).toEqual([inputs.length]);
        expectClose(out.data(), inputs.map(reference));
      });
    }
    gl.scope(() => {
      const error = errorOf(() => gl.leakyRelu(gl.tensor([1]), Number.NaN));
      expect(error.code).toBe('InvalidArgument');
      expect(error.arg).toBe('alpha');
      expect(errorOf(() => gl.pow(gl.tensor([1]), Infinity)).code).toBe('InvalidArgument');
    });
  });

  it('softmax and logSoftmax work per row and stay finite for large logits', () => {
    gl.scope(() => {
      const rows = [
        [1, 2, 3],
        [1000, 1000, 1001],
        [-5, 0, 5],
      ];
      const p = gl.softmax(gl.tensor(rows)).data();
      const logP = gl.logSoftmax(gl.tensor(rows)).data();
      rows.forEach((row, r) => {
        const max = Math.max(...row);
        const total = row.reduce((s, v) => s + Math.exp(v - max), 0);
        const expected = row.map((v) => Math.exp(v - max) / total);
        expectClose(p.subarray(r * 3, r * 3 + 3), expected);
        expectClose(logP.subarray(r * 3, r * 3 + 3), expected.map(Math.log), 1e-4);
      });
    });
  });

  it('matmul matches a naive product for every layout', () => {
    const [m, k, n] = [3, 4, 5];
    const a = randomValues(1, m * k);
    const b = randomValues(2, k * n);
    const expected: number[] = [];
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expected.push(a.slice(i * k, i * k + k).reduce((s, v, p) => s + v * b[p * n + j], 0));
    const transpose = (values: number[], rows: number, cols: number) =>
      Array.from({ length: rows * cols }, (_, index) => values[(index % rows) * cols + Math.floor(index / rows)]);
    gl.scope(() => {
      const aT = gl.tensor(transpose(a, m, k), [k, m]);
      const bT = gl.tensor(transpose(b, k, n), [n, k]);
      const aN = gl.tensor(a, [m, k]);
      const bN = gl.tensor(b, [k, n]);
      expectClose(gl.matmul(aN, bN).data(), expected);
      expectClose(gl.matmul(aT, bN, { transposeA: true }).data(), expected);
      expectClose(gl.matmul(aN, bT, { transposeB: true }).data(), expected);
      expectClose(gl.matmul(aT, bT, { transposeA: true, transposeB: true }).data(), expected);
      expect(gl.matmul(aN, bN).shape).toEqual([m, n]);
      const error = errorOf(() => gl.matmul(aN, aN));
      expect(error.code).toBe('ShapeMismatch');
      expect(error.op).toBe('matmul');
      expect(error.actual).toBe('[3, 4]');
      expect(errorOf(() => gl.matmul(gl.tensor([1, 2]), bN)).code).toBe('ShapeMismatch');
    });
  });

  it('sum and mean reduce everything or one axis, with keepdim', () => {
    gl.scope(() => {
      const x = gl.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const all = gl.sum(x);
      expect(all.shape).toEqual([]);
      expect(all.item()).toBe(21);
      expect(gl.mean(x, { keepdim: true }).shape).toEqual([1, 1]);
      expect(Array.from(gl.sum(x, { axis: 0 }).data())).toEqual([5, 7, 9]);
      const rows = gl.mean(x, { axis: -1, keepdim: true });
      expect(rows.shape).toEqual([2, 1]);
      expect(Array.from(rows.data())).toEqual([2, 5]);
      const error = errorOf(() => gl.sum(x, { axis: 2 }));
      expect(error.code).toBe('InvalidArgument');
      expect(error.arg).toBe('axis');
      expect(errorOf(() => gl.sum(x, { axis: 0.5 })).code).toBe('InvalidArgument');
      expect(errorOf(() => gl.mean(gl.tensor([], [0]))).code).toBe('InvalidArgument');
    });
  });

  it('losses match their definitions', () => {
    gl.scope(() => {
      const prediction = gl.tensor([
        [1, 2],
        [3, 4],
      ]);
      const target = gl.tensor([
        [1, 0],
        [3, 6],
      ]);
      expect(gl.mseLoss(prediction, target).item()).toBeCloseTo(2, 6);

      const logits = [
        [0.5, -1, 2],
        [3, 0, -2],
      ];
      const labels = [2, 1];
      const expected =
        labels.reduce((s, label, r) => {
          const row = logits[r];
          return s - (row[label] - Math.log(row.reduce((t, v) => t + Math.exp(v), 0)));
        }, 0) / 2;
      expect(gl.softmaxCrossEntropy(gl.tensor(logits), labels).item()).toBeCloseTo(expected, 5);
      expect(gl.softmaxCrossEntropy(gl.tensor(logits), new Int32Array(labels)).item()).toBeCloseTo(expected, 5);

      const targets = [
        [0, 1, 0.3],
        [1, 0.5, 0],
      ];
      const bce =
        logits.flat().reduce((s, x, i) => {
          const y = targets.flat()[i];
          const p = 1 / (1 + Math.exp(-x));
          return s - y * Math.log(p) - (1 - y) * Math.log(1 - p);
        }, 0) / 2;
      expect(gl.sigmoidCrossEntropy(gl.tensor(logits), gl.tensor(targets)).item()).toBeCloseTo(bce, 5);
    });
  });

  it('losses reject out-of-range labels, bad targets and mismatched shapes', () => {
    gl.scope(() => {
      const logits = gl.tensor([
        [0, 1, 2],
        [2, 1, 0],
      ]);
      const outOfRange = errorOf(() => gl.softmaxCrossEntropy(logits, [0, 3]));
      expect(outOfRange.code).toBe('InvalidArgument');
      expect(outOfRange.arg).toBe('labels');
      expect(outOfRange.actual).toContain('3 at row 1');
      expect(errorOf(() => gl.softmaxCrossEntropy(logits, [-1, 0])).code).toBe('InvalidArgument');
      expect(errorOf(() => gl.softmaxCrossEntropy(logits, [0.5, 1])).code).toBe('InvalidArgument');
      expect(errorOf(() => gl.softmaxCrossEntropy(logits, [0])).code).toBe('ShapeMismatch');
      expect(errorOf(() => gl.sigmoidCrossEntropy(logits, gl.tensor([[0, 1, 2], [0, 0, 0]]))).code).toBe('InvalidArgument');
      const mismatch = errorOf(() => gl.mseLoss(logits, gl.tensor([1, 2, 3])));
      expect(mismatch.code).toBe('ShapeMismatch');
      expect(mismatch.expected).toBe('[2, 3]');
      expect(mismatch.actual).toBe('[3]');
    });
  });
});

describe('backward', () => {
  it('gives known gradients, accumulates, and zeroGrad forgets', () => {
    gl.scope(() => {
      const x = gl.tensor([1, 2, 3], [3], { requiresGrad: true });
      expect(x.grad).toBeNull();
      // L = Σ x² + 2x → dL/dx = 2x + 2
      const loss = gl.sum(gl.add(gl.square(x), gl.mul(x, 2)));
      loss.backward();
      expect(Array.from(x.grad!.data())).toEqual([4, 6, 8]);
      expect(x.grad).toBe(x.grad);
      loss.backward();
      expect(Array.from(x.grad!.data())).toEqual([8, 12, 16]);
      x.zeroGrad();
      expect(x.grad).toBeNull();
    });
  });

  it('needs a one-element loss that depends on a tensor requiring a gradient', () => {
    gl.scope(() => {
      const x = gl.tensor([1, 2], [2], { requiresGrad: true });
      const notScalar = errorOf(() => gl.square(x).backward());
      expect(notScalar.code).toBe('ShapeMismatch');
      expect(notScalar.arg).toBe('loss');
      expect(errorOf(() => gl.sum(gl.tensor([1, 2])).backward()).code).toBe('InvalidState');
    });
  });

  it('flows through intermediates disposed by an inner scope', () => {
    gl.scope(() => {
      const w = gl.tensor([0.5, -1], [2], { requiresGrad: true });
      const loss = gl.scope(() => gl.sum(gl.sigmoid(gl.mul(w, 3))));
      loss.backward();
      const s = (v: number) => 1 / (1 + Math.exp(-v));
      expectClose(w.grad!.data(), [0.5, -1].map((v) => 3 * s(3 * v) * (1 - s(3 * v))));
    });
  });

  it('trains a linear model with assign() in a loop without leaking tensors or tape nodes', () => {
    const random = randomSource(7);
    const xs = Array.from({ length: 32 }, () => [normal(random), normal(random)]);
    const ys = xs.map(([a, b]) => [3 * a - 2 * b + 1]);
    const w = gl.tensor([0, 0], [2, 1], { requiresGrad: true });
    const b = gl.tensor([0], [1], { requiresGrad: true });
    const x = gl.tensor(xs);
    const y = gl.tensor(ys);
    const nodesBefore = tapeNodes();
    let loss = Infinity;
    for (let step = 0; step < 200; step++) {
      loss = gl.scope(() => {
        const value = gl.mseLoss(gl.add(gl.matmul(x, w), b), y);
        value.backward();
        for (const p of [w, b]) {
          const grad = p.grad!.data();
          p.assign(p.data().map((v, i) => v - 0.1 * grad[i]));
          p.zeroGrad();
        }
        return value.item();
      });
    }
    expect(loss).toBeLessThan(1e-6);
    expectClose(w.data(), [3, -2], 1e-3);
    expectClose(b.data(), [1], 1e-3);
    expect(tapeNodes()).toBe(nodesBefore);
    for (const t of [w, b, x, y]) t.dispose();
  });
});

describe('ownership', () => {
  it('scope disposes what it made except what it returns, in arrays and objects too', () => {
    const before = gl.numTensors();
    const result = gl.scope(() => {
      const a = gl.tensor([1, 2]);
      const b = gl.exp(a);
      const c = gl.add(a, b);
      gl.square(c);
      return { pair: [a, c], label: 'kept' };
    });
    expect(gl.numTensors()).toBe(before + 2);
    expect(result.label).toBe('kept');
    result.pair.forEach((t) => t.dispose());
    expect(gl.numTensors()).toBe(before);
  });

  it('nested scopes hand returned tensors to the enclosing scope', () => {
    const before = gl.numTensors();
    gl.scope(() => {
      const inner = gl.scope(() => gl.square(gl.tensor([3])));
      expect(inner.item()).toBe(9);
      expect(gl.numTensors()).toBe(before + 1);
    });
    expect(gl.numTensors()).toBe(before);
  });

  it('keep() protects a tensor from the scopes around it', () => {
    let kept: Tensor | undefined;
    gl.scope(() => {
      kept = gl.keep(gl.tensor([1]));
      gl.tensor([2]);
    });
    expect(gl.numTensors()).toBe(startTensors + 1);
    expect(kept!.item()).toBe(1);
    kept!.dispose();
  });

  it('a throwing scope disposes everything it made; an async body is refused', () => {
    const before = gl.numTensors();
    expect(() =>
      gl.scope(() => {
        gl.tensor([1, 2]);
        gl.add(gl.tensor([1, 2]), gl.tensor([1, 2, 3]));
        throw new Error('unreachable');
      }),
    ).toThrow(GradlabError);
    expect(gl.numTensors()).toBe(before);
    const error = errorOf(() => gl.scope(async () => gl.tensor([1])));
    expect(error.code).toBe('InvalidArgument');
    expect(gl.numTensors()).toBe(before);
  });

  it('the FinalizationRegistry frees tensors that were collected undisposed', async () => {
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const before = gl.numTensors();
    (() => {
      for (let i = 0; i < 10; i++) gl.tensor([i, i + 1]);
    })();
    expect(gl.numTensors()).toBe(before + 10);
    // Finalizers run some time after a collection: collect and yield until they have.
    for (let round = 0; round < 100 && gl.numTensors() > before; round++) {
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(gl.numTensors()).toBe(before);
  });

  it('disposing a computation releases its tape nodes and gradients', () => {
    const nodes = tapeNodes();
    const x = gl.tensor([1, 2, 3], [3], { requiresGrad: true });
    const loss = gl.scope(() => gl.mean(gl.tanh(gl.mul(x, x))));
    expect(tapeNodes()).toBeGreaterThan(nodes);
    loss.backward();
    expect(x.grad).not.toBeNull();
    loss.dispose();
    expect(tapeNodes()).toBe(nodes);
    x.dispose();
  });
});
