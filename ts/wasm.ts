/**
 * Loads gradlab.wasm once per thread and owns the glue every other module uses: staging data
 * into WASM memory, reading results back, and turning status codes into {@link GradlabError}s.
 *
 * Views of WASM memory are never kept across calls: memory can grow during any call that
 * allocates, which detaches every existing `Float32Array` view, so each helper re-creates
 * its view after the call.
 */
import { GradlabError, describe, invalidArgument, type GradlabErrorData } from './errors.js';

/** The exports every module relies on; modules declare the rest they use themselves. */
export interface BaseExports {
  memory: WebAssembly.Memory;
  gl_alloc(bytes: number): number;
  gl_free(ptr: number, bytes: number): void;
  gl_last_error_ptr(): number;
  gl_last_error_len(): number;
}

/** Where to find the wasm: bytes, a compiled module, or a URL. Defaults to the packaged file. */
export type WasmSource = BufferSource | WebAssembly.Module | URL | string;

/** The loaded instance and its glue. */
export class Core {
  readonly exports: BaseExports;
  readonly module: WebAssembly.Module;

  constructor(instance: WebAssembly.Instance, module: WebAssembly.Module) {
    this.exports = instance.exports as unknown as BaseExports;
    this.module = module;
  }

  /** The instance's exports typed as `T` (each ABI module declares the ones it calls). */
  fns<T>(): T & BaseExports {
    return this.exports as T & BaseExports;
  }

  /** Throws the last error when `status` is not 0. */
  check(status: number): void {
    if (status !== 0) throw this.lastError();
  }

  /** The last error reported by the instance. */
  lastError(): GradlabError {
    const ptr = this.exports.gl_last_error_ptr();
    const len = this.exports.gl_last_error_len();
    const text = new TextDecoder().decode(new Uint8Array(this.exports.memory.buffer, ptr, len));
    return new GradlabError(JSON.parse(text) as GradlabErrorData);
  }

  /** Allocates `bytes` bytes of WASM memory; throws `TooLarge` when the instance refuses. */
  alloc(bytes: number): number {
    if (bytes === 0) return 0;
    const ptr = this.exports.gl_alloc(bytes);
    if (ptr === 0) {
      throw new GradlabError({
        code: 'TooLarge',
        op: 'alloc',
        arg: 'bytes',
        expected: 'at most 1 GiB that memory can grow to',
        actual: String(bytes),
        message: `alloc: cannot allocate ${bytes} bytes of WASM memory`,
      });
    }
    return ptr;
  }

  free(ptr: number, bytes: number): void {
    if (ptr !== 0) this.exports.gl_free(ptr, bytes);
  }

  /** A fresh f32 view of memory; valid only until the next call that may allocate. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, ptr, length);
  }

  /** A fresh i32 view of memory; valid only until the next call that may allocate. */
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.exports.memory.buffer, ptr, length);
  }

  /** A copy of `length` f32 values at `ptr`. */
  readF32(ptr: number, length: number): Float32Array {
    return this.f32(ptr, length).slice();
  }

  /**
   * Copies `values` into fresh WASM memory as f32 (or i32 with `kind: 'i32'`), runs `body`
   * with the pointer and length, and frees the memory whatever happens.
   */
  withStaged<R>(values: ArrayLike<number>, body: (ptr: number, length: number) => R, kind: 'f32' | 'i32' = 'f32'): R {
    const bytes = values.length * 4;
    const ptr = this.alloc(bytes);
    try {
      if (bytes > 0) (kind === 'f32' ? this.f32(ptr, values.length) : this.i32(ptr, values.length)).set(values);
      return body(ptr, values.length);
    } finally {
      this.free(ptr, bytes);
    }
  }

  /** Like {@link withStaged} for a UTF-8 string. */
  withString<R>(text: string, body: (ptr: number, length: number) => R): R {
    const encoded = new TextEncoder().encode(text);
    const ptr = this.alloc(encoded.length);
    try {
      if (encoded.length > 0) new Uint8Array(this.exports.memory.buffer, ptr, encoded.length).set(encoded);
      return body(ptr, encoded.length);
    } finally {
      this.free(ptr, encoded.length);
    }
  }

  /** Runs `body` with `count` scratch f32 slots (zeroed), returning `body`'s result and the slots. */
  withOut<R>(count: number, body: (ptr: number) => R): { result: R; values: Float32Array } {
    const bytes = Math.max(count, 1) * 4;
    const ptr = this.alloc(bytes);
    try {
      this.f32(ptr, count).fill(0);
      const result = body(ptr);
      return { result, values: this.readF32(ptr, count) };
    } finally {
      this.free(ptr, bytes);
    }
  }
}

/** A seed as the ABI takes it: two u32 words (low, high) of a non-negative safe integer. */
export function seedParts(op: string, seed: unknown): [number, number] {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) invalidArgument(op, 'seed', 'a non-negative safe integer', describe(seed));
  return [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
}

/**
 * A FinalizationRegistry that frees the handle of an object garbage-collected without
 * `dispose()` by calling `free(core, handle)` — a safety net only. Undefined where the
 * runtime has no FinalizationRegistry.
 */
export function handleRegistry(free: (core: Core, handle: number) => void): FinalizationRegistry<{ core: Core; handle: number }> | undefined {
  return typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(({ core, handle }) => free(core, handle)) : undefined;
}

let loading: Promise<Core> | undefined;
let loaded: Core | undefined;

async function compile(source: WasmSource | undefined): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source !== undefined && typeof source !== 'string' && !(source instanceof URL)) {
    return WebAssembly.compile(source);
  }
  const url = source === undefined ? new URL('../gradlab.wasm', import.meta.url) : new URL(source, import.meta.url);
  if (url.protocol === 'file:') {
    const [{ readFile }, { fileURLToPath }] = await Promise.all([import('node:fs/promises'), import('node:url')]);
    return WebAssembly.compile(await readFile(fileURLToPath(url)));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`gradlab: cannot fetch ${url.href}: HTTP ${response.status}`);
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * Loads and instantiates the wasm (once per thread; later calls return the same instance).
 * In Node it reads the file next to the package; in browsers and bundlers it fetches
 * `new URL('../gradlab.wasm', import.meta.url)`, which Vite rewrites to the emitted asset.
 */
export function init(source?: WasmSource): Promise<Core> {
  if (!loading) {
    loading = compile(source).then(async (module) => {
      const instance = await WebAssembly.instantiate(module, {});
      loaded = new Core(instance, module);
      return loaded;
    });
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

/** The loaded instance; throws if {@link init} has not finished. */
export function core(): Core {
  if (!loaded) {
    throw new GradlabError({
      code: 'InvalidState',
      op: 'core',
      message: 'gradlab is not initialised: await init() (or createModel) before calling synchronous APIs',
    });
  }
  return loaded;
}
