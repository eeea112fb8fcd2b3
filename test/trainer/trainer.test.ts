/**
 * The worker trainer in Node (worker_threads): training in a worker equals training in-thread
 * bit for bit, progress events, abort, typed errors from the worker, a worker killed under a
 * running call, dispose without leaks, and data parallelism (N workers equal one on the same
 * global batches, through both gradient exchanges, with uneven and empty shards).
 */
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  capabilities,
  createModel,
  createTrainer,
  init,
  numModels,
  type CreateTrainerOptions,
  type ModelSpec,
  type StateDict,
  type StepProgress,
  type Trainer,
} from '../../dist/ts/index.js';
import { RUN, SPEC, dataset, hashState, relativeError } from '../browser/fixture.js';
import { errorOf, expectRejection } from '../expect-error.js';

const WORKER_URL = new URL('../../dist/workers/trainer.worker.js', import.meta.url);
/**
 * The ways `fit` runs: with the shared exchange its epochs run inside the workers, which meet
 * on shared memory; with the transfer exchange (a page without cross-origin isolation) each
 * step is one message round trip.
 */
const PATHS = [[1, 'shared'], [2, 'shared'], [1, 'transfer'], [2, 'transfer']] as const;
const open: Trainer[] = [];

/** A trainer that afterEach disposes. */
async function trainer(spec: ModelSpec, options: CreateTrainerOptions = {}): Promise<Trainer> {
  const created = await createTrainer(spec, options);
  open.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.dispose()));
});

describe('capabilities', () => {
  it('reports SIMD, worker_threads and the shared gradient exchange in Node', async () => {
    const report = await capabilities();
    expect(report).toMatchObject({ runtime: 'node', simd: true, workers: 'worker_threads', sharedArrayBuffer: true, gradientExchange: 'shared' });
    expect(report.hardwareConcurrency).toBeGreaterThanOrEqual(1);
  });

  it('records a forced exchange and never falls back silently', async () => {
    const forced = await trainer(SPEC, { workers: 2, gradientExchange: 'transfer' });
    expect(forced.capabilities.gradientExchange).toBe('transfer');
    expect(forced.capabilities.reason).toMatch(/transfer/);
    await expect(createTrainer(SPEC, { gradientExchange: 'sideways' as never })).rejects.toMatchObject({ code: 'InvalidArgument', arg: 'gradientExchange' });
  });
});

describe('training in a worker', () => {
  it('fits exactly as Model.fit does in-thread for the same seed', async () => {
    const data = dataset(96);
    const options = { epochs: RUN.epochs, batchSize: RUN.batchSize, seed: RUN.shuffleSeed };
    const worker = await trainer(SPEC, { seed: RUN.seed });
    const history = await worker.fit(data, options);
    const model = await createModel(SPEC, { seed: RUN.seed });
    const expected = model.fit(data, options);
    expect(history.epochs.map((e) => e.loss)).toEqual(expected.epochs.map((e) => e.loss));
    expect(history.epochs.at(-1)!.loss).toBeLessThan(history.epochs[0].loss * 0.8);
    expect(history.epochs.at(-1)!.diagnostics?.map((d) => d.name)).toEqual(['0', '1', '2']);
    expect(hashState(await worker.stateDict())).toBe(hashState(model.stateDict()));
    const x = { shape: [4, 12], data: data.x.data.slice(0, 48) };
    expect((await worker.predict(x)).data).toEqual(model.predict(x).data);
    expect(await worker.evaluate(data)).toEqual(model.evaluate(data));
    model.dispose();
  });

  it('reuses its dataset buffers across fits without mixing datasets up', async () => {
    // The second dataset is smaller and differs row by row: stale or mis-sized buffers would show.
    const first = dataset(96);
    const second = { x: { shape: [40, first.x.shape[1]], data: first.x.data.slice(0, 40 * first.x.shape[1]).reverse() }, y: { shape: [40], data: first.y.data.slice(0, 40).reverse() } };
    const options = { epochs: 1, batchSize: 8, seed: RUN.shuffleSeed };
    const worker = await trainer(SPEC, { seed: RUN.seed });
    const model = await createModel(SPEC, { seed: RUN.seed });
    for (const data of [first, second, first, second]) {
      expect((await worker.fit(data, options)).epochs[0].loss).toBe(model.fit(data, options).epochs[0].loss);
      expect(await worker.evaluate(first)).toEqual(model.evaluate(first));
    }
    expect(hashState(await worker.stateDict())).toBe(hashState(model.stateDict()));
    model.dispose();
  });

  it('mirrors the model methods: trainStep, gradients, stateDict, loadStateDict, setTraining, diagnostics', async () => {
    const { x, y } = dataset(8);
    const worker = await trainer(SPEC, { seed: 1 });
    const model = await createModel(SPEC, { seed: 1 });
    expect(await worker.gradients(x, y)).toEqual(model.gradients(x, y));
    expect(await worker.trainStep(x, y)).toEqual(model.trainStep(x, y));
    expect(await worker.diagnostics()).toEqual(model.diagnostics());
    await worker.setTraining(false);
    model.setTraining(false);
    expect(await worker.trainStep(x, y)).toEqual(model.trainStep(x, y));
    const other = await createModel(SPEC, { seed: 2 });
    await worker.loadStateDict(other.stateDict());
    expect(hashState(await worker.stateDict())).toBe(hashState(other.stateDict()));
    model.dispose();
    other.dispose();
  });

  it('reports progress at the requested rate with per-layer diagnostics', async () => {
    for (const [workers, gradientExchange] of PATHS) {
      const worker = await trainer(SPEC, { seed: 1, workers, gradientExchange });
      const events: StepProgress[] = [];
      const history = await worker.fit(dataset(80), { epochs: 2, batchSize: 8, progressEvery: 3, onProgress: (p) => events.push(p) });
      // 10 steps an epoch: every third step of the run, and each epoch's last.
      expect(events.map((e) => [e.epoch, e.step])).toEqual([[0, 2], [0, 5], [0, 8], [0, 9], [1, 1], [1, 4], [1, 7], [1, 9]]);
      for (const event of events) {
        expect(event.stepsPerEpoch).toBe(10);
        expect(Number.isFinite(event.loss)).toBe(true);
        expect(event.diagnostics?.map((d) => d.name)).toEqual(['0', '1', '2']);
        expect(event.diagnostics?.[0].weightGradNorm).toBeGreaterThan(0);
      }
      // The epoch's last report is its last step, whose diagnostics the epoch result keeps.
      expect(events[3].diagnostics).toEqual(history.epochs[0].diagnostics);
      const quiet: StepProgress[] = [];
      await worker.fit(dataset(16), { epochs: 1, batchSize: 8, progressDiagnostics: false, onProgress: (p) => quiet.push(p) });
      expect(quiet.map((e) => e.diagnostics)).toEqual([undefined, undefined]);
    }
  });

  it('stops within one step when aborted and stays usable', async () => {
    for (const [workers, gradientExchange] of PATHS) {
      const worker = await trainer(SPEC, { seed: 1, workers, gradientExchange });
      const controller = new AbortController();
      const steps: number[] = [];
      const history = await worker.fit(dataset(400), {
        epochs: 5,
        batchSize: 8,
        signal: controller.signal,
        onProgress: (p) => {
          steps.push(p.step);
          if (p.step === 3) controller.abort();
        },
      });
      expect(history.stopped).toBe(true);
      expect(history.epochs).toHaveLength(1);
      // Aborted after step 3 completed: at most the step in flight (4) completes too.
      expect(history.epochs[0].steps).toBeLessThanOrEqual(5);
      expect(Math.max(...steps)).toBeLessThanOrEqual(4);
      const again = await worker.fit(dataset(32), { epochs: 1, batchSize: 8 });
      expect(again.stopped).toBe(false);
      expect(again.epochs[0].steps).toBe(4);
      const already = await worker.fit(dataset(32), { epochs: 3, batchSize: 8, signal: AbortSignal.abort() });
      expect(already).toMatchObject({ stopped: true, epochs: [{ steps: 0 }] });
    }
  });
});

describe('errors', () => {
  it('arrive from the worker as the same GradlabError, and the trainer stays usable', async () => {
    const worker = await trainer(SPEC, { seed: 1 });
    const error = await expectRejection(worker.predict({ shape: [2, 5], data: new Float32Array(10) }), 'ShapeMismatch');
    expect(error).toMatchObject({ op: 'predict', arg: 'x' });
    expect(error.message).toMatch(/\[2, 5\]/);
    const state = await worker.stateDict();
    await expectRejection(worker.loadStateDict({ ...state, '0.weight': { shape: [3, 3], data: new Float32Array(9) } }), 'ShapeMismatch');
    await expectRejection(worker.trainStep({ shape: [2, 12], data: new Float32Array(24) }, { shape: [2], data: new Int32Array([0, 7]) }), 'InvalidArgument');
    expect((await worker.predict({ shape: [1, 12], data: new Float32Array(12) })).shape).toEqual([1, 3]);
    expect(hashState(await worker.stateDict())).toBe(hashState(state));
  });

  it('are thrown for bad arguments before anything is sent', async () => {
    await expect(createTrainer({ ...SPEC, layers: [{ type: 'dense', units: -1 }] })).rejects.toMatchObject({ code: 'InvalidSpec' });
    await expect(createTrainer(SPEC, { workers: 0 })).rejects.toMatchObject({ code: 'InvalidArgument', arg: 'workers' });
    const worker = await trainer(SPEC);
    const { x, y } = dataset(8);
    await expect(worker.fit({ x, y: { shape: [7], data: y.data.slice(0, 7) } }, { epochs: 1, batchSize: 4 })).rejects.toMatchObject({ code: 'ShapeMismatch', arg: 'data.y' });
    await expect(worker.fit({ x, y: { shape: [8], data: [0, 1, 2, 0, 1, 2, 0, 1.5] } }, { epochs: 1, batchSize: 4 })).rejects.toMatchObject({ code: 'InvalidArgument', arg: 'data.y' });
    await expect(worker.fit({ x, y }, { epochs: 1, batchSize: 0 })).rejects.toMatchObject({ code: 'InvalidArgument', arg: 'batchSize' });
    await expect(worker.fit({ x, y }, { epochs: 1, batchSize: 4, progressEvery: 0 })).rejects.toMatchObject({ code: 'InvalidArgument', arg: 'progressEvery' });
  });

  it('take the tensors a Model takes: extra fields (a function, say) are not sent, non-numbers are typed errors', async () => {
    const worker = await trainer(SPEC, { seed: 1 });
    const model = await createModel(SPEC, { seed: 1 });
    const x = { shape: [2, 12], data: new Float32Array(24).fill(0.5), describe: () => 'a batch' };
    const y = { shape: [2], data: new Int32Array([0, 2]), onDone() {} };
    expect(await worker.trainStep(x, y)).toEqual(model.trainStep(x, y));
    expect((await worker.predict(x)).data).toEqual(model.predict(x).data);
    expect((await worker.gradients(x, y)).loss).toBe(model.gradients(x, y).loss);
    const state = Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, { ...t, note: () => name }]));
    await worker.loadStateDict(state);
    expect(hashState(await worker.stateDict())).toBe(hashState(model.stateDict()));
    await expectRejection(worker.trainStep({ shape: [1, 12], data: [() => 1, ...new Array(11).fill(0)] as never }, { shape: [1], data: [0] }), 'InvalidArgument', 'x.data');
    await expectRejection(worker.predict({ shape: [1, 12] } as never), 'InvalidArgument', 'x.data');
    await expectRejection(worker.loadStateDict(null as never), 'InvalidArgument', 'dict');
    model.dispose();
  });

  // Issue 10, item 6: fit packed plain-array labels into an Int32Array for the workers, so a
  // label of 2^32 + 1 trained as class 1 and 2^31 as a negative index.
  it('refuse class labels that Int32 would wrap, in every path, before any step', async () => {
    const spec: ModelSpec = { ...SPEC, optimizer: { type: 'sgd', lr: 0.1 } };
    const { x, y } = dataset(16);
    for (const wrapping of [2 ** 32 + 1, 2 ** 31, 2 ** 53]) {
      const labels = Array.from(y.data);
      labels[11] = wrapping;
      for (const [workers, gradientExchange] of PATHS) {
        const worker = await trainer(spec, { seed: 1, workers, gradientExchange });
        const before = hashState(await worker.stateDict());
        const error = await expectRejection(worker.fit({ x, y: { shape: [16], data: labels } }, { epochs: 1, batchSize: 8 }), 'InvalidArgument', 'data.y');
        expect(error.actual, `${workers} workers, ${gradientExchange}`).toBe(`${wrapping} at index 11`);
        expect(hashState(await worker.stateDict())).toBe(before);
      }
      const model = await createModel(spec, { seed: 1 });
      const error = errorOf(() => model.fit({ x, y: { shape: [16], data: labels } }, { epochs: 1, batchSize: 8 }));
      expect(error).toMatchObject({ code: 'InvalidArgument', arg: 'data.y', actual: `${wrapping} at index 11` });
      model.dispose();
    }
  });

  it('in a batch inside an epoch reject fit and leave every replica on the same step', async () => {
    // Plain SGD: the optimiser holds no state outside the state dict.
    const spec: ModelSpec = { ...SPEC, optimizer: { type: 'sgd', lr: 0.1 } };
    for (const [workers, gradientExchange] of PATHS) {
      const worker = await trainer(spec, { seed: 1, workers, gradientExchange });
      const before = await worker.stateDict();
      // Class 7 of 3 in the last row: without shuffling only the last worker's shard of step 1 holds it.
      const { x, y } = dataset(16);
      y.data[15] = 7;
      const error = await expectRejection(worker.fit({ x, y }, { epochs: 1, batchSize: 8, shuffle: false }), 'InvalidArgument');
      expect(error.message).toMatch(/7/);
      // Step 0 was applied everywhere and step 1 nowhere: one more step agrees with a model
      // that took step 0 alone from the same weights.
      const model = await createModel(spec, { seed: 0 });
      model.loadStateDict(before);
      model.trainStep({ shape: [8, 12], data: x.data.slice(0, 96) }, { shape: [8], data: y.data.slice(0, 8) });
      const next = dataset(6);
      await worker.trainStep(next.x, next.y);
      model.trainStep(next.x, next.y);
      expect(relativeError(await worker.stateDict(), model.stateDict()), `${workers} workers, ${gradientExchange}`).toBeLessThanOrEqual(1e-5);
      expect((await worker.fit(dataset(16), { epochs: 1, batchSize: 8 })).epochs[0].steps).toBe(2);
      model.dispose();
    }
  });

  it('thrown by onProgress reject fit and stop training', async () => {
    for (const [workers, gradientExchange] of PATHS) {
      const worker = await trainer(SPEC, { seed: 1, workers, gradientExchange });
      const thrown = new Error('stop here');
      let calls = 0;
      const fit = worker.fit(dataset(400), {
        epochs: 3,
        batchSize: 8,
        onProgress: () => {
          calls++;
          throw thrown;
        },
      });
      await expect(fit).rejects.toBe(thrown);
      expect(calls).toBe(1);
      expect((await worker.fit(dataset(16), { epochs: 1, batchSize: 8 })).epochs[0].steps).toBe(2);
    }
  });

  it('refuses a second fit while one runs', async () => {
    const worker = await trainer(SPEC);
    const running = worker.fit(dataset(64), { epochs: 2, batchSize: 8 });
    await expectRejection(worker.fit(dataset(8), { epochs: 1, batchSize: 8 }), 'InvalidState');
    await expectRejection(worker.trainStep(dataset(8).x, dataset(8).y), 'InvalidState');
    expect((await running).epochs).toHaveLength(2);
  });
});

describe('a worker that dies', () => {
  it('rejects the pending and every later call with WorkerDied', async () => {
    for (const [workers, gradientExchange] of PATHS) {
      const started: Worker[] = [];
      const worker = await trainer(SPEC, {
        workers,
        gradientExchange,
        createWorker: () => {
          const created = new Worker(WORKER_URL);
          started.push(created);
          return created;
        },
      });
      expect(started).toHaveLength(workers);
      let steps = 0;
      const running = worker.fit(dataset(4000), {
        epochs: 50,
        batchSize: 4,
        onProgress: () => {
          if (++steps === 3) void started[workers - 1].terminate();
        },
      });
      const error = await expectRejection(running, 'WorkerDied');
      expect(error.message).toMatch(/exited/);
      await expectRejection(worker.predict({ shape: [1, 12], data: new Float32Array(12) }), 'WorkerDied');
      await expectRejection(worker.stateDict(), 'WorkerDied');
      await expectRejection(worker.fit(dataset(8), { epochs: 1, batchSize: 8 }), 'WorkerDied');
    }
  });
});

describe('dispose', () => {
  it('terminates every worker, leaks nothing, and rejects pending and later calls', async () => {
    await init();
    const modelsBefore = numModels();
    const started: Worker[] = [];
    const worker = await createTrainer(SPEC, { workers: 2, createWorker: () => started[started.push(new Worker(WORKER_URL)) - 1] });
    const running = expectRejection(worker.fit(dataset(4000), { epochs: 50, batchSize: 4 }), 'Disposed');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // A worker with a call pending keeps the process alive through its port.
    expect(process.getActiveResourcesInfo()).toContain('MessagePort');
    await worker.dispose();
    await running;
    await expectRejection(worker.predict({ shape: [1, 12], data: new Float32Array(12) }), 'Disposed');
    await worker.dispose();
    // A worker that has stopped has thread id -1.
    expect(started.map((w) => w.threadId)).toEqual([-1, -1]);
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Worker' || kind === 'MessagePort')).toEqual([]);
    expect(numModels()).toBe(modelsBefore);
  });

  it('lets the process exit while a trainer idles undisposed (workers are unref-ed between calls)', () => {
    const index = new URL('../../dist/ts/index.js', import.meta.url).href;
    const script = `
      const { createTrainer } = await import(${JSON.stringify(index)});
      const trainer = await createTrainer({ input: [2], layers: [{ type: 'dense', units: 1 }], loss: 'mse' }, { workers: 2 });
      await trainer.trainStep({ shape: [2, 2], data: new Float32Array(4) }, { shape: [2, 1], data: new Float32Array(2) });
      console.log('trained');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('trained');
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
  });
});

describe('data parallel', () => {
  /** K steps of SGD with momentum, clipping and L2 on the same global batches, in-thread. */
  async function reference(data: ReturnType<typeof dataset>, batchSize: number, epochs: number): Promise<StateDict> {
    const model = await createModel(SPEC, { seed: 5 });
    model.fit(data, { epochs, batchSize, seed: 9 });
    const state = model.stateDict();
    model.dispose();
    return state;
  }

  it('exchanges flat gradient vectors through the model (gradientsInto, applyWeightedGradients)', async () => {
    const { x, y } = dataset(10);
    const a = await createModel(SPEC, { seed: 6 });
    const b = await createModel(SPEC, { seed: 6 });
    const flat = new Float32Array(a.parameterCount);
    const losses = a.gradientsInto(x, y, flat);
    const { grads, ...expectedLosses } = b.gradients(x, y);
    expect(losses).toEqual(expectedLosses);
    expect(flat).toEqual(Float32Array.from(Object.values(grads).flatMap((tensor) => [...tensor.data])));
    // Half of it twice is the whole of it: the same step as applyGradients.
    const half = flat.map((value) => value / 2);
    expect(a.applyWeightedGradients([half, half], [1, 1], losses)).toEqual(b.applyGradients(grads, expectedLosses));
    expect(relativeError(a.stateDict(), b.stateDict())).toBeLessThanOrEqual(1e-6);
    // 'held' takes the gradients the model holds, with the same bits as the copies, at index 0 or 1.
    const other = flat.map((value, i) => value * (1 + (i % 3)));
    for (const held of [0, 1]) {
      const c = await createModel(SPEC, { seed: 6 });
      const d = await createModel(SPEC, { seed: 6 });
      c.gradientsInto(x, y, new Float32Array(c.parameterCount));
      const sources: (Float32Array | 'held')[] = held === 0 ? ['held', other] : [other, 'held'];
      expect(c.applyWeightedGradients(sources, [0.25, 0.75], losses)).toEqual(d.applyWeightedGradients(held === 0 ? [flat, other] : [other, flat], [0.25, 0.75], losses));
      expect(hashState(c.stateDict())).toBe(hashState(d.stateDict()));
      expect(() => c.applyWeightedGradients([flat, other, 'held'], [1, 1, 1], losses)).toThrow(expect.objectContaining({ code: 'InvalidArgument', arg: 'sources' }));
      expect(() => c.applyWeightedGradients(['held', 'held'], [1, 1], losses)).toThrow(expect.objectContaining({ code: 'InvalidArgument', arg: 'sources' }));
      c.dispose();
      d.dispose();
    }
    expect(() => a.gradientsInto(x, y, new Float32Array(3))).toThrow(expect.objectContaining({ code: 'ShapeMismatch', arg: 'target' }));
    expect(() => a.applyWeightedGradients([flat], [0], losses)).toThrow(expect.objectContaining({ code: 'InvalidArgument', arg: 'weights' }));
    expect(() => a.applyWeightedGradients([new Float32Array(3)], [1], losses)).toThrow(expect.objectContaining({ code: 'ShapeMismatch', arg: 'gradients' }));
    a.dispose();
    b.dispose();
  });

  it('N workers equal one worker on the same global batches (relative error ≤ 1e-5)', async () => {
    // 101 rows, batch 30: shards of 10/10/10 and, in the last batch of 11 rows, 4/4/3; with
    // batch 50 over 3 workers the last batch (1 row) leaves two shards empty.
    const data = dataset(101);
    for (const [workers, exchange, batchSize] of [[2, 'shared', 30], [3, 'shared', 30], [2, 'transfer', 30], [3, 'shared', 50], [3, 'transfer', 50]] as const) {
      const expected = await reference(data, batchSize, 3);
      const parallel = await trainer(SPEC, { seed: 5, workers, gradientExchange: exchange });
      const history = await parallel.fit(data, { epochs: 3, batchSize, seed: 9 });
      expect(history.epochs.map((e) => e.steps)).toEqual([Math.ceil(101 / batchSize), Math.ceil(101 / batchSize), Math.ceil(101 / batchSize)]);
      expect(relativeError(await parallel.stateDict(), expected), `${workers} workers, ${exchange}, batch ${batchSize}`).toBeLessThanOrEqual(1e-5);
    }
  });

  it('averages gradients and steps like one model on the whole batch', async () => {
    const { x, y } = dataset(20);
    const parallel = await trainer(SPEC, { seed: 3, workers: 2 });
    const model = await createModel(SPEC, { seed: 3 });
    const expected = model.gradients(x, y);
    const actual = await parallel.gradients(x, y);
    expect(actual.loss).toBeCloseTo(expected.loss, 5);
    expect(actual.gradNorm).toBeCloseTo(expected.gradNorm, 4);
    expect(relativeError(actual.grads, expected.grads)).toBeLessThanOrEqual(1e-5);
    const step = await parallel.trainStep(x, y);
    expect(step.applied).toBe(true);
    model.trainStep(x, y);
    expect(relativeError(await parallel.stateDict(), model.stateDict())).toBeLessThanOrEqual(1e-5);
    model.dispose();
  });

  it('keeps every replica identical (worker 0 reports; all replicas apply the same update)', async () => {
    const data = dataset(64);
    // Plain SGD: the optimiser holds no state outside the state dict.
    const spec: ModelSpec = { ...SPEC, optimizer: { type: 'sgd', lr: 0.1 } };
    const parallel = await trainer(spec, { seed: 4, workers: 2 });
    await parallel.fit(data, { epochs: 2, batchSize: 16 });
    // Train one more step on rows only worker 1's shard sees: if replicas differed, worker 0's
    // result would not match a single model loaded with worker 0's weights.
    const model = await createModel(spec, { seed: 0 });
    model.loadStateDict(await parallel.stateDict());
    const { x, y } = dataset(6);
    await parallel.trainStep(x, y);
    model.trainStep(x, y);
    expect(relativeError(await parallel.stateDict(), model.stateDict())).toBeLessThanOrEqual(1e-5);
    model.dispose();
  });

  it('refuses a non-finite step as trainStep does, leaving the weights', async () => {
    // Weights near the f32 maximum make the forward pass overflow.
    const spec: ModelSpec = { input: [12], layers: [{ type: 'dense', units: 3 }], loss: 'mse' };
    const huge = { '0.weight': { shape: [3, 12], data: new Float32Array(36).fill(3e38) }, '0.bias': { shape: [3], data: new Float32Array(3) } };
    const x = { shape: [4, 12], data: new Float32Array(48).fill(1) };
    const y = { shape: [4, 3], data: new Float32Array(12) };
    const model = await createModel(spec);
    model.loadStateDict(huge);
    const expected = model.trainStep(x, y);
    expect(expected).toMatchObject({ applied: false, nonFiniteAt: '0' });
    const parallel = await trainer(spec, { workers: 2 });
    await parallel.loadStateDict(huge);
    expect(await parallel.trainStep(x, y)).toMatchObject({ applied: false, nonFiniteAt: '0' });
    expect(hashState(await parallel.stateDict())).toBe(hashState(model.stateDict()));
    model.dispose();
  });

  it('normalises BatchNorm per shard (as DDP without SyncBatchNorm)', async () => {
    const spec: ModelSpec = { ...SPEC, layers: [{ type: 'dense', units: 8 }, { type: 'batchnorm' }, { type: 'activation', activation: 'relu' }, { type: 'dense', units: 3 }] };
    const { x, y } = dataset(8);
    const parallel = await trainer(spec, { seed: 2, workers: 2 });
    const model = await createModel(spec, { seed: 2 });
    const half = (tensor: { shape: number[]; data: Float32Array | Int32Array }, part: number) => ({
      shape: [4, ...tensor.shape.slice(1)],
      data: tensor.data.slice((part * tensor.data.length) / 2, ((part + 1) * tensor.data.length) / 2),
    });
    const first = model.gradients(half(x, 0), half(y, 0)).grads;
    const second = model.gradients(half(x, 1), half(y, 1)).grads;
    const perShard: StateDict = {};
    for (const name of Object.keys(first)) perShard[name] = { shape: first[name].shape, data: first[name].data.map((v, i) => (v + second[name].data[i]) / 2) };
    expect(relativeError((await parallel.gradients(x, y)).grads, perShard)).toBeLessThanOrEqual(1e-5);
    expect(relativeError(model.gradients(x, y).grads, perShard)).toBeGreaterThan(1e-3);
    model.dispose();
  });
});
