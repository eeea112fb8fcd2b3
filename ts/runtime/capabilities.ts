/**
 * What this runtime offers gradlab, and which path gradlab takes because of it. Nothing falls
 * back silently: the worker trainer records the report it was created with.
 */
import { isNode, platform } from './platform.js';

/** The runtime's features and gradlab's choices. */
export interface Capabilities {
  /** `node` (worker_threads) or `browser` (Web Workers). */
  runtime: 'node' | 'browser';
  /** WebAssembly SIMD128, which gradlab.wasm requires. */
  simd: boolean;
  /** How workers are created, or null when this runtime has none. */
  workers: 'worker_threads' | 'web' | null;
  sharedArrayBuffer: boolean;
  /** `globalThis.crossOriginIsolated` (a browser concept: false in Node, where it is not needed). */
  crossOriginIsolated: boolean;
  /**
   * How data-parallel workers exchange gradients: through one SharedArrayBuffer (no copies),
   * or as transferred ArrayBuffers (a page without cross-origin isolation). With `shared`,
   * `fit` also runs its epochs inside the workers (they meet on shared memory each step);
   * with `transfer`, the calling thread drives each step with a message round trip.
   */
  gradientExchange: 'shared' | 'transfer';
  /** Why `gradientExchange` is what it is. */
  reason: string;
  /** Logical cores (`navigator.hardwareConcurrency` or `os.availableParallelism`), 1 when unknown. */
  hardwareConcurrency: number;
}

/** The smallest module using a SIMD128 instruction (i8x16.splat of i32.const 0), as wasm-feature-detect does. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b, // code: i32.const 0; i8x16.splat; i8x16.popcnt
]);

/** Reports what the runtime offers and which paths gradlab takes. */
export async function capabilities(): Promise<Capabilities> {
  const node = isNode();
  const sharedArrayBuffer = typeof SharedArrayBuffer === 'function';
  const crossOriginIsolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const workers = node ? 'worker_threads' : typeof Worker === 'function' ? 'web' : null;
  const reason = sharedArrayBuffer
    ? node
      ? 'Node always has SharedArrayBuffer'
      : 'the page is cross-origin isolated, so SharedArrayBuffer is available'
    : node
      ? 'SharedArrayBuffer is missing from this runtime'
      : 'the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp for SharedArrayBuffer), so gradients travel as transferred ArrayBuffers';
  return {
    runtime: node ? 'node' : 'browser',
    simd: WebAssembly.validate(SIMD_PROBE),
    workers,
    sharedArrayBuffer,
    crossOriginIsolated,
    gradientExchange: sharedArrayBuffer ? 'shared' : 'transfer',
    reason,
    hardwareConcurrency: (await platform()).cores(),
  };
}
