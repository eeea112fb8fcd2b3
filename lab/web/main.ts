/**
 * The lab page: reads the form, trains in ./worker.ts, and redraws a log-scale chart of every
 * hidden layer's learning speed (one line per layer, one chart per net) and a table of the
 * latest values as each epoch arrives. What it received is kept on `window.labRun` so that
 * test/lab/lab-web.test.ts can compare it with the CLI.
 */
import { formatNumber, type Plot } from '../src/experiment.js';
import { renderSvg } from '../src/svg.js';
import { ACTIVATIONS, DEFAULT_CONFIG, PAGE_REMEDIES, netsFor, parseConfig, type PageNet, type RunConfig } from './config.js';
import type { EpochPoint, FromWorker, ToWorker } from './protocol.js';

type Metric = 'speeds' | 'weightGradNorms';

/** A net of the current run and every measurement received for it, in epoch order. */
export interface NetState {
  key: PageNet['key'];
  title: string;
  points: EpochPoint[];
}

export interface LabRunState {
  runId: number;
  config: RunConfig;
  status: 'loading' | 'running' | 'done' | 'stopped' | 'error';
  error?: string;
  nets: NetState[];
  /** Animation frames the page drew while the run trained, and the longest gap between two (ms). */
  frames: number;
  longestFrameGap: number;
}

declare global {
  interface Window {
    labRun?: LabRunState;
  }
}

const METRIC_LABEL: Record<Metric, string> = { speeds: '‖∂C/∂b‖', weightGradNorms: '‖∂C/∂W‖' };

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`lab page: ${selector} is missing from index.html`);
  return found;
}

const form = element<HTMLFormElement>('#controls');
const startButton = element<HTMLButtonElement>('#start');
const statusLine = element<HTMLParagraphElement>('#status');
const charts = element<HTMLElement>('#charts');
const latestTable = element<HTMLTableElement>('#latest');
const note = element<HTMLParagraphElement>('#note');

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
let nextRunId = 1;
let drawScheduled = false;

function field(name: string): HTMLInputElement | HTMLSelectElement {
  const control = form.elements.namedItem(name);
  if (!(control instanceof HTMLInputElement || control instanceof HTMLSelectElement)) throw new Error(`lab page: no form field '${name}'`);
  return control;
}

function fillForm(config: RunConfig): void {
  const options = (select: HTMLSelectElement, values: readonly string[]) => select.replaceChildren(...values.map((value) => new Option(value, value)));
  options(field('activation') as HTMLSelectElement, ACTIVATIONS);
  options(field('remedy') as HTMLSelectElement, PAGE_REMEDIES);
  for (const [name, value] of Object.entries(config)) field(name).value = String(value);
}

function readForm(): RunConfig {
  return parseConfig({
    experiment: field('experiment').value,
    depth: field('depth').value,
    activation: field('activation').value,
    remedy: field('remedy').value,
    epochs: field('epochs').value,
    seed: field('seed').value,
  });
}

const metric = (): Metric => field('metric').value as Metric;

function isRunning(run: LabRunState | undefined): boolean {
  return run !== undefined && (run.status === 'loading' || run.status === 'running');
}

function plotOf(net: NetState, chosen: Metric, allValues: number[]): Plot {
  const layers = net.points[0]?.[chosen].length ?? 0;
  return {
    title: net.title,
    xLabel: 'epoch',
    yLabel: METRIC_LABEL[chosen],
    logY: true,
    yInclude: allValues,
    series: Array.from({ length: layers }, (_, layer) => ({
      name: `hidden ${layer + 1}`,
      points: net.points.map((point): [number, number] => [point.epoch, point[chosen][layer]]),
    })),
  };
}

function cell(tag: 'th' | 'td', text: string): HTMLTableCellElement {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

function row(tag: 'th' | 'td', texts: string[]): HTMLTableRowElement {
  const node = document.createElement('tr');
  node.append(...texts.map((text) => cell(tag, text)));
  return node;
}

function drawTable(run: LabRunState, chosen: Metric): void {
  const layers = run.config.depth;
  const header = ['net', 'epoch', ...Array.from({ length: layers }, (_, i) => `${METRIC_LABEL[chosen]} h${i + 1}`), 'last/first', 'train loss', 'test acc'];
  const rows = run.nets.flatMap((net) => {
    const last = net.points[net.points.length - 1];
    if (!last) return [];
    const values = last[chosen];
    const ratio = values[values.length - 1] / values[0];
    return [row('td', [net.title, String(last.epoch), ...values.map(formatNumber), `${formatNumber(ratio)}×`, formatNumber(last.loss), formatNumber(last.testAccuracy)])];
  });
  latestTable.replaceChildren(row('th', header), ...rows);
}

function draw(): void {
  drawScheduled = false;
  const run = window.labRun;
  if (!run) return;
  const chosen = metric();
  // Charts side by side share one y scale, so the eye can compare the nets.
  const allValues = run.nets.flatMap((net) => net.points.flatMap((point) => point[chosen]));
  charts.replaceChildren(
    ...run.nets.map((net) => {
      const figure = document.createElement('figure');
      figure.dataset.net = net.key;
      figure.dataset.epochs = String(net.points.length);
      figure.innerHTML = renderSvg(plotOf(net, chosen, allValues));
      return figure;
    }),
  );
  drawTable(run, chosen);
}

function scheduleDraw(): void {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(draw);
}

/** Counts animation frames while `run` trains: the main thread stays free while the worker computes. */
function meterFrames(run: LabRunState): void {
  let last: number | undefined;
  const tick = (now: number) => {
    if (last !== undefined) run.longestFrameGap = Math.max(run.longestFrameGap, now - last);
    last = now;
    run.frames++;
    if (isRunning(run)) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/** The last epoch every net of `run` has reached. */
function epochsDone(run: LabRunState): number {
  return Math.min(...run.nets.map((net) => net.points[net.points.length - 1]?.epoch ?? 0));
}

function finish(run: LabRunState, status: LabRunState['status'], text: string): void {
  run.status = status;
  statusLine.textContent = text;
  startButton.textContent = 'Start';
  startButton.classList.remove('running');
}

function start(): void {
  let config: RunConfig;
  try {
    config = readForm();
  } catch (error) {
    statusLine.textContent = (error as Error).message;
    return;
  }
  const nets = netsFor(config).map((net): NetState => ({ key: net.key, title: net.title, points: [] }));
  const run: LabRunState = { runId: nextRunId++, config, status: 'loading', nets, frames: 0, longestFrameGap: 0 };
  window.labRun = run;
  const usesBatchnorm = config.remedy === 'batchnorm';
  note.textContent = usesBatchnorm
    ? 'BatchNorm removes the batch mean in its backward pass, so bias-gradient "speeds" collapse and say nothing about vanishing: read the weight gradient ‖∂C/∂W‖ (chart selector).'
    : "Nielsen (ch. 5) reports 0.003, 0.017, 0.070, 0.285 at initialisation for [784,30,30,30,30,10] sigmoid: the first hidden layer learns ~100× slower than the last. Epoch 0 is the measurement at initialisation.";
  startButton.textContent = 'Stop';
  startButton.classList.add('running');
  statusLine.textContent = 'Starting…';
  meterFrames(run);
  scheduleDraw();
  worker.postMessage({ type: 'start', runId: run.runId, config } satisfies ToWorker);
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  const run = window.labRun;
  if (!run || message.runId !== run.runId) return; // a stopped run's last words
  switch (message.type) {
    case 'status':
      statusLine.textContent = message.text;
      break;
    case 'epoch':
      run.status = 'running';
      run.nets.find((net) => net.key === message.net)?.points.push(message.point);
      statusLine.textContent = `Training: epoch ${epochsDone(run)} of ${run.config.epochs}.`;
      scheduleDraw();
      break;
    case 'done':
      finish(run, message.stopped ? 'stopped' : 'done', message.stopped ? `Stopped after epoch ${epochsDone(run)}.` : `Done: ${run.config.epochs} epochs.`);
      break;
    case 'error':
      run.error = message.message;
      finish(run, 'error', `Error: ${message.message}`);
      break;
  }
};

worker.onerror = (event) => {
  const run = window.labRun;
  const text = `The worker failed: ${event.message || 'see the console'}`;
  if (run) {
    run.error = text;
    finish(run, 'error', text);
  } else statusLine.textContent = text;
};

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const run = window.labRun;
  if (isRunning(run) && run) {
    worker.postMessage({ type: 'stop', runId: run.runId } satisfies ToWorker);
    statusLine.textContent = 'Stopping…';
  } else start();
});
field('metric').addEventListener('change', scheduleDraw);

fillForm(DEFAULT_CONFIG);
