/**
 * Eager ops on {@link Tensor}s. Each returns a new tensor (tracked by the current
 * {@link scope}) and records on the tape what `backward()` needs when an input requires a
 * gradient. Shapes are checked by the core; a mismatch throws a `GradlabError` with code
 * `ShapeMismatch` naming the op, the argument, and the expected and actual shapes.
 *
 * Kind codes mirror crates/wasm/src/tensor_abi.rs.
 */
import { describe, invalidArgument } from './errors.js';
import { runtime, tensor, Tensor, tensorFromCall, tensorsFromCall } from './tensor.js';

/** A tensor, or a number used as a scalar `[]` tensor. */
export type Operand = Tensor | number;

const BINARY = { add: 0, sub: 1, mul: 2, div: 3 } as const;
const UNARY = {
  exp: 0,
  log: 1,
  sqrt: 2,
  square: 3,
  pow: 4,
  sigmoid: 5,
  tanh: 6,
  relu: 7,
  leakyRelu: 8,
  elu: 9,
  softmax: 10,
  logSoftmax: 11,
} as const;
const REDUCE = { sum: 0, mean: 1 } as const;
const LOSS = { mseLoss: 0, sigmoidCrossEntropy: 1 } as const;
const CELL = { rnn: 0, lstm: 1 } as const;

/** The handle of `value`, which must be a live {@link Tensor}. */
function handleOf(op: string, arg: string, value: unknown): number {
  if (!(value instanceof Tensor)) invalidArgument(op, arg, 'a Tensor', describe(value));
  return value.handle(op, arg);
}

/** Runs `body` with `operand` as a tensor, disposing the scalar tensor made for a number. */
function withOperand<T>(op: string, arg: string, operand: Operand, body: (x: Tensor) => T): T {
  if (operand instanceof Tensor) return body(operand);
  if (typeof operand !== 'number') invalidArgument(op, arg, 'a Tensor or a number', describe(operand));
  const scalar = tensor(operand);
  try {
    return body(scalar);
  } finally {
    scalar.dispose();
  }
}

function binary(op: keyof typeof BINARY, a: Operand, b: Operand): Tensor {
  return withOperand(op, 'a', a, (left) =>
    withOperand(op, 'b', b, (right) => tensorFromCall((fns, out) => fns.gl_op_binary(BINARY[op], handleOf(op, 'a', left), handleOf(op, 'b', right), out))),
  );
}

/** `a + b` elementwise, broadcasting as NumPy does (e.g. `[m, n] + [n]`, `x + 1`). */
export function add(a: Operand, b: Operand): Tensor {
  return binary('add', a, b);
}

/** `a − b` elementwise, with broadcasting. */
export function sub(a: Operand, b: Operand): Tensor {
  return binary('sub', a, b);
}

/** `a ⊙ b` elementwise, with broadcasting. */
export function mul(a: Operand, b: Operand): Tensor {
  return binary('mul', a, b);
}

/** `a / b` elementwise, with broadcasting. */
export function div(a: Operand, b: Operand): Tensor {
  return binary('div', a, b);
}

function unary(op: keyof typeof UNARY, x: Tensor, alpha = 0): Tensor {
  if (typeof alpha !== 'number') invalidArgument(op, 'alpha', 'a number', describe(alpha));
  return tensorFromCall((fns, out) => fns.gl_op_unary(UNARY[op], alpha, handleOf(op, 'x', x), out));
}

/** `eˣ` elementwise. */
export function exp(x: Tensor): Tensor {
  return unary('exp', x);
}

/** Natural logarithm elementwise (`log(0)` is −∞, negative inputs give NaN, as in PyTorch). */
export function log(x: Tensor): Tensor {
  return unary('log', x);
}

/** `√x` elementwise. */
export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', x);
}

/** `x²` elementwise. */
export function square(x: Tensor): Tensor {
  return unary('square', x);
}

/** `x^exponent` elementwise for a finite scalar exponent. */
export function pow(x: Tensor, exponent: number): Tensor {
  return unary('pow', x, exponent);
}

/** `1 / (1 + e^−x)` elementwise. */
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x);
}

/** Hyperbolic tangent elementwise. */
export function tanh(x: Tensor): Tensor {
  return unary('tanh', x);
}

/** `max(x, 0)` elementwise. */
export function relu(x: Tensor): Tensor {
  return unary('relu', x);
}

/** `x` for `x > 0`, else `alpha·x` (default slope 0.01, as PyTorch). */
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  return unary('leakyRelu', x, alpha);
}

/** `x` for `x > 0`, else `alpha·(eˣ − 1)` (default 1). */
export function elu(x: Tensor, alpha = 1): Tensor {
  return unary('elu', x, alpha);
}

/** Softmax over the last axis (max-subtracted, stable). */
export function softmax(x: Tensor): Tensor {
  return unary('softmax', x);
}

/** Log-softmax over the last axis (stable). */
export function logSoftmax(x: Tensor): Tensor {
  return unary('logSoftmax', x);
}

export interface MatmulOptions {
  /** Use `aᵀ`: `a` is stored `[k, m]`. */
  transposeA?: boolean;
  /** Use `bᵀ`: `b` is stored `[n, k]`. */
  transposeB?: boolean;
}

/** The matrix product `op(a) · op(b)` of 2-D tensors: `[m, k] · [k, n] → [m, n]`. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transposeA = options.transposeA ? 1 : 0;
  const transposeB = options.transposeB ? 1 : 0;
  return tensorFromCall((fns, out) => fns.gl_op_matmul(handleOf('matmul', 'a', a), handleOf('matmul', 'b', b), transposeA, transposeB, out));
}

export interface ReduceOptions {
  /** Reduce along this axis only (negative counts from the end); default: all elements. */
  axis?: number;
  /** Keep reduced dimensions with size 1 (default false: drop them; all elements → `[]`). */
  keepdim?: boolean;
}

function reduce(op: keyof typeof REDUCE, x: Tensor, options: ReduceOptions): Tensor {
  const { axis, keepdim = false } = options;
  // The ABI takes the axis as i32: a fraction or a huge number would be truncated silently.
  if (axis !== undefined && (!Number.isInteger(axis) || Math.abs(axis) > 0x7fffffff)) {
    invalidArgument(op, 'axis', 'an integer', describe(axis));
  }
  const handle = handleOf(op, 'x', x);
  return tensorFromCall((fns, out) => fns.gl_op_reduce(REDUCE[op], handle, axis === undefined ? 0 : 1, axis ?? 0, keepdim ? 1 : 0, out));
}

/** The sum of all elements (`[]`), or along `axis`. */
export function sum(x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('sum', x, options);
}

/** The mean of all elements (`[]`), or along `axis`. */
export function mean(x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('mean', x, options);
}

/** Mean squared error over all elements (PyTorch's `MSELoss`); equal shapes; returns `[]`. */
export function mseLoss(prediction: Tensor, target: Tensor): Tensor {
  return tensorFromCall((fns, out) => fns.gl_op_loss(LOSS.mseLoss, handleOf('mseLoss', 'prediction', prediction), handleOf('mseLoss', 'target', target), out));
}

/**
 * Cross-entropy of `softmax(logits)` against class indices: logits `[B, C]`, `labels` B
 * integers in `[0, C)`; the mean over the batch, computed stably; returns `[]`.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array | readonly number[]): Tensor {
  const op = 'softmaxCrossEntropy';
  const handle = handleOf(op, 'logits', logits);
  // Staging converts to i32, which would truncate fractions and wrap huge values silently.
  if (!(labels instanceof Int32Array)) {
    if (!Array.isArray(labels)) invalidArgument(op, 'labels', 'an Int32Array or an array of integers', describe(labels));
    const bad = labels.find((label) => !Number.isInteger(label) || Math.abs(label) > 0x7fffffff);
    if (bad !== undefined) invalidArgument(op, 'labels', 'integer class indices', describe(bad));
  }
  const { core } = runtime();
  return core.withStaged(labels, (ptr, len) => tensorFromCall((fns, out) => fns.gl_op_softmax_cross_entropy(handle, ptr, len, out)), 'i32');
}

/**
 * Binary cross-entropy of `sigmoid(logits)` against `targets` in [0, 1] of the same shape:
 * summed over outputs and averaged over the batch (the first dimension), Nielsen's cost,
 * computed stably as `max(x, 0) − x·y + log(1 + e^−|x|)`; returns `[]`.
 */
export function sigmoidCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  const op = 'sigmoidCrossEntropy';
  return tensorFromCall((fns, out) => fns.gl_op_loss(LOSS.sigmoidCrossEntropy, handleOf(op, 'logits', logits), handleOf(op, 'targets', targets), out));
}

/**
 * The parameters of {@link rnn} and {@link lstm} in PyTorch's layout, the names of a model's
 * state dict (`<name>.weight_ih` …), with G = H for `rnn` and 4H for `lstm` (gates i, f, g, o).
 */
export interface RecurrentParams {
  /** `[G, I]`. */
  weightIh: Tensor;
  /** `[G, H]`. */
  weightHh: Tensor;
  /** `[G]`. */
  biasIh: Tensor;
  /** `[G]`. */
  biasHh: Tensor;
}

export interface RnnOptions {
  /** The hidden state before the first step, `[B, H]` (default zeros). */
  h0?: Tensor;
}

export interface LstmOptions extends RnnOptions {
  /** The cell state before the first step, `[B, H]` (default zeros). */
  c0?: Tensor;
}

export interface RnnResult {
  /** Every step's hidden state, `[B, T, H]`. */
  output: Tensor;
  /** The last hidden state, `[B, H]` (also the last step of `output`). */
  h: Tensor;
}

export interface LstmResult extends RnnResult {
  /** The last cell state, `[B, H]`. */
  c: Tensor;
}

function recurrent(op: keyof typeof CELL, x: Tensor, params: RecurrentParams, options: LstmOptions): (Tensor | null)[] {
  if (params === null || typeof params !== 'object') invalidArgument(op, 'params', '{ weightIh, weightHh, biasIh, biasHh }', describe(params));
  if (options === null || typeof options !== 'object') invalidArgument(op, 'options', op === 'rnn' ? '{ h0? }' : '{ h0?, c0? }', describe(options));
  if (op === 'rnn' && options.c0 !== undefined) invalidArgument(op, 'c0', 'no initial cell state (an rnn has none; use lstm)', describe(options.c0));
  const optional = (arg: 'h0' | 'c0') => (options[arg] === undefined ? 0 : handleOf(op, arg, options[arg]));
  const handles = [
    handleOf(op, 'x', x),
    handleOf(op, 'weightIh', params.weightIh),
    handleOf(op, 'weightHh', params.weightHh),
    handleOf(op, 'biasIh', params.biasIh),
    handleOf(op, 'biasHh', params.biasHh),
    optional('h0'),
    optional('c0'),
  ] as const;
  return tensorsFromCall(3, (fns, out) => fns.gl_op_recurrent(CELL[op], ...handles, out));
}

/**
 * PyTorch's `nn.RNN(I, H, batch_first=True)` over `x` `[B, T, I]`: `h_t = tanh(x_t·W_ihᵀ + b_ih
 * + h_{t−1}·W_hhᵀ + b_hh)` from `h0` (default zeros). Gradients reach `x`, every parameter and
 * `h0`, through `output` and `h` alike. Throws `ShapeMismatch` naming the argument whose
 * shape does not fit (e.g. `weightIh` must be `[H, I]`).
 */
export function rnn(x: Tensor, params: RecurrentParams, options: RnnOptions = {}): RnnResult {
  const [output, h] = recurrent('rnn', x, params, options) as Tensor[];
  return { output, h };
}

/**
 * PyTorch's `nn.LSTM(I, H, batch_first=True)` over `x` `[B, T, I]` from `h0` and `c0` (default
 * zeros): gates `i, f, g, o = σ, σ, tanh, σ` of `x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh`,
 * `c_t = f ⊙ c_{t−1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`. Gradients reach `x`, every parameter,
 * `h0` and `c0`, through `output`, `h` and `c` alike (so a long sequence can be fed in
 * chunks, each starting from the last one's `h` and `c`).
 */
export function lstm(x: Tensor, params: RecurrentParams, options: LstmOptions = {}): LstmResult {
  const [output, h, c] = recurrent('lstm', x, params, options) as Tensor[];
  return { output, h, c };
}
