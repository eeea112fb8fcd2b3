/**
 * Runs lab experiments in a Node worker thread: receives `{ name, seed, quick, module }`
 * (the compiled gradlab module, instantiated here, not compiled again), posts
 * `progress` messages while it runs and one `result` (or `error`) message per experiment.
 */
import { parentPort } from 'node:worker_threads';
import { experiments } from './experiments/index.js';
import type { ExperimentName } from './experiment.js';
import { init } from 'gradlab';

export type LabRequest = { name: ExperimentName; seed: number; quick: boolean; module: WebAssembly.Module };
export type LabMessage =
  | { type: 'progress'; name: ExperimentName; run: string; done: number; total: number }
  | { type: 'result'; name: ExperimentName; result: unknown }
  | { type: 'error'; name: ExperimentName; message: string; stack?: string };

const port = parentPort;
if (!port) throw new Error('lab.worker must run as a worker thread');

port.on('message', async ({ name, seed, quick, module }: LabRequest) => {
  const post = (message: LabMessage) => port.postMessage(message);
  try {
    const experiment = experiments[name];
    if (!experiment) throw new Error(`experiment '${name}' is not available`);
    const core = await init(module);
    const result = await experiment.run({
      core,
      seed,
      quick,
      progress: (run, done, total) => post({ type: 'progress', name, run, done, total }),
    });
    post({ type: 'result', name, result });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: 'error', name, message: e.message, stack: e.stack });
  }
});
