/**
 * Greedy layer-wise pretraining (Hinton 2006): stacked autoencoders, and RBMs trained with
 * contrastive divergence stacked into a deep belief net, then supervised fine-tuning of the
 * whole net, against the same net from random initialisation.
 */
import { createModelSync, pretrain, type Model, type PretrainMethod, type Dataset } from 'gradlab';
import { formatNumber, type Experiment, type ExperimentContext, type Plot, type Table } from '../experiment.js';
import { mnistSplit } from '../data.js';
import { measureHiddenLayers, mlp } from '../nets.js';

export type InitName = 'random' | PretrainMethod;

export interface PretrainRun {
  init: InitName;
  /** ‖∂C/∂b‖ per hidden layer after pretraining, before fine-tuning. */
  speeds: number[];
  testAccuracy: number;
  /** Mean training loss per fine-tuning epoch. */
  lossHistory: number[];
  /** Per hidden layer: reconstruction error before and after each pretraining epoch (empty for random). */
  reconstructionError: number[][];
}

export interface PretrainResult {
  experiment: 'pretrain';
  sizes: number[];
  pretrainEpochs: number;
  fineTuneEpochs: number;
  runs: PretrainRun[];
}

const SIZES = [784, 30, 30, 30, 30, 10];

/**
 * Pretrains every hidden layer of `model` greedily on `train.x` (autoencoder lr 0.1, RBM CD-1
 * lr 0.05; momentum 0.5, batches of 10). Returns each layer's reconstruction error, initial
 * value first.
 */
export function pretrainLayers(model: Model, train: Dataset, method: PretrainMethod, epochs: number, seed: number, onEpoch?: () => void): number[][] {
  const report = pretrain(model, train.x, { method, epochs, lr: method === 'rbm' ? 0.05 : 0.1, k: 1, momentum: 0.5, batchSize: 10, seed, onEpoch });
  return report.layers.map((layer) => [layer.initialReconstructionError, ...layer.reconstructionError]);
}

export const pretraining: Experiment<PretrainResult> = {
  name: 'pretrain',
  title: 'Greedy layer-wise pretraining, then fine-tuning',
  summary:
    'Hinton (2006): train each layer on its own, bottom up, as an autoencoder or a restricted Boltzmann machine (CD-1) on the ' +
    'output of the layers below, then fine-tune the whole net with backpropagation. The pretrained first layer starts with useful ' +
    'features and a larger gradient, and the deep sigmoid net escapes the plateau that random initialisation leaves it on.',
  async run(context: ExperimentContext): Promise<PretrainResult> {
    const { train, test } = await mnistSplit();
    const pretrainEpochs = context.quick ? 2 : 10;
    const fineTuneEpochs = context.quick ? 5 : 30;
    const hidden = SIZES.length - 2;
    const runs: PretrainRun[] = [];
    for (const init of ['random', 'autoencoder', 'rbm'] as const) {
      const total = (init === 'random' ? 0 : hidden * pretrainEpochs) + fineTuneEpochs;
      let done = 0;
      const model = createModelSync(context.core, mlp(SIZES, { activation: 'sigmoid', init: 'nielsen' }), context.seed);
      const reconstructionError = init === 'random' ? [] : pretrainLayers(model, train, init, pretrainEpochs, context.seed, () => context.progress(init, ++done, total));
      const { speeds } = measureHiddenLayers(model, train, hidden);
      const lossHistory: number[] = [];
      model.fit(train, {
        epochs: fineTuneEpochs,
        batchSize: 10,
        seed: context.seed,
        diagnostics: 'none',
        onEpoch: (epoch) => {
          lossHistory.push(epoch.loss);
          context.progress(init, ++done, total);
        },
      });
      const testAccuracy = model.evaluate(test).accuracy ?? NaN;
      model.dispose();
      runs.push({ init, speeds, testAccuracy, lossHistory, reconstructionError });
    }
    return { experiment: 'pretrain', sizes: SIZES, pretrainEpochs, fineTuneEpochs, runs };
  },
  tables(result: PretrainResult): Table[] {
    const hidden = result.sizes.length - 2;
    return [
      {
        title: `Learning speed after pretraining (${result.pretrainEpochs} epochs per layer) and test accuracy after ${result.fineTuneEpochs} fine-tuning epochs`,
        columns: ['init', ...Array.from({ length: hidden }, (_, i) => `speed h${i + 1}`), 'final train loss', 'test acc'],
        rows: result.runs.map((run) => [run.init, ...run.speeds.map(formatNumber), formatNumber(run.lossHistory[run.lossHistory.length - 1]), formatNumber(run.testAccuracy)]),
      },
      {
        title: 'Reconstruction error of each pretrained layer: before → after',
        columns: ['method', ...Array.from({ length: hidden }, (_, i) => `h${i + 1}`)],
        rows: result.runs
          .filter((run) => run.reconstructionError.length > 0)
          .map((run) => [run.init, ...run.reconstructionError.map((errors) => `${formatNumber(errors[0])} → ${formatNumber(errors[errors.length - 1])}`)]),
        note: 'Mean over examples of Σ(x − x̂)², x̂ the deterministic reconstruction of the layer’s input.',
      },
    ];
  },
  plots(result: PretrainResult): Plot[] {
    return [
      {
        title: 'Fine-tuning loss per epoch',
        xLabel: 'epoch',
        yLabel: 'training loss',
        logY: true,
        series: result.runs.map((run) => ({ name: run.init, points: run.lossHistory.map((v, i): [number, number] => [i + 1, v]) })),
      },
    ];
  },
};
