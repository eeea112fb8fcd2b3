/**
 * The lab page's doctor panel: a spec typed as JSON and a data file from the user's disk (or
 * a built-in source), diagnosed in ./doctor-worker.ts with a live progress bar per run, and
 * the report drawn with gradlab's own renderer (the pictures of `gradlab doctor --out`). The
 * state is kept on `window.doctorRun` for test/lab/lab-web-doctor.test.ts.
 */
import { DOCTOR_STYLE, renderDoctorReport, type DoctorReport } from 'gradlab';
import type { DoctorRequest, FromDoctorWorker, PickedFile, ToDoctorWorker } from './doctor-protocol.js';

export interface DoctorRunState {
  runId: number;
  status: 'running' | 'done' | 'error';
  /** The latest step of every run (the original and each trial). */
  progress: Record<string, { step: number; steps: number }>;
  report?: DoctorReport;
  error?: string;
}

declare global {
  interface Window {
    doctorRun?: DoctorRunState;
  }
}

/** The article's deep sigmoid net on MNIST ([784,30,30,30,30,10], Nielsen's cost and SGD). */
const DEFAULT_SPEC = {
  input: [784],
  layers: [
    ...[1, 2, 3, 4].map((i) => ({ type: 'dense', units: 30, activation: 'sigmoid', name: `h${i}` })),
    { type: 'dense', units: 10, name: 'out' },
  ],
  loss: 'sigmoidCrossEntropy',
  optimizer: { type: 'sgd', lr: 0.1 },
};

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`lab page: ${selector} is missing from index.html`);
  return found;
}

const form = element<HTMLFormElement>('#doctor-controls');
const specInput = element<HTMLTextAreaElement>('#doctor-spec');
const builtinInput = element<HTMLInputElement>('#doctor-builtin');
const dataInput = element<HTMLInputElement>('#doctor-data');
const labelsInput = element<HTMLInputElement>('#doctor-labels');
const startButton = element<HTMLButtonElement>('#doctor-start');
const statusLine = element<HTMLParagraphElement>('#doctor-status');
const progressList = element<HTMLElement>('#doctor-progress');
const reportView = element<HTMLElement>('#doctor-report');

specInput.value = JSON.stringify(DEFAULT_SPEC, null, 2);
const style = document.createElement('style');
style.textContent = DOCTOR_STYLE;
document.head.append(style);

const worker = new Worker(new URL('./doctor-worker.ts', import.meta.url), { type: 'module' });
let nextRunId = 1;

function numberField(name: string): number {
  const control = form.elements.namedItem(name) as HTMLInputElement;
  const value = Number(control.value);
  if (!Number.isSafeInteger(value) || value < Number(control.min)) throw new Error(`${name} must be an integer ≥ ${control.min}, got '${control.value}'`);
  return value;
}

async function picked(input: HTMLInputElement): Promise<PickedFile | undefined> {
  const file = input.files?.[0];
  return file === undefined ? undefined : { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

function drawProgress(state: DoctorRunState): void {
  progressList.replaceChildren(
    ...Object.entries(state.progress).map(([run, { step, steps }]) => {
      const row = document.createElement('label');
      const bar = document.createElement('progress');
      bar.max = steps;
      bar.value = step;
      row.append(`${run} ${step}/${steps}`, bar);
      return row;
    }),
  );
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void (async () => {
    const runId = nextRunId++;
    const state: DoctorRunState = { runId, status: 'running', progress: {} };
    window.doctorRun = state;
    reportView.replaceChildren();
    progressList.replaceChildren();
    try {
      const file = await picked(dataInput);
      const labels = await picked(labelsInput);
      const request: DoctorRequest = {
        specText: specInput.value,
        data: file ?? builtinInput.value.trim(),
        ...(labels === undefined ? {} : { labels }),
        seed: numberField('seed'),
        steps: numberField('steps'),
        trials: (form.elements.namedItem('trials') as HTMLInputElement).checked,
      };
      const transfer = [file?.bytes.buffer, labels?.bytes.buffer].filter((b): b is ArrayBuffer => b !== undefined);
      startButton.disabled = true;
      worker.postMessage({ type: 'start', runId, request } satisfies ToDoctorWorker, transfer);
    } catch (error) {
      state.status = 'error';
      state.error = error instanceof Error ? error.message : String(error);
      statusLine.textContent = `Error: ${state.error}`;
    }
  })();
});

worker.onmessage = (event: MessageEvent<FromDoctorWorker>) => {
  const message = event.data;
  const state = window.doctorRun;
  if (state === undefined || message.runId !== state.runId) return;
  if (message.type === 'status') statusLine.textContent = message.text;
  else if (message.type === 'progress') {
    state.progress[message.run] = { step: message.step, steps: message.steps };
    drawProgress(state);
  } else if (message.type === 'report') {
    state.status = 'done';
    state.report = message.report;
    statusLine.textContent = `Done: ${message.report.verdict}, recommendation ${message.report.recommendation.remedy}.`;
    reportView.innerHTML = renderDoctorReport(message.report);
    startButton.disabled = false;
  } else {
    state.status = 'error';
    state.error = message.message;
    statusLine.textContent = `Error: ${message.message}`;
    startButton.disabled = false;
  }
};
