/** The messages between the lab page's doctor panel and its worker. */
import type { DoctorReport } from 'gradlab';

/** A file from the user's disk, as bytes (transferred to the worker). */
export interface PickedFile {
  name: string;
  bytes: Uint8Array;
}

export interface DoctorRequest {
  /** The model spec as the user typed it (JSON text; parsed and checked in the worker). */
  specText: string;
  /** A built-in source's name (`mnist`, `adding:50`, …) or a data file. */
  data: string | PickedFile;
  labels?: PickedFile;
  seed: number;
  steps: number;
  trials: boolean;
}

export type ToDoctorWorker = { type: 'start'; runId: number; request: DoctorRequest };

export type FromDoctorWorker =
  | { type: 'status'; runId: number; text: string }
  | { type: 'progress'; runId: number; run: string; step: number; steps: number }
  | { type: 'report'; runId: number; report: DoctorReport }
  | { type: 'error'; runId: number; message: string };
