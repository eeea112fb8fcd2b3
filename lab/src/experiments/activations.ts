/**
 * Every activation and its derivative over [−6, 6], computed with gradlab's eager tensors and
 * autodiff: the derivative's maximum bounds how much each layer can pass back.
 */
import { elu, leakyRelu, relu, sigmoid, sum, tanh, scope, tensor, type Tensor } from 'gradlab';
import { formatNumber, type Experiment, type ExperimentContext, type Plot, type Table } from '../experiment.js';

export interface ActivationCurve {
  name: string;
  values: number[];
  derivatives: number[];
  /** max over the grid of f′(x). */
  maxDerivative: number;
  /** maxDerivative¹⁰: the most a 10-layer chain of this activation lets through. */
  tenLayerBound: number;
}

export interface ActivationsResult {
  experiment: 'activations';
  grid: number[];
  activations: ActivationCurve[];
}

const FUNCTIONS: [string, (x: Tensor) => Tensor][] = [
  ['sigmoid', sigmoid],
  ['tanh', tanh],
  ['relu', relu],
  ['leakyRelu(0.1)', (x) => leakyRelu(x, 0.1)],
  ['prelu (α = 0.25 at init)', (x) => leakyRelu(x, 0.25)],
  ['elu(1)', (x) => elu(x, 1)],
];

export const activations: Experiment<ActivationsResult> = {
  name: 'activations',
  title: 'Activations and their derivatives',
  summary:
    "Backpropagation multiplies one activation derivative per layer into the gradient. Sigmoid's is at most 0.25 (tanh's at " +
    'most 1, and only at 0), so a chain of them shrinks the gradient exponentially; ReLU-family activations pass 1 for every ' +
    'positive input. Derivatives here come from gradlab\'s autodiff (sum(f(x)).backward()), not from formulas.',
  async run(context: ExperimentContext): Promise<ActivationsResult> {
    const grid = Array.from({ length: 241 }, (_, i) => -6 + i * 0.05);
    const curves = FUNCTIONS.map(([name, f], index) => {
      const curve = scope(() => {
        const x = tensor(grid, [grid.length], { requiresGrad: true });
        const y = f(x);
        sum(y).backward();
        const derivatives = Array.from(x.grad!.data());
        return { values: Array.from(y.data()), derivatives };
      });
      context.progress('curves', index + 1, FUNCTIONS.length);
      const maxDerivative = Math.max(...curve.derivatives);
      return { name, ...curve, maxDerivative, tenLayerBound: maxDerivative ** 10 };
    });
    return { experiment: 'activations', grid, activations: curves };
  },
  tables(result: ActivationsResult): Table[] {
    return [
      {
        title: 'Maximum derivative of each activation over [−6, 6]',
        columns: ['activation', "max f′(x)", "f′(−3)", "f′(3)", 'max f′ ^ 10 layers'],
        rows: result.activations.map((a) => {
          const at = (x: number) => a.derivatives[Math.round((x + 6) / 0.05)];
          return [a.name, formatNumber(a.maxDerivative), formatNumber(at(-3)), formatNumber(at(3)), formatNumber(a.tenLayerBound)];
        }),
        note: 'A 10-layer sigmoid chain passes back at most 0.25¹⁰ ≈ 1e-6 of the gradient (before weights); ReLU passes 1 on its active side.',
      },
    ];
  },
  plots(result: ActivationsResult): Plot[] {
    const points = (ys: number[]) => ys.map((y, i): [number, number] => [result.grid[i], y]);
    return [
      { title: 'Activations f(x)', xLabel: 'x', yLabel: 'f(x)', series: result.activations.map((a) => ({ name: a.name, points: points(a.values) })) },
      { title: "Derivatives f′(x)", xLabel: 'x', yLabel: "f′(x)", series: result.activations.map((a) => ({ name: a.name, points: points(a.derivatives) })) },
    ];
  },
};
