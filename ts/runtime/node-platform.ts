/**
 * Node's side of {@link Platform}: files through `node:fs`, workers through `worker_threads`.
 * Imported first by the package's Node entry point (ts/node.ts), so it is installed before
 * any other gradlab code runs, or on first use by platform.ts; browser graphs never reach it.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, parentPort } from 'node:worker_threads';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { fetchBytes, loadFailed, usePlatform, type MessageEndpoint } from './platform.js';

/** Relative to this module in dist/ts/runtime: the compiled Node worker in dist/workers. */
const WORKER_SCRIPT = new URL('../../workers/trainer.worker.js', import.meta.url);

usePlatform({
  async read(url, what) {
    if (url.protocol !== 'file:') return fetchBytes(url, what);
    try {
      return new Uint8Array(await readFile(fileURLToPath(url)));
    } catch (error) {
      throw loadFailed('load', what, url, error instanceof Error ? error.message : String(error));
    }
  },
  startWorker(url) {
    // Workers inherit Node's flags, but --input-type (of `node -e` scripts) makes one refuse to start.
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type'));
    return new Worker(url ?? WORKER_SCRIPT, { execArgv });
  },
  defaultWorkerScript: () => WORKER_SCRIPT,
  parentEndpoint() {
    if (!parentPort) throw new Error('gradlab: the trainer worker script must run as a worker thread');
    return nodeEndpoint(parentPort) as unknown as MessageEndpoint;
  },
  cores: availableParallelism,
});
