/**
 * The model API end to end through the built package: every layer type and activation,
 * determinism, bad input (a typed error naming the field, and a model that still works),
 * disposal, diagnostics, fit/evaluate, the non-finite guard, clipping and the L1/L2 penalty.
 */
import { describe, expect, it } from 'vitest';
import { GradlabError, createModel, numModels, type LayerSpec, type Model, type ModelSpec, type StateDict } from '../../dist/ts/index.js';
import { errorOf, errorOfAsync } from '../expect-error.js';

/** Deterministic pseudo-random values in [-scale, scale). */
function values(count: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 * 2 - 1) * scale;
  });
}

function classes(count: number, classCount: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => i % classCount);
}

/** Every state-dict tensor's bytes, for bit-exact comparisons. */
function bytesOf(dict: StateDict): Record<string, number[]> {
  return Object.fromEntries(Object.entries(dict).map(([name, t]) => [name, Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))]));
}

function sumOver(dict: StateDict, keep: (name: string) => boolean, term: (v: number) => number): number {
  let total = 0;
  for (const [name, tensor] of Object.entries(dict)) if (keep(name)) for (const v of tensor.data) total += term(v);
  return total;
}

/** Whether this build has the recurrent layers (another part of the project adds them). */
async function hasRecurrent(): Promise<boolean> {
  try {
    (await createModel({ input: [2, 3], layers: [{ type: 'rnn', units: 2 }], loss: 'mse' })).dispose();
    return true;
  } catch (error) {
    if ((error as GradlabError).code === 'InvalidSpec') return false;
    throw error;
  }
}

const ACTIVATIONS = ['identity', 'sigmoid', 'tanh', 'relu', 'softmax', 'leakyRelu', 'prelu', 'elu', { type: 'leakyRelu', alpha: 0.2 }, { type: 'prelu', alpha: 0.1 }, { type: 'elu', alpha: 0.5 }] as const;
const INITS = ['nielsen', 'normal', 'xavier', 'xavierUniform', 'he', 'heUniform', 'lecun', 'zeros', { type: 'normal', std: 0.3 }] as const;

describe('createModel builds every layer type', () => {
  const x = { shape: [4, 6], data: values(24, 1) };
  const y = { shape: [4], data: classes(4, 3) };

  /** Builds, predicts, trains one step, and returns the state-dict names. */
  async function exercise(layers: LayerSpec[], input = [6], batch = x): Promise<string[]> {
    const model = await createModel({ input, layers: [...layers, { type: 'dense', units: 3 }], loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', lr: 0.1 } }, { seed: 5 });
    try {
      const output = model.predict(batch);
      expect(output.shape).toEqual([batch.shape[0], ...model.outputShape]);
      expect(output.data.every(Number.isFinite)).toBe(true);
      const step = model.trainStep(batch, { shape: [batch.shape[0], ...model.outputShape.slice(0, -1)], data: classes(output.data.length / 3, 3) });
      expect(step.applied).toBe(true);
      expect(Number.isFinite(step.loss) && Number.isFinite(step.gradNorm)).toBe(true);
      return Object.keys(model.stateDict());
    } finally {
      model.dispose();
    }
  }

  for (const activation of ACTIVATIONS) {
    const label = typeof activation === 'string' ? activation : JSON.stringify(activation);
    it(`dense and activation layers with ${label}`, async () => {
      const names = await exercise([{ type: 'dense', units: 5, activation }, { type: 'activation', activation }]);
      const prelu = label.includes('prelu');
      expect(names).toEqual(prelu ? ['0.weight', '0.bias', '0.alpha', '1.alpha', '2.weight', '2.bias'] : ['0.weight', '0.bias', '2.weight', '2.bias']);
    });
  }

  for (const init of INITS) {
    it(`dense with init ${JSON.stringify(init)}`, async () => {
      const names = await exercise([{ type: 'dense', units: 5, activation: 'tanh', init, bias: false }]);
      expect(names).toEqual(['0.weight', '1.weight', '1.bias']);
    });
  }

  it('batchnorm, named and with options', async () => {
    const names = await exercise([{ type: 'dense', units: 5 }, { type: 'batchnorm', name: 'norm', momentum: 0.2, eps: 1e-3 }, { type: 'activation', activation: 'relu' }]);
    expect(names).toEqual(['0.weight', '0.bias', 'norm.weight', 'norm.bias', '3.weight', '3.bias', 'norm.running_mean', 'norm.running_var']);
  });

  it('residual blocks, nested', async () => {
    const inner: LayerSpec = { type: 'residual', layers: [{ type: 'dense', units: 6, activation: 'relu' }] };
    const names = await exercise([{ type: 'residual', name: 'block', layers: [{ type: 'dense', units: 6, activation: 'tanh' }, inner] }]);
    expect(names).toEqual(['block.0.weight', 'block.0.bias', 'block.1.0.weight', 'block.1.0.bias', '1.weight', '1.bias']);
  });

  it('dense and batchnorm on sequences [time, features]', async () => {
    const sequences = { shape: [2, 2, 6], data: values(24, 2) };
    const names = await exercise([{ type: 'dense', units: 4 }, { type: 'batchnorm' }], [2, 6], sequences);
    expect(names).toContain('1.running_var');
  });

  it('rnn and lstm (when this build has them)', async () => {
    if (!(await hasRecurrent())) return;
    const sequences = { shape: [4, 3, 6], data: values(72, 3) };
    expect(await exercise([{ type: 'rnn', units: 4 }], [3, 6], sequences)).toContain('0.weight_hh');
    expect(await exercise([{ type: 'lstm', units: 4, returnSequences: false }], [3, 6], sequences)).toContain('0.bias_ih');
  });

  it('every loss', async () => {
    for (const loss of ['mse', 'sigmoidCrossEntropy'] as const) {
      const model = await createModel({ input: [6], layers: [{ type: 'dense', units: 2 }], loss });
      const target = { shape: [4, 2], data: Float32Array.from([0, 1, 1, 0, 1, 1, 0, 0]) };
      expect(model.trainStep(x, target).applied).toBe(true);
      model.dispose();
    }
    expect(await exercise([])).toEqual(['0.weight', '0.bias']);
  });
});

describe('determinism', () => {
  const spec: ModelSpec = {
    input: [8],
    layers: [{ type: 'dense', units: 16, activation: 'relu', init: 'he' }, { type: 'batchnorm' }, { type: 'dense', units: 16, activation: { type: 'prelu' } }, { type: 'dense', units: 4 }],
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', lr: 0.01 },
    clip: { norm: 1 },
    regularization: { l2: 1e-4 },
  };
  const x = { shape: [10, 8], data: values(80, 4) };
  const y = { shape: [10], data: classes(10, 4) };

  async function run(seed: number): Promise<{ state: Record<string, number[]>; prediction: number[]; losses: number[] }> {
    const model = await createModel(spec, { seed });
    const losses = Array.from({ length: 20 }, () => model.trainStep(x, y).loss);
    const result = { state: bytesOf(model.stateDict()), prediction: Array.from(model.predict(x).data), losses };
    model.dispose();
    return result;
  }

  it('one seed gives identical bytes after training, and identical predictions', async () => {
    const [first, second] = [await run(11), await run(11)];
    expect(second.state).toEqual(first.state);
    expect(second.prediction).toEqual(first.prediction);
    expect(second.losses).toEqual(first.losses);
    expect(first.losses[19]).toBeLessThan(first.losses[0]);
  });

  it('another seed gives other weights', async () => {
    const [first, other] = [await run(11), await run(12)];
    expect(other.state['0.weight']).not.toEqual(first.state['0.weight']);
  });
});

describe('bad input is a typed error naming the field, and the model still works', () => {
  const spec: ModelSpec = { input: [4], layers: [{ type: 'dense', units: 5, activation: 'tanh' }, { type: 'batchnorm', name: 'norm' }, { type: 'dense', units: 3 }], loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', lr: 0.1 } };
  const x = { shape: [6, 4], data: values(24, 5) };
  const y = { shape: [6], data: classes(6, 3) };

  async function withModel(body: (model: Model) => void): Promise<void> {
    const model = await createModel(spec, { seed: 1 });
    try {
      body(model);
    } finally {
      model.dispose();
    }
  }

  /** `body` fails with `code` naming `arg`; afterwards the state is unchanged and a step trains. */
  function expectRecoverable(model: Model, body: () => unknown, code: string, arg: string | RegExp): void {
    const before = bytesOf(model.stateDict());
    const error = errorOf(body);
    expect(error.code, error.message).toBe(code);
    expect(error.arg, error.message).toMatch(arg);
    expect(error.message.length).toBeGreaterThan(10);
    expect(bytesOf(model.stateDict()), 'nothing changed').toEqual(before);
    expect(model.trainStep(x, y).applied).toBe(true);
  }

  it('wrong x shapes and lengths', async () => {
    await withModel((model) => {
      expectRecoverable(model, () => model.trainStep({ shape: [6, 5], data: new Float32Array(30) }, y), 'ShapeMismatch', 'x');
      expectRecoverable(model, () => model.predict({ shape: [6, 4], data: new Float32Array(23) }), 'ShapeMismatch', 'x');
      expectRecoverable(model, () => model.predict({ shape: [24], data: x.data }), 'ShapeMismatch', 'x');
      expectRecoverable(model, () => model.gradients({ shape: [0, 4], data: new Float32Array(0) }, { shape: [0], data: new Int32Array(0) }), 'ShapeMismatch', 'x');
      expectRecoverable(model, () => model.predict({ shape: [6, -4], data: x.data }), 'InvalidArgument', 'x.shape');
      expectRecoverable(model, () => model.predict(null as never), 'InvalidArgument', 'x');
      expectRecoverable(model, () => model.trainStep(x, { shape: [5], data: classes(5, 3) }), 'ShapeMismatch', 'y');
    });
  });

  it('wrong label types', async () => {
    await withModel((model) => {
      expectRecoverable(model, () => model.trainStep(x, { shape: [6], data: Float32Array.from(classes(6, 3)) }), 'InvalidArgument', 'y');
      expectRecoverable(model, () => model.trainStep(x, { shape: [6], data: [0, 1, 2.5, 0, 1, 2] }), 'InvalidArgument', 'y');
    });
    const regression = await createModel({ input: [4], layers: [{ type: 'dense', units: 2 }], loss: 'mse' });
    const target = { shape: [6, 2], data: values(12, 6) };
    const error = errorOf(() => regression.trainStep(x, { shape: [6, 2], data: new Int32Array(12) }));
    expect([error.code, error.arg]).toEqual(['InvalidArgument', 'y']);
    expect(regression.trainStep(x, target).applied).toBe(true);
    regression.dispose();
  });

  it('NaN and infinity in the data', async () => {
    await withModel((model) => {
      const bad = x.data.slice();
      bad[7] = NaN;
      expectRecoverable(model, () => model.trainStep({ shape: x.shape, data: bad }, y), 'InvalidArgument', 'x');
      bad[7] = Infinity;
      expectRecoverable(model, () => model.predict({ shape: x.shape, data: bad }), 'InvalidArgument', 'x');
    });
  });

  it('class indices out of range', async () => {
    await withModel((model) => {
      expectRecoverable(model, () => model.trainStep(x, { shape: [6], data: Int32Array.from([0, 1, 2, 3, 0, 1]) }), 'InvalidArgument', 'y');
      expectRecoverable(model, () => model.gradients(x, { shape: [6], data: Int32Array.from([0, -1, 2, 0, 0, 1]) }), 'InvalidArgument', 'y');
    });
  });

  it('a BatchNorm training batch of one', async () => {
    await withModel((model) => {
      const one = { shape: [1, 4], data: x.data.slice(0, 4) };
      const target = { shape: [1], data: Int32Array.from([1]) };
      expectRecoverable(model, () => model.trainStep(one, target), 'InvalidArgument', 'x');
      model.setTraining(false);
      expect(model.trainStep(one, target).applied).toBe(true);
    });
  });

  it('a state dict with a missing, extra, misshaped or non-finite tensor', async () => {
    await withModel((model) => {
      const state = model.stateDict();
      const { 'norm.running_var': _missing, ...missing } = state;
      expectRecoverable(model, () => model.loadStateDict(missing), 'InvalidArgument', 'norm.running_var');
      expectRecoverable(model, () => model.loadStateDict({ ...state, 'norm.extra': { shape: [5], data: new Float32Array(5) } }), 'InvalidArgument', 'norm.extra');
      expectRecoverable(model, () => model.loadStateDict({ ...state, '0.weight': { shape: [4, 5], data: new Float32Array(20) } }), 'ShapeMismatch', '0.weight');
      expectRecoverable(model, () => model.loadStateDict({ ...state, '0.bias': { shape: [5], data: new Float32Array(4) } }), 'ShapeMismatch', '0.bias');
      const nan = state['2.weight'].data.slice();
      nan[14] = NaN;
      // The bad tensor comes last in the dict: nothing before it may have been written.
      expectRecoverable(model, () => model.loadStateDict({ ...state, '2.weight': { shape: [3, 5], data: nan } }), 'InvalidArgument', '2.weight');
      expectRecoverable(model, () => model.loadStateDict(null as never), 'InvalidArgument', 'dict');
      model.loadStateDict(state);
    });
  });

  it('bad specs: unknown layer types and keys, bad units', async () => {
    const base = (layer: unknown): ModelSpec => ({ input: [4], layers: [layer as LayerSpec], loss: 'mse' });
    const cases: [ModelSpec, string][] = [
      [base({ type: 'conv', units: 3 }), 'layers[0].type'],
      [base({ type: 'dense', units: -3 }), 'layers[0].units'],
      [base({ type: 'dense', units: 0 }), 'layers[0].units'],
      [base({ type: 'dense', units: 2.5 }), 'layers[0].units'],
      [base({ type: 'dense', units: '3' }), 'layers[0].units'],
      [base({ type: 'dense', units: 3, activaton: 'relu' }), 'layers[0].activaton'],
      [base({ type: 'dense', units: 3, activation: 'swish' }), 'layers[0].activation'],
      [base({ type: 'batchnorm', momentum: 2 }), 'layers[0].momentum'],
      [base({ type: 'batchnorm', eps: -1 }), 'layers[0].eps'],
      [{ ...base({ type: 'dense', units: 3 }), lossFunction: 'mse' } as ModelSpec, 'lossFunction'],
      [{ ...base({ type: 'dense', units: 3 }), loss: 'hinge' } as unknown as ModelSpec, 'loss'],
      [{ ...base({ type: 'dense', units: 3 }), input: [0] }, 'input'],
      [{ input: [4], layers: [{ type: 'dense', units: 3 }, { type: 'residual', layers: [{ type: 'dense', units: 2 }] }], loss: 'mse' }, 'layers[1].layers'],
    ];
    const start = numModels();
    for (const [spec, arg] of cases) {
      const error = await errorOfAsync(() => createModel(spec));
      expect(['InvalidSpec', 'ShapeMismatch', 'InvalidArgument'], error.message).toContain(error.code);
      expect(error.arg, error.message).toMatch(new RegExp(`^${arg.replace(/[[\].]/g, '\\$&')}`));
    }
    expect(numModels()).toBe(start);
  });
});

describe('disposal', () => {
  it('every method of a disposed model throws Disposed, and numModels returns to its start', async () => {
    const start = numModels();
    const models = await Promise.all([1, 2, 3].map((seed) => createModel({ input: [3], layers: [{ type: 'dense', units: 2 }], loss: 'mse' }, { seed })));
    expect(numModels()).toBe(start + 3);
    const [model] = models;
    const x = { shape: [2, 3], data: values(6, 7) };
    const y = { shape: [2, 2], data: values(4, 8) };
    model.dispose();
    model.dispose(); // twice is harmless
    const calls: (() => unknown)[] = [
      () => model.predict(x),
      () => model.trainStep(x, y),
      () => model.gradients(x, y),
      () => model.stateDict(),
      () => model.loadStateDict({}),
      () => model.setTraining(false),
      () => model.diagnostics(),
      () => model.evaluate({ x, y }),
      () => model.fit({ x, y }, { epochs: 1, batchSize: 2 }),
    ];
    for (const call of calls) expect(errorOf(call).code).toBe('Disposed');
    for (const other of models.slice(1)) other.dispose();
    expect(numModels()).toBe(start);
  });
});

describe('diagnostics', () => {
  it("a deep sigmoid net's first layer learns slower than its last (Nielsen)", async () => {
    const model = await createModel(
      {
        input: [64],
        layers: [30, 30, 30, 30].map((units): LayerSpec => ({ type: 'dense', units, activation: 'sigmoid', init: 'nielsen' })).concat([{ type: 'dense', units: 10, init: 'nielsen' }]),
        loss: 'softmaxCrossEntropy',
      },
      { seed: 3 },
    );
    model.gradients({ shape: [50, 64], data: values(3200, 9).map((v) => (v + 1) / 2) }, { shape: [50], data: classes(50, 10) });
    const layers = model.diagnostics();
    expect(layers.map((l) => l.kind)).toEqual(['dense', 'dense', 'dense', 'dense', 'dense']);
    const speeds = layers.map((l) => l.learningSpeed as number);
    expect(speeds[0]).toBeLessThan(speeds[3]);
    expect(speeds[0] * 4).toBeLessThan(speeds[3]);
    expect(layers[0].weightGradNorm).toBeLessThan(layers[3].weightGradNorm);
    model.dispose();
  });

  it('BatchNorm layers report their scale gradient as weightGradNorm and their shift as learning speed', async () => {
    const model = await createModel({ input: [8], layers: [{ type: 'dense', units: 6, bias: false }, { type: 'batchnorm', name: 'norm' }, { type: 'activation', activation: 'sigmoid' }, { type: 'dense', units: 3 }], loss: 'softmaxCrossEntropy' });
    const x = { shape: [12, 8], data: values(96, 10) };
    const y = { shape: [12], data: classes(12, 3) };
    model.trainStep(x, y);
    const norm = model.diagnostics().find((l) => l.name === 'norm');
    expect(norm?.kind).toBe('batchnorm');
    expect(norm?.weightGradNorm).toBeGreaterThan(0);
    expect(norm?.learningSpeed).toBeGreaterThan(0);
    expect(norm?.weightNorm).toBeCloseTo(Math.sqrt(6), 2);
    expect(norm?.updateRatio).toBeGreaterThan(0);
    const first = model.diagnostics()[0];
    expect(first.learningSpeed).toBeNull(); // no bias
    model.dispose();
  });
});

describe('fit and evaluate', () => {
  // Two noisy, linearly separable clusters per class, 3 classes, in 4 dimensions.
  const count = 120;
  const xData = new Float32Array(count * 4);
  const labels = classes(count, 3);
  const noise = values(count * 4, 12, 0.4);
  for (let i = 0; i < count; i++) for (let j = 0; j < 4; j++) xData[i * 4 + j] = (j === labels[i] ? 1.5 : 0) + noise[i * 4 + j];
  const data = { x: { shape: [count, 4], data: xData }, y: { shape: [count], data: labels } };
  const spec: ModelSpec = { input: [4], layers: [{ type: 'dense', units: 8, activation: 'relu', init: 'he' }, { type: 'batchnorm' }, { type: 'dense', units: 3 }], loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 } };

  it('the loss falls and the accuracy rises on a learnable problem', async () => {
    const model = await createModel(spec, { seed: 2 });
    const before = model.evaluate(data);
    const history = model.fit(data, { epochs: 10, batchSize: 16, seed: 1 });
    const after = model.evaluate(data);
    expect(history.epochs).toHaveLength(10);
    expect(history.epochs[9].loss).toBeLessThan(history.epochs[0].loss);
    expect(after.loss).toBeLessThan(before.loss * 0.5);
    expect(after.accuracy).toBeGreaterThan(0.9);
    expect(after.accuracy).toBeGreaterThan(before.accuracy as number);
    expect(history.epochs[9].diagnostics?.length).toBe(3);
    model.dispose();
  });

  it('onEpoch returning false stops training', async () => {
    const model = await createModel(spec, { seed: 2 });
    const seen: number[] = [];
    const history = model.fit(data, { epochs: 10, batchSize: 16, onEpoch: (epoch) => (seen.push(epoch.epoch), epoch.epoch < 1) });
    expect(seen).toEqual([0, 1]);
    expect(history.epochs).toHaveLength(2);
    expect(history.stopped).toBe(true);
    model.dispose();
  });

  it('shuffling with a seed is reproducible, and another seed shuffles differently', async () => {
    const train = async (shuffleSeed: number) => {
      const model = await createModel(spec, { seed: 4 });
      model.fit(data, { epochs: 2, batchSize: 16, shuffle: true, seed: shuffleSeed });
      const state = bytesOf(model.stateDict());
      model.dispose();
      return state;
    };
    const [a, b, c] = [await train(7), await train(7), await train(8)];
    expect(b).toEqual(a);
    expect(c['0.weight']).not.toEqual(a['0.weight']);
  });

  it('reads y as the loss needs it: plain-array targets stay floats for mse, class labels must be integers', async () => {
    const regression = await createModel({ input: [2], layers: [{ type: 'dense', units: 1 }], loss: 'mse' }, { seed: 1 });
    const plain = { x: { shape: [4, 2], data: [0, 1, 1, 0, 1, 1, 0, 0] }, y: { shape: [4, 1], data: [1, 1, 2, 0] } };
    expect(Number.isFinite(regression.fit(plain, { epochs: 1, batchSize: 2 }).epochs[0].loss)).toBe(true);
    expect(regression.evaluate(plain).accuracy).toBeNull();
    regression.dispose();
    const classifier = await createModel(spec, { seed: 2 });
    const labels = { x: { shape: [3, 4], data: Array.from(xData.subarray(0, 12)) }, y: { shape: [3], data: [0, 1.5, 2] } };
    expect(errorOf(() => classifier.fit(labels, { epochs: 1, batchSize: 3 })).arg).toBe('data.y');
    expect(errorOf(() => classifier.evaluate(labels)).arg).toBe('data.y');
    labels.y.data[1] = 1;
    expect(classifier.fit(labels, { epochs: 1, batchSize: 3 }).epochs[0].steps).toBe(1);
    classifier.dispose();
  });

  it('dropLast skips a final partial batch, which BatchNorm cannot train on when it has one row', async () => {
    const odd = { x: { shape: [33, 4], data: xData.subarray(0, 33 * 4) }, y: { shape: [33], data: labels.subarray(0, 33) } };
    const model = await createModel(spec, { seed: 2 });
    expect(errorOf(() => model.fit(odd, { epochs: 1, batchSize: 16 })).arg).toBe('x');
    const history = model.fit(odd, { epochs: 2, batchSize: 16, dropLast: true });
    expect(history.epochs.map((e) => e.steps)).toEqual([2, 2]);
    model.dispose();
  });
});

describe('the non-finite guard', () => {
  it('refuses an exploding step, names the layer, and keeps the weights', async () => {
    // Every weight 1e10 and inputs of 1: the activations grow 4e10, 3e21, 3e32, then overflow
    // float32 in the fourth layer ('d').
    const names = ['a', 'b', 'c', 'd', 'e'];
    const model = await createModel({ input: [4], layers: names.map((name): LayerSpec => ({ type: 'dense', units: 8, name })), loss: 'mse' }, { seed: 1 });
    const huge = Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, { shape: t.shape, data: t.data.map(() => (name.endsWith('weight') ? 1e10 : 0)) }]));
    model.loadStateDict(huge);
    const before = bytesOf(model.stateDict());
    const x = { shape: [3, 4], data: new Float32Array(12).fill(1) };
    const step = model.trainStep(x, { shape: [3, 8], data: new Float32Array(24) });
    expect(step.applied).toBe(false);
    expect(step.nonFiniteAt).toBe('d');
    expect(bytesOf(model.stateDict())).toEqual(before);
    // A sane state trains again.
    model.loadStateDict(Object.fromEntries(Object.entries(huge).map(([name, t]) => [name, { shape: t.shape, data: t.data.map(() => 0.1) }])));
    expect(model.trainStep(x, { shape: [3, 8], data: new Float32Array(24) }).applied).toBe(true);
    model.dispose();
  });
});

describe('clipping and regularisation', () => {
  const x = { shape: [8, 5], data: values(40, 15, 3) };
  const y = { shape: [8, 3], data: values(24, 16, 10) };

  it('trainStep reports the gradient norm before clipping, and the update is clipped', async () => {
    const spec: ModelSpec = { input: [5], layers: [{ type: 'dense', units: 6, activation: 'tanh' }, { type: 'dense', units: 3 }], loss: 'mse', optimizer: { type: 'sgd', lr: 1 }, clip: { norm: 0.01 } };
    const model = await createModel(spec, { seed: 6 });
    const { gradNorm } = model.gradients(x, y);
    const before = model.stateDict();
    const step = model.trainStep(x, y);
    expect(step.gradNorm).toBeCloseTo(gradNorm, 4);
    expect(step.gradNorm).toBeGreaterThan(1);
    const after = model.stateDict();
    let moved = 0;
    for (const name of Object.keys(before)) before[name].data.forEach((v, i) => (moved += (after[name].data[i] - v) ** 2));
    expect(Math.sqrt(moved)).toBeCloseTo(0.01, 4); // lr · max norm
    model.dispose();
  });

  it('the loss is the data loss plus l1·Σ|w| + l2·Σw² over weights only', async () => {
    const l1 = 0.01;
    const l2 = 0.02;
    const model = await createModel({ input: [5], layers: [{ type: 'dense', units: 6, activation: { type: 'prelu' } }, { type: 'batchnorm' }, { type: 'dense', units: 3 }], loss: 'mse', regularization: { l1, l2 } }, { seed: 7 });
    const state = model.stateDict();
    const weights = (name: string) => /^\d+\.weight$/.test(name) && name !== '1.weight';
    const penalty = l1 * sumOver(state, weights, Math.abs) + l2 * sumOver(state, weights, (v) => v * v);
    const result = model.gradients(x, y);
    expect(result.penalty).toBeCloseTo(penalty, 4);
    expect(result.loss).toBeCloseTo(result.dataLoss + result.penalty, 4);
    const plain = await createModel({ input: [5], layers: [{ type: 'dense', units: 6, activation: { type: 'prelu' } }, { type: 'batchnorm' }, { type: 'dense', units: 3 }], loss: 'mse' }, { seed: 7 });
    expect(plain.gradients(x, y).loss).toBeCloseTo(result.dataLoss, 5);
    model.dispose();
    plain.dispose();
  });
});
