/**
 * Data-parallel gradient exchange. Every worker lays its shard's gradients end to end in one
 * flat f32 vector; the step's update is the average of those vectors weighted by each shard's
 * rows, which every replica applies.
 *
 * - `shared` (SharedArrayBuffer: Node, cross-origin-isolated pages): one buffer holds a slot per
 *   worker, twice (two banks that steps alternate, so a fast worker writing this step's
 *   gradients never overwrites a slot a slow worker is still averaging for the previous step);
 *   each worker writes its slot and, once all have (they meet at the run control inside a
 *   `fit` epoch, or after the step's round trip otherwise), averages all slots itself inside
 *   WASM (`Model.applyWeightedGradients`, in rank order, so every replica computes the same
 *   bits). The calling thread does no arithmetic.
 * - `transfer` (no SharedArrayBuffer): each vector is an ArrayBuffer transferred to the caller,
 *   which averages and transfers the average back to every worker.
 */
import type { StateDict } from '../model/model.js';
import type { ApplyRequest, ExchangeSetup, ModelDescription, StepReply } from './worker-protocol.js';

/** Splits `rows` rows from `start` into `parts` contiguous shards, the first ones one row longer: [start, end) each. */
export function shardsOf(start: number, rows: number, parts: number): [number, number][] {
  const base = Math.floor(rows / parts);
  const extra = rows % parts;
  const ranges: [number, number][] = [];
  for (let rank = 0, at = start; rank < parts; rank++) {
    const size = base + (rank < extra ? 1 : 0);
    ranges.push([at, at + size]);
    at += size;
  }
  return ranges;
}

/** Each shard's averaging weight from its rows: its share of the global batch (0 for an empty shard). */
export function shardWeights(rows: number[]): number[] {
  const total = rows.reduce((sum, count) => sum + count, 0);
  return rows.map((count) => count / total);
}

/**
 * The losses of the global batch from each shard's: data losses weighted by rows (every loss
 * is a mean over rows); the penalty depends only on the weights, which all replicas share.
 */
export function combineLosses(weights: number[], losses: ({ dataLoss: number; penalty: number } | undefined)[]): ApplyRequest['losses'] {
  let dataLoss = 0;
  let penalty = 0;
  losses.forEach((shard, rank) => {
    if (!shard || weights[rank] === 0) return;
    dataLoss += weights[rank] * shard.dataLoss;
    penalty = shard.penalty;
  });
  return { loss: dataLoss + penalty, dataLoss, penalty };
}

/** Where each trainable entry sits in the flat gradient vector (state-dict order). */
export class GradientLayout {
  readonly parts: ReadonlyArray<{ name: string; shape: number[]; offset: number; length: number }>;
  /** Values in the whole vector. */
  readonly length: number;

  constructor(entries: ReadonlyArray<ModelDescription['entries'][number]>) {
    let offset = 0;
    this.parts = entries
      .filter((entry) => entry.trainable)
      .map(({ name, shape }) => {
        const length = shape.reduce((a, b) => a * b, 1);
        const part = { name, shape, offset, length };
        offset += length;
        return part;
      });
    this.length = offset;
  }

  /** The entries of `flat` as tensors that view it (no copies). */
  unpack(flat: Float32Array): StateDict {
    const dict: StateDict = {};
    for (const { name, shape, offset, length } of this.parts) dict[name] = { shape: [...shape], data: flat.subarray(offset, offset + length) };
    return dict;
  }
}

/**
 * `target = Σ weights[i] · sources[i]` on the calling thread (the transfer exchange, and
 * `Trainer.gradients`), skipping zero weights (an empty shard's slot holds stale values).
 */
export function weightedAverage(sources: Float32Array[], weights: number[], target: Float32Array): void {
  let first = true;
  for (let i = 0; i < sources.length; i++) {
    const weight = weights[i];
    if (weight === 0) continue;
    const source = sources[i];
    if (first) for (let j = 0; j < target.length; j++) target[j] = weight * source[j];
    else for (let j = 0; j < target.length; j++) target[j] += weight * source[j];
    first = false;
  }
}

/** The L2 norm of `values` (not finite when any value is not). */
export function l2Norm(values: Float32Array): number {
  let squares = 0;
  for (let j = 0; j < values.length; j++) squares += values[j] * values[j];
  return Math.sqrt(squares);
}

/** One worker's contribution to a step: its shard's rows, losses and (transfer) gradients. */
export type Contribution = NonNullable<StepReply['gradients']>;

/** A step's averaged losses and the apply request for every worker. */
export interface StepUpdate {
  losses: ApplyRequest['losses'];
  requests: ApplyRequest[];
}

/** The caller's side of the exchange for `workers` replicas. */
export abstract class GradientExchange {
  abstract readonly kind: 'shared' | 'transfer';

  private bank: 0 | 1 = 1;

  constructor(
    readonly layout: GradientLayout,
    readonly workers: number,
  ) {}

  /** The bank the next step's gradients go to (steps alternate banks). */
  nextBank(): 0 | 1 {
    this.bank = this.bank === 0 ? 1 : 0;
    return this.bank;
  }

  /** What worker `rank` needs to know to take part. */
  abstract setup(rank: number): ExchangeSetup;

  /** The averaged gradients of a step written to `bank`, into `target` (for `gradients`). */
  abstract average(contributions: (Contribution | undefined)[], bank: 0 | 1, target: Float32Array): void;

  /** Each worker's averaging weight: its shard's share of the global batch (0 for an empty shard). */
  protected weights(contributions: (Contribution | undefined)[]): number[] {
    return shardWeights(contributions.map((c) => c?.rows ?? 0));
  }

  /** The losses of the global batch (see {@link combineLosses}). */
  losses(contributions: (Contribution | undefined)[]): ApplyRequest['losses'] {
    return combineLosses(this.weights(contributions), contributions.map((c) => c?.losses));
  }

  /** The update of one step; `diagnostics[rank]` says which workers read diagnostics after applying. */
  update(contributions: (Contribution | undefined)[], bank: 0 | 1, diagnostics: boolean[]): StepUpdate {
    const losses = this.losses(contributions);
    const weights = this.weights(contributions);
    return { losses, requests: this.requests(contributions, bank, diagnostics.map((wanted) => ({ losses, weights, bank, diagnostics: wanted }))) };
  }

  /** The apply requests of a step, given what every worker's request holds besides gradients. */
  protected abstract requests(contributions: (Contribution | undefined)[], bank: 0 | 1, requests: ApplyRequest[]): ApplyRequest[];

}

/** One SharedArrayBuffer with two banks of a slot per worker; every worker averages the slots itself. */
export class SharedExchange extends GradientExchange {
  readonly kind = 'shared';
  private readonly buffer: SharedArrayBuffer;

  constructor(layout: GradientLayout, workers: number) {
    super(layout, workers);
    this.buffer = new SharedArrayBuffer(2 * workers * layout.length * 4);
  }

  setup(rank: number): Extract<ExchangeSetup, { kind: 'shared' }> {
    return { kind: 'shared', buffer: this.buffer, rank, workers: this.workers };
  }

  average(contributions: (Contribution | undefined)[], bank: 0 | 1, target: Float32Array): void {
    weightedAverage(sharedBanks(this.setup(0), this.layout.length)[bank], this.weights(contributions), target);
  }

  protected requests(_contributions: (Contribution | undefined)[], _bank: 0 | 1, requests: ApplyRequest[]): ApplyRequest[] {
    return requests;
  }
}

/** The slots of a shared exchange: `[bank][rank]`. */
export function sharedBanks(setup: Extract<ExchangeSetup, { kind: 'shared' }>, length: number): Float32Array[][] {
  const slot = (bank: number, rank: number) => new Float32Array(setup.buffer, (bank * setup.workers + rank) * length * 4, length);
  return [0, 1].map((bank) => Array.from({ length: setup.workers }, (_, rank) => slot(bank, rank)));
}

/** Gradients travel as transferred ArrayBuffers: to the caller with each reply, the average back. */
export class TransferExchange extends GradientExchange {
  readonly kind = 'transfer';

  setup(): ExchangeSetup {
    return { kind: 'transfer' };
  }

  average(contributions: (Contribution | undefined)[], _bank: 0 | 1, target: Float32Array): void {
    const empty = new Float32Array(0);
    weightedAverage(contributions.map((c) => c?.grads ?? empty), this.weights(contributions), target);
  }

  /** Every worker but the last gets a copy of the average; the last gets the average itself (it is transferred away). */
  protected requests(contributions: (Contribution | undefined)[], bank: 0 | 1, requests: ApplyRequest[]): ApplyRequest[] {
    const average = new Float32Array(this.layout.length);
    this.average(contributions, bank, average);
    return requests.map((request, rank) => ({ ...request, grads: rank === this.workers - 1 ? average : average.slice() }));
  }
}

/** A fresh gradient dict (one buffer per entry) from an averaged vector, as `Model.gradients` returns. */
export function gradientsOf(layout: GradientLayout, averaged: Float32Array): StateDict {
  const dict: StateDict = {};
  for (const [name, tensor] of Object.entries(layout.unpack(averaged))) dict[name] = { shape: tensor.shape, data: tensor.data.slice() };
  return dict;
}
