/** Spec builders for the lab's networks. Hidden dense layers are named `h1`, `h2`, …, their BatchNorms `bn1`, …, the output layer `out`. */
import type { Activation, Init, LayerSpec, ModelSpec, OptimizerSpec, LayerDiagnostics, Model, Dataset } from 'gradlab';

/** The label of a net in tables: `[784,30,30,10]`. */
export function sizesLabel(sizes: number[]): string {
  return `[${sizes.join(',')}]`;
}

export interface MlpOptions {
  activation: Activation;
  init: Init;
  loss?: ModelSpec['loss'];
  optimizer?: OptimizerSpec;
  clip?: ModelSpec['clip'];
  regularization?: ModelSpec['regularization'];
  /** Inserts a BatchNorm after every hidden dense layer (before its activation). */
  batchnorm?: boolean;
  /** Wraps every hidden layer after the first in a residual block `y = x + f(x)` (needs equal widths). */
  residual?: boolean;
}

function hiddenLayer(units: number, index: number, options: MlpOptions): LayerSpec[] {
  const name = `h${index}`;
  if (options.batchnorm) {
    return [
      { type: 'dense', units, init: options.init, name },
      { type: 'batchnorm', name: `bn${index}` },
      { type: 'activation', activation: options.activation, name: `a${index}` },
    ];
  }
  return [{ type: 'dense', units, activation: options.activation, init: options.init, name }];
}

/**
 * A fully connected net with `sizes` = [input, hidden…, output]; hidden layers use
 * `activation`, the last layer gives logits.
 */
export function mlp(sizes: number[], options: MlpOptions): ModelSpec {
  const layers: LayerSpec[] = [];
  sizes.slice(1, -1).forEach((units, i) => {
    const hidden = hiddenLayer(units, i + 1, options);
    if (options.residual && i > 0 && sizes[i] === units) layers.push({ type: 'residual', layers: hidden, name: `r${i + 1}` });
    else layers.push(...hidden);
  });
  layers.push({ type: 'dense', units: sizes[sizes.length - 1], init: options.init, name: 'out' });
  return {
    input: [sizes[0]],
    layers,
    loss: options.loss ?? 'sigmoidCrossEntropy',
    optimizer: options.optimizer ?? { type: 'sgd', lr: 0.1 },
    ...(options.clip ? { clip: options.clip } : {}),
    ...(options.regularization ? { regularization: options.regularization } : {}),
  };
}

/** The short name of a diagnostics entry: the last part of `r2.h2` is `h2`. */
function shortName(layer: LayerDiagnostics): string {
  return layer.name.slice(layer.name.lastIndexOf('.') + 1);
}

/**
 * Per hidden layer of an {@link mlp}: Nielsen's learning speed (the bias gradient; under
 * BatchNorm the dense bias gradient is exactly zero, so its shift's) and the dense weight-gradient norm.
 */
export function hiddenLayerMetrics(diagnostics: LayerDiagnostics[], hiddenCount: number): { speeds: number[]; weightGradNorms: number[] } {
  const byName = new Map(diagnostics.map((d) => [shortName(d), d]));
  const speeds: number[] = [];
  const weightGradNorms: number[] = [];
  for (let i = 1; i <= hiddenCount; i++) {
    const dense = byName.get(`h${i}`);
    const norm = byName.get(`bn${i}`);
    speeds.push((norm ?? dense)?.learningSpeed ?? NaN);
    weightGradNorms.push(dense?.weightGradNorm ?? NaN);
  }
  return { speeds, weightGradNorms };
}

/** The gradient over all of `data`, then {@link hiddenLayerMetrics} of the model's `hidden` hidden layers. */
export function measureHiddenLayers(model: Model, data: Dataset, hidden: number): { speeds: number[]; weightGradNorms: number[] } {
  model.gradients(data.x, data.y);
  return hiddenLayerMetrics(model.diagnostics(), hidden);
}
