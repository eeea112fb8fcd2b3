/**
 * Starting a trainer worker and knowing when it dies, in Node (worker_threads) and in
 * browsers (module Workers). A call to a worker that has died would wait forever, so every
 * call races the worker's death: pending and later calls reject with `WorkerDied`.
 */
import * as Comlink from 'comlink';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { isNode } from '../runtime/capabilities.js';
import { GradlabError } from '../runtime/errors.js';
import { READY_MESSAGE, registerErrorTransfer, type RemoteTrainerWorker, type TrainerWorkerApi } from './worker-protocol.js';

/** A worker running workers/trainer.worker.js: a browser `Worker` or a Node `worker_threads` Worker. */
export type TrainerWorkerHandle = Worker | NodeWorker;

/**
 * Creates a worker running gradlab's workers/trainer.worker.js, for setups the default does
 * not cover (a Content-Security-Policy, a bundler with its own worker syntax, tests that want
 * the worker object). In Node: `() => new Worker(new URL('gradlab/dist/workers/trainer.worker.js',
 * import.meta.url))` with `Worker` from `node:worker_threads`; in browsers: `() => new Worker(new
 * URL(…, import.meta.url), { type: 'module' })` written where your bundler sees it.
 */
export type CreateWorker = () => TrainerWorkerHandle | Promise<TrainerWorkerHandle>;

/** Relative to this module in dist/ts/trainer: the compiled worker in dist/workers. */
const WORKER_SCRIPT = '../../workers/trainer.worker.js';

function isNodeWorker(worker: TrainerWorkerHandle): worker is NodeWorker {
  return typeof (worker as NodeWorker).on === 'function';
}

async function defaultWorker(): Promise<TrainerWorkerHandle> {
  if (isNode()) {
    const { Worker } = await import('node:worker_threads');
    // Workers inherit Node's flags, but --input-type (of `node -e` scripts) makes one refuse to start.
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type'));
    // A variable, not a literal: bundlers must not turn the Node path into an asset.
    return new Worker(new URL(WORKER_SCRIPT, import.meta.url), { execArgv });
  }
  // This exact form lets Vite and other bundlers find, bundle and emit the worker.
  return new Worker(new URL('../../workers/trainer.worker.js', import.meta.url), { type: 'module' });
}

function died(message: string): GradlabError {
  return new GradlabError({ code: 'WorkerDied', op: 'worker', message: `gradlab worker died: ${message}` });
}

/** One live worker: its typed Comlink proxy and its fate. */
export class WorkerConnection {
  private failure?: GradlabError;
  private rejectFailed!: (error: GradlabError) => void;
  /** Rejects when the worker dies or is closed; every call races it. */
  private readonly failed = new Promise<never>((_, reject) => {
    this.rejectFailed = reject;
  });
  private pending = 0;

  private constructor(
    private readonly worker: TrainerWorkerHandle,
    readonly remote: RemoteTrainerWorker,
    private readonly onFailure: (error: GradlabError) => void,
  ) {
    this.failed.catch(() => undefined);
  }

  /**
   * Starts a worker and waits until it listens. `onFailure` hears when it dies by itself
   * (not when {@link close} ends it).
   */
  static async open(createWorker: CreateWorker | undefined, onFailure: (error: GradlabError) => void): Promise<WorkerConnection> {
    registerErrorTransfer();
    const worker = await (createWorker ?? defaultWorker)();
    const endpoint = isNodeWorker(worker) ? (await import('comlink/dist/esm/node-adapter.mjs')).default(worker) : worker;
    const ready = new Promise<void>((resolve) => {
      const listener = (event: MessageEvent) => {
        if (event.data !== READY_MESSAGE) return;
        endpoint.removeEventListener('message', listener as EventListener);
        resolve();
      };
      endpoint.addEventListener('message', listener as EventListener);
    });
    const connection = new WorkerConnection(worker, Comlink.wrap<TrainerWorkerApi>(endpoint), onFailure);
    connection.watch();
    await connection.call(() => ready);
    return connection;
  }

  /** Turns every way a worker can end into a rejection of the pending and later calls. */
  private watch(): void {
    const { worker } = this;
    if (isNodeWorker(worker)) {
      worker.on('error', (error) => this.fail(died(error instanceof Error ? error.message : String(error))));
      worker.on('exit', (code) => this.fail(died(`it exited with code ${code}`)));
      worker.on('messageerror', (error) => this.fail(died(`a message could not be deserialised: ${error.message}`)));
      worker.unref();
    } else {
      worker.addEventListener('error', (event) => this.fail(died(event.message || 'an uncaught error in the worker')));
      worker.addEventListener('messageerror', () => this.fail(died('a message could not be deserialised')));
      // Browsers fire no event when a worker is terminated, so terminate() itself reports it.
      const terminate = worker.terminate.bind(worker);
      worker.terminate = () => {
        terminate();
        this.fail(died('it was terminated'));
      };
    }
  }

  private fail(error: GradlabError): void {
    if (this.failure) return;
    this.failure = error;
    this.rejectFailed(error);
    this.onFailure(error);
    void this.terminate();
  }

  /**
   * Calls the worker; rejects as soon as it dies. A `WorkerDied` error from the worker itself
   * (its instance trapped) retires it too. In Node, a worker keeps the process alive only
   * while a call is pending.
   */
  async call<R>(body: (remote: RemoteTrainerWorker) => Promise<R>): Promise<R> {
    if (this.failure) throw this.failure;
    if (this.pending++ === 0 && isNodeWorker(this.worker)) this.worker.ref();
    try {
      return await Promise.race([body(this.remote), this.failed]);
    } catch (error) {
      if (error instanceof GradlabError && error.code === 'WorkerDied') this.fail(error);
      throw error;
    } finally {
      if (--this.pending === 0 && isNodeWorker(this.worker)) this.worker.unref();
    }
  }

  /** Ends the worker: pending and later calls reject with `reason`. Resolves once it is gone. */
  async close(reason: GradlabError): Promise<void> {
    if (!this.failure) {
      this.failure = reason;
      this.rejectFailed(reason);
    }
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
