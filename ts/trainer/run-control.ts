/**
 * The shared memory through which a trainer steers epochs that run inside its workers (with
 * the shared exchange): the caller's stop flag, the caller's acknowledgement of progress
 * reports, and the barrier at which data-parallel workers meet once a step, so a step costs
 * no message at all.
 *
 * Every step each worker calls {@link RunControl.meet}. The last to arrive waits until the
 * caller has acknowledged every progress report older than the previous step (so a caller that
 * aborts from `onProgress` stops the run within one step, and at most two steps' reports are
 * ever in flight), reads the stop flag, and releases the others with that one verdict: the
 * replicas agree on where a run ends without a message. A worker that fails wakes the others,
 * who end the run without applying the step.
 */

/** What {@link RunControl.meet} decides for a step. */
export type Verdict = 'go' | 'stop' | 'failed';

/** The Int32 words of the control buffer. */
const STOP = 0;
const ACKED = 1;
const ARRIVED = 2;
const GENERATION = 3;
const DECISION = 4;
const FAILED = 5;
const WORDS = 8;
/** Two f64 losses (data loss, penalty) per worker per bank follow the words. */
const LOSSES_PER_SLOT = 2;

/** How long a waiting worker sleeps before it looks at the failure word again (ms). */
const WAKE_EVERY_MS = 100;

export class RunControl {
  private readonly words: Int32Array;
  private readonly losses: Float64Array;

  /** Views `buffer` (from {@link RunControl.create}) for `parties` workers; every side makes its own view. */
  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly parties: number,
  ) {
    this.words = new Int32Array(buffer, 0, WORDS);
    this.losses = new Float64Array(buffer, WORDS * 4, 2 * parties * LOSSES_PER_SLOT);
  }

  static create(parties: number): RunControl {
    return new RunControl(new SharedArrayBuffer(WORDS * 4 + 2 * parties * LOSSES_PER_SLOT * 8), parties);
  }

  /** Caller: readies the words for a run (no worker may be inside one). */
  start(): void {
    for (const word of [STOP, ACKED, ARRIVED, DECISION, FAILED]) Atomics.store(this.words, word, 0);
  }

  /** Caller: asks the run to stop at the next meeting. */
  requestStop(): void {
    Atomics.store(this.words, STOP, 1);
  }

  /** Caller: the first `reports` progress reports of the run have been handled. */
  acknowledge(reports: number): void {
    Atomics.store(this.words, ACKED, reports);
    Atomics.notify(this.words, ACKED);
  }

  /** A worker whose step failed: the others end the run instead of waiting for it. */
  fail(): void {
    Atomics.store(this.words, FAILED, 1);
    Atomics.notify(this.words, ACKED);
    Atomics.notify(this.words, GENERATION);
  }

  /** Worker: the losses of its shard in `bank`, for every replica to average. */
  writeLosses(bank: 0 | 1, rank: number, dataLoss: number, penalty: number): void {
    const at = (bank * this.parties + rank) * LOSSES_PER_SLOT;
    this.losses[at] = dataLoss;
    this.losses[at + 1] = penalty;
  }

  /** The losses worker `rank` wrote to `bank` (read after the meeting of that step). */
  readLosses(bank: 0 | 1, rank: number): { dataLoss: number; penalty: number } {
    const at = (bank * this.parties + rank) * LOSSES_PER_SLOT;
    return { dataLoss: this.losses[at], penalty: this.losses[at + 1] };
  }

  /**
   * Worker: waits until every worker has arrived; the last one first waits for the caller to
   * acknowledge `reports` progress reports. Writes made before arriving are visible to all
   * after it returns.
   */
  meet(reports: number): Verdict {
    const { words } = this;
    const generation = Atomics.load(words, GENERATION);
    if (Atomics.add(words, ARRIVED, 1) === this.parties - 1) {
      if (!this.waitUntil(ACKED, (acked) => acked >= reports)) return 'failed';
      Atomics.store(words, ARRIVED, 0);
      Atomics.store(words, DECISION, Atomics.load(words, STOP));
      Atomics.add(words, GENERATION, 1);
      Atomics.notify(words, GENERATION);
    } else if (!this.waitUntil(GENERATION, (value) => value !== generation)) {
      return 'failed';
    }
    // Once released, the verdict stands even if a worker fails later: every replica applies this step.
    return Atomics.load(words, DECISION) === 0 ? 'go' : 'stop';
  }

  /** Blocks until `word` satisfies `done`; false when a worker failed meanwhile. */
  private waitUntil(word: number, done: (value: number) => boolean): boolean {
    for (;;) {
      const value = Atomics.load(this.words, word);
      if (done(value)) return true;
      if (Atomics.load(this.words, FAILED) !== 0) return false;
      Atomics.wait(this.words, word, value, WAKE_EVERY_MS);
    }
  }
}
