/**
 * Where gradlab's two assets are served from: the `.wasm` and the trainer's worker script.
 * By default each is found next to the module that loads it (`new URL(…, import.meta.url)`),
 * which Node, Vite and webpack resolve by themselves. A page built by a bundler that does not
 * emit such assets (esbuild, Rollup) or that serves them from elsewhere (a CDN) says where they
 * are once, with {@link setAssetPaths}, like tfjs's `setWasmPaths` and onnxruntime-web's
 * `env.wasm.wasmPaths`. The per-call options (`wasm`, `createWorker`) still win over it.
 */
import { describe, invalidArgument } from './errors.js';

/** Where the assets are; each field is a URL, or a path resolved against the page (`document.baseURI`) or, in Node, the working directory's file URL. */
export interface AssetPaths {
  /** The `.wasm` module (the package's `gradlab/gradlab.wasm`). */
  wasm?: string | URL;
  /** The trainer's worker script: in browsers a self-contained module (the package's `gradlab/cdn/worker`), in Node `gradlab/worker`. */
  worker?: string | URL;
}

let paths: AssetPaths = {};

/** A relative path's base: the page in browsers, the working directory in Node. */
function base(): string {
  const page = (globalThis as { document?: { baseURI?: string } }).document?.baseURI ?? (globalThis as { location?: { href?: string } }).location?.href;
  if (page) return page;
  const cwd = (globalThis as { process?: { cwd?(): string } }).process?.cwd?.();
  return cwd === undefined ? 'file:///' : `file://${cwd.replace(/\\/g, '/').replace(/^(?!\/)/, '/')}/`;
}

function checked(arg: string, value: unknown): URL | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof URL) && typeof value !== 'string') invalidArgument('setAssetPaths', arg, 'a URL or a string', describe(value));
  try {
    return new URL(value, base());
  } catch {
    return invalidArgument('setAssetPaths', arg, 'a valid URL or path', JSON.stringify(String(value)));
  }
}

/**
 * Sets where the `.wasm` and the worker script are loaded from, for every later load (fields
 * left out go back to the default). Call it before the first `init`, `createModel` or
 * `createTrainer`: a thread loads its module once.
 */
export function setAssetPaths(next: AssetPaths): void {
  if (typeof next !== 'object' || next === null) invalidArgument('setAssetPaths', 'paths', 'an object with wasm and/or worker', describe(next));
  paths = { wasm: checked('wasm', next.wasm), worker: checked('worker', next.worker) };
}

/** The URLs {@link setAssetPaths} set (resolved), each undefined for the default. */
export function assetPaths(): { wasm?: URL; worker?: URL } {
  return paths as { wasm?: URL; worker?: URL };
}
