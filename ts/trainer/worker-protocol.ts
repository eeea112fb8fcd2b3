/**
 * What a trainer and its workers say to each other: the worker's API (called through
 * Comlink), the messages of a training step, and how a {@link GradlabError} crosses the
 * boundary intact. Both sides import this module.
 *
 * With the shared exchange, `fit` runs each epoch inside the workers (`runEpoch`): the
 * workers meet at a {@link RunControl} once a step and worker 0 posts progress reports to a
 * port, so a step costs no message. Otherwise, and for single `trainStep`/`gradients` calls, a
 * training step is one round trip per worker (`step`): the request may carry the averaged
 * gradients of the previous step to apply (data parallel) and a batch to run; the reply
 * carries the outcome and, for data parallel, this batch's gradients (written to shared
 * memory, or transferred).
 */
import * as Comlink from 'comlink';
import type { ModelDescription } from './model-description.js';

export type { ModelDescription };
import { GradlabError, type GradlabErrorData } from '../runtime/errors.js';
import type { EpochResult, EvaluateResult, LayerDiagnostics, LossResult, StateDict, StepProgress, StepResult, TensorLike } from '../model/types.js';
import type { ModelSpec } from '../model/spec.js';

/** Sent by a worker once it listens, so no call is posted before Comlink is wired up. */
export const READY_MESSAGE = 'gradlab:ready';

/** A dataset held by a worker: copied once into buffers the trainer owns (shared, or transferred). */
export interface DatasetTransfer {
  x: { shape: number[]; data: Float32Array };
  y: { shape: number[]; data: Float32Array | Int32Array };
  /** Reshuffle each epoch with the seeded permutation (as `fit`). */
  shuffle: boolean;
  seed: number;
}

/**
 * How a worker exchanges gradients: `shared` — a SharedArrayBuffer holds two banks of one slot
 * per worker; in a step's bank each worker writes slot `rank` and later averages all slots
 * itself; `transfer` — its gradients are moved to the caller with each reply, and the average
 * comes back in the apply request.
 */
export type ExchangeSetup = { kind: 'shared'; buffer: SharedArrayBuffer; rank: number; workers: number } | { kind: 'transfer' };

/** Rows `[start, end)` of a held dataset's order in `epoch`, or explicit tensors. */
export type BatchSource = { dataset: number; epoch: number; start: number; end: number } | { x: TensorLike; y: TensorLike };

/**
 * A batch to run: a whole `trainStep` (one worker; `diagnostics` reads the per-layer
 * diagnostics after it), or this shard's `gradients` (data parallel), written to the shared
 * `bank`. Steps alternate banks: one message applies the previous step's average (every
 * worker reads the other bank) while faster workers already write this step's gradients.
 */
export type BatchRequest = { source: BatchSource; mode: 'trainStep'; diagnostics: boolean } | { source: BatchSource; mode: 'gradients'; bank: 0 | 1 };

export interface ApplyRequest {
  /** The averaged losses (only reported back). */
  losses: Pick<LossResult, 'loss' | 'dataLoss' | 'penalty'>;
  /** Each worker's averaging weight (its shard's share of the rows), in rank order. */
  weights: number[];
  /**
   * Transfer exchange: every worker's flat gradients in rank order, this worker's own as
   * `'held'` where its model still holds them (ranks 0 and 1); the shared exchange reads the
   * slots of `bank` instead.
   */
  grads?: (Float32Array | 'held')[];
  bank: 0 | 1;
  /** Read the per-layer diagnostics after applying. */
  diagnostics: boolean;
}

/** One round trip: apply the previous average, then run a batch; either may be absent. */
export interface StepRequest {
  apply?: ApplyRequest;
  batch?: BatchRequest;
}

export interface StepReply {
  /** The outcome of `apply`. */
  applied?: StepResult;
  /** The outcome of a `trainStep` batch. */
  trained?: StepResult;
  /** A `gradients` batch: its rows (the averaging weight), losses and, for `transfer`, the flat gradients. */
  gradients?: { rows: number; losses: LossResult; grads?: Float32Array };
  diagnostics?: LayerDiagnostics[];
}

/** The shared run control a worker takes part in: its buffer and how many workers meet there. */
export interface RunControlSetup {
  buffer: SharedArrayBuffer;
  parties: number;
}

/** One epoch of `fit` over a held dataset, run inside the workers (see `TrainerWorkerApi.runEpoch`). */
export interface EpochRequest {
  dataset: number;
  epoch: number;
  batchSize: number;
  /** Report every this many steps of the whole fit and at the epoch's last step; 0 for no reports. */
  progressEvery: number;
  /** Include per-layer diagnostics in the reports. */
  progressDiagnostics: boolean;
  /** Worker 0's: where each report goes, as a {@link StepProgress}. */
  progress?: MessagePort;
}

export interface EpochReply {
  /** The epoch so far (worker 0's; the others' is the same but for diagnostics). */
  result: EpochResult;
  /** The run ended early: the caller asked it to stop, or another worker failed. */
  stopped: boolean;
  /** How many progress reports worker 0 posted. */
  reports: number;
}

/** The worker's API; every method runs on its one model. */
export interface TrainerWorkerApi {
  /**
   * Instantiates `module` and builds the model from `spec` and `seed`. `control` (with the
   * shared exchange) is the run control every worker of the trainer meets at in
   * {@link TrainerWorkerApi.runEpoch}.
   */
  create(module: WebAssembly.Module, spec: ModelSpec, seed: number, control?: RunControlSetup): Promise<ModelDescription>;
  setExchange(setup: ExchangeSetup): void;
  holdDataset(id: number, dataset: DatasetTransfer): void;
  dropDataset(id: number): void;
  step(request: StepRequest): StepReply;
  /**
   * Runs one epoch of `fit` (one worker, or data parallel with the shared exchange): every
   * step draws this worker's shard, meets the others at the run control and applies the same
   * update; returns when the epoch ends, the caller stops it, or a worker fails.
   */
  runEpoch(request: EpochRequest): EpochReply;
  evaluateDataset(id: number, batchSize: number): EvaluateResult;
  predict(x: TensorLike): { shape: number[]; data: Float32Array };
  gradients(x: TensorLike, y: TensorLike): LossResult & { grads: StateDict };
  /** Data parallel `gradients`: the average of a step's shards (as `apply` would take it), without the step. */
  averageGradients(request: Pick<ApplyRequest, 'weights' | 'grads' | 'bank'>): StateDict;
  stateDict(): StateDict;
  loadStateDict(dict: Record<string, TensorLike>): void;
  setTraining(on: boolean): void;
  diagnostics(): LayerDiagnostics[];
}

/** The typed caller-side view of a worker. */
export type RemoteTrainerWorker = Comlink.Remote<TrainerWorkerApi>;

interface SerializedThrow {
  gradlab?: GradlabErrorData;
  error?: { name: string; message: string; stack?: string };
  value?: unknown;
}

/**
 * Makes thrown errors cross Comlink as themselves: a {@link GradlabError} arrives as a
 * GradlabError with the same code, argument and shapes (Comlink's default keeps only the
 * message). Idempotent; both sides call it when they load.
 */
export function registerErrorTransfer(): void {
  const builtin = Comlink.transferHandlers.get('throw') as Comlink.TransferHandler<{ value: unknown }, SerializedThrow>;
  if ((builtin as { gradlab?: boolean }).gradlab) return;
  const handler: Comlink.TransferHandler<{ value: unknown }, SerializedThrow> & { gradlab: true } = {
    gradlab: true,
    canHandle: builtin.canHandle,
    serialize({ value }) {
      if (value instanceof GradlabError) return [{ gradlab: value.toJSON() }, []];
      if (value instanceof Error) return [{ error: { name: value.name, message: value.message, stack: value.stack } }, []];
      return [{ value }, []];
    },
    deserialize(serialized) {
      if (serialized.gradlab) throw new GradlabError(serialized.gradlab);
      if (serialized.error) throw Object.assign(new Error(serialized.error.message), serialized.error);
      throw serialized.value;
    },
  };
  Comlink.transferHandlers.set('throw', handler);
}
