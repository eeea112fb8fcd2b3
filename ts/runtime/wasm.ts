/**
 * Loads the WebAssembly core once per thread, through the glue wasm-bindgen generated
 * (`pkg/gradlab.js`, built by wasm-pack), and turns the errors it throws into
 * {@link GradlabError}s.
 *
 * The Rust side throws a JavaScript `Error` whose message is the error as JSON
 * (`{"code":"InvalidArgument","op":"predict","arg":"x",…}`); {@link Core.call} parses it.
 * Views of WASM memory are never kept across calls: memory can grow during any call that
 * allocates, which detaches every existing view.
 */
import initBindings, * as bindings from '../../pkg/gradlab.js';
import { assetPaths } from './assets.js';
import { GradlabError, describe, invalidArgument, type GradlabErrorData } from './errors.js';
import { loadFailed, platform } from './platform.js';

/** The classes and functions the Rust crate exports. */
export type Bindings = typeof bindings;

/** Where to find the wasm: bytes, a compiled module, or a URL. Defaults to the packaged file. */
export type WasmSource = ArrayBuffer | ArrayBufferView | WebAssembly.Module | URL | string;

/** The message of a Rust error starts like this: it is the error as JSON. */
const RUST_ERROR_PREFIX = '{"code":';

/** A `GradlabError` for an error the Rust side threw; anything else unchanged. */
export function translateError(error: unknown): unknown {
  if (error instanceof Error && !(error instanceof GradlabError) && error.message.startsWith(RUST_ERROR_PREFIX)) {
    return new GradlabError(JSON.parse(error.message) as GradlabErrorData);
  }
  return error;
}

/** The loaded instance: its exports and memory. */
export class Core {
  readonly module: WebAssembly.Module;
  readonly bindings: Bindings = bindings;
  /** The instance's linear memory (its size is what memory tests watch). */
  readonly memory: WebAssembly.Memory;

  /** @internal Use {@link init}. */
  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory) {
    this.module = module;
    this.memory = memory;
  }

  /** Runs `body`, a call into the bindings, throwing what the Rust side throws as a `GradlabError`. */
  call<T>(body: (bindings: Bindings) => T): T {
    try {
      return body(bindings);
    } catch (error) {
      throw translateError(error);
    }
  }

  /**
   * `values` as the Float32Array the bindings take (copied only when it is not one), after
   * checking that WASM memory has room for the glue's copy: running out there would abort
   * the instance, so it is a `TooLarge` error here instead.
   */
  f32Arg(op: string, arg: string, values: ArrayLike<number>): Float32Array {
    this.reserve(op, arg, values.length * 4);
    return values instanceof Float32Array ? values : converted(op, arg, values, Float32Array);
  }

  /** {@link f32Arg} for the bindings that take f64 (class labels, shapes, exact integers). */
  f64Arg(op: string, arg: string, values: ArrayLike<number>): Float64Array {
    this.reserve(op, arg, values.length * 8);
    return values instanceof Float64Array ? values : converted(op, arg, values, Float64Array);
  }

  private reserve(op: string, arg: string, bytes: number): void {
    if (bytes > 0 && !bindings.canAllocate(bytes)) {
      throw new GradlabError({
        code: 'TooLarge',
        op,
        arg,
        expected: 'an array that fits in the free WASM memory (4 GiB in all)',
        actual: `${bytes} bytes`,
        message: `${op}: '${arg}' needs ${bytes} bytes of WASM memory, which is out of memory (4 GiB in all); dispose models and tensors, or pass smaller batches`,
      });
    }
  }

  /** A view of `length` f32 values at byte offset `ptr`; valid only until the next call. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
}

/** `values` copied into a typed array; an element no number can be made of (a Symbol, a BigInt) is an `InvalidArgument`. */
function converted<T extends Float32Array | Float64Array>(op: string, arg: string, values: ArrayLike<number>, Type: { from(values: ArrayLike<number>): T }): T {
  try {
    return Type.from(values);
  } catch {
    const index = Array.prototype.findIndex.call(values, (v: unknown) => typeof v === 'symbol' || typeof v === 'bigint');
    return invalidArgument(op, arg, 'numbers', `${describe(Array.prototype.at.call(values, index))} at index ${index}`);
  }
}

let loading: Promise<Core> | undefined;
let loaded: Core | undefined;

async function compile(source: WasmSource | undefined): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source !== undefined && typeof source !== 'string' && !(source instanceof URL)) {
    return WebAssembly.compile(source as BufferSource);
  }
  // The literal URL lets bundlers that emit assets (Vite, webpack) ship the .wasm with the page.
  const url = source !== undefined ? new URL(/* webpackIgnore: true */ source, import.meta.url) : assetPaths().wasm ?? new URL('../../pkg/gradlab_bg.wasm', import.meta.url);
  const bytes = await (await platform()).read(url, 'the wasm module');
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    throw loadFailed('init', 'the wasm module', url, `not a module this runtime can compile (${error instanceof Error ? error.message : String(error)})`);
  }
}

/**
 * Loads and instantiates the wasm (once per thread; later calls return the same instance)
 * from `source`, else from where `setAssetPaths({ wasm })` says, else from the package: in
 * Node the file next to it, in browsers and bundlers `new URL('../../pkg/gradlab_bg.wasm',
 * import.meta.url)`, which bundlers rewrite to the emitted asset. A failed fetch or compile is a
 * `LoadFailed` error naming the URL and the HTTP status or the module error. A compiled `WebAssembly.Module` (what workers receive) is only instantiated.
 */
export function init(source?: WasmSource): Promise<Core> {
  if (!loading) {
    loading = compile(source).then(async (module) => {
      const exports = await initBindings({ module_or_path: module });
      loaded = new Core(module, exports.memory);
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
