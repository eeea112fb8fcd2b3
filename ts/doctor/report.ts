/**
 * The doctor's report: what `diagnose()` returns and `gradlab doctor --json` prints. These
 * names are a public contract (scripts read the JSON): extend them, don't rename them.
 *
 * @packageDocumentation
 */
import type { ModelSpec } from '../model/spec.js';

/** The one-word diagnosis of a network, worst problem first. */
export type Verdict = 'vanishing' | 'exploding' | 'saturated' | 'dead' | 'vanishingThroughTime' | 'nonFinite' | 'healthy';

/** The article's remedies the doctor knows how to try on a spec. */
export type RemedyName =
  | 'relu'
  | 'leakyRelu'
  | 'prelu'
  | 'elu'
  | 'batchnorm'
  | 'residual'
  | 'clipNorm'
  | 'clipValue'
  | 'l2'
  | 'pretrainAutoencoder'
  | 'pretrainRbm'
  | 'lstm';

/** A histogram with a fixed number of bins over `[min, max]` (or over log10|v| when `log`). */
export interface Histogram {
  /** Lower edge of the first bin and upper edge of the last, in the histogram's scale. */
  min: number;
  max: number;
  /** Whether the bins are over log10 of the absolute value (gradients span many decades). */
  log: boolean;
  /** Counts per bin; values outside the range fall into the first or last bin. */
  counts: number[];
  /** Values left out: zeros on a log scale, non-finite values always. */
  excluded: number;
}

/** One layer's health measured on one batch (or averaged over a short run where stated). */
export interface LayerHealth {
  /** The layer's state-dict prefix, as in `diagnostics()` (e.g. `'0'`, `'2.block.0'`). */
  name: string;
  kind: string;
  /** The nonlinearity measured for the layer (`'sigmoid'`, `'relu'`, …; `null` for an LSTM's gates). */
  activation?: string | null;
  /** ‖∂C/∂b‖ (Nielsen's learning speed); `null` for layers without a bias. */
  biasGradNorm: number | null;
  /** ‖∂C/∂W‖. */
  weightGradNorm: number;
  /** ‖ΔW‖ / ‖W‖ of the last applied step. */
  updateRatio: number;
  /** Mean and standard deviation of the layer's pre-activations over the batch. */
  preActivationMean: number;
  preActivationStd: number;
  /** Fraction of sigmoid/tanh outputs within 0.01 of their bounds; `null` for other activations. */
  saturatedFraction: number | null;
  /** Fraction of ReLU-family units whose output is zero over the whole batch; `null` otherwise. */
  deadFraction: number | null;
  histograms: { activations: Histogram; preActivations: Histogram; gradients: Histogram };
  /** Recurrent layers: ‖∂L/∂h_t‖ for every time step t. */
  timeGradNorms?: number[];
  /** Per step of the run: ‖∂C/∂W‖ (for plotting gradient norms over the run). */
  weightGradNormHistory: number[];
}

/** One problem found, with the numbers that show it. */
export interface Finding {
  kind: Exclude<Verdict, 'healthy'>;
  /** The layer it concerns (state-dict prefix), or `null` for the whole network. */
  layer: string | null;
  /** The measured value(s), by name (e.g. `{ ratio: 117, first: 0.0012, last: 0.14 }`). */
  measured: Record<string, number>;
  /** The threshold the measurement crossed, by the same name. */
  threshold: Record<string, number>;
  /** A sentence a student understands. */
  message: string;
}

/** Numbers compared between a trial and the original, measured the same way. */
export interface TrialMetrics {
  /** Validation loss after the budget. */
  loss: number;
  /** Validation accuracy for classification, `null` for regression. */
  accuracy: number | null;
  /** Ratio of the largest to the smallest per-layer ‖∂C/∂W‖ (1 is perfectly balanced). */
  gradientRatio: number;
  /** Recurrent nets: the largest ‖∂L/∂h_T‖/‖∂L/∂h_1‖ of their recurrent layers (1 keeps the gradient through time); `null` otherwise. */
  timeRatio?: number | null;
  verdict: Verdict;
}

/** A remedy tried on the user's network with the same data, seed and budget as the original. */
export interface Trial {
  remedy: RemedyName;
  spec: ModelSpec;
  before: TrialMetrics;
  after: TrialMetrics;
  /** Higher is better; trials are sorted by it, best first. Documented in the README. */
  improvement: number;
}

export interface DoctorReport {
  verdict: Verdict;
  findings: Finding[];
  layers: LayerHealth[];
  trials: Trial[];
  recommendation: { remedy: RemedyName | 'none'; spec: ModelSpec };
}
