/**
 * The plain data the model API takes and returns: tensors, state dicts, the results of a
 * step and the per-layer diagnostics. Plain objects and typed arrays, so they cross into
 * workers and are saved as they are.
 */

/** A dense f32 tensor as plain data: row-major `data` of `shape`'s size. */
export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** Class indices, one per output row (for `softmaxCrossEntropy`). */
export interface Labels {
  shape: number[];
  data: Int32Array;
}

/** Anything tensor-like accepted as input: `data` may be any array of numbers. */
export interface TensorLike {
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** The state dict: PyTorch names and layouts (`0.weight` [out, in], …). */
export type StateDict = Record<string, TensorData>;

/** What one batch's forward and backward pass measured. */
export interface LossResult {
  /** `dataLoss + penalty`. */
  loss: number;
  dataLoss: number;
  /** The L1/L2 penalty (0 without regularisation). */
  penalty: number;
  /** Global L2 norm of the gradients (after the penalty, before clipping). */
  gradNorm: number;
}

export interface GradientsResult extends LossResult {
  /** ∂loss/∂parameter for every trainable parameter (not buffers). */
  grads: StateDict;
}

export interface StepResult extends LossResult {
  /** False when the non-finite guard refused the step (the weights are unchanged). */
  applied: boolean;
  /** Where the step first went non-finite: a layer name, or `loss`. */
  nonFiniteAt?: string;
}

/** Per-layer diagnostics of the last backward pass (and, for `updateRatio`, the last step). */
export interface LayerDiagnostics {
  name: string;
  kind: string;
  /** Nielsen's learning speed ‖∂L/∂b‖ (BatchNorm: its shift); `null` for layers without bias. */
  learningSpeed: number | null;
  /** ‖∂L/∂W‖ over the layer's weights (BatchNorm: its scale): comparable across architectures. */
  weightGradNorm: number;
  weightNorm: number;
  /** ‖ΔW‖/‖W‖ of the last applied update. */
  updateRatio: number;
  /** Recurrent layers: ‖∂L/∂h_t‖ for every time step t. */
  timeGradNorms?: number[];
}

/** A dataset: `x` [N, ...input] and `y` [N, ...] (class indices or targets), row-aligned. */
export interface Dataset {
  x: TensorLike;
  y: TensorLike;
}
/** One step of a training run, as progress callbacks receive it. */
export interface StepProgress extends StepResult {
  epoch: number;
  /** Step within the epoch, from 0. */
  step: number;
  stepsPerEpoch: number;
  diagnostics?: LayerDiagnostics[];
}

/** What `evaluate` measured over a dataset. */
export interface EvaluateResult {
  loss: number;
  /** Share of rows classified right (arg-max), or null where it does not apply. */
  accuracy: number | null;
  /** Where the first batch whose output went non-finite did so (a layer name, or `loss`). */
  nonFiniteAt?: string;
}

/** What one epoch of training added up to. */
export interface EpochResult {
  epoch: number;
  /** Mean loss over the epoch's applied steps. */
  loss: number;
  steps: number;
  /** Steps the non-finite guard refused. */
  skippedSteps: number;
  /** Where the first refused step went non-finite. */
  nonFiniteAt?: string;
  diagnostics?: LayerDiagnostics[];
  validation?: EvaluateResult;
}

/** The epochs of a training run. */
export interface History {
  epochs: EpochResult[];
  /** True when a callback or `shouldStop` ended training early. */
  stopped: boolean;
}
