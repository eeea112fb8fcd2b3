/**
 * `createTrainer(spec)`: the model API, asynchronous, with the model in one or more workers so
 * the calling thread never blocks on training.
 *
 * Datasets are sent once and batches are drawn inside the workers. With the shared exchange
 * (wherever SharedArrayBuffer exists, unless `gradientExchange: 'transfer'` is asked for),
 * `fit` runs each epoch inside the workers: they meet on shared memory once a step
 * ({@link RunControl}), worker 0 posts progress reports, and the caller's stop flag and
 * acknowledgements of those reports steer the run, so a step costs no message. Otherwise (a
 * page without cross-origin isolation), and for `trainStep` and `gradients`, the caller drives
 * each step with one message round trip per worker.
 *
 * With `workers: N > 1` training is synchronous data parallelism (as PyTorch's
 * DistributedDataParallel): every global batch is split into N contiguous shards, each
 * worker computes its shard's gradients, the gradients are averaged weighted by rows, and
 * every worker applies the same average, so the replicas (built from the same seed) stay
 * identical. The averaged update equals a single worker's on the whole batch up to float
 * summation order. BatchNorm normalises each shard with that shard's own statistics (DDP
 * without SyncBatchNorm), so a data-parallel BatchNorm net trains like one with the smaller
 * per-shard batch; its running statistics, like `predict`, `evaluate`, `stateDict` and
 * `diagnostics`, come from worker 0 (DDP broadcasts rank 0's buffers).
 */
import { capabilities, type Capabilities } from '../runtime/capabilities.js';
import { WorkerConnection } from './endpoint.js';
import type { CreateWorker } from './worker-handle.js';
import { GradlabError, describe, invalidArgument } from '../runtime/errors.js';
import { GradientExchange, SharedExchange, TransferExchange, shardsOf, type Contribution, type StepUpdate } from './gradient-exchange.js';
import { checkClassLabels, checkTensor, datasetLayout, holdsClasses, labelsToCheck } from '../model/batches.js';
import { parameterCount } from '../model/model.js';
import { RunControl } from './run-control.js';
import { validateSpec, type ModelSpec } from '../model/spec.js';
import { EpochTally, StepPlan } from '../model/step-plan.js';
import { checkFitOptions } from '../model/training.js';
import type { Dataset, EpochResult, EvaluateResult, GradientsResult, History, LayerDiagnostics, StateDict, StepProgress, StepResult, TensorData, TensorLike } from '../model/types.js';
import { init, type WasmSource } from '../runtime/wasm.js';
import type { ModelDescription } from './model-description.js';
import type { BatchSource, DatasetTransfer, EpochReply, RemoteTrainerWorker, StepReply, StepRequest } from './worker-protocol.js';
import * as Comlink from 'comlink';

export interface CreateTrainerOptions {
  /** Seed for the initial weights (every worker builds the same replica); default 0. */
  seed?: number;
  /** Workers to train on; more than one trains data-parallel. Default 1. */
  workers?: number;
  /** Where to load gradlab.wasm from (defaults to the packaged file); compiled once, shared with the workers. */
  wasm?: WasmSource;
  /**
   * How data-parallel workers exchange gradients: `auto` (default) takes SharedArrayBuffer
   * where the runtime has it and transferred buffers elsewhere; asking for `shared` where it
   * is missing throws rather than falling back.
   */
  gradientExchange?: 'auto' | 'shared' | 'transfer';
  /** Creates each worker from the worker script's URL (see {@link CreateWorker}). */
  createWorker?: CreateWorker;
}

export interface TrainerFitOptions {
  epochs: number;
  batchSize: number;
  /** Reshuffle every epoch (default true) with the seeded permutation, exactly as `Model.fit`. */
  shuffle?: boolean;
  seed?: number;
  /** Evaluated (by worker 0) after every epoch when given. */
  validationData?: Dataset;
  /**
   * Stops training within one step: the step in flight completes, `fit` resolves with
   * `stopped: true` (the epochs so far, the last one partial), and the trainer stays usable.
   */
  signal?: AbortSignal;
  /** Receives epoch, step, losses and (by default) per-layer diagnostics. */
  onProgress?: (progress: StepProgress) => void;
  /** Call `onProgress` every this many steps and after each epoch's last step; default 1. */
  progressEvery?: number;
  /** Include per-layer diagnostics in progress events (default true; one extra WASM call per event). */
  progressDiagnostics?: boolean;
}

/** Which step a message carries, and what to collect when it completes. */
interface StepTag {
  step: number;
  /** The epoch's last step: its diagnostics go into the epoch result. */
  last: boolean;
  report: boolean;
  diagnostics: boolean;
}

/** An epoch of `fit`: its held dataset, its number and the plan of its steps. */
interface EpochRun {
  dataset: number;
  epoch: number;
  plan: StepPlan;
}

interface CompletedStep {
  tag: StepTag;
  result: StepResult;
  diagnostics?: LayerDiagnostics[];
}

/**
 * A tensor as plain data for a worker: its shape and numbers only. postMessage clones every
 * field, so one the model ignores (a function, say) would throw a DOMException instead of
 * reaching the model; the model checks the numbers themselves.
 */
function cloneable(op: string, arg: string, value: unknown): TensorLike {
  const { shape, data } = checkTensor(op, arg, value);
  if (ArrayBuffer.isView(data)) return { shape: [...shape], data };
  const values = Array.from(data);
  const bad = values.findIndex((v) => typeof v !== 'number');
  if (bad >= 0) invalidArgument(op, `${arg}.data`, 'numbers', `${describe(values[bad])} at index ${bad}`);
  return { shape: [...shape], data: values };
}

/** Every tensor of a state dict as {@link cloneable} data. */
function cloneableDict(op: string, dict: unknown): Record<string, TensorLike> {
  if (typeof dict !== 'object' || dict === null) invalidArgument(op, 'dict', 'a record of tensors', describe(dict));
  const plain: Record<string, TensorLike> = {};
  for (const [name, tensor] of Object.entries(dict)) Object.defineProperty(plain, name, { value: cloneable(op, name, tensor), enumerable: true, writable: true, configurable: true });
  return plain;
}

/** Rows `[start, end)` of an explicit batch whose rows hold `xRow` and `yRow` values. */
function sliceRows(x: TensorLike, y: TensorLike, xRow: number, yRow: number, start: number, end: number): { x: TensorLike; y: TensorLike } {
  const rows = (tensor: TensorLike, length: number) => ({
    shape: [end - start, ...tensor.shape.slice(1)],
    // A typed array slices into the same type, which keeps the model's reading of the labels.
    data: ArrayBuffer.isView(tensor.data) ? (tensor.data as Float32Array).slice(start * length, end * length) : (Array.prototype.slice.call(tensor.data, start * length, end * length) as number[]),
  });
  return { x: rows(x, xRow), y: rows(y, yRow) };
}

/** Values copied between two yields: about a millisecond of work, well inside a frame. */
const COPY_SLICE = 1 << 18;

/** Resolves on the next macrotask, letting the thread draw a frame or serve a timer. */
function nextTask(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/**
 * Copies `source` into `target` a slice at a time, yielding between slices so a large dataset
 * never stalls the calling thread; `check` sees each slice first (it may throw).
 */
async function copyInSlices(source: ArrayLike<number>, target: Float32Array | Int32Array, check?: (slice: ArrayLike<number>, offset: number) => void): Promise<void> {
  for (let start = 0; start < source.length; start += COPY_SLICE) {
    if (start > 0) await nextTask();
    const end = Math.min(start + COPY_SLICE, source.length);
    const slice = ArrayBuffer.isView(source) ? (source as unknown as Float32Array).subarray(start, end) : (Array.prototype.slice.call(source, start, end) as number[]);
    check?.(slice, start);
    target.set(slice, start);
  }
}

/**
 * SharedArrayBuffers of datasets the workers have dropped, kept for the next dataset: fresh
 * memory costs a page fault per 4 KiB (about 36 ms for 12.8 MB here), copying into memory
 * already touched about 0.6 ms, which is most of a one-epoch `fit` in a worker.
 */
class SharedBufferPool {
  private readonly free: SharedArrayBuffer[] = [];
  private static readonly KEPT = 4;

  take(bytes: number): SharedArrayBuffer {
    const index = this.free.findIndex((buffer) => buffer.byteLength >= bytes);
    return index >= 0 ? this.free.splice(index, 1)[0] : new SharedArrayBuffer(bytes);
  }

  give(buffers: SharedArrayBuffer[]): void {
    this.free.push(...buffers);
    this.free.splice(0, Math.max(0, this.free.length - SharedBufferPool.KEPT));
  }
}

/**
 * Copies a dataset into buffers from `allocate` (bytes → buffer), typed as the model reads
 * them: class labels are checked (see model/batches.ts) slice by slice before they become Int32.
 */
async function packDataset(op: string, spec: ModelSpec, data: Dataset, allocate: (bytes: number) => ArrayBufferLike, shuffle: boolean, seed: number): Promise<DatasetTransfer> {
  datasetLayout(op, data);
  const x = new Float32Array(allocate(data.x.data.length * 4), 0, data.x.data.length);
  await copyInSlices(data.x.data, x);
  const yLength = data.y.data.length;
  const y = holdsClasses(spec, data.y) ? new Int32Array(allocate(yLength * 4), 0, yLength) : new Float32Array(allocate(yLength * 4), 0, yLength);
  await copyInSlices(data.y.data, y, labelsToCheck(spec, data.y) ? (slice, offset) => checkClassLabels(op, 'data.y', slice, offset) : undefined);
  return { x: { shape: [...data.x.shape], data: x }, y: { shape: [...data.y.shape], data: y }, shuffle, seed };
}

/** The gradient vectors an apply request carries (transfer exchange), to move rather than copy. */
function transferablesOfApply(apply: { grads?: (Float32Array | 'held')[] } | undefined): ArrayBuffer[] {
  return (apply?.grads ?? []).flatMap((vector) => (vector === 'held' ? [] : [vector.buffer as ArrayBuffer]));
}

/** The global L2 norm of a gradient dict (`gradNorm`, as `Model.gradients` reports it). */
function globalNorm(grads: StateDict): number {
  let squares = 0;
  for (const { data } of Object.values(grads)) for (let i = 0; i < data.length; i++) squares += data[i] * data[i];
  return Math.sqrt(squares);
}

/** The transferables of a dataset (none when its buffers are shared). */
function transferablesOf(dataset: DatasetTransfer): ArrayBuffer[] {
  return [dataset.x.data.buffer, dataset.y.data.buffer].filter((buffer): buffer is ArrayBuffer => buffer instanceof ArrayBuffer);
}

/** A model trained in workers. Create it with {@link createTrainer}; end it with `dispose()`. */
export class Trainer {
  /** The validated spec with defaults filled in. */
  readonly spec: ModelSpec;
  readonly inputShape: number[];
  readonly outputShape: number[];
  readonly entries: ModelDescription['entries'];
  /** How many workers train (data parallel when more than one). */
  readonly workers: number;
  /** The runtime report, with the gradient exchange this trainer uses. */
  readonly capabilities: Capabilities;
  private readonly connections: WorkerConnection[];
  private readonly exchange?: GradientExchange;
  private readonly shared: boolean;
  /** Averaged gradients waiting to be applied with the next message (data parallel only). */
  private pending?: { tag: StepTag; update: StepUpdate };
  private failure?: GradlabError;
  /** Where the workers meet each step of an epoch run inside them (the shared exchange only). */
  private readonly control?: RunControl;
  private fitting = false;
  private nextDataset = 1;
  private readonly bufferPool = new SharedBufferPool();
  /** The pooled buffers each held dataset was copied into (shared exchange only). */
  private readonly heldBuffers = new Map<number, SharedArrayBuffer[]>();

  /** @internal Use {@link createTrainer}. */
  constructor(spec: ModelSpec, description: ModelDescription, connections: WorkerConnection[], report: Capabilities, control: RunControl | undefined) {
    this.spec = spec;
    this.inputShape = description.inputShape;
    this.outputShape = description.outputShape;
    this.entries = description.entries;
    this.connections = connections;
    this.workers = connections.length;
    this.capabilities = report;
    this.shared = report.gradientExchange === 'shared';
    if (connections.length > 1) {
      const length = parameterCount(description.entries);
      this.exchange = this.shared ? new SharedExchange(length, connections.length) : new TransferExchange(length, connections.length);
    }
    this.control = control;
  }

  /** @internal Called by {@link createTrainer} once the models exist. */
  async connectExchange(): Promise<void> {
    const exchange = this.exchange;
    if (exchange) await this.all((remote, rank) => remote.setExchange(exchange.setup(rank)));
  }

  /** @internal Records that a worker died and ends the others. */
  retire(error: GradlabError): void {
    if (this.failure) return;
    this.failure = error;
    for (const connection of this.connections) void connection.close(error);
  }

  private live(op: string): void {
    if (this.failure) {
      if (this.failure.code === 'Disposed') throw new GradlabError({ code: 'Disposed', op, message: `${op}: the trainer has been disposed` });
      throw this.failure;
    }
  }

  /** Training calls take turns: a step in the middle of `fit` would break its data-parallel pipeline. */
  private idle(op: string): void {
    this.live(op);
    if (this.fitting) throw new GradlabError({ code: 'InvalidState', op, message: `${op}: this trainer is fitting; await the running fit first` });
  }

  /** Calls every worker (rank order). */
  private all<R>(body: (remote: RemoteTrainerWorker, rank: number) => Promise<R>): Promise<R[]> {
    return Promise.all(this.connections.map((connection, rank) => connection.call((remote) => body(remote, rank))));
  }

  /** Calls worker 0, which holds the reference replica. */
  private first<R>(op: string, body: (remote: RemoteTrainerWorker) => Promise<R>): Promise<R> {
    this.live(op);
    return this.connections[0].call(body);
  }

  /** Sends each worker its request, transferring any gradients it carries. */
  private send(requests: StepRequest[]): Promise<StepReply[]> {
    return this.all((remote, rank) => {
      const request = requests[rank];
      return remote.step(Comlink.transfer(request, transferablesOfApply(request.apply)));
    });
  }

  /**
   * One training step: one round trip per worker. With one worker the step completes in the
   * reply. Data parallel, the message also applies the previous step's average, so a step
   * completes with the next message or with {@link flush}.
   */
  private async step(sources: BatchSource[], tag: StepTag): Promise<CompletedStep[]> {
    if (!this.exchange) {
      const [reply] = await this.send([{ batch: { source: sources[0], mode: 'trainStep', diagnostics: tag.diagnostics } }]);
      return [{ tag, result: reply.trained as StepResult, diagnostics: reply.diagnostics }];
    }
    const previous = this.pending;
    this.pending = undefined;
    const bank = this.exchange.nextBank();
    const replies = await this.send(sources.map((source, rank) => ({ apply: previous?.update.requests[rank], batch: { source, mode: 'gradients', bank } })));
    this.pending = { tag, update: this.update(replies, bank, tag.diagnostics) };
    return previous ? [this.completed(previous.tag, replies)] : [];
  }

  /** Applies the average still pending, if any (data parallel). */
  private async flush(): Promise<CompletedStep[]> {
    const previous = this.pending;
    if (!previous) return [];
    this.pending = undefined;
    const replies = await this.send(previous.update.requests.map((apply) => ({ apply })));
    return [this.completed(previous.tag, replies)];
  }

  /** The update of a step from the workers' replies; only worker 0 reads diagnostics. */
  private update(replies: StepReply[], bank: 0 | 1, diagnostics: boolean): StepUpdate {
    const exchange = this.exchange as GradientExchange;
    return exchange.update(
      replies.map((reply) => reply.gradients),
      bank,
      replies.map((_, rank) => diagnostics && rank === 0),
    );
  }

  private completed(tag: StepTag, replies: StepReply[]): CompletedStep {
    return { tag, result: replies[0].applied as StepResult, diagnostics: replies[0].diagnostics };
  }

  /** The batch sources of rows `[start, end)` of a held dataset: one per worker. */
  private datasetSources(dataset: number, epoch: number, start: number, end: number): BatchSource[] {
    return shardsOf(start, end - start, this.workers).map(([from, to]) => ({ dataset, epoch, start: from, end: to }));
  }

  /** The batch sources of an explicit batch: the whole batch, or one shard per worker. */
  private explicitSources(op: string, x: TensorLike, y: TensorLike): BatchSource[] {
    const [plainX, plainY] = [cloneable(op, 'x', x), cloneable(op, 'y', y)];
    if (this.workers === 1) return [{ x: plainX, y: plainY }];
    const { count, xRow, yRow } = datasetLayout(op, { x: plainX, y: plainY });
    return shardsOf(0, count, this.workers).map(([from, to]) => sliceRows(plainX, plainY, xRow, yRow, from, to));
  }

  /** Sends a dataset once to the given workers (default all): one shared copy, or a transferred copy each. */
  private async hold(op: string, data: Dataset, shuffle: boolean, seed: number, ranks = this.connections.map((_, rank) => rank)): Promise<number> {
    const id = this.nextDataset++;
    let sharedCopy: DatasetTransfer | undefined;
    if (this.shared) {
      const taken: SharedArrayBuffer[] = [];
      this.heldBuffers.set(id, taken);
      sharedCopy = await packDataset(op, this.spec, data, (bytes) => taken[taken.push(this.bufferPool.take(bytes)) - 1], shuffle, seed);
    }
    await Promise.all(
      ranks.map(async (rank) => {
        const dataset = sharedCopy ?? (await packDataset(op, this.spec, data, (bytes) => new ArrayBuffer(bytes), shuffle, seed));
        return this.connections[rank].call((remote) => remote.holdDataset(id, Comlink.transfer(dataset, transferablesOf(dataset))));
      }),
    );
    return id;
  }

  private async drop(id: number, ranks = this.connections.map((_, rank) => rank)): Promise<void> {
    const buffers = this.heldBuffers.get(id);
    this.heldBuffers.delete(id);
    if (this.failure) return;
    await Promise.all(ranks.map((rank) => this.connections[rank].call((remote) => remote.dropDataset(id))));
    // Only once every worker has let go may another dataset be copied over them.
    if (buffers) this.bufferPool.give(buffers);
  }

  /**
   * Trains on a whole dataset in mini-batches inside the workers (see {@link TrainerFitOptions}).
   * One worker gives exactly `Model.fit`'s result for the same seed.
   */
  async fit(data: Dataset, options: TrainerFitOptions): Promise<History> {
    const { shuffle, seed } = checkFitOptions('fit', options);
    const every = options.progressEvery ?? 1;
    if (!Number.isInteger(every) || every < 1) invalidArgument('fit', 'progressEvery', 'a positive integer', describe(every));
    const { count } = datasetLayout('fit', data);
    this.idle('fit');
    this.fitting = true;
    let dataset: number | undefined;
    let validation: number | undefined;
    const raise = () => this.control?.requestStop();
    options.signal?.addEventListener('abort', raise);
    try {
      dataset = await this.hold('fit', data, shuffle, seed);
      if (options.validationData) validation = await this.hold('fit', options.validationData, false, 0, [0]);
      return await this.epochs(dataset, validation, count, options);
    } finally {
      options.signal?.removeEventListener('abort', raise);
      this.pending = undefined;
      this.fitting = false;
      if (dataset !== undefined) await this.drop(dataset);
      if (validation !== undefined) await this.drop(validation, [0]);
    }
  }

  /** The epochs of {@link fit} over held datasets. */
  private async epochs(dataset: number, validation: number | undefined, count: number, options: TrainerFitOptions): Promise<History> {
    const plan = new StepPlan(count, options.batchSize);
    const history: History = { epochs: [], stopped: false };
    for (let epoch = 0; epoch < options.epochs && !history.stopped; epoch++) {
      const epochRun = { dataset, epoch, plan };
      const { result, stopped } = this.control ? await this.epochInWorkers(this.control, epochRun, options) : await this.epochStepByStep(epochRun, options);
      if (validation !== undefined) result.validation = await this.first('fit', (remote) => remote.evaluateDataset(validation, Math.max(options.batchSize, 256)));
      history.epochs.push(result);
      history.stopped = stopped;
    }
    return history;
  }

  /**
   * One epoch run inside the workers, which meet at `control` each step. Worker 0's reports
   * arrive on a port; each is acknowledged once `onProgress` has seen it, so an abort from
   * `onProgress` stops the run within one step. An `onProgress` that throws stops the run,
   * and `fit` rejects with its error.
   */
  private async epochInWorkers(control: RunControl, run: EpochRun, options: TrainerFitOptions): Promise<{ result: EpochResult; stopped: boolean }> {
    const { onProgress } = options;
    control.start();
    if (options.signal?.aborted) control.requestStop();
    const channel = onProgress ? new MessageChannel() : undefined;
    let received = 0;
    let thrown: { error: unknown } | undefined;
    let allReceived: () => void = () => undefined;
    let expected = Infinity;
    if (channel && onProgress) {
      channel.port1.onmessage = (event: MessageEvent<StepProgress>) => {
        try {
          if (!thrown) onProgress(event.data);
        } catch (error) {
          thrown = { error };
          control.requestStop();
        }
        control.acknowledge(++received);
        if (received >= expected) allReceived();
      };
    }
    try {
      const request = { dataset: run.dataset, epoch: run.epoch, batchSize: options.batchSize, progressEvery: onProgress ? (options.progressEvery ?? 1) : 0, progressDiagnostics: options.progressDiagnostics ?? true };
      const replies: EpochReply[] = await this.all((remote, rank) => {
        const port = rank === 0 ? channel?.port2 : undefined;
        return remote.runEpoch(Comlink.transfer({ ...request, progress: port }, port ? [port] : []));
      });
      // The reports travel on their own port, so the last ones may arrive after the replies
      // (awaited through worker 0's connection, so a dispose meanwhile rejects instead of hanging).
      expected = replies[0].reports;
      if (received < expected) await this.first('fit', () => new Promise<void>((resolve) => (allReceived = resolve)));
      if (thrown) throw thrown.error;
      return { result: replies[0].result, stopped: replies.some((reply) => reply.stopped) };
    } finally {
      channel?.port1.close();
    }
  }

  /** One epoch driven from here: one round trip per step (without SharedArrayBuffer). */
  private async epochStepByStep(run: EpochRun, options: TrainerFitOptions): Promise<{ result: EpochResult; stopped: boolean }> {
    const { signal, onProgress } = options;
    const every = onProgress ? (options.progressEvery ?? 1) : 0;
    const withDiagnostics = options.progressDiagnostics ?? true;
    const tally = new EpochTally(run.epoch);
    const { plan } = run;
    const record = ({ tag, result, diagnostics }: CompletedStep) => {
      tally.add(result, tag.last ? diagnostics : undefined);
      if (tag.report) onProgress?.({ ...result, epoch: run.epoch, step: tag.step, stepsPerEpoch: plan.stepsPerEpoch, ...(withDiagnostics && diagnostics ? { diagnostics } : {}) });
    };
    let stopped = false;
    for (const { step, start, end, last } of plan.steps()) {
      if (signal?.aborted) {
        stopped = true;
        break;
      }
      const report = plan.reports(every, run.epoch, step);
      const sources = this.datasetSources(run.dataset, run.epoch, start, end);
      (await this.step(sources, { step, last, report, diagnostics: last || (report && withDiagnostics) })).forEach(record);
    }
    (await this.flush()).forEach(record);
    return { result: tally.finish(), stopped };
  }

  /** One optimiser step on a batch (data parallel: split across the workers, then averaged). */
  async trainStep(x: TensorLike, y: TensorLike): Promise<StepResult> {
    this.idle('trainStep');
    const tag: StepTag = { step: 0, last: false, report: false, diagnostics: false };
    const completed = [...(await this.step(this.explicitSources('trainStep', x, y), tag)), ...(await this.flush())];
    return completed[0].result;
  }

  /** The gradient of the total loss for every parameter (data parallel: the row-weighted average of the shards'). */
  async gradients(x: TensorLike, y: TensorLike): Promise<GradientsResult> {
    this.idle('gradients');
    if (!this.exchange) {
      const [plainX, plainY] = [cloneable('gradients', 'x', x), cloneable('gradients', 'y', y)];
      return this.first('gradients', (remote) => remote.gradients(plainX, plainY));
    }
    const sources = this.explicitSources('gradients', x, y);
    const bank = this.exchange.nextBank();
    const replies = await this.send(sources.map((source) => ({ batch: { source, mode: 'gradients', bank } })));
    const contributions: (Contribution | undefined)[] = replies.map((reply) => reply.gradients);
    // Worker 0 averages the shards as it would to apply them (the other requests go unused).
    const [{ weights, grads, losses }] = this.exchange.update(contributions, bank, this.connections.map(() => false)).requests;
    const request = { weights, grads, bank };
    const averaged = await this.first('gradients', (remote) => remote.averageGradients(Comlink.transfer(request, transferablesOfApply(request))));
    return { ...losses, gradNorm: globalNorm(averaged), grads: averaged };
  }

  /** Inference on worker 0: the last layer's raw output. */
  async predict(x: TensorLike): Promise<TensorData> {
    const plain = cloneable('predict', 'x', x);
    return this.first('predict', (remote) => remote.predict(plain));
  }

  /** Mean data loss and arg-max accuracy over a dataset (on worker 0). */
  async evaluate(data: Dataset, options: { batchSize?: number } = {}): Promise<EvaluateResult> {
    this.live('evaluate');
    const id = await this.hold('evaluate', data, false, 0, [0]);
    try {
      return await this.first('evaluate', (remote) => remote.evaluateDataset(id, options.batchSize ?? 256));
    } finally {
      await this.drop(id, [0]);
    }
  }

  /** Every parameter and buffer by PyTorch name (worker 0's replica). */
  async stateDict(): Promise<StateDict> {
    return this.first('stateDict', (remote) => remote.stateDict());
  }

  /** Replaces every parameter and buffer in every replica; names and shapes must match exactly. */
  async loadStateDict(dict: Record<string, TensorLike>): Promise<void> {
    this.live('loadStateDict');
    const plain = cloneableDict('loadStateDict', dict);
    await this.all((remote) => remote.loadStateDict(plain));
  }

  /** Training mode (batch statistics) or evaluation mode, in every replica. */
  async setTraining(on: boolean): Promise<void> {
    this.live('setTraining');
    await this.all((remote) => remote.setTraining(on));
  }

  /** Per-layer diagnostics of the last step (worker 0). */
  async diagnostics(): Promise<LayerDiagnostics[]> {
    return this.first('diagnostics', (remote) => remote.diagnostics());
  }

  /** Terminates the workers, freeing everything they hold; pending calls reject with `Disposed`. */
  async dispose(): Promise<void> {
    const disposed = new GradlabError({ code: 'Disposed', op: 'dispose', message: 'the trainer has been disposed' });
    if (!this.failure) this.failure = disposed;
    await Promise.all(this.connections.map((connection) => connection.close(disposed)));
  }
}

/** Chooses the gradient exchange; never falls back silently from an explicit choice. */
function chooseExchange(report: Capabilities, wanted: CreateTrainerOptions['gradientExchange'] = 'auto'): Capabilities {
  if (wanted === 'auto') return report;
  if (wanted === 'shared' && !report.sharedArrayBuffer) {
    throw new GradlabError({ code: 'InvalidState', op: 'createTrainer', arg: 'gradientExchange', expected: 'a runtime with SharedArrayBuffer', actual: report.reason, message: `createTrainer: gradientExchange 'shared' needs SharedArrayBuffer, but ${report.reason}` });
  }
  if (wanted !== 'shared' && wanted !== 'transfer') invalidArgument('createTrainer', 'gradientExchange', "'auto', 'shared' or 'transfer'", describe(wanted));
  return { ...report, gradientExchange: wanted, reason: `options.gradientExchange asked for '${wanted}'` };
}

/**
 * Starts `workers` workers, each building the model from `spec` and `seed` in its own WASM
 * instance. Rejects with the worker's `GradlabError` (e.g. `InvalidSpec`) when the spec is bad.
 */
export async function createTrainer(spec: ModelSpec, options: CreateTrainerOptions = {}): Promise<Trainer> {
  const core = await init(options.wasm);
  const validated = validateSpec(spec, core);
  const count = options.workers ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 64) invalidArgument('createTrainer', 'workers', 'an integer in [1, 64]', describe(count));
  const report = chooseExchange(await capabilities(), options.gradientExchange);
  if (report.workers === null) {
    throw new GradlabError({ code: 'InvalidState', op: 'createTrainer', message: 'createTrainer: this runtime has no workers; use createModel to train in-thread' });
  }
  const { module } = core;
  let trainer: Trainer | undefined;
  let early: GradlabError | undefined;
  const onFailure = (error: GradlabError) => (trainer ? trainer.retire(error) : (early ??= error));
  const opened = await Promise.allSettled(Array.from({ length: count }, () => WorkerConnection.open(options.createWorker, onFailure)));
  const connections = opened.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const seed = options.seed ?? 0;
  try {
    const refused = opened.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (refused) throw refused.reason;
    const control = report.gradientExchange === 'shared' ? RunControl.create(count) : undefined;
    const setup = control && { buffer: control.buffer, parties: count };
    const [description] = await Promise.all(connections.map((connection) => connection.call((remote) => remote.create(module, validated, seed, setup))));
    if (early) throw early;
    trainer = new Trainer(validated, description, connections, report, control);
    await trainer.connectExchange();
    return trainer;
  } catch (error) {
    const reason = error instanceof GradlabError ? error : new GradlabError({ code: 'WorkerDied', op: 'createTrainer', message: `createTrainer: ${error instanceof Error ? error.message : String(error)}` });
    await Promise.all(connections.map((connection) => connection.close(reason)));
    throw error;
  }
}
