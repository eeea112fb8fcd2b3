/**
 * The lab page's training worker: runs {@link measureRun} on the CLI's data and posts every
 * measurement as it comes. It yields to its message queue between measurements, so that a Stop
 * (or a newer Start) takes effect at once.
 */
import { mnistSplit } from '../src/data.js';
import { init } from 'gradlab';
import type { RunConfig } from './config.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { measureRun } from './run.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: FromWorker) => scope.postMessage(message);

/** The run that should keep going; any other run stops at its next measurement. */
let activeRun = 0;

/** Lets queued messages (a Stop) run before the next measurement. */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function run(runId: number, config: RunConfig): Promise<void> {
  post({ type: 'status', runId, text: 'Loading gradlab.wasm and the MNIST digits…' });
  const [core, data] = await Promise.all([init(), mnistSplit()]);
  post({ type: 'status', runId, text: 'Measuring at initialisation…' });
  const measurements = measureRun(core, config, data);
  for (let next = measurements.next(); !next.done; next = measurements.next()) {
    post({ type: 'epoch', runId, ...next.value });
    await nextTask();
    if (activeRun !== runId) {
      measurements.return(undefined);
      return post({ type: 'done', runId, stopped: true });
    }
  }
  post({ type: 'done', runId, stopped: false });
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'stop') {
    if (activeRun === message.runId) activeRun = 0;
    return;
  }
  activeRun = message.runId;
  run(message.runId, message.config).catch((error: unknown) => {
    post({ type: 'error', runId: message.runId, message: error instanceof Error ? error.message : String(error) });
  });
};
