/**
 * The trainer's worker: one model in its own WASM instance, exposed with Comlink. The same
 * file runs as a Node worker_thread (through Comlink's Node adapter) and as a browser module
 * Worker. Datasets arrive once and batches are drawn here, so a training step costs one small
 * message each way.
 */
import * as Comlink from 'comlink';
import { isNode } from '../ts/capabilities.js';
import { GradlabError, invalidArgument } from '../ts/errors.js';
import { sharedBanks } from '../ts/gradient-exchange.js';
import { createModel, type Model, type StateDict, type StepResult, type TensorLike } from '../ts/model.js';
import { epochOrder, gather } from '../ts/training.js';
import {
  READY_MESSAGE,
  registerErrorTransfer,
  type ApplyRequest,
  type BatchRequest,
  type BatchSource,
  type DatasetTransfer,
  type ExchangeSetup,
  type ModelDescription,
  type StepReply,
  type StepRequest,
  type TrainerWorkerApi,
} from '../ts/worker-protocol.js';

/** A dataset held for `fit`, with the current epoch's row order and reusable batch buffers. */
class HeldDataset {
  private order?: { epoch: number; rows: Int32Array };
  private xBuffer = new Float32Array(0);
  private yBuffer: Float32Array | Int32Array;

  constructor(readonly data: DatasetTransfer) {
    this.yBuffer = data.y.data instanceof Int32Array ? new Int32Array(0) : new Float32Array(0);
  }

  get count(): number {
    return this.data.x.shape[0];
  }

  /** Rows `[start, end)` of `epoch`'s order as a batch (views of buffers reused by the next call). */
  rows(model: Model, epoch: number, start: number, end: number): { x: TensorLike; y: TensorLike } {
    if (this.order?.epoch !== epoch) this.order = { epoch, rows: epochOrder(model, this.count, epoch, this.data.shuffle, this.data.seed) };
    const { x, y } = this.data;
    const xRow = x.data.length / this.count;
    const yRow = y.data.length / this.count;
    const rows = end - start;
    if (this.xBuffer.length < rows * xRow) this.xBuffer = new Float32Array(rows * xRow);
    if (this.yBuffer.length < rows * yRow) this.yBuffer = y.data instanceof Int32Array ? new Int32Array(rows * yRow) : new Float32Array(rows * yRow);
    gather(x.data, xRow, this.order.rows, start, end, this.xBuffer);
    gather(y.data, yRow, this.order.rows, start, end, this.yBuffer);
    return {
      x: { shape: [rows, ...x.shape.slice(1)], data: this.xBuffer.subarray(0, rows * xRow) },
      y: { shape: [rows, ...y.shape.slice(1)], data: this.yBuffer.subarray(0, rows * yRow) },
    };
  }
}

let model: Model | undefined;
/** The caller's stop flag (see `TrainerWorkerApi.create`). */
let stop: Int32Array | undefined;
/** Set when the instance trapped: every later call fails with it. */
let trapped: GradlabError | undefined;
/** Data parallel: how this worker exchanges gradients, and (shared) every slot, `[bank][rank]`. */
let exchange: { setup: ExchangeSetup; banks: Float32Array[][] } | undefined;
const datasets = new Map<number, HeldDataset>();

function live(): Model {
  if (trapped) throw trapped;
  if (!model) throw new GradlabError({ code: 'InvalidState', op: 'worker', message: 'worker: the model has not been created' });
  return model;
}

function held(id: number): HeldDataset {
  const dataset = datasets.get(id);
  if (!dataset) invalidArgument('worker', 'dataset', 'a dataset held by this worker', String(id));
  return dataset;
}

function exchanging(op: string): NonNullable<typeof exchange> {
  if (!exchange) throw new GradlabError({ code: 'InvalidState', op, message: `${op}: this worker has no gradient exchange (it is not data parallel)` });
  return exchange;
}

function batchOf(source: BatchSource): { x: TensorLike; y: TensorLike } {
  if ('dataset' in source) return held(source.dataset).rows(live(), source.epoch, source.start, source.end);
  return source;
}

/** Runs a batch: a whole step, or this shard's gradients put where the exchange wants them. */
function runBatch(request: BatchRequest, reply: StepReply, transfers: Transferable[]): void {
  const current = live();
  if (request.mode === 'trainStep' && stop && Atomics.load(stop, 0) !== 0) {
    reply.skipped = true;
    return;
  }
  const { x, y } = batchOf(request.source);
  if (request.mode === 'trainStep') {
    reply.trained = current.trainStep(x, y);
    if (request.diagnostics) reply.diagnostics = current.diagnostics();
    return;
  }
  const { setup, banks } = exchanging('step');
  const rows = x.shape[0] ?? 0;
  if (rows === 0) return;
  const target = setup.kind === 'shared' ? banks[request.bank][setup.rank] : new Float32Array(current.parameterCount);
  reply.gradients = { rows, losses: current.gradientsInto(x, y, target) };
  if (setup.kind === 'transfer') {
    reply.gradients.grads = target;
    transfers.push(target.buffer as ArrayBuffer);
  }
}

/**
 * Applies the step's average: of every worker's slot in the shared bank (each replica sums
 * them in the same order), or the average the caller sent. The model's guard refuses a
 * non-finite average as it refuses a non-finite training step.
 */
function applyAverage(request: ApplyRequest): StepResult {
  const { setup, banks } = exchanging('step');
  if (setup.kind === 'shared') return live().applyWeightedGradients(banks[request.bank], request.weights, request.losses);
  if (!request.grads) invalidArgument('step', 'apply.grads', 'the averaged gradients', 'nothing');
  return live().applyWeightedGradients([request.grads], [1], request.losses);
}

/** Every buffer of a state dict, to transfer instead of copy. */
function buffersOf(dict: StateDict): ArrayBuffer[] {
  return Object.values(dict).map((tensor) => tensor.data.buffer as ArrayBuffer);
}

const api: TrainerWorkerApi = {
  async create(module, spec, seed, stopFlag) {
    if (model) throw new GradlabError({ code: 'InvalidState', op: 'create', message: 'create: this worker already has a model' });
    stop = stopFlag;
    model = await createModel(spec, { seed, wasm: module });
    const description: ModelDescription = { inputShape: model.inputShape, outputShape: model.outputShape, entries: [...model.entries] };
    return description;
  },
  setExchange(setup) {
    exchange = { setup, banks: setup.kind === 'shared' ? sharedBanks(setup, live().parameterCount) : [] };
  },
  holdDataset(id, dataset) {
    datasets.set(id, new HeldDataset(dataset));
  },
  dropDataset(id) {
    datasets.delete(id);
  },
  step(request: StepRequest) {
    const current = live();
    const reply: StepReply = {};
    const transfers: Transferable[] = [];
    if (request.apply) {
      reply.applied = applyAverage(request.apply);
      if (request.apply.diagnostics) reply.diagnostics = current.diagnostics();
    }
    if (request.batch) runBatch(request.batch, reply, transfers);
    return Comlink.transfer(reply, transfers);
  },
  evaluateDataset(id, batchSize) {
    return live().evaluate(held(id).data, { batchSize });
  },
  predict(x) {
    const output = live().predict(x);
    return Comlink.transfer(output, [output.data.buffer]);
  },
  gradients(x, y) {
    const result = live().gradients(x, y);
    return Comlink.transfer(result, buffersOf(result.grads));
  },
  stateDict() {
    const dict = live().stateDict();
    return Comlink.transfer(dict, buffersOf(dict));
  },
  loadStateDict(dict) {
    live().loadStateDict(dict);
  },
  setTraining(on) {
    live().setTraining(on);
  },
  diagnostics() {
    return live().diagnostics();
  },
};

/**
 * A trap (a panic in the core, which validation should make impossible) leaves the instance
 * unusable: report it as `WorkerDied`, which makes the caller retire this worker.
 */
function trapsAreFatal(target: TrainerWorkerApi): TrainerWorkerApi {
  const guarded = {} as Record<string, (...args: unknown[]) => unknown>;
  for (const [name, method] of Object.entries(target) as [string, (...args: unknown[]) => unknown][]) {
    guarded[name] = (...args) => {
      const fatal = (error: unknown): never => {
        if (error instanceof WebAssembly.RuntimeError) {
          trapped = new GradlabError({ code: 'WorkerDied', op: name, message: `${name}: the worker's WASM instance trapped (${error.message}); the worker is unusable` });
          throw trapped;
        }
        throw error;
      };
      try {
        const result = method(...args);
        return result instanceof Promise ? result.catch(fatal) : result;
      } catch (error) {
        return fatal(error);
      }
    };
  }
  return guarded as unknown as TrainerWorkerApi;
}

/**
 * Exposes the API on this worker's port and tells the caller it listens. No top-level await,
 * so bundlers may emit the worker in any format.
 */
async function listen(): Promise<void> {
  registerErrorTransfer();
  const exposed = trapsAreFatal(api);
  if (!isNode()) {
    Comlink.expose(exposed);
    (globalThis as unknown as { postMessage(message: unknown): void }).postMessage(READY_MESSAGE);
    return;
  }
  const [{ parentPort }, { default: nodeEndpoint }] = await Promise.all([import('node:worker_threads'), import('comlink/dist/esm/node-adapter.mjs')]);
  if (!parentPort) throw new Error('gradlab: workers/trainer.worker.js must run as a worker thread');
  const endpoint = nodeEndpoint(parentPort);
  Comlink.expose(exposed, endpoint);
  endpoint.postMessage(READY_MESSAGE);
}

void listen();
