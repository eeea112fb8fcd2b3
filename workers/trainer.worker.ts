/**
 * The trainer's worker: one model in its own WASM instance, exposed with Comlink. The same file
 * runs as a browser module Worker and as a Node worker_thread (its platform then talks to
 * worker_threads' port through Comlink's Node adapter). Datasets arrive once and batches are drawn here; with the shared exchange `fit` runs
 * whole epochs here (the workers meet on shared memory each step), and otherwise a training
 * step costs one small message each way.
 */
import * as Comlink from 'comlink';
import { platform } from '../ts/runtime/platform.js';
import { GradlabError, invalidArgument } from '../ts/runtime/errors.js';
import { BatchGatherer } from '../ts/model/batches.js';
import { createModel, type Model } from '../ts/model/model.js';
import { EpochTally, StepPlan, epochOrder } from '../ts/model/step-plan.js';
import type { StateDict, StepProgress, StepResult, TensorLike } from '../ts/model/types.js';
import { combineLosses, sharedBanks, shardsOf, shardWeights, withHeld } from '../ts/trainer/gradient-exchange.js';
import { RunControl } from '../ts/trainer/run-control.js';
import {
  READY_MESSAGE,
  registerErrorTransfer,
  type ApplyRequest,
  type BatchRequest,
  type BatchSource,
  type DatasetTransfer,
  type EpochReply,
  type EpochRequest,
  type ExchangeSetup,
  type ModelDescription,
  type StepReply,
  type StepRequest,
  type TrainerWorkerApi,
} from '../ts/trainer/worker-protocol.js';

/** A dataset held for `fit`, with the current epoch's row order and its batch gatherer. */
class HeldDataset {
  private order?: { epoch: number; rows: Int32Array };
  private gatherer?: BatchGatherer;

  constructor(readonly data: DatasetTransfer) {}

  get count(): number {
    return this.data.x.shape[0];
  }

  /** Rows `[start, end)` of `epoch`'s order as a batch (views of buffers reused by the next call). */
  rows(model: Model, epoch: number, start: number, end: number): { x: TensorLike; y: TensorLike } {
    if (this.order?.epoch !== epoch) this.order = { epoch, rows: epochOrder(model, this.count, epoch, this.data.shuffle, this.data.seed) };
    this.gatherer ??= new BatchGatherer('fit', this.data, model.spec);
    return this.gatherer.batch(this.order.rows, start, end);
  }
}

let model: Model | undefined;
/** Where the trainer's workers meet each step of `runEpoch` (see `TrainerWorkerApi.create`). */
let control: RunControl | undefined;
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
 * Every worker's gradients of a step in rank order, as this worker sums them: the slots of the
 * shared bank, or the vectors the caller forwarded (transfer); its own as `'held'` where its
 * model still holds them.
 */
function stepGradients(request: Pick<ApplyRequest, 'grads' | 'bank'>): (Float32Array | 'held')[] {
  const { setup, banks } = exchanging('step');
  if (setup.kind === 'shared') return withHeld(banks[request.bank], setup.rank);
  if (!request.grads) invalidArgument('step', 'apply.grads', "every worker's gradients", 'nothing');
  return request.grads;
}

/**
 * Applies the step's average of every worker's gradients (each replica sums them in the same
 * order, inside WASM). The model's guard refuses a non-finite average as it refuses a
 * non-finite training step.
 */
function applyAverage(request: ApplyRequest): StepResult {
  return live().applyWeightedGradients(stepGradients(request), request.weights, request.losses);
}

/** This worker's place in a data-parallel team with the shared exchange. */
interface SharedSeat {
  rank: number;
  workers: number;
  /** Every worker's gradient slot, `[bank][rank]`. */
  banks: Float32Array[][];
}

/**
 * Data parallel: writes this worker's shard of rows `[start, end)` (its gradients and losses)
 * to `bank`; returns the rows of every worker's shard.
 */
function contributeShard(seat: SharedSeat, meeting: RunControl, dataset: HeldDataset, epoch: number, start: number, end: number, bank: 0 | 1): number[] {
  const current = live();
  const shards = shardsOf(start, end - start, seat.workers);
  const [from, to] = shards[seat.rank];
  if (to > from) {
    const { x, y } = dataset.rows(current, epoch, from, to);
    const { dataLoss, penalty } = current.gradientsInto(x, y, seat.banks[bank][seat.rank]);
    meeting.writeLosses(bank, seat.rank, dataLoss, penalty);
  }
  return shards.map(([first, past]) => past - first);
}

/** Data parallel, once every worker has contributed to `bank`: applies the average of its slots. */
function applyShards(meeting: RunControl, rows: number[], bank: 0 | 1): StepResult {
  const weights = shardWeights(rows);
  const losses = combineLosses(weights, rows.map((_, rank) => meeting.readLosses(bank, rank)));
  return applyAverage({ weights, losses, bank, diagnostics: false });
}

/**
 * One epoch of `fit` here (see `TrainerWorkerApi.runEpoch`): every step meets the other
 * workers (alone, the caller) at the run control; the meeting before step `s` is applied
 * waits for the caller to acknowledge the progress reports of the steps before `s - 1`.
 */
function runEpoch(request: EpochRequest): EpochReply {
  const current = live();
  if (!control) throw new GradlabError({ code: 'InvalidState', op: 'runEpoch', message: 'runEpoch: this worker has no run control (its trainer does not use the shared exchange)' });
  const meeting = control;
  const seat: SharedSeat | undefined = exchange?.setup.kind === 'shared' ? { rank: exchange.setup.rank, workers: exchange.setup.workers, banks: exchange.banks } : undefined;
  if (!seat && meeting.parties > 1) throw new GradlabError({ code: 'InvalidState', op: 'runEpoch', message: 'runEpoch: data parallel epochs need the shared gradient exchange' });
  const { epoch, batchSize, progressEvery, progressDiagnostics, progress } = request;
  const dataset = held(request.dataset);
  const plan = new StepPlan(dataset.count, batchSize);
  const tally = new EpochTally(epoch);
  const reporter = (seat?.rank ?? 0) === 0;
  // Reports scheduled so far, up to the end of the step before last, and up to the end of the last step.
  let reports = 0;
  let reportsBeforeLast = 0;
  let reportsBeforeThis = 0;
  let stopped = false;
  try {
    for (const { step, start, end, last } of plan.steps()) {
      const bank = (step % 2) as 0 | 1;
      const rows = seat && contributeShard(seat, meeting, dataset, epoch, start, end, bank);
      if (meeting.meet(reportsBeforeLast) !== 'go') {
        stopped = true;
        break;
      }
      let outcome: StepResult;
      if (seat && rows) outcome = applyShards(meeting, rows, bank);
      else {
        const { x, y } = dataset.rows(current, epoch, start, end);
        outcome = current.trainStep(x, y);
      }
      // Every worker counts the reports (any of them may be the one that waits for their acknowledgement); worker 0 posts them.
      const scheduled = plan.reports(progressEvery, epoch, step);
      const diagnostics = reporter && (last || (scheduled && progressDiagnostics)) ? current.diagnostics() : undefined;
      tally.add(outcome, last ? diagnostics : undefined);
      if (scheduled) {
        reports++;
        const event: StepProgress = { ...outcome, epoch, step, stepsPerEpoch: plan.stepsPerEpoch, ...(progressDiagnostics && diagnostics ? { diagnostics } : {}) };
        progress?.postMessage(event);
      }
      reportsBeforeLast = reportsBeforeThis;
      reportsBeforeThis = reports;
    }
  } catch (error) {
    meeting.fail();
    throw error;
  } finally {
    progress?.close();
  }
  return { result: tally.finish(), stopped, reports };
}

/** Every buffer of a state dict, to transfer instead of copy. */
function buffersOf(dict: StateDict): ArrayBuffer[] {
  return Object.values(dict).map((tensor) => tensor.data.buffer as ArrayBuffer);
}

const api: TrainerWorkerApi = {
  async create(module, spec, seed, controlSetup) {
    if (model) throw new GradlabError({ code: 'InvalidState', op: 'create', message: 'create: this worker already has a model' });
    control = controlSetup && new RunControl(controlSetup.buffer, controlSetup.parties);
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
  runEpoch,
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
  averageGradients(request) {
    const grads = live().weightedGradients(stepGradients(request), request.weights);
    return Comlink.transfer(grads, buffersOf(grads));
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
  const endpoint = (await platform()).parentEndpoint();
  Comlink.expose(trapsAreFatal(api), endpoint as unknown as Comlink.Endpoint);
  endpoint.postMessage(READY_MESSAGE);
}

void listen();
