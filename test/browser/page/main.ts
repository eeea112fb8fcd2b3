/**
 * The browser test page: imports gradlab as a user would (the built package), trains the
 * fixture's network in a worker while counting animation frames, and publishes what it saw on
 * `window.gradlabResult` for test/browser/browser.test.ts to read.
 */
import { GradlabError, capabilities, createTrainer, type Capabilities } from '../../../dist/ts/index.js';
import { RUN, SPEC, dataset, hashState, relativeError } from '../fixture.js';

export interface PageResult {
  capabilities: Capabilities;
  /** The loss of every step of the one-worker run. */
  losses: number[];
  epochLosses: number[];
  /** FNV-1a of the one-worker run's final state dict (compared with Node's). */
  stateHash: string;
  /** FNV-1a of the dataset, to tell a data mismatch from a training one. */
  dataHash: string;
  /** Two workers against one on the same global batches: the largest relative difference. */
  parallelRelativeError: number;
  parallelExchange: Capabilities['gradientExchange'];
  /** Animation frames seen while the page trained (every run below), and the longest gap between two. */
  frames: number;
  maxFrameGapMs: number;
  /** What the page was doing when the longest gap ended. */
  maxFrameGapPhase: string;
  /** A bad input's error, as it arrived from the worker. */
  error: { gradlabError: boolean; code: string; arg?: string };
  /** The code a call got after its worker was terminated under it. */
  killedCode: string;
  /** Steps the aborted run took before stopping, and whether it said it stopped. */
  aborted: { stopped: boolean; steps: number };
}

/** What `?bench` measures: main-thread frames while [784,256,256,10] trains in workers. */
export interface BenchResult {
  runs: { workers: number; batchSize: number; samplesPerSecond: number; frames: number; maxFrameGapMs: number }[];
}

declare global {
  interface Window {
    gradlabResult?: PageResult | BenchResult;
    gradlabFailure?: string;
  }
}

/**
 * Counts animation frames and their longest gap between `start()` and `stop()`, remembering
 * which phase (set with `phase()`) the longest gap ended in.
 */
function frameMeter() {
  let frames = 0;
  let maxGap = 0;
  let current = '';
  let maxGapPhase = '';
  let last: number | undefined;
  let running = false;
  const tick = (now: number) => {
    if (!running) return;
    if (last !== undefined && now - last > maxGap) {
      maxGap = now - last;
      maxGapPhase = current;
    }
    last = now;
    frames++;
    requestAnimationFrame(tick);
  };
  return {
    start() {
      running = true;
      requestAnimationFrame(tick);
    },
    phase(name: string) {
      current = name;
    },
    stop() {
      running = false;
      return { frames, maxGap, maxGapPhase };
    },
  };
}

async function main(): Promise<PageResult> {
  const data = dataset(192);
  const fitOptions = { epochs: RUN.epochs, batchSize: RUN.batchSize, seed: RUN.shuffleSeed };

  const meter = frameMeter();
  meter.start();
  meter.phase('createTrainer');
  const single = await createTrainer(SPEC, { seed: RUN.seed });
  const losses: number[] = [];
  meter.phase('fit');
  const history = await single.fit(data, { ...fitOptions, onProgress: (progress) => losses.push(progress.loss) });
  const state = await single.stateDict();
  const error = await single.predict({ shape: [2, 5], data: new Float32Array(10) }).then(
    () => ({ gradlabError: false, code: 'none' }),
    (caught: GradlabError) => ({ gradlabError: caught instanceof GradlabError, code: caught.code, arg: caught.arg }),
  );

  meter.phase('abort');
  const controller = new AbortController();
  const aborted = await single.fit(dataset(800), { epochs: 3, batchSize: 4, signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() });
  await single.dispose();

  meter.phase('createTrainer (2 workers)');
  const parallel = await createTrainer(SPEC, { seed: RUN.seed, workers: 2 });
  meter.phase('fit (2 workers)');
  await parallel.fit(data, fitOptions);
  const parallelRelativeError = relativeError(await parallel.stateDict(), state);
  const parallelExchange = parallel.capabilities.gradientExchange;
  await parallel.dispose();

  meter.phase('killed worker');
  const started: Worker[] = [];
  // Created as a user with a custom worker would: the literal form lets Vite bundle it.
  const spawn = () => new Worker(new URL('../../../dist/workers/trainer.worker.js', import.meta.url), { type: 'module' });
  const doomed = await createTrainer(SPEC, { createWorker: () => started[started.push(spawn()) - 1] });
  const running = doomed.fit(dataset(4000), { epochs: 20, batchSize: 4, onProgress: (p) => p.step === 2 && started[0].terminate() });
  const killedCode = await running.then(
    () => 'none',
    (caught: GradlabError) => caught.code,
  );
  const { frames, maxGap, maxGapPhase } = meter.stop();

  return {
    capabilities: await capabilities(),
    losses,
    epochLosses: history.epochs.map((epoch) => epoch.loss),
    stateHash: hashState(state),
    dataHash: hashState({ x: data.x, y: { shape: data.y.shape, data: new Float32Array(data.y.data.buffer) } }),
    parallelRelativeError,
    parallelExchange,
    frames,
    maxFrameGapMs: maxGap,
    maxFrameGapPhase: maxGapPhase,
    error,
    killedCode,
    aborted: { stopped: aborted.stopped, steps: aborted.epochs.reduce((sum, epoch) => sum + epoch.steps, 0) },
  };
}

/** The benchmark workload (bench/suites/workers.mjs): the MNIST-shaped ReLU MLP. */
async function bench(): Promise<BenchResult> {
  const spec = {
    input: [784],
    layers: [{ type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 10 }],
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'sgd', lr: 0.01 },
  } as const;
  const rows = 4096;
  const x = { shape: [rows, 784], data: new Float32Array(rows * 784).map((_, i) => (i % 251) / 251) };
  const y = { shape: [rows], data: new Int32Array(rows).map((_, i) => i % 10) };
  const runs: BenchResult['runs'] = [];
  for (const [workers, batchSize] of [[1, 64], [2, 256]]) {
    const trainer = await createTrainer(JSON.parse(JSON.stringify(spec)), { seed: 1, workers });
    await trainer.fit({ x, y }, { epochs: 1, batchSize }); // warm-up: the workers' code tiers up
    const meter = frameMeter();
    meter.start();
    const started = performance.now();
    await trainer.fit({ x, y }, { epochs: 1, batchSize });
    const seconds = (performance.now() - started) / 1000;
    const { frames, maxGap } = meter.stop();
    runs.push({ workers, batchSize, samplesPerSecond: rows / seconds, frames, maxFrameGapMs: maxGap });
    await trainer.dispose();
  }
  return { runs };
}

(new URLSearchParams(location.search).has('bench') ? bench() : main()).then(
  (result) => {
    window.gradlabResult = result;
    document.getElementById('status')!.textContent = 'done';
  },
  (failure: unknown) => {
    window.gradlabFailure = failure instanceof Error ? `${failure.name}: ${failure.message}\n${failure.stack}` : String(failure);
  },
);
