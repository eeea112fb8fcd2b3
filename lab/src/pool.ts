/** Runs experiments in a pool of worker threads, one experiment per worker at a time. */
import { Worker } from 'node:worker_threads';
import type { ExperimentName } from './experiment.js';
import type { LabMessage, LabRequest } from './worker.js';
import { init } from 'gradlab';

export interface PoolCallbacks {
  onProgress(name: ExperimentName, run: string, done: number, total: number): void;
  onResult(name: ExperimentName, result: unknown): void;
}

/** Runs `names` on `size` workers; rejects with the first experiment's error. */
export async function runInWorkers(names: ExperimentName[], options: { seed: number; quick: boolean; size: number }, callbacks: PoolCallbacks): Promise<void> {
  const queue = [...names];
  // Compiled once here; each worker only instantiates it.
  const { module } = await init();
  const url = new URL('./worker.js', import.meta.url);
  const workers = Array.from({ length: Math.max(1, Math.min(options.size, names.length)) }, () => new Worker(url));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const name = queue.shift();
              if (name === undefined) return resolve();
              const request: LabRequest = { name, seed: options.seed, quick: options.quick, module };
              worker.postMessage(request);
            };
            worker.on('message', (message: LabMessage) => {
              if (message.type === 'progress') callbacks.onProgress(message.name, message.run, message.done, message.total);
              else if (message.type === 'result') {
                callbacks.onResult(message.name, message.result);
                next();
              } else {
                const error = new Error(`experiment '${message.name}' failed: ${message.message}`);
                error.stack = message.stack;
                reject(error);
              }
            });
            worker.on('error', reject);
            worker.on('exit', (code) => (queue.length > 0 || code !== 0 ? reject(new Error(`a lab worker exited with code ${code}`)) : undefined));
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
