/**
 * Eager tensors with reverse-mode autodiff. A {@link Tensor} is a handle to an f32 tensor in
 * WASM memory; ops (in `ops.ts`) record what `backward()` needs on the instance's tape.
 *
 * Ownership: whoever creates a tensor disposes it — with {@link Tensor.dispose}, or by creating
 * it inside {@link scope}, which disposes everything made inside it except what it returns.
 * A `FinalizationRegistry` frees tensors that are garbage-collected undisposed, but only as a
 * safety net: collection may come late or never. {@link numTensors} counts live tensors so
 * tests can prove there are no leaks.
 *
 * Everything here is synchronous after `await init()`.
 */
import { GradlabError, describe, invalidArgument } from './errors.js';
import { core, type Core } from './wasm.js';

/** The tensor exports of gradlab.wasm (see crates/wasm/src/tensor_abi.rs). */
export interface TensorExports {
  gl_tensor_from(dataPtr: number, len: number, shapePtr: number, rank: number, requiresGrad: number, out: number): number;
  gl_tensor_shape(tensor: number, outDims: number, capacity: number, outRank: number): number;
  gl_tensor_len(tensor: number, outLen: number): number;
  gl_tensor_requires_grad(tensor: number, out: number): number;
  gl_tensor_read(tensor: number, outData: number, len: number): number;
  gl_tensor_write(tensor: number, dataPtr: number, len: number): number;
  gl_tensor_free(tensor: number): number;
  gl_tensor_count(): number;
  gl_tape_node_count(): number;
  gl_backward(loss: number): number;
  gl_tensor_grad(tensor: number, out: number): number;
  gl_tensor_zero_grad(tensor: number): number;
  gl_op_binary(kind: number, a: number, b: number, out: number): number;
  gl_op_unary(kind: number, alpha: number, x: number, out: number): number;
  gl_op_matmul(a: number, b: number, transposeA: number, transposeB: number, out: number): number;
  gl_op_reduce(kind: number, x: number, hasAxis: number, axis: number, keepdim: number, out: number): number;
  gl_op_loss(kind: number, prediction: number, target: number, out: number): number;
  gl_op_softmax_cross_entropy(logits: number, labelsPtr: number, labelsLen: number, out: number): number;
  gl_op_recurrent(cell: number, x: number, weightIh: number, weightHh: number, biasIh: number, biasHh: number, h0: number, c0: number, out: number): number;
}

/** The most dimensions a tensor may have (the core's `MAX_RANK`). */
export const MAX_RANK = 8;

/** Slots of the per-instance scratch buffer (u32 each). */
const SLOT_OUT = 0;
const SLOT_RANK = 1;
const SLOT_DIMS = 2;
const SCRATCH_SLOTS = SLOT_DIMS + MAX_RANK;

/** The loaded instance with its tensor exports and a scratch buffer for out-parameters. */
interface Runtime {
  core: Core;
  fns: TensorExports & Core['exports'];
  /** Address of SCRATCH_SLOTS u32 slots, allocated once: memory growth never moves it. */
  scratch: number;
}

const runtimes = new WeakMap<Core, Runtime>();

/** @internal The runtime of the loaded instance. */
export function runtime(): Runtime {
  const loaded = core();
  let found = runtimes.get(loaded);
  if (!found) {
    found = { core: loaded, fns: loaded.fns<TensorExports>(), scratch: loaded.alloc(SCRATCH_SLOTS * 4) };
    runtimes.set(loaded, found);
  }
  return found;
}

/** Slot `index` of the scratch buffer, read through a fresh view. */
function scratchSlot(rt: Runtime, index: number): number {
  return new Uint32Array(rt.core.exports.memory.buffer, rt.scratch, SCRATCH_SLOTS)[index];
}

/**
 * @internal Runs an export that creates a tensor and writes its handle to `out`; returns the
 * new tensor (tracked by the current scope), or throws the instance's typed error.
 */
export function tensorFromCall(call: (fns: TensorExports, out: number) => number): Tensor {
  const rt = runtime();
  rt.core.check(call(rt.fns, rt.scratch + SLOT_OUT * 4));
  return adopt(rt, scratchSlot(rt, SLOT_OUT));
}

/**
 * @internal Like {@link tensorFromCall} for an export that writes `count` handles (at most 8)
 * to `out`; returns their tensors in order, `null` where it wrote 0.
 */
export function tensorsFromCall(count: number, call: (fns: TensorExports, out: number) => number): (Tensor | null)[] {
  const rt = runtime();
  rt.core.check(call(rt.fns, rt.scratch + SLOT_OUT * 4));
  // Read every handle before adopt() reuses the slots after the first for shapes.
  const handles = Array.from({ length: count }, (_, index) => scratchSlot(rt, SLOT_OUT + index));
  return handles.map((handle) => (handle === 0 ? null : adopt(rt, handle)));
}

/** A {@link Tensor} for a handle the instance just created, tracked by the current scope. */
function adopt(rt: Runtime, handle: number): Tensor {
  rt.core.check(rt.fns.gl_tensor_shape(handle, rt.scratch + SLOT_DIMS * 4, MAX_RANK, rt.scratch + SLOT_RANK * 4));
  const rank = scratchSlot(rt, SLOT_RANK);
  const shape = Object.freeze(Array.from({ length: rank }, (_, d) => scratchSlot(rt, SLOT_DIMS + d)));
  const tensor = new Tensor(rt, handle, shape, TOKEN);
  registry.register(tensor, { rt, handle }, tensor);
  scopes[scopes.length - 1]?.add(tensor);
  return tensor;
}

/** Frees tensors that were garbage-collected without `dispose()`: a safety net only. */
const registry = new FinalizationRegistry<{ rt: Runtime; handle: number }>(({ rt, handle }) => {
  rt.fns.gl_tensor_free(handle);
});

/** Guards the constructor: tensors come from {@link tensor} and the ops. */
const TOKEN = Symbol('gradlab.tensor');

/** Bumped by every `backward()` and `zeroGrad()`, which may change any tensor's gradient. */
let gradGeneration = 0;

/** An f32 tensor in WASM memory. Create with {@link tensor} or an op; free with {@link dispose}. */
export class Tensor {
  /** Dimensions, row-major; `[]` for a scalar. */
  readonly shape: readonly number[];
  readonly #rt: Runtime;
  #handle: number;
  #requiresGrad: boolean | undefined;
  #grad: { tensor: Tensor | null; generation: number } | undefined;

  /** @internal Use {@link tensor} or an op. */
  constructor(rt: Runtime, handle: number, shape: readonly number[], token: symbol) {
    if (token !== TOKEN) throw new TypeError('gradlab: create tensors with tensor() or an op');
    this.#rt = rt;
    this.#handle = handle;
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
    return this.#handle === 0;
  }

  /** @internal The instance's id of this tensor; throws `Disposed` if it was disposed. */
  handle(op: string, arg = 'tensor'): number {
    if (this.#handle === 0) {
      throw new GradlabError({ code: 'Disposed', op, arg, message: `${op}: '${arg}' is a disposed tensor` });
    }
    return this.#handle;
  }

  /** Whether `backward()` computes a gradient for this tensor (set on leaves, inherited by op outputs). */
  get requiresGrad(): boolean {
    if (this.#requiresGrad === undefined) {
      const rt = this.#rt;
      rt.core.check(rt.fns.gl_tensor_requires_grad(this.handle('requiresGrad'), rt.scratch + SLOT_OUT * 4));
      this.#requiresGrad = scratchSlot(rt, SLOT_OUT) === 1;
    }
    return this.#requiresGrad;
  }

  /** A copy of the values, row-major. */
  data(): Float32Array {
    const handle = this.handle('data');
    const size = this.size;
    const { values } = this.#rt.core.withOut(size, (ptr) => this.#rt.core.check(this.#rt.fns.gl_tensor_read(handle, ptr, size)));
    return values;
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
    const handle = this.handle('assign');
    const rt = this.#rt;
    rt.core.withStaged(values, (ptr, len) => rt.core.check(rt.fns.gl_tensor_write(handle, ptr, len)));
  }

  /**
   * Accumulates ∂this/∂t into `t.grad` for every live tensor `t` that requires a gradient.
   * This tensor must hold one element (a loss). Calling it again accumulates again.
   */
  backward(): void {
    const rt = this.#rt;
    rt.core.check(rt.fns.gl_backward(this.handle('backward', 'loss')));
    gradGeneration += 1;
  }

  /**
   * The accumulated gradient (same shape), or `null` before any `backward()` reached this
   * tensor. The returned tensor belongs to this one: it is replaced after the next
   * `backward()` or `zeroGrad()` and disposed with this tensor; scopes do not track it.
   */
  get grad(): Tensor | null {
    const handle = this.handle('grad');
    const cached = this.#grad;
    if (cached && cached.generation === gradGeneration && !cached.tensor?.isDisposed) return cached.tensor;
    cached?.tensor?.dispose();
    const rt = this.#rt;
    rt.core.check(rt.fns.gl_tensor_grad(handle, rt.scratch + SLOT_OUT * 4));
    const gradHandle = scratchSlot(rt, SLOT_OUT);
    const tensor = gradHandle === 0 ? null : untracked(() => adopt(rt, gradHandle));
    this.#grad = { tensor, generation: gradGeneration };
    return tensor;
  }

  /** Forgets the accumulated gradient. */
  zeroGrad(): void {
    const rt = this.#rt;
    rt.core.check(rt.fns.gl_tensor_zero_grad(this.handle('zeroGrad')));
    gradGeneration += 1;
  }

  /** Frees the tensor (and its cached gradient). Safe to call more than once. */
  dispose(): void {
    if (this.#handle === 0) return;
    this.#grad?.tensor?.dispose();
    this.#grad = undefined;
    registry.unregister(this);
    this.#rt.core.check(this.#rt.fns.gl_tensor_free(this.#handle));
    this.#handle = 0;
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
  if (!Array.isArray(dims) || dims.length > MAX_RANK) {
    invalidArgument(op, 'shape', `an array of at most ${MAX_RANK} dimensions`, describe(dims));
  }
  // The ABI reads dimensions as i32: anything else would be truncated silently.
  for (const dim of dims) {
    if (!Number.isInteger(dim) || dim < 0 || dim > 0x7fffffff) {
      invalidArgument(op, 'shape', 'integer dimensions in [0, 2^31)', `[${dims.join(', ')}]`);
    }
  }
  const requiresGrad = options.requiresGrad ?? false;
  if (typeof requiresGrad !== 'boolean') invalidArgument(op, 'requiresGrad', 'a boolean', describe(requiresGrad));
  const rt = runtime();
  return rt.core.withStaged(dims, (shapePtr, rank) =>
    rt.core.withStaged(flat.data, (dataPtr, len) =>
      tensorFromCall((fns, out) => fns.gl_tensor_from(dataPtr, len, shapePtr, rank, requiresGrad ? 1 : 0, out)),
    ),
  'i32');
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
  return runtime().fns.gl_tensor_count();
}
