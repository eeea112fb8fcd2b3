/**
 * Vanilla RNN against LSTM on the adding problem (Hochreiter & Schmidhuber 1997) for several
 * sequence lengths, with the same hidden size and budget: the norm of ∂L/∂h_t over t at the
 * start and end of training, and the share of test sequences predicted within 0.04.
 */
import { createModelSync, addingAccuracy, addingProblem } from 'gradlab';
import { formatNumber, type Experiment, type ExperimentContext, type Plot, type Table } from '../experiment.js';

export interface LstmRun {
  cell: 'rnn' | 'lstm';
  T: number;
  /** ‖∂L/∂h_t‖ for t = 1…T after the first training step. */
  gradNormByStepStart: number[];
  /** The same after the last training step. */
  gradNormByStep: number[];
  /** Share of test sequences predicted within 0.04 of the target. */
  accuracy: number;
  /** Test mean squared error (predicting the mean scores 1/6 ≈ 0.167). */
  mse: number;
}

export interface LstmResult {
  experiment: 'lstm';
  units: number;
  steps: number;
  batchSize: number;
  runs: LstmRun[];
}

const UNITS = 32;
const BATCH = 32;

export const lstm: Experiment<LstmResult> = {
  name: 'lstm',
  title: 'Recurrence: vanilla RNN against LSTM on the adding problem',
  summary:
    'The adding problem: T random numbers with two of them marked; the target is the sum of the marked two, read from the last ' +
    'hidden state, so the gradient must travel back to the marked steps. At initialisation both cells lose it through time (an ' +
    'LSTM with zero forget bias halves it every step; here its forget bias starts at 1). A tanh RNN keeps losing it and fails at ' +
    'long T; the LSTM learns to hold it in its cell and solves T = 100 with the same hidden size (32), optimiser (Adam 3e-3, ' +
    'clipping by norm 1) and number of steps.',
  async run(context: ExperimentContext): Promise<LstmResult> {
    const lengths = context.quick ? [10, 30] : [10, 50, 100];
    const steps = context.quick ? 800 : 3000;
    const runs: LstmRun[] = [];
    for (const T of lengths) {
      const train = await addingProblem({ length: T, count: steps * BATCH, seed: context.seed });
      const test = await addingProblem({ length: T, count: 1000, seed: context.seed + 1 });
      for (const cell of ['rnn', 'lstm'] as const) {
        const spec = {
          input: [T, 2],
          layers: [{ type: cell, units: UNITS, ...(cell === 'lstm' ? { forgetBias: 1 } : {}) }, { type: 'dense' as const, units: 1 }],
          loss: 'mse' as const,
          optimizer: { type: 'adam' as const, lr: 3e-3 },
          clip: { norm: 1 },
        };
        const model = createModelSync(context.core, spec, context.seed);
        const label = `${cell} T=${T}`;
        let gradNormByStepStart: number[] = [];
        model.fit(train, {
          epochs: 1,
          batchSize: BATCH,
          seed: context.seed,
          diagnostics: 'none',
          onStep: ({ step }) => {
            if (step === 0) gradNormByStepStart = model.diagnostics()[0].timeGradNorms ?? [];
            if (step % 50 === 49) context.progress(label, step + 1, steps);
          },
        });
        const gradNormByStep = model.diagnostics()[0].timeGradNorms ?? [];
        const predicted = model.predict(test.x);
        const mse = predicted.data.reduce((sum, p, i) => sum + (p - test.y.data[i]) ** 2, 0) / predicted.data.length;
        runs.push({ cell, T, gradNormByStepStart, gradNormByStep, accuracy: addingAccuracy(predicted, test.y), mse });
        model.dispose();
        context.progress(label, steps, steps);
      }
    }
    return { experiment: 'lstm', units: UNITS, steps, batchSize: BATCH, runs };
  },
  tables(result: LstmResult): Table[] {
    const firstOverLast = (norms: number[]) => norms[0] / norms[norms.length - 1];
    return [
      {
        title: `Adding problem after ${result.steps} steps of batch ${result.batchSize}, ${result.units} hidden units`,
        columns: ['cell', 'T', 'accuracy (±0.04)', 'test MSE', '‖∂L/∂h₁‖/‖∂L/∂h_T‖ start', 'end'],
        rows: result.runs.map((run) => [
          run.cell,
          run.T,
          formatNumber(run.accuracy),
          formatNumber(run.mse),
          formatNumber(firstOverLast(run.gradNormByStepStart)),
          formatNumber(firstOverLast(run.gradNormByStep)),
        ]),
        note: 'Predicting the mean scores an MSE of 1/6 ≈ 0.167. The last columns: how much of the gradient at the last step reaches the first.',
      },
    ];
  },
  plots(result: LstmResult): Plot[] {
    const longest = Math.max(...result.runs.map((run) => run.T));
    const profile = (norms: number[]) => norms.map((v, t): [number, number] => [t + 1, v]);
    const runs = result.runs.filter((run) => run.T === longest);
    return [
      {
        title: `‖∂L/∂h_t‖ over t at T = ${longest}, start and end of training`,
        xLabel: 't',
        yLabel: '‖∂L/∂h_t‖',
        logY: true,
        series: runs.flatMap((run) => [
          { name: `${run.cell} start`, points: profile(run.gradNormByStepStart) },
          { name: `${run.cell} end`, points: profile(run.gradNormByStep) },
        ]),
      },
    ];
  },
};
