/**
 * Exploding gradients: a deep ReLU net with large initial weights. The gradient grows layer by
 * layer toward the input; plain SGD diverges (the non-finite guard catches it), clipping by
 * norm keeps training finite, and L2 holds the weights down.
 */
import { createModelSync } from 'gradlab';
import { formatNumber, type Experiment, type ExperimentContext, type Plot, type Table } from '../experiment.js';
import { mnistSplit } from '../data.js';
import { mlp } from '../nets.js';

export interface ExplodingRun {
  name: string;
  clip: { norm?: number; value?: number } | null;
  l2: number;
  diverged: boolean;
  /** Where the first refused step went non-finite. */
  nonFiniteAt: string | null;
  /**
   * ‖∂C/∂b‖ of every layer at initialisation, input side first: the backward signal δ itself,
   * which grows by ~‖W‖ per layer toward the input.
   */
  gradNormByLayer: number[];
  /**
   * ‖∂C/∂W‖ of every layer at initialisation. It stays flat here: ∂C/∂W = δ·aᵀ, and the
   * forward activations a grow toward the output as fast as δ grows toward the input.
   */
  weightGradNormByLayer: number[];
  /** Weight norm of every layer at the end of training. */
  weightNormByLayer: number[];
  /** Mean training loss per epoch (stops at divergence). */
  lossHistory: number[];
}

export interface ExplodingResult {
  experiment: 'exploding';
  sizes: number[];
  runs: ExplodingRun[];
}

const SIZES = [784, 30, 30, 30, 30, 30, 30, 30, 30, 10];
const RUNS: { name: string; clip: ExplodingRun['clip']; l2: number }[] = [
  { name: 'plain SGD', clip: null, l2: 0 },
  { name: 'clip norm 1', clip: { norm: 1 }, l2: 0 },
  { name: 'clip value 0.01', clip: { value: 0.01 }, l2: 0 },
  { name: 'clip norm 1 + L2 1e-3', clip: { norm: 1 }, l2: 1e-3 },
];

export const exploding: Experiment<ExplodingResult> = {
  name: 'exploding',
  title: 'Exploding gradients: large weights, clipping and L2',
  summary:
    'A 9-layer ReLU net whose weights start N(0, 1) (about 4× too large for width 30): every layer multiplies the backward ' +
    'signal by ~‖W‖, so gradients grow exponentially toward the input. Plain SGD takes a huge step and the next forward pass ' +
    'overflows: the guard refuses the non-finite step and names the layer. Clipping by global norm bounds each step; L2 adds ' +
    'a pull toward small weights.',
  async run(context: ExperimentContext): Promise<ExplodingResult> {
    const { trainLabels } = await mnistSplit();
    const epochs = context.quick ? 3 : 20;
    const runs: ExplodingRun[] = [];
    for (const setup of RUNS) {
      const spec = mlp(SIZES, {
        activation: 'relu',
        init: 'normal',
        loss: 'softmaxCrossEntropy',
        optimizer: { type: 'sgd', lr: 0.01 },
        ...(setup.clip ? { clip: setup.clip } : {}),
        ...(setup.l2 ? { regularization: { l2: setup.l2 } } : {}),
      });
      const model = createModelSync(context.core, spec, context.seed);
      model.gradients(trainLabels.x, trainLabels.y);
      const initial = model.diagnostics();
      const gradNormByLayer = initial.map((layer) => layer.learningSpeed ?? NaN);
      const weightGradNormByLayer = initial.map((layer) => layer.weightGradNorm);
      const lossHistory: number[] = [];
      let diverged = false;
      let nonFiniteAt: string | null = null;
      for (let epoch = 0; epoch < epochs && !diverged; epoch++) {
        const history = model.fit(trainLabels, { epochs: 1, batchSize: 10, seed: context.seed + epoch, diagnostics: 'none' });
        const result = history.epochs[0];
        if (result.skippedSteps > 0) {
          diverged = true;
          nonFiniteAt = result.nonFiniteAt ?? null;
        }
        if (Number.isFinite(result.loss)) lossHistory.push(result.loss);
        context.progress(setup.name, epoch + 1, epochs);
      }
      model.gradients(trainLabels.x, trainLabels.y);
      const weightNormByLayer = model.diagnostics().map((layer) => layer.weightNorm);
      model.dispose();
      runs.push({ ...setup, diverged, nonFiniteAt, gradNormByLayer, weightGradNormByLayer, weightNormByLayer, lossHistory });
      context.progress(setup.name, epochs, epochs);
    }
    return { experiment: 'exploding', sizes: SIZES, runs };
  },
  tables(result: ExplodingResult): Table[] {
    const first = result.runs[0];
    const layers = first.gradNormByLayer.length;
    return [
      {
        title: 'Gradient norms per layer at initialisation (input side first)',
        columns: ['layer', ...Array.from({ length: layers }, (_, i) => String(i + 1))],
        rows: [
          ['‖∂C/∂b‖', ...first.gradNormByLayer.map(formatNumber)],
          ['‖∂C/∂W‖', ...first.weightGradNormByLayer.map(formatNumber)],
        ],
        note:
          `‖∂C/∂b‖ first/last: ${formatNumber(first.gradNormByLayer[0] / first.gradNormByLayer[layers - 1])}× — the backward signal grows toward the input. ` +
          '‖∂C/∂W‖ = δ·aᵀ stays flat because the activations grow the other way.',
      },
      {
        title: 'Training with and without the remedies',
        columns: ['run', 'diverged', 'non-finite at', 'final loss', 'weight norm (layer 1)', 'weight norm (last)'],
        rows: result.runs.map((run) => [
          run.name,
          run.diverged ? 'yes' : 'no',
          run.nonFiniteAt ?? '—',
          formatNumber(run.lossHistory[run.lossHistory.length - 1]),
          formatNumber(run.weightNormByLayer[0]),
          formatNumber(run.weightNormByLayer[run.weightNormByLayer.length - 1]),
        ]),
      },
    ];
  },
  plots(result: ExplodingResult): Plot[] {
    return [
      {
        title: 'Gradient norms per layer at initialisation',
        xLabel: 'layer (1 = input side)',
        yLabel: 'norm',
        logY: true,
        series: [
          { name: '‖∂C/∂b‖', points: result.runs[0].gradNormByLayer.map((v, i): [number, number] => [i + 1, v]) },
          { name: '‖∂C/∂W‖', points: result.runs[0].weightGradNormByLayer.map((v, i): [number, number] => [i + 1, v]) },
        ],
      },
      {
        title: 'Training loss per epoch',
        xLabel: 'epoch',
        yLabel: 'loss',
        logY: true,
        series: result.runs.map((run) => ({ name: run.name, points: run.lossHistory.map((v, i): [number, number] => [i + 1, v]) })),
      },
    ];
  },
};
