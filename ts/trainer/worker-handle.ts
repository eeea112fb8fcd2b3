/**
 * The worker objects `createTrainer` accepts, as structural types: the public declarations
 * then need neither the DOM library nor `@types/node`, whichever of them a project has.
 */
/**
 * What gradlab uses of a browser `Worker`, structurally, so the public types need neither the
 * DOM library nor `@types/node` (a `Worker` is one).
 */
export interface WebWorkerHandle {
  postMessage(message: any, transfer: any[]): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
  terminate(): void;
}

/** What gradlab uses of a Node `worker_threads` Worker (a `Worker` from `node:worker_threads` is one). */
export interface NodeWorkerHandle {
  postMessage(message: any, transfer?: readonly any[]): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

/** A worker running gradlab's trainer script: a browser `Worker` or a Node `worker_threads` Worker. */
export type TrainerWorkerHandle = WebWorkerHandle | NodeWorkerHandle;

/**
 * Creates a worker running gradlab's trainer script, for setups the default and
 * `setAssetPaths({ worker })` do not cover (a Content-Security-Policy, a bundler with its own
 * worker syntax, tests that want the worker object). In Node: `() => new Worker(new
 * URL(import.meta.resolve('gradlab/worker')))` with `Worker` from `node:worker_threads`; in
 * browsers: `() => new Worker(url, { type: 'module' })` with the URL of the self-contained
 * `gradlab/cdn/worker` script, or a worker your bundler builds from `gradlab/worker`.
 */
export type CreateWorker = () => TrainerWorkerHandle | Promise<TrainerWorkerHandle>;
