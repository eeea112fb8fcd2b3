/**
 * Eager tensors with reverse-mode autodiff. A {@link Tensor} owns a `TensorCore`, an f32
 * tensor in WASM memory on the instance's tape (crates/wasm/src/tensors.rs); ops (in
 * `ops.ts`) record there what `backward()` needs.
 *
 * Ownership: whoever creates a tensor disposes it — with {@link Tensor.dispose}, or by creating
 * it inside {@link scope}, which disposes everything made inside it except what it returns.
 * The glue's `FinalizationRegistry` frees tensors that are garbage-collected undisposed, but
 * only as a safety net: collection may come late or never. {@link numTensors} counts live
 * tensors so tests can prove there are no leaks.
 *
 * Everything here is synchronous after `await init()`.
 */
import type { TensorCore } from '../../pkg/gradlab.js';
import { GradlabError, describe, invalidArgument } from '../runtime/errors.js';
import { core, type Bindings, type Core } from '../runtime/wasm.js';

/**
 * @internal Runs `body`, a call into the bindings that makes a tensor, and returns it as a
 * {@link Tensor} tracked by the current scope.
 */
export function made(body: (bindings: Bindings) => TensorCore): Tensor {
  const loaded = core();
  return adopt(loaded, loaded.call(body));
}

/** @internal Like {@link made} for a call that makes several tensors. */
export function madeMany(body: (bindings: Bindings) => TensorCore[]): Tensor[] {
  const loaded = core();
  return loaded.call(body).map((inner) => adopt(loaded, inner));
}

/** A {@link Tensor} for a `TensorCore` the instance just made, tracked by the current scope. */
function adopt(loaded: Core, inner: TensorCore): Tensor {
  const shape = Object.freeze(Array.from(loaded.call(() => inner.shape())));
  const tensor = new Tensor(loaded, inner, shape, TOKEN);
  scopes[scopes.length - 1]?.add(tensor);
  return tensor;
}

/** Guards the constructor: tensors come from {@link tensor} and the ops. */
const TOKEN = Symbol('gradlab.tensor');

/** Bumped by every `backward()` and `zeroGrad()`, which may change any tensor's gradient. */
let gradGeneration = 0;

/** An f32 tensor in WASM memory. Create with {@link tensor} or an op; free with {@link dispose}. */
export class Tensor {
  /** Dimensions, row-major; `[]` for a scalar. */
  readonly shape: readonly number[];
  readonly #core: Core;
  #inner: TensorCore | undefined;
  #requiresGrad: boolean | undefined;
  #grad: { tensor: Tensor | null; generation: number } | undefined;

  /** @internal Use {@link tensor} or an op. */
  constructor(loaded: Core, inner: TensorCore, shape: readonly number[], token: symbol) {
    if (token !== TOKEN) throw new TypeError('gradlab: create tensors with tensor() or an op');
    this.#core = loaded;
    this.#inner = inner;
    this.shape = shape;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((product, dim) => product * dim, 1);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.#inner === undefined;
  }

  /** @internal The instance's object for this tensor; throws `Disposed` if it was disposed. */
  binding(op: string, arg = 'tensor'): TensorCore {
    if (this.#inner === undefined) {
      throw new GradlabError({ code: 'Disposed', op, arg, message: `${op}: '${arg}' is a disposed tensor` });
    }
    return this.#inner;
  }

  /** Whether `backward()` computes a gradient for this tensor (set on leaves, inherited by op outputs). */
  get requiresGrad(): boolean {
    if (this.#requiresGrad === undefined) {
      const inner = this.binding('requiresGrad');
      this.#requiresGrad = this.#core.call(() => inner.requiresGrad());
    }
    return this.#requiresGrad;
  }

  /** A copy of the values, row-major. */
  data(): Float32Array {
    const inner = this.binding('data');
    return this.#core.call(() => inner.data());
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) invalidArgument('item', 'tensor', 'a tensor with one element', `shape [${this.shape.join(', ')}]`);
    return this.data()[0];
  }

  /**
   * Overwrites the values (same element count) outside autograd, as an optimiser step does.
   * Ops recorded earlier keep the old values for their backward pass.
   */
  assign(values: ArrayLike<number>): void {
    const inner = this.binding('assign');
    const data = this.#core.f32Arg('assign', 'values', values);
    this.#core.call(() => inner.assign(data));
  }

  /**
   * Accumulates ∂this/∂t into `t.grad` for every live tensor `t` that requires a gradient.
   * This tensor must hold one element (a loss). Calling it again accumulates again.
   */
  backward(): void {
    const inner = this.binding('backward', 'loss');
    this.#core.call(() => inner.backward());
    gradGeneration += 1;
  }

  /**
   * The accumulated gradient (same shape), or `null` before any `backward()` reached this
   * tensor. The returned tensor belongs to this one: it is replaced after the next
   * `backward()` or `zeroGrad()` and disposed with this tensor; scopes do not track it.
   */
  get grad(): Tensor | null {
    const inner = this.binding('grad');
    const cached = this.#grad;
    if (cached && cached.generation === gradGeneration && !cached.tensor?.isDisposed) return cached.tensor;
    cached?.tensor?.dispose();
    const gradient = this.#core.call(() => inner.grad());
    const tensor = gradient === undefined ? null : untracked(() => adopt(this.#core, gradient));
    this.#grad = { tensor, generation: gradGeneration };
    return tensor;
  }

  /** Forgets the accumulated gradient. */
  zeroGrad(): void {
    const inner = this.binding('zeroGrad');
    this.#core.call(() => inner.zeroGrad());
    gradGeneration += 1;
  }

  /** Frees the tensor (and its cached gradient). Safe to call more than once. */
  dispose(): void {
    const inner = this.#inner;
    if (inner === undefined) return;
    this.#grad?.tensor?.dispose();
    this.#grad = undefined;
    this.#inner = undefined;
    this.#core.call(() => inner.free());
  }

  toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor(shape=[${this.shape.join(', ')}])`;
  }
}

/** Values for {@link tensor}: a number, a flat array of numbers, or nested arrays. */
export type TensorValues = number | ArrayLike<number> | NestedArray;
export interface NestedArray extends ReadonlyArray<number | NestedArray> {}

export interface TensorOptions {
  /** Accumulate a gradient for this tensor in `backward()` (default false). */
  requiresGrad?: boolean;
}

/**
 * A new tensor. `values` is a number (shape `[]`), a flat array (shape `[length]` unless
 * given), or nested arrays (their shape). With `shape`, `values` is read row-major and must
 * hold exactly its number of elements.
 */
export function tensor(values: TensorValues, shape?: readonly number[], options: TensorOptions = {}): Tensor {
  const op = 'tensor';
  const flat = flatten(values);
  const dims = shape ?? flat.shape;
  // Only the structure is checked here; the core checks the dimensions and the rank.
  if (!Array.isArray(dims)) invalidArgument(op, 'shape', 'an array of dimensions', describe(dims));
  const requiresGrad = options.requiresGrad ?? false;
  if (typeof requiresGrad !== 'boolean') invalidArgument(op, 'requiresGrad', 'a boolean', describe(requiresGrad));
  const loaded = core();
  const data = loaded.f32Arg(op, 'values', flat.data);
  const dimensions = loaded.f64Arg(op, 'shape', dims);
  return made((bindings) => new bindings.TensorCore(data, dimensions, requiresGrad));
}

/** `values` as flat data with the shape its nesting implies. */
function flatten(values: TensorValues): { data: ArrayLike<number>; shape: number[] } {
  if (typeof values === 'number') return { data: [values], shape: [] };
  if (!Array.isArray(values)) {
    if (values === null || typeof values !== 'object' || typeof (values as ArrayLike<number>).length !== 'number') {
      invalidArgument('tensor', 'values', 'a number, an array of numbers or nested arrays', describe(values));
    }
    return { data: values as ArrayLike<number>, shape: [(values as ArrayLike<number>).length] };
  }
  const shape: number[] = [];
  for (let level: unknown = values; Array.isArray(level); level = level[0]) shape.push(level.length);
  const data: number[] = [];
  const visit = (item: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof item !== 'number') invalidArgument('tensor', 'values', 'numbers at the innermost level', describe(item));
      data.push(item);
      return;
    }
    if (!Array.isArray(item) || item.length !== shape[depth]) {
      invalidArgument('tensor', 'values', `nested arrays of shape [${shape.join(', ')}] (not ragged)`, describe(item));
    }
    for (const inner of item) visit(inner, depth + 1);
  };
  visit(values, 0);
  return { data, shape };
}

/** The open scopes, innermost last: each holds the tensors created while it was innermost. */
const scopes: Set<Tensor>[] = [];

/**
 * Runs `body` and disposes every tensor created inside it except those it returns (a tensor,
 * or tensors anywhere in returned arrays and plain objects); those move to the enclosing
 * scope. If `body` throws, everything it created is disposed. `body` must be synchronous.
 */
export function scope<T>(body: () => T): T {
  const made = new Set<Tensor>();
  scopes.push(made);
  let result: T;
  try {
    result = body();
  } catch (error) {
    scopes.pop();
    for (const tensor of made) tensor.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const tensor of made) tensor.dispose();
    invalidArgument('scope', 'body', 'a synchronous function', 'a function that returned a Promise');
  }
  const returned = new Set<Tensor>();
  collectTensors(result, returned);
  for (const tensor of made) {
    if (returned.has(tensor)) scopes[scopes.length - 1]?.add(tensor);
    else tensor.dispose();
  }
  return result;
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) {
    into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectTensors(item, into);
  } else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectTensors(item, into);
  }
}

/** Runs `make` with no scope open, so the tensor it creates outlives the current scopes. */
function untracked<T>(make: () => T): T {
  const saved = scopes.splice(0, scopes.length);
  try {
    return make();
  } finally {
    scopes.push(...saved);
  }
}

/** Removes `tensor` from every open scope so that none disposes it; returns it. */
export function keep<T extends Tensor>(tensor: T): T {
  for (const made of scopes) made.delete(tensor);
  return tensor;
}

/** The number of live tensors in the instance (tensors and gradients not yet disposed). */
export function numTensors(): number {
  return core().call((bindings) => bindings.numTensors());
}
