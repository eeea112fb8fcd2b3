/**
 * Data-parallel gradient exchange. Every worker lays its shard's gradients end to end in one
 * flat f32 vector; the step's update is the average of those vectors weighted by each shard's
 * rows, which every replica applies.
 *
 * Every replica averages the vectors itself, inside WASM (`Model.applyWeightedGradients`, in
 * rank order, so every replica computes the same bits); the calling thread does no arithmetic.
 * What differs is how the vectors reach the workers:
 *
 * - `shared` (SharedArrayBuffer: Node, cross-origin-isolated pages): one buffer holds a slot per
 *   worker, twice (two banks that steps alternate, so a fast worker writing this step's
 *   gradients never overwrites a slot a slow worker is still averaging for the previous step);
 *   each worker writes its slot and, once all have (they meet at the run control inside a
 *   `fit` epoch, or after the step's round trip otherwise), reads every slot.
 * - `transfer` (no SharedArrayBuffer): each vector is an ArrayBuffer transferred to the caller,
 *   which forwards it to every other worker.
 *
 * Ranks 0 and 1 start the sum from their own shard's gradients where their model still holds
 * them (`'held'`), which gives the same bits and saves a copy.
 */
import type { ApplyRequest, ExchangeSetup, StepReply } from './worker-protocol.js';

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

/**
 * Every rank's gradients as worker `rank` sums them: its own as `'held'` where the in-order sum
 * may start from it (ranks 0 and 1, see `Model.weightedGradients`).
 */
export function withHeld<T>(slots: T[], rank: number): (T | 'held')[] {
  return slots.map((slot, from) => (from === rank && rank <= 1 ? 'held' : slot));
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

  /** `length` values per gradient vector (the model's parameter count), one vector per worker. */
  constructor(
    readonly length: number,
    readonly workers: number,
  ) {}

  /** The bank the next step's gradients go to (steps alternate banks). */
  nextBank(): 0 | 1 {
    this.bank = this.bank === 0 ? 1 : 0;
    return this.bank;
  }

  /** What worker `rank` needs to know to take part. */
  abstract setup(rank: number): ExchangeSetup;

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

  constructor(length: number, workers: number) {
    super(length, workers);
    this.buffer = new SharedArrayBuffer(2 * workers * length * 4);
  }

  setup(rank: number): Extract<ExchangeSetup, { kind: 'shared' }> {
    return { kind: 'shared', buffer: this.buffer, rank, workers: this.workers };
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

/** Gradients travel as transferred ArrayBuffers: to the caller with each reply, and on to the other workers. */
export class TransferExchange extends GradientExchange {
  readonly kind = 'transfer';

  setup(): ExchangeSetup {
    return { kind: 'transfer' };
  }

  /**
   * Every worker gets every other worker's vector (an empty shard's is empty: its weight is 0);
   * each vector goes itself to the last worker that needs it (it is transferred away) and as
   * a copy to the others.
   */
  protected requests(contributions: (Contribution | undefined)[], _bank: 0 | 1, requests: ApplyRequest[]): ApplyRequest[] {
    const vectors = contributions.map((c) => c?.grads ?? new Float32Array(0));
    const given = new Set<Float32Array>();
    const grads = requests.map(() => [] as (Float32Array | 'held')[]);
    for (let rank = this.workers - 1; rank >= 0; rank--) {
      grads[rank] = withHeld(vectors, rank).map((vector) => {
        if (vector === 'held') return vector;
        if (given.has(vector)) return vector.slice();
        given.add(vector);
        return vector;
      });
    }
    return requests.map((request, rank) => ({ ...request, grads: grads[rank] }));
  }
}
