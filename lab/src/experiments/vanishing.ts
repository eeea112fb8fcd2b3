/**
 * Nielsen's experiment (Neural Networks and Deep Learning, ch. 5) on real MNIST: in deep
 * sigmoid nets the early hidden layers learn far slower than the later ones.
 */
import { createModelSync } from 'gradlab';
import { columnMeans, formatNumber, type Experiment, type ExperimentContext, type Plot, type Table } from '../experiment.js';
import { mnistSplit } from '../data.js';
import { measureHiddenLayers, mlp, sizesLabel } from '../nets.js';
import { trainMeasuringSpeeds } from '../speeds.js';

export interface VanishingNet {
  sizes: number[];
  activation: 'sigmoid';
  /** Learning speed ‖∂C/∂b‖ of each hidden layer over the 1,000 images, mean of 5 seeds. */
  speedsAtInit: number[];
  /** The same after every training epoch (one seed). */
  speedHistory: number[][];
  testAccuracy: number;
}

export interface VanishingResult {
  experiment: 'vanishing';
  epochs: number;
  nets: VanishingNet[];
}

const NETS = [
  [784, 30, 30, 10],
  [784, 30, 30, 30, 10],
  [784, 30, 30, 30, 30, 10],
];
const INIT_SEEDS = 5;

export const vanishing: Experiment<VanishingResult> = {
  name: 'vanishing',
  title: 'Vanishing gradients in deep sigmoid nets',
  summary:
    "Sigmoid's derivative is at most 0.25, so the gradient reaching layer l is a product of small factors and shrinks " +
    'exponentially toward the input. Following Nielsen (ch. 5) on 1,000 real MNIST digits: weights N(0, 1/fan_in), biases ' +
    'N(0, 1), cross-entropy cost, SGD (lr 0.1, batch 10). The learning speed of a layer is the norm of ∂C/∂b over the 1,000 images.',
  async run(context: ExperimentContext): Promise<VanishingResult> {
    const { train, test } = await mnistSplit();
    const epochs = context.quick ? 20 : 150;
    const nets: VanishingNet[] = [];
    for (const sizes of NETS) {
      const label = sizesLabel(sizes);
      const spec = mlp(sizes, { activation: 'sigmoid', init: 'nielsen' });
      const total = INIT_SEEDS + epochs;
      const initial: number[][] = [];
      for (let s = 0; s < INIT_SEEDS; s++) {
        const model = createModelSync(context.core, spec, context.seed + s);
        initial.push(measureHiddenLayers(model, train, sizes.length - 2).speeds);
        model.dispose();
        context.progress(label, s + 1, total);
      }
      const model = createModelSync(context.core, spec, context.seed);
      const speedHistory: number[][] = [];
      for (const measured of trainMeasuringSpeeds(model, train, { epochs, seed: context.seed, hidden: sizes.length - 2 })) {
        speedHistory.push(measured.speeds);
        context.progress(label, INIT_SEEDS + measured.epoch, total);
      }
      const testAccuracy = model.evaluate(test).accuracy ?? NaN;
      model.dispose();
      nets.push({ sizes, activation: 'sigmoid', speedsAtInit: columnMeans(initial), speedHistory, testAccuracy });
    }
    return { experiment: 'vanishing', epochs, nets };
  },
  tables(result: VanishingResult): Table[] {
    const depth = Math.max(...result.nets.map((n) => n.speedsAtInit.length));
    const columns = ['net', ...Array.from({ length: depth }, (_, i) => `hidden ${i + 1}`), 'last/first', `test acc (${result.epochs} ep)`];
    const rows = result.nets.map((net) => {
      const speeds = net.speedsAtInit;
      const cells = Array.from({ length: depth }, (_, i) => formatNumber(speeds[i]));
      return [sizesLabel(net.sizes), ...cells, `${formatNumber(speeds[speeds.length - 1] / speeds[0])}×`, formatNumber(net.testAccuracy)];
    });
    return [
      {
        title: 'Learning speed ‖∂C/∂b‖ of each hidden layer at initialisation (mean of 5 seeds)',
        columns,
        rows,
        note: 'Nielsen reports 0.003, 0.017, 0.070, 0.285 for [784,30,30,30,30,10]: the first hidden layer learns ~100× slower than the last.',
      },
    ];
  },
  plots(result: VanishingResult): Plot[] {
    return result.nets.map((net) => ({
      title: `Learning speed per hidden layer during training, ${sizesLabel(net.sizes)}`,
      xLabel: 'epoch',
      yLabel: '‖∂C/∂b‖',
      logY: true,
      series: net.speedsAtInit.map((initial, layer) => ({
        name: `hidden ${layer + 1}`,
        points: [[0, initial] as [number, number], ...net.speedHistory.map((speeds, epoch): [number, number] => [epoch + 1, speeds[layer]])],
      })),
    }));
  },
};
