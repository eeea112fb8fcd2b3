/**
 * What differs between Node and browsers, behind one small interface, so that the library's
 * module graph imports no `node:` module: the package's `node` export condition loads
 * `node-platform.ts`, which installs Node's implementation before anything else runs;
 * everyone else (browsers, bundlers, the CDN build) keeps the web implementation below. Node
 * code that reached the default entry anyway (a test runner's conditions, a worker script
 * started by hand) gets Node's implementation on first use, through an import bundlers skip.
 */
import { GradlabError } from './errors.js';

/** A Comlink endpoint: what both a browser worker and Comlink's Node adapter provide. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: unknown[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

export interface Platform {
  /** The bytes at `url` (HTTP(S) or, in Node, `file:`); a `LoadFailed` error names the URL and the cause. */
  read(url: URL, what: string): Promise<ArrayBuffer | Uint8Array<ArrayBuffer>>;
  /** Starts a worker running the trainer script at `url`; the default script when `url` is undefined. */
  startWorker(url: URL | undefined): unknown;
  /** Where the default worker script is, as this module sees it (for error messages: a bundler may have moved it). */
  defaultWorkerScript(): URL;
  /** This worker's channel to the thread that started it. */
  parentEndpoint(): MessageEndpoint;
  /** Logical cores, 1 when unknown. */
  cores(): number;
}

/** A `LoadFailed` error for `what` at `url`. */
export function loadFailed(op: string, what: string, url: URL | string, cause: string): GradlabError {
  const href = url instanceof URL ? url.href : url;
  return new GradlabError({
    code: 'LoadFailed',
    op,
    arg: what,
    expected: `${what} at ${href}`,
    actual: cause,
    message: `gradlab: cannot load ${what} from ${href}: ${cause} (setAssetPaths({ ${what === 'the worker script' ? 'worker' : 'wasm'}: … }) says where it is served from)`,
  });
}

/** Fetches `url`, naming the HTTP status or the network error when that fails. */
export async function fetchBytes(url: URL, what: string): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw loadFailed('load', what, url, error instanceof Error ? error.message : String(error));
  }
  if (!response.ok) throw loadFailed('load', what, url, `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  return response.arrayBuffer();
}

/** The web worker next to this module in dist/ts/runtime; a variable, so bundlers leave this copy alone. */
const WEB_WORKER_SCRIPT = '../../workers/trainer.worker.js';

const web: Platform = {
  read: fetchBytes,
  startWorker(url) {
    // The literal form lets Vite and webpack find, bundle and emit the worker with the page.
    return url ? new Worker(url, { type: 'module' }) : new Worker(new URL('../../workers/trainer.worker.js', import.meta.url), { type: 'module' });
  },
  defaultWorkerScript: () => new URL(/* webpackIgnore: true */ WEB_WORKER_SCRIPT, import.meta.url),
  parentEndpoint() {
    return globalThis as unknown as MessageEndpoint;
  },
  cores() {
    return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  },
};

/** True in Node (and Node-compatible runtimes), where workers are worker_threads. */
export function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof process?.versions?.node === 'string';
}

let current = web;

/** A variable, so bundlers neither follow nor warn about this import in the browser graph. */
const NODE_PLATFORM = './node-platform.js';

/** The platform this thread runs on. */
export async function platform(): Promise<Platform> {
  if (current === web && isNode()) await import(/* webpackIgnore: true */ /* @vite-ignore */ NODE_PLATFORM);
  return current;
}

/** Installs Node's implementation (called once, by node-platform.ts). */
export function usePlatform(next: Platform): void {
  current = next;
}
