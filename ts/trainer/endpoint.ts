/**
 * Starting a trainer worker and knowing when it dies, in Node (worker_threads) and in
 * browsers (module Workers). A call to a worker that has died would wait forever, so every
 * call races the worker's death: pending and later calls reject with `WorkerDied`.
 */
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { assetPaths } from '../runtime/assets.js';
import { GradlabError } from '../runtime/errors.js';
import { platform } from '../runtime/platform.js';
import type { CreateWorker, NodeWorkerHandle, TrainerWorkerHandle } from './worker-handle.js';
import { READY_MESSAGE, registerErrorTransfer, type RemoteTrainerWorker, type TrainerWorkerApi } from './worker-protocol.js';

function isNodeWorker(worker: TrainerWorkerHandle): worker is NodeWorkerHandle {
  return typeof (worker as NodeWorkerHandle).on === 'function';
}

/** The default worker: the script `setAssetPaths` names, or the one next to this module. */
async function defaultWorker(): Promise<TrainerWorkerHandle> {
  return (await platform()).startWorker(assetPaths().worker) as TrainerWorkerHandle;
}

/**
 * Why a browser worker failed before it listened. Browsers say nothing about a script that
 * 404s or a module that cannot load, so the script's URL is fetched again to name the cause.
 */
async function startFailure(url: URL | undefined, message: string): Promise<GradlabError> {
  let cause = message || 'the worker script failed to load or threw while starting';
  if (!message && url) {
    try {
      const response = await fetch(url);
      cause = response.ok
        ? `the script loads (HTTP ${response.status}) but failed as a module: an import it cannot resolve (a bare specifier such as 'comlink' outside a bundler: use the self-contained gradlab/cdn/worker) or an error while it starts`
        : `HTTP ${response.status}`;
    } catch (error) {
      cause = error instanceof Error ? error.message : String(error);
    }
  }
  return new GradlabError({
    code: 'LoadFailed',
    op: 'worker',
    arg: 'the worker script',
    expected: `a trainer worker script at ${url?.href ?? 'the URL createWorker used'}`,
    actual: cause,
    message: `gradlab: the worker could not start (${url?.href ?? 'from createWorker'}): ${cause}; setAssetPaths({ worker: … }) says where the script is served from`,
  });
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
  /** Set once the worker listens: a failure before that is a `LoadFailed`. */
  private started = false;

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
    const endpoint = (isNodeWorker(worker) ? nodeEndpoint(worker) : worker) as Comlink.Endpoint;
    const ready = new Promise<void>((resolve) => {
      const listener = (event: { data: unknown }) => {
        if (event.data !== READY_MESSAGE) return;
        endpoint.removeEventListener('message', listener as never);
        resolve();
      };
      endpoint.addEventListener('message', listener as never);
    });
    const connection = new WorkerConnection(worker, Comlink.wrap<TrainerWorkerApi>(endpoint), onFailure);
    connection.watch(createWorker ? undefined : assetPaths().worker ?? (await platform()).defaultWorkerScript());
    await connection.call(() => ready);
    connection.started = true;
    return connection;
  }

  /** Turns every way a worker can end into a rejection of the pending and later calls. */
  private watch(script: URL | undefined): void {
    const { worker } = this;
    if (isNodeWorker(worker)) {
      worker.on('error', (error: unknown) => this.fail(died(error instanceof Error ? error.message : String(error))));
      worker.on('exit', (code: number) => this.fail(died(`it exited with code ${code}`)));
      worker.on('messageerror', (error: Error) => this.fail(died(`a message could not be deserialised: ${error.message}`)));
      worker.unref();
    } else {
      worker.addEventListener('error', (event: { message?: string }) => {
        if (this.started) this.fail(died(event.message || 'an uncaught error in the worker'));
        else void startFailure(script, event.message ?? '').then((error) => this.fail(error));
      });
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
