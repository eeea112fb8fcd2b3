/**
 * What an experiment of the lab is: a seeded computation that returns a JSON result, plus how
 * to present it as text tables and plots. Experiments run in workers; they report progress
 * per run through the context.
 */
import type { Core } from 'gradlab';

export const EXPERIMENT_NAMES = ['activations', 'vanishing', 'exploding', 'remedies', 'lstm', 'pretrain'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

export interface ExperimentContext {
  core: Core;
  seed: number;
  /** The reduced version that runs in under a minute on 2 cores. */
  quick: boolean;
  /** Reports that `run` (a label such as `[784,30,30,10]`) has done `done` of `total` units. */
  progress(run: string, done: number, total: number): void;
}

/** A text table: a title, column headers and rows of cells. */
export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  /** A sentence under the table saying what to read in it. */
  note?: string;
}

/** A line chart: one polyline per series. */
export interface Plot {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  /** Y values the axis must reach even without a point there (so that charts side by side share a scale). */
  yInclude?: number[];
  series: { name: string; points: [number, number][] }[];
}

export interface Experiment<R extends { experiment: ExperimentName }> {
  name: ExperimentName;
  title: string;
  /** What the experiment shows, in a paragraph (for the report). */
  summary: string;
  run(context: ExperimentContext): Promise<R>;
  tables(result: R): Table[];
  plots(result: R): Plot[];
}

/** Formats a number for tables: 3 significant digits, exponent form when tiny or huge. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(2);
  return value.toPrecision(3);
}

/** Mean of each column of equally long rows. */
export function columnMeans(rows: number[][]): number[] {
  if (rows.length === 0) return [];
  return rows[0].map((_, j) => rows.reduce((sum, row) => sum + row[j], 0) / rows.length);
}
