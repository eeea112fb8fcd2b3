// The doctor on the lab's reference networks (1,000 real MNIST digits, 1,000 held out; the
// adding problem at T = 50) finds what the article says, and its trials rank the remedies.
import { describe, expect, it } from 'vitest';
import { addingProblem, diagnose, loadMnist, GradlabError, type Dataset, type DoctorReport, type LayerSpec, type ModelSpec } from '../../dist/ts/index.js';

/** The lab's MLP (ts/lab/nets.ts): hidden layers h1…, logits `out`. */
function mlp(sizes: number[], activation: 'sigmoid' | 'relu', init: 'nielsen' | 'he' | 'normal', rest: Partial<ModelSpec> = {}): ModelSpec {
  const layers: LayerSpec[] = sizes.slice(1, -1).map((units, i) => ({ type: 'dense', units, activation, init, name: `h${i + 1}` }));
  layers.push({ type: 'dense', units: sizes[sizes.length - 1], init, name: 'out' });
  return { input: [sizes[0]], layers, loss: 'sigmoidCrossEntropy', optimizer: { type: 'sgd', lr: 0.1 }, ...rest };
}

async function mnist(labels: boolean): Promise<{ train: Dataset; validation: Dataset }> {
  const train = await loadMnist({ perDigit: 100 });
  const test = await loadMnist({ perDigit: 100, offset: 100 });
  return { train: { x: train.x, y: labels ? train.labels : train.oneHot }, validation: { x: test.x, y: labels ? test.labels : test.oneHot } };
}

const kinds = (report: DoctorReport) => report.findings.map((finding) => finding.kind);

describe('diagnose', () => {
  it('finds the deep sigmoid net vanishing and a ReLU-family, BatchNorm or residual trial improving it', async () => {
    const { train, validation } = await mnist(false);
    const report = await diagnose(mlp([784, 30, 30, 30, 30, 10], 'sigmoid', 'nielsen'), train, { validation, seed: 1, steps: 300 });
    expect(report.verdict).toBe('vanishing');
    const finding = report.findings[0];
    expect(finding.layer).toBe('h1');
    expect(finding.measured.ratio).toBeGreaterThan(finding.threshold.ratio);
    expect(finding.message).toMatch(/hidden layer 1 \('h1'\) learns .*× slower than hidden layer 4 \('h4'\).*three sigmoids, each passing back at most 0\.25/);
    expect(report.layers.map((layer) => layer.name)).toEqual(['h1', 'h2', 'h3', 'h4', 'out']);
    expect(report.layers[0].weightGradNormHistory.length).toBeGreaterThan(10);
    // Every remedy for vanishing that applies to a plain sigmoid MLP is tried, best first.
    expect(report.trials.map((t) => t.remedy).sort()).toEqual(['batchnorm', 'elu', 'leakyRelu', 'prelu', 'pretrainAutoencoder', 'pretrainRbm', 'relu', 'residual']);
    const improvements = report.trials.map((t) => t.improvement);
    expect(improvements).toEqual([...improvements].sort((a, b) => b - a));
    expect(['relu', 'leakyRelu', 'prelu', 'elu', 'batchnorm', 'residual']).toContain(report.recommendation.remedy);
    const best = report.trials[0];
    expect(best.after.accuracy as number).toBeGreaterThan((best.before.accuracy as number) + 0.3);
    expect(best.after.gradientRatio).toBeLessThan(best.before.gradientRatio);
    expect(report.recommendation.spec).toEqual(best.spec);
  });

  it('finds ReLU + He healthy and recommends nothing', async () => {
    const { train, validation } = await mnist(false);
    const report = await diagnose(mlp([784, 30, 30, 30, 30, 10], 'relu', 'he'), train, { validation, seed: 1, steps: 300 });
    expect(report.verdict).toBe('healthy');
    expect(report.findings).toEqual([]);
    expect(report.trials).toEqual([]);
    expect(report.recommendation.remedy).toBe('none');
    for (const layer of report.layers.slice(0, -1)) expect(layer.deadFraction as number).toBeLessThan(0.5);
  });

  it('finds N(0, 1) weights exploding and recommends clipping', async () => {
    const { train, validation } = await mnist(true);
    const spec = mlp([784, 30, 30, 30, 30, 30, 30, 30, 30, 10], 'relu', 'normal', { loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', lr: 0.01 } });
    const report = await diagnose(spec, train, { validation, seed: 1, steps: 300 });
    expect(report.verdict).toBe('exploding');
    const finding = report.findings[0];
    expect(finding.measured.perLayer).toBeGreaterThan(2);
    expect(finding.message).toMatch(/grows .*× from the last hidden layer \('h8'\) back to the first \('h1'\)/);
    expect(kinds(report)).toContain('nonFinite');
    expect(report.trials.map((t) => t.remedy).sort()).toEqual(['clipNorm', 'clipValue', 'l2']);
    expect(['clipNorm', 'clipValue']).toContain(report.recommendation.remedy);
    expect(report.recommendation.spec.clip).toBeDefined();
  });

  it('finds the RNN vanishing through time at T = 50, and the LSTM trial winning', async () => {
    const T = 50;
    const train = await addingProblem({ length: T, count: 3000, seed: 1 });
    const validation = await addingProblem({ length: T, count: 500, seed: 2 });
    const spec: ModelSpec = { input: [T, 2], layers: [{ type: 'rnn', units: 32 }, { type: 'dense', units: 1 }], loss: 'mse', optimizer: { type: 'adam', lr: 3e-3 }, clip: { norm: 1 } };
    const report = await diagnose(spec, train, { validation, seed: 1, steps: 300, batchSize: 32 });
    expect(report.verdict).toBe('vanishingThroughTime');
    expect(report.findings[0].layer).toBe('0');
    expect(report.findings[0].measured.steps).toBe(T);
    expect(report.layers[0].timeGradNorms).toHaveLength(T);
    expect(report.trials.map((t) => t.remedy)).toEqual(['lstm']);
    expect(report.recommendation.remedy).toBe('lstm');
    const [trial] = report.trials;
    expect(trial.spec.layers[0]).toMatchObject({ type: 'lstm', units: 32, forgetBias: 1 });
    expect(trial.after.timeRatio as number).toBeLessThan(trial.before.timeRatio as number);
  });

  it('skips the trials when asked, and refuses bad options with a typed error', async () => {
    const { train, validation } = await mnist(false);
    const report = await diagnose(mlp([784, 30, 30, 30, 30, 10], 'sigmoid', 'nielsen'), train, { validation, seed: 1, steps: 50, trials: false });
    expect(report.verdict).toBe('vanishing');
    expect(report.trials).toEqual([]);
    expect(report.recommendation.remedy).toBe('none');
    for (const [options, arg] of [[{ steps: 0 }, 'options.steps'], [{ trials: 'no' }, 'options.trials'], [{ remedies: ['magic'] }, 'options.remedies'], [{ seed: -1 }, 'options.seed']] as const) {
      const error = await diagnose(mlp([784, 30, 10], 'sigmoid', 'nielsen'), train, options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GradlabError);
      expect((error as GradlabError).arg).toBe(arg);
    }
  });
});
