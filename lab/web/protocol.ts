/** The messages between the lab page and its training worker. */
import type { PageNet, RunConfig } from './config.js';

/** One measurement of a net: epoch 0 is at initialisation, before any training. */
export interface EpochPoint {
  epoch: number;
  /** Nielsen's learning speed ‖∂C/∂b‖ per hidden layer over the 1,000 training images. */
  speeds: number[];
  /** ‖∂C/∂W‖ per hidden layer, at the same point. */
  weightGradNorms: number[];
  /** The mean training loss of the epoch (null at epoch 0). */
  loss: number | null;
  /** Accuracy on the 1,000 held-out images. */
  testAccuracy: number;
}

export type ToWorker = { type: 'start'; runId: number; config: RunConfig } | { type: 'stop'; runId: number };

export type FromWorker =
  | { type: 'status'; runId: number; text: string }
  | { type: 'epoch'; runId: number; net: PageNet['key']; point: EpochPoint }
  | { type: 'done'; runId: number; stopped: boolean }
  | { type: 'error'; runId: number; message: string };
