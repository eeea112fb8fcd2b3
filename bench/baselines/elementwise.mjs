/**
 * Elementwise and activation baselines on 1M-element Float32Arrays: pure-JS loops and the tfjs
 * equivalents, each wrapped as a prepared workload `{ run, dispose }` to time.
 */
import { randomArray } from './random.mjs';
import { tf, useBackend } from './tfjs.mjs';

/** @typedef {{ run: () => unknown, dispose: () => void }} Workload */

/** The operations every elementwise baseline offers, in report order. */
export const ELEMENTWISE_OPS = /** @type {const} */ (['add', 'mul', 'sigmoid', 'tanh', 'relu', 'elu', 'softmax']);
/** @typedef {typeof ELEMENTWISE_OPS[number]} ElementwiseOp */

/** Default element count (2^20) and the row width softmax uses on it. */
export const ELEMENTS = 1 << 20;
export const SOFTMAX_COLUMNS = 1024;

/** out = a + b */
export function add(a, b, out) {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** out = a ⊙ b */
export function mul(a, b, out) {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i];
  return out;
}

/** out = 1 / (1 + e^-x) */
export function sigmoid(x, out) {
  for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
  return out;
}

/** out = tanh x */
export function tanh(x, out) {
  for (let i = 0; i < out.length; i++) out[i] = Math.tanh(x[i]);
  return out;
}

/** out = max(x, 0), branch-free: on mixed-sign data a branch mispredicts half the time (6× slower). */
export function relu(x, out) {
  for (let i = 0; i < out.length; i++) {
    const value = x[i];
    out[i] = (value + Math.abs(value)) * 0.5;
  }
  return out;
}

/** out = x for x > 0, alpha·(e^x − 1) otherwise */
export function elu(x, out, alpha = 1) {
  for (let i = 0; i < out.length; i++) out[i] = x[i] > 0 ? x[i] : alpha * (Math.exp(x[i]) - 1);
  return out;
}

/**
 * Row-wise softmax of x [rows, columns] (x.length / columns rows), stabilised by the row maximum.
 * @param {Float32Array} x
 * @param {Float32Array} out
 * @param {number} columns
 */
export function softmaxRows(x, out, columns) {
  for (let start = 0; start < x.length; start += columns) {
    const end = start + columns;
    let max = -Infinity;
    for (let i = start; i < end; i++) if (x[i] > max) max = x[i];
    let sum = 0;
    for (let i = start; i < end; i++) {
      const e = Math.exp(x[i] - max);
      out[i] = e;
      sum += e;
    }
    const inverse = 1 / sum;
    for (let i = start; i < end; i++) out[i] *= inverse;
  }
  return out;
}

/**
 * A pure-JS elementwise op over `elements` random values (softmax over rows of SOFTMAX_COLUMNS).
 * @param {ElementwiseOp} op
 * @param {number} [elements]
 * @returns {Promise<Workload>}
 */
export async function makePureJsElementwise(op, elements = ELEMENTS) {
  const a = randomArray(elements, 1, 4);
  const b = randomArray(elements, 2, 4);
  const out = new Float32Array(elements);
  const runs = {
    add: () => add(a, b, out),
    mul: () => mul(a, b, out),
    sigmoid: () => sigmoid(a, out),
    tanh: () => tanh(a, out),
    relu: () => relu(a, out),
    elu: () => elu(a, out),
    softmax: () => softmaxRows(a, out, SOFTMAX_COLUMNS),
  };
  return { run: runs[op], dispose: () => {} };
}

/**
 * The same op in tfjs on `backend` ('cpu' or 'wasm'); each run allocates and frees its output,
 * as tfjs code does.
 * @param {'cpu' | 'wasm'} backend
 * @param {ElementwiseOp} op
 * @param {number} [elements]
 * @returns {Promise<Workload>}
 */
export async function makeTfjsElementwise(backend, op, elements = ELEMENTS) {
  await useBackend(backend);
  const shape = [elements / SOFTMAX_COLUMNS, SOFTMAX_COLUMNS];
  const a = tf.tensor2d(randomArray(elements, 1, 4), shape);
  const b = tf.tensor2d(randomArray(elements, 2, 4), shape);
  const ops = {
    add: () => tf.add(a, b),
    mul: () => tf.mul(a, b),
    sigmoid: () => tf.sigmoid(a),
    tanh: () => tf.tanh(a),
    relu: () => tf.relu(a),
    elu: () => tf.elu(a),
    softmax: () => tf.softmax(a),
  };
  const compute = ops[op];
  return {
    run: () => compute().dispose(),
    dispose: () => {
      a.dispose();
      b.dispose();
    },
  };
}
