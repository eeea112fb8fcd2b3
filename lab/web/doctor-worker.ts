/**
 * The doctor panel's worker: parses the spec, reads the data (a built-in source or the
 * user's file), runs `diagnose` (which trains the original and every trial in workers of its
 * own) and posts its progress and the report. Errors come back as their message: a bad spec
 * or file is a GradlabError naming what is wrong.
 */
import { diagnose, init, loadDataSource, validateSpec } from 'gradlab';
import type { DoctorRequest, FromDoctorWorker, ToDoctorWorker } from './doctor-protocol.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: FromDoctorWorker) => scope.postMessage(message);

async function run(runId: number, request: DoctorRequest): Promise<void> {
  post({ type: 'status', runId, text: 'Loading gradlab.wasm and the data…' });
  const core = await init();
  let json: unknown;
  try {
    json = JSON.parse(request.specText);
  } catch (error) {
    throw new Error(`the spec is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const spec = validateSpec(json, core);
  const data = await loadDataSource(spec, request.data, { labels: request.labels, seed: request.seed });
  post({ type: 'status', runId, text: `Training on ${data.x.shape[0]} rows…` });
  const report = await diagnose(spec, data, {
    seed: request.seed,
    steps: request.steps,
    trials: request.trials,
    onProgress: (progress) => post({ type: 'progress', runId, ...progress }),
  });
  post({ type: 'report', runId, report });
}

scope.onmessage = (event: MessageEvent<ToDoctorWorker>) => {
  const { runId, request } = event.data;
  run(runId, request).catch((error: unknown) => post({ type: 'error', runId, message: error instanceof Error ? error.message : String(error) }));
};
