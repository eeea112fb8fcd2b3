/**
 * Eager ops on {@link Tensor}s. Each returns a new tensor (tracked by the current
 * {@link scope}) and records on the tape what `backward()` needs when an input requires a
 * gradient. Ops cross to the core by their public names; the core checks shapes and values,
 * and a mismatch throws a `GradlabError` with code `ShapeMismatch` naming the op, the
 * argument, and the expected and actual shapes.
 */
import type { TensorCore } from '../../pkg/gradlab.js';
import { describe, invalidArgument } from '../runtime/errors.js';
import { made, madeMany, tensor, Tensor } from './tensor.js';
import { core } from '../runtime/wasm.js';

/** A tensor, or a number used as a scalar `[]` tensor. */
export type Operand = Tensor | number;

/** The instance's object for `value`, which must be a live {@link Tensor}. */
function bindingOf(op: string, arg: string, value: unknown): TensorCore {
  if (!(value instanceof Tensor)) invalidArgument(op, arg, 'a Tensor', describe(value));
  return value.binding(op, arg);
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

function binary(op: 'add' | 'sub' | 'mul' | 'div', a: Operand, b: Operand): Tensor {
  return withOperand(op, 'a', a, (left) =>
    withOperand(op, 'b', b, (right) => {
      const [x, y] = [bindingOf(op, 'a', left), bindingOf(op, 'b', right)];
      return made(() => x.binary(op, y));
    }),
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

/** `op` of `x`, with the parameter `alpha` (pow's exponent, a slope or a scale) or the core's default. */
function unary(op: string, x: Tensor, alpha?: number, arg = 'alpha'): Tensor {
  if (alpha !== undefined && typeof alpha !== 'number') invalidArgument(op, arg, 'a number', describe(alpha));
  const input = bindingOf(op, 'x', x);
  return made(() => input.unary(op, alpha));
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
  return unary('pow', x, exponent, 'exponent');
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
export function leakyRelu(x: Tensor, alpha?: number): Tensor {
  return unary('leakyRelu', x, alpha);
}

/** `x` for `x > 0`, else `alpha·(eˣ − 1)` (default 1). */
export function elu(x: Tensor, alpha?: number): Tensor {
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
  const [left, right] = [bindingOf('matmul', 'a', a), bindingOf('matmul', 'b', b)];
  return made(() => left.matmul(right, Boolean(options.transposeA), Boolean(options.transposeB)));
}

export interface ReduceOptions {
  /** Reduce along this axis only (negative counts from the end); default: all elements. */
  axis?: number;
  /** Keep reduced dimensions with size 1 (default false: drop them; all elements → `[]`). */
  keepdim?: boolean;
}

function reduce(op: 'sum' | 'mean', x: Tensor, options: ReduceOptions): Tensor {
  const { axis, keepdim = false } = options;
  if (axis !== undefined && typeof axis !== 'number') invalidArgument(op, 'axis', 'an integer', describe(axis));
  const input = bindingOf(op, 'x', x);
  return made(() => input.reduce(op, axis, Boolean(keepdim)));
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
  const [input, wanted] = [bindingOf('mseLoss', 'prediction', prediction), bindingOf('mseLoss', 'target', target)];
  return made(() => input.loss('mse', wanted));
}

/**
 * Cross-entropy of `softmax(logits)` against class indices: logits `[B, C]`, `labels` B
 * integers in `[0, C)`; the mean over the batch, computed stably; returns `[]`.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array | readonly number[]): Tensor {
  const op = 'softmaxCrossEntropy';
  const input = bindingOf(op, 'logits', logits);
  // Labels cross as doubles: the core checks that they are class indices before narrowing.
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) invalidArgument(op, 'labels', 'an Int32Array or an array of integers', describe(labels));
  const classes = core().f64Arg(op, 'labels', labels);
  return made(() => input.softmaxCrossEntropy(classes));
}

/**
 * Binary cross-entropy of `sigmoid(logits)` against `targets` in [0, 1] of the same shape:
 * summed over outputs and averaged over the batch (the first dimension), Nielsen's cost,
 * computed stably as `max(x, 0) − x·y + log(1 + e^−|x|)`; returns `[]`.
 */
export function sigmoidCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  const op = 'sigmoidCrossEntropy';
  const [input, wanted] = [bindingOf(op, 'logits', logits), bindingOf(op, 'targets', targets)];
  return made(() => input.loss('sigmoidCrossEntropy', wanted));
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

function recurrent(op: 'rnn' | 'lstm', x: Tensor, params: RecurrentParams, options: LstmOptions): Tensor[] {
  if (params === null || typeof params !== 'object') invalidArgument(op, 'params', '{ weightIh, weightHh, biasIh, biasHh }', describe(params));
  if (options === null || typeof options !== 'object') invalidArgument(op, 'options', op === 'rnn' ? '{ h0? }' : '{ h0?, c0? }', describe(options));
  const optional = (arg: 'h0' | 'c0') => (options[arg] === undefined ? undefined : bindingOf(op, arg, options[arg]));
  const input = bindingOf(op, 'x', x);
  const weights = [bindingOf(op, 'weightIh', params.weightIh), bindingOf(op, 'weightHh', params.weightHh), bindingOf(op, 'biasIh', params.biasIh), bindingOf(op, 'biasHh', params.biasHh)] as const;
  const [h0, c0] = [optional('h0'), optional('c0')];
  // The initial states cross as shares of the caller's tensors, which the call consumes.
  return madeMany(() => input.recurrent(op, ...weights, h0?.share(), c0?.share()));
}

/**
 * PyTorch's `nn.RNN(I, H, batch_first=True)` over `x` `[B, T, I]`: `h_t = tanh(x_t·W_ihᵀ + b_ih
 * + h_{t−1}·W_hhᵀ + b_hh)` from `h0` (default zeros). Gradients reach `x`, every parameter and
 * `h0`, through `output` and `h` alike. Throws `ShapeMismatch` naming the argument whose
 * shape does not fit (e.g. `weightIh` must be `[H, I]`).
 */
export function rnn(x: Tensor, params: RecurrentParams, options: RnnOptions = {}): RnnResult {
  const [output, h] = recurrent('rnn', x, params, options);
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
  const [output, h, c] = recurrent('lstm', x, params, options);
  return { output, h, c };
}
