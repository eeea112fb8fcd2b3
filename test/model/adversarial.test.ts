/**
 * The adversarial suite: property-based tests of the public API (fast-check), written the way
 * a fuzzing team would. Every generated case either succeeds with finite results or throws a
 * GradlabError with a code, an op and (for argument errors) the argument; never a TypeError,
 * RangeError or RuntimeError (a trapped instance). After every case the same thread still
 * creates, trains and disposes a model, and `numModels()` counts exactly the live models.
 *
 * Classes of input drawn from: model specs (layer kinds, nesting, names, sizes, activations,
 * initialisers, losses, optimisers, schedules, clipping, penalties, unknown keys), data for
 * predict/trainStep/gradients/evaluate/fit (shapes, ranks, lengths, typed and plain arrays,
 * non-numbers, labels), weights loaded through loadStateDict, safetensors bytes (random and
 * mutated files), eager tensor ops with hostile shapes and operands, and call sequences
 * (create, train, predict, save, load, dispose, use after dispose) checked against a model.
 *
 * `npm test` runs it with a fixed seed (GRADLAB_ADVERSARIAL_SEED overrides it); the long run
 * is `npm run test:adversarial:long`, which raises every property's runs through
 * GRADLAB_ADVERSARIAL_RUNS. A failure prints the seed and the shrunk counterexample.
 *
 * The last group holds what the wasm-bindgen boundary (issue 11) made true of issue 10's
 * items 5, 6, 7 and 10; it was written, failing, before that boundary landed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gradlab from '../../dist/ts/index.js';
import { GradlabError, createModel, decodeSafetensors, encodeSafetensors, init, numModels, numTensors, scope, tensor, type Model, type ModelSpec } from '../../dist/ts/index.js';

const SEED = Number(process.env.GRADLAB_ADVERSARIAL_SEED ?? 20_251_010);
const LONG_RUNS = Number(process.env.GRADLAB_ADVERSARIAL_RUNS ?? 0);
/** fast-check parameters for a property of `runs` cases (more in the long run). */
const params = (runs: number) => ({ seed: SEED, numRuns: LONG_RUNS > 0 ? Math.max(LONG_RUNS, runs) : runs, endOnFailure: true });

const CODES = ['InvalidArgument', 'ShapeMismatch', 'InvalidHandle', 'NonFinite', 'TooLarge', 'InvalidState', 'InvalidSpec', 'Disposed'];
/** Codes that are about one argument, which the error must name. */
const ARGUMENT_CODES = ['InvalidArgument', 'ShapeMismatch', 'InvalidHandle', 'TooLarge', 'InvalidSpec'];

/** Fails unless `error` is a GradlabError with a known code, an op, and an arg where one applies. */
function expectTyped(error: unknown): GradlabError {
  if (!(error instanceof GradlabError)) {
    const name = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
    throw new Error(`expected a GradlabError, got ${name}`);
  }
  expect(CODES, error.message).toContain(error.code);
  expect(typeof error.op, error.message).toBe('string');
  if (ARGUMENT_CODES.includes(error.code)) expect(typeof error.arg, `${error.code} without arg: ${error.message}`).toBe('string');
  return error;
}

/** `call()`'s result, or undefined once its failure is checked to be typed. */
function attempt<T>(call: () => T): T | undefined {
  try {
    return call();
  } catch (error) {
    expectTyped(error);
    return undefined;
  }
}

async function attemptAsync<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    expectTyped(error);
    return undefined;
  }
}

const allFinite = (values: ArrayLike<number>) => Array.prototype.every.call(values, Number.isFinite);

const HEALTHY: ModelSpec = { input: [3], layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }], loss: 'mse', optimizer: { type: 'adam', lr: 0.01 } };
const healthyX = { shape: [2, 3], data: new Float32Array([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]) };
const healthyY = { shape: [2, 2], data: new Float32Array([1, 0, 0, 1]) };

/** The thread still creates, trains, predicts and disposes, and numModels() is `live`. */
async function expectHealthy(live: number): Promise<void> {
  expect(numModels()).toBe(live);
  const model = await createModel(HEALTHY, { seed: 1 });
  const step = model.trainStep(healthyX, healthyY);
  expect(step.applied && Number.isFinite(step.loss)).toBe(true);
  expect(allFinite(model.predict(healthyX).data)).toBe(true);
  model.dispose();
  expect(numModels()).toBe(live);
}

// ---- Arbitraries ---------------------------------------------------------------------------

/** Numbers chosen to break things: bounds of f32 and i32/u32, non-finite, tiny, fractional. */
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, 1.5, 2, 3, NaN, Infinity, -Infinity, 1e-46, 1e-39, 3e38, -3e38, 1e39, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 31), Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double(),
  fc.integer({ min: -10, max: 10 }),
);
/** Anything at all where a number is expected. */
const hostileValue = fc.oneof(hostileNumber, fc.constantFrom<unknown>(undefined, null, '', '1', 'abc', true, [], {}, [1], () => 1));
/** `valid` nine times in ten, else `hostile`: most cases get far enough to build a model. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) => fc.oneof({ weight: 9, arbitrary: valid as fc.Arbitrary<T | U> }, { weight: 1, arbitrary: hostile as fc.Arbitrary<T | U> });
/** A number in [min, max], or anything. */
const inRange = (min: number, max: number) => mostly(fc.double({ min, max, noNaN: true }), hostileValue);
/** Sizes: mostly small and valid, sometimes anything. */
const size = mostly(fc.integer({ min: 1, max: 5 }), fc.constantFrom<unknown>(0, -1, 1.5, NaN, 2 ** 31, 65537, 2 ** 24 + 1, 1e12, '3', null));
/** Moderate finite values: what a trained model must map to finite outputs. */
const moderate = fc.float({ min: -10, max: 10, noNaN: true });
const name = mostly(fc.constantFrom(undefined, undefined, undefined, 'a', 'b', '__proto__', 'constructor', 'é'), fc.oneof(fc.constantFrom('x.y', '', 'a'.repeat(300), 7), fc.string({ maxLength: 6 })));
const activation = mostly(
  fc.oneof(fc.constantFrom(undefined, 'identity', 'sigmoid', 'tanh', 'relu', 'softmax'), fc.record({ type: fc.constantFrom('leakyRelu', 'prelu', 'elu'), alpha: fc.option(inRange(0, 2), { nil: undefined }) }, { requiredKeys: ['type'] })),
  fc.oneof(fc.constantFrom<unknown>('swish', 3, null), fc.record({ type: fc.constantFrom('leakyRelu', 'prelu', 'elu', 'bogus'), alpha: hostileNumber })),
);
const initializer = mostly(
  fc.oneof(fc.constantFrom(undefined, 'nielsen', 'normal', 'xavier', 'xavierUniform', 'he', 'heUniform', 'lecun', 'zeros'), fc.record({ type: fc.constant('normal'), std: inRange(0, 2) })),
  fc.oneof(fc.constantFrom<unknown>('nope', 4), fc.record({ type: fc.constant('normal'), std: hostileNumber })),
);
const flag = mostly(fc.constantFrom(undefined, true, false), fc.constantFrom<unknown>('yes', 1, null));

const layerSpec: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  layer: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: fc.record({ type: fc.constant('dense'), units: size, activation, init: initializer, bias: flag, name }, { requiredKeys: ['type', 'units'] }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('activation'), activation, name }, { requiredKeys: ['type', 'activation'] }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('batchnorm'), momentum: inRange(0, 1), eps: inRange(1e-6, 0.1), name }, { requiredKeys: ['type'] }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('rnn', 'lstm'), units: size, returnSequences: flag, forgetBias: inRange(0, 0), bpttSteps: fc.option(size, { nil: undefined }), name }, { requiredKeys: ['type', 'units'] }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('residual'), layers: fc.array(tie('layer'), { maxLength: 3 }), name }, { requiredKeys: ['type', 'layers'] }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constantFrom<unknown>('conv2d', 42, null), units: size }) },
  ),
})).layer;

const schedule = mostly(
  fc.oneof(fc.record({ type: fc.constant('step'), stepSize: size, gamma: inRange(0, 1) }, { requiredKeys: ['type', 'stepSize'] }), fc.record({ type: fc.constant('cosine'), tMax: size, etaMin: inRange(0, 0.01) }, { requiredKeys: ['type', 'tMax'] })),
  fc.oneof(fc.record({ type: fc.constantFrom('step', 'cosine', 'linear'), stepSize: hostileValue, tMax: hostileValue, gamma: hostileNumber, etaMin: hostileNumber })),
);
const optimizerSpec = mostly(
  fc.oneof(
    fc.record({ type: fc.constant('sgd'), lr: inRange(1e-4, 1), momentum: inRange(0, 0.99), nesterov: flag, weightDecay: inRange(0, 0.1), schedule }, { requiredKeys: ['type', 'lr'] }),
    fc.record({ type: fc.constantFrom('adam', 'adamw'), lr: inRange(1e-4, 1), betas: mostly(fc.tuple(fc.double({ min: 0, max: 0.99, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true })), fc.tuple(hostileValue, hostileValue)), eps: inRange(1e-10, 1e-3), weightDecay: inRange(0, 0.1), schedule }, { requiredKeys: ['type', 'lr'] }),
    fc.constant(undefined),
  ),
  fc.constantFrom<unknown>({ type: 'rmsprop', lr: 0.1 }, 'sgd', { type: 'sgd' }, { type: 'sgd', lr: 0.1, extra: 1 }),
);
const clipSpec = fc.option(mostly(fc.record({ norm: inRange(0.01, 10), value: inRange(0.01, 10) }, { requiredKeys: [] }), hostileValue), { nil: undefined });
const penaltySpec = fc.option(mostly(fc.record({ l1: inRange(0, 0.1), l2: inRange(0, 0.1) }, { requiredKeys: [] }), hostileValue), { nil: undefined });
const specArbitrary = fc.record(
  {
    input: mostly(fc.array(size, { minLength: 1, maxLength: 2 }), fc.constantFrom<unknown>([], [2, 2, 2], 'x', null, [[2]])),
    layers: fc.array(layerSpec, { maxLength: 4 }),
    loss: mostly(fc.constantFrom('mse', 'softmaxCrossEntropy', 'sigmoidCrossEntropy'), fc.constantFrom<unknown>('hinge', undefined, 0)),
    optimizer: optimizerSpec,
    clip: clipSpec,
    regularization: penaltySpec,
  },
  { requiredKeys: ['input', 'layers', 'loss'] },
);

/** A batch of `rows` examples for `model`: x of its input shape, y as its loss reads it. */
function batchFor(model: Model, rows: number, values: number[]): { x: { shape: number[]; data: Float32Array }; y: { shape: number[]; data: Float32Array | Int32Array } } {
  const inputSize = model.inputShape.reduce((a, b) => a * b, 1);
  const outputSize = model.outputShape.reduce((a, b) => a * b, 1);
  const at = (i: number) => values[i % values.length] ?? 0.5;
  const x = { shape: [rows, ...model.inputShape], data: Float32Array.from({ length: rows * inputSize }, (_, i) => at(i)) };
  if (model.spec.loss === 'softmaxCrossEntropy') {
    const classes = model.outputShape[model.outputShape.length - 1];
    const labelRows = rows * (outputSize / classes);
    return { x, y: { shape: [rows, ...model.outputShape.slice(0, -1)], data: Int32Array.from({ length: labelRows }, (_, i) => i % classes) } };
  }
  const target = model.spec.loss === 'sigmoidCrossEntropy' ? (i: number) => (i % 2) : (i: number) => at(i + 1);
  return { x, y: { shape: [rows, ...model.outputShape], data: Float32Array.from({ length: rows * outputSize }, (_, i) => target(i)) } };
}

beforeAll(() => init());

describe('adversarial: specs', () => {
  it('createModel builds a working model or throws a typed error, for any spec', async () => {
    await fc.assert(
      fc.asyncProperty(specArbitrary, fc.array(moderate, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 3 }), async (spec, values, rows) => {
        const live = numModels();
        const model = await attemptAsync(() => createModel(spec as ModelSpec, { seed: 3 }));
        if (model) {
          expect(numModels()).toBe(live + 1);
          const { x, y } = batchFor(model, rows, values);
          const output = attempt(() => model.predict(x));
          if (output) expect(output.data.length).toBe(rows * model.outputShape.reduce((a, b) => a * b, 1));
          const step = attempt(() => model.trainStep(x, y));
          if (step) {
            // A step is applied with a finite loss, or refused saying where.
            if (step.applied) expect(Number.isFinite(step.loss)).toBe(true);
            else expect(typeof step.nonFiniteAt).toBe('string');
          }
          const state = model.stateDict();
          for (const [entry, tensorData] of Object.entries(state)) expect(allFinite(tensorData.data), entry).toBe(true);
          model.dispose();
        }
        await expectHealthy(live);
      }),
      params(1500),
    );
  });
});

describe('adversarial: data', () => {
  const specs: ModelSpec[] = [
    HEALTHY,
    { input: [4], layers: [{ type: 'dense', units: 3, activation: 'relu' }, { type: 'batchnorm' }, { type: 'dense', units: 3 }], loss: 'softmaxCrossEntropy' },
    { input: [3, 2], layers: [{ type: 'lstm', units: 3 }, { type: 'dense', units: 1 }], loss: 'sigmoidCrossEntropy' },
  ];
  const models: Model[] = [];
  beforeAll(async () => {
    for (const spec of specs) models.push(await createModel(spec, { seed: 2 }));
  });
  afterAll(() => models.forEach((model) => model.dispose()));

  /** Shapes near the right one, and anything else. */
  const shape = fc.oneof(
    fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
    fc.array(fc.constantFrom<unknown>(-1, 1.5, NaN, 2 ** 31, 2 ** 32, 1e12, '2', null, 0, 1, 2, 3, 4), { maxLength: 4 }),
    fc.constantFrom<unknown>(undefined, null, 'abc', 3, {}),
  );
  const values = fc.oneof(
    fc.array(moderate, { maxLength: 40 }).map((v) => Float32Array.from(v) as unknown),
    fc.array(moderate, { maxLength: 40 }).map((v) => Float64Array.from(v) as unknown),
    fc.array(fc.integer({ min: -3, max: 5 }), { maxLength: 40 }).map((v) => Int32Array.from(v) as unknown),
    fc.array(hostileValue, { maxLength: 40 }),
    fc.constantFrom<unknown>(undefined, null, 'abc', 7, {}, { length: 2 ** 31 }, { length: -1 }, new Uint8Array(6), new DataView(new ArrayBuffer(8))),
  );
  const tensorLike = fc.oneof(
    { weight: 8, arbitrary: fc.record({ shape, data: values }) },
    { weight: 1, arbitrary: fc.record({ shape, data: values, extra: fc.constant(() => 1) }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 5, 'x', [], { shape: [1] }, { data: [1] }) },
  );
  const call = fc.constantFrom('predict', 'trainStep', 'gradients', 'evaluate', 'fit', 'evaluateBatch');

  it('predict, trainStep, gradients, evaluate and fit take any data: finite results or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: specs.length - 1 }), call, tensorLike, tensorLike, fc.integer({ min: 1, max: 4 }), async (which, method, x, y, batchSize) => {
        const model = models[which];
        const live = numModels();
        const before = model.stateDict();
        const result = attempt(() => {
          switch (method) {
            case 'predict':
              return model.predict(x as never);
            case 'trainStep':
              return model.trainStep(x as never, y as never);
            case 'gradients':
              return model.gradients(x as never, y as never);
            case 'evaluateBatch':
              return model.evaluateBatch(x as never, y as never);
            case 'evaluate':
              return model.evaluate({ x, y } as never, { batchSize });
            default:
              return model.fit({ x, y } as never, { epochs: 1, batchSize });
          }
        });
        if (result === undefined) {
          // A refused call changes nothing (BatchNorm's running statistics included).
          const after = model.stateDict();
          for (const entry of Object.keys(before)) expect(Array.from(after[entry].data), entry).toEqual(Array.from(before[entry].data));
        } else if ('data' in (result as object)) {
          // Moderate inputs (|x| ≤ 10 or small integers) must give finite outputs.
          expect(allFinite((result as { data: Float32Array }).data)).toBe(true);
        } else if ('applied' in (result as object)) {
          const step = result as gradlab.StepResult;
          expect(step.applied ? Number.isFinite(step.loss) : typeof step.nonFiniteAt === 'string').toBe(true);
        }
        for (const tensorData of Object.values(model.stateDict())) expect(allFinite(tensorData.data)).toBe(true);
        await expectHealthy(live);
      }),
      params(800),
    );
  });

  it('loadStateDict takes any dict: all of it, or a typed error and nothing changed', async () => {
    const model = models[1];
    const entries = Object.entries(model.stateDict());
    const entryValue = fc.oneof(
      fc.constant('keep'),
      tensorLike,
      fc.array(fc.oneof(moderate, fc.constantFrom(3e38, -3e38, 1e30)), { minLength: 1, maxLength: 12 }).map((v) => ({ mutate: v })),
    );
    await fc.assert(
      fc.property(fc.array(entryValue, { minLength: entries.length, maxLength: entries.length }), fc.option(fc.tuple(name, tensorLike), { nil: undefined }), (choices, extra) => {
        const before = model.stateDict();
        const dict: Record<string, unknown> = {};
        entries.forEach(([entry, value], i) => {
          const choice = choices[i];
          const mutate = typeof choice === 'object' && choice !== null && 'mutate' in choice ? (choice as { mutate: number[] }).mutate : undefined;
          const data = choice === 'keep' ? value.data : mutate ? value.data.map((_, j) => mutate[j % mutate.length]) : undefined;
          Object.defineProperty(dict, entry, { value: data ? { shape: value.shape, data } : choice, enumerable: true });
        });
        if (extra && typeof extra[0] === 'string') Object.defineProperty(dict, extra[0], { value: extra[1], enumerable: true, configurable: true });
        const loaded = attempt(() => (model.loadStateDict(dict as never), true)) === true;
        const after = model.stateDict();
        if (!loaded) for (const entry of Object.keys(before)) expect(Array.from(after[entry].data)).toEqual(Array.from(before[entry].data));
        // Whatever was loaded, a training step keeps every weight finite.
        const { x, y } = batchFor(model, 3, [0.5, -1, 2]);
        const step = model.trainStep(x, y);
        expect(step.applied ? Number.isFinite(step.loss) : typeof step.nonFiniteAt === 'string').toBe(true);
        for (const tensorData of Object.values(model.stateDict())) expect(allFinite(tensorData.data)).toBe(true);
        model.loadStateDict(before);
      }),
      params(400),
    );
    await expectHealthy(numModels());
  });
});

describe('adversarial: hyper-parameters and the guard', () => {
  it('with any accepted hyper-parameters, every step is applied finite or refused, and the weights stay finite', async () => {
    const live = numModels();
    const big = fc.oneof(moderate, fc.constantFrom(1e10, -1e10, 1e19, 1e30, 3e38, -3e38, 1e-30));
    await fc.assert(
      fc.asyncProperty(optimizerSpec, clipSpec, penaltySpec, fc.array(big, { minLength: 1, maxLength: 6 }), fc.array(big, { minLength: 1, maxLength: 6 }), async (optimizer, clip, regularization, weights, inputs) => {
        const spec = { input: [2], layers: [{ type: 'dense', units: 2, activation: { type: 'prelu' } }, { type: 'dense', units: 1 }], loss: 'mse', optimizer, clip, regularization };
        const model = await attemptAsync(() => createModel(spec as ModelSpec));
        if (!model) return;
        const state = model.stateDict();
        const loaded = Object.fromEntries(Object.entries(state).map(([entry, t]) => [entry, { shape: t.shape, data: t.data.map((_, i) => weights[i % weights.length]) }]));
        model.loadStateDict(loaded);
        const x = { shape: [3, 2], data: Float32Array.from({ length: 6 }, (_, i) => inputs[i % inputs.length]) };
        const y = { shape: [3, 1], data: new Float32Array([1, -1, 0.5]) };
        for (let i = 0; i < 3; i++) {
          const before = model.stateDict();
          const step = attempt(() => model.trainStep(x, y));
          if (!step) continue;
          if (step.applied) {
            expect(Number.isFinite(step.loss)).toBe(true);
          } else {
            expect(typeof step.nonFiniteAt).toBe('string');
            const after = model.stateDict();
            for (const entry of Object.keys(before)) expect(Array.from(after[entry].data)).toEqual(Array.from(before[entry].data));
          }
          for (const tensorData of Object.values(model.stateDict())) expect(allFinite(tensorData.data)).toBe(true);
        }
        model.dispose();
      }),
      params(400),
    );
    await expectHealthy(live);
  });
});

describe('adversarial: safetensors', () => {
  const spec: ModelSpec = { input: [3], layers: [{ type: 'dense', units: 2 }, { type: 'batchnorm', name: 'bn' }], loss: 'mse' };
  let model: Model;
  let valid: Uint8Array;
  beforeAll(async () => {
    model = await createModel(spec, { seed: 4 });
    valid = model.saveSafetensors({ format: 'pt' });
  });
  afterAll(() => model.dispose());

  const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 });
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    edits.map((changes) => {
      const copy = valid.slice();
      for (const [at, value] of changes) copy[at % copy.length] = value;
      return copy;
    }),
    fc.tuple(fc.nat(), fc.constantFrom(0n, 1n, 7n, 8n, 2n ** 31n, 2n ** 53n, 2n ** 64n - 1n)).map(([cut, header]) => {
      const copy = valid.slice(0, Math.max(8, valid.length - (cut % valid.length)));
      new DataView(copy.buffer).setBigUint64(0, header, true);
      return copy;
    }),
    fc.json().map((json) => {
      const text = new TextEncoder().encode(json);
      const file = new Uint8Array(8 + text.length);
      new DataView(file.buffer).setBigUint64(0, BigInt(text.length), true);
      file.set(text, 8);
      return file;
    }),
  );

  it('decoding and loading any bytes is a state dict or a typed error, and a refused load changes nothing', async () => {
    await fc.assert(
      fc.property(bytes, (file) => {
        const decoded = attempt(() => decodeSafetensors(file));
        if (decoded) for (const t of Object.values(decoded)) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        const before = model.saveSafetensors({ format: 'pt' });
        if (attempt(() => (model.loadSafetensors(file), true)) === undefined) {
          expect(Buffer.from(model.saveSafetensors({ format: 'pt' })).equals(Buffer.from(before))).toBe(true);
        } else {
          model.loadSafetensors(valid);
        }
        const reencoded = decoded && attempt(() => encodeSafetensors(decoded));
        if (reencoded) expect(decodeSafetensors(reencoded)).toEqual(decoded);
      }),
      params(800),
    );
    await expectHealthy(numModels());
  });
});

describe('adversarial: call sequences', () => {
  type Real = { base: number; models: (Model | undefined)[] };
  type Ideal = { live: boolean[] };
  const batch = () => ({ x: { shape: [2, 3], data: new Float32Array([1, 2, 3, -1, 0, 0.5]) }, y: { shape: [2, 2], data: new Float32Array([0, 1, 1, 0]) } });

  class Create implements fc.AsyncCommand<Ideal, Real> {
    constructor(readonly seed: number) {}
    check = () => true;
    async run(ideal: Ideal, real: Real) {
      real.models.push(await createModel(HEALTHY, { seed: this.seed }));
      ideal.live.push(true);
      expect(numModels()).toBe(real.base + ideal.live.filter(Boolean).length);
    }
    toString = () => `create(${this.seed})`;
  }
  class Use implements fc.AsyncCommand<Ideal, Real> {
    constructor(readonly index: number, readonly action: 'train' | 'predict' | 'save-load' | 'state' | 'dispose' | 'hostile-load') {}
    check = (ideal: Readonly<Ideal>) => ideal.live.length > 0;
    async run(ideal: Ideal, real: Real) {
      const i = this.index % real.models.length;
      const model = real.models[i] as Model;
      const live = ideal.live[i];
      const outcome = attempt(() => {
        const { x, y } = batch();
        switch (this.action) {
          case 'train':
            return model.trainStep(x, y).applied;
          case 'predict':
            return allFinite(model.predict(x).data);
          case 'save-load':
            model.loadSafetensors(model.saveSafetensors());
            return true;
          case 'state':
            model.loadStateDict(model.stateDict());
            return true;
          case 'hostile-load':
            model.loadStateDict({ ...model.stateDict(), '0.bias': { shape: [4], data: [NaN, 0, 0, 0] } });
            return false;
          default:
            model.dispose();
            ideal.live[i] = false;
            return true;
        }
      });
      if (this.action === 'dispose') expect(outcome).toBe(true);
      else if (!live) expect(outcome).toBeUndefined(); // Disposed
      else if (this.action !== 'hostile-load') expect(outcome).toBe(true);
      expect(numModels()).toBe(real.base + ideal.live.filter(Boolean).length);
    }
    toString = () => `${this.action}(${this.index})`;
  }

  it('any sequence of create, train, predict, save/load, dispose and use-after-dispose keeps the count and the instance right', async () => {
    const commands = [
      fc.integer({ min: 0, max: 9 }).map((seed) => new Create(seed)),
      fc.tuple(fc.nat(), fc.constantFrom('train', 'predict', 'save-load', 'state', 'dispose', 'hostile-load') as fc.Arbitrary<Use['action']>).map(([index, action]) => new Use(index, action)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 12 }), async (sequence) => {
        const start = numModels();
        const real: Real = { base: start, models: [] };
        await fc.asyncModelRun(() => ({ model: { live: [] } as Ideal, real }), sequence);
        for (const model of real.models) model?.dispose();
        await expectHealthy(start);
      }),
      params(150),
    );
  });
});

describe('adversarial: eager tensor ops', () => {
  const unary = ['exp', 'log', 'sqrt', 'square', 'sigmoid', 'tanh', 'relu', 'softmax', 'logSoftmax'] as const;
  const binary = ['add', 'sub', 'mul', 'div', 'matmul', 'mseLoss', 'sigmoidCrossEntropy'] as const;
  const dims = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
  const operand = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(dims, fc.array(fc.oneof(moderate, fc.constantFrom(NaN, Infinity, 3e38)), { maxLength: 64 })).map(([shape, v]) => ({ shape, values: v })) },
    { weight: 1, arbitrary: fc.record({ shape: fc.constantFrom<unknown>([-1], [1.5], [2 ** 31], [2 ** 16, 2 ** 16], new Array(9).fill(1), 'x'), values: fc.constantFrom<unknown>([1], 'abc', null, [[1], [1, 2]]) }) },
  );

  it('ops on any operands give a tensor or a typed error, and scopes leak nothing', async () => {
    const live = numModels();
    await fc.assert(
      fc.property(operand, operand, fc.constantFrom(...unary, ...binary, 'sum', 'mean', 'pow', 'leakyRelu', 'elu', 'softmaxCrossEntropy', 'backward'), hostileNumber, fc.boolean(), (a, b, op, parameter, disposeFirst) => {
        const count = numTensors();
        attempt(() =>
          scope(() => {
            const make = (t: { shape: unknown; values: unknown }) => {
              const size = Array.isArray(t.shape) ? (t.shape as number[]).reduce((p, d) => p * d, 1) : 0;
              const values = Array.isArray(t.values) && size <= 4096 && size >= 0 ? Array.from({ length: size }, (_, i) => (t.values as number[])[i % Math.max(1, (t.values as number[]).length)] ?? 0) : t.values;
              return tensor(values as never, t.shape as never, { requiresGrad: true });
            };
            const left = make(a);
            const right = make(b);
            if (disposeFirst) left.dispose();
            const ops = gradlab as unknown as Record<string, (...args: unknown[]) => gradlab.Tensor>;
            let result: gradlab.Tensor;
            if ((unary as readonly string[]).includes(op)) result = ops[op](left);
            else if ((binary as readonly string[]).includes(op)) result = ops[op](left, right);
            else if (op === 'sum' || op === 'mean') result = ops[op](left, { axis: Number.isFinite(parameter) ? parameter : undefined, keepdim: disposeFirst });
            else if (op === 'softmaxCrossEntropy') result = gradlab.softmaxCrossEntropy(left, [parameter as number]);
            else if (op === 'backward') {
              const loss = gradlab.sum(gradlab.mul(left, right));
              loss.backward();
              result = loss;
            } else result = ops[op](left, parameter);
            expect(result.data().length).toBe(result.shape.reduce((p, d) => p * d, 1));
          }),
        );
        expect(numTensors()).toBe(count);
      }),
      params(600),
    );
    await expectHealthy(live);
  });
});

/** Issue 10's items that the wasm-bindgen boundary fixed: each of these failed on the C ABI. */
describe('adversarial: what the JS↔WASM boundary rewrite fixed', () => {
  const classifier: ModelSpec = { input: [2], layers: [{ type: 'dense', units: 3 }], loss: 'softmaxCrossEntropy' };

  // Item 6: labels are converted to Int32 before their range is checked, so 2^32 trains as 0.
  it('class labels at or beyond 2^31 are refused, not wrapped (item 6)', async () => {
    const model = await createModel(classifier);
    const x = { shape: [1, 2], data: new Float32Array([1, 2]) };
    fc.assert(
      fc.property(fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 32 + 2, 1e10, -(2 ** 31) - 1), (label) => {
        const error = expectTyped((() => { try { model.trainStep(x, { shape: [1], data: [label] }); } catch (e) { return e; } return new Error(`label ${label} was accepted`); })());
        expect(error.arg).toBe('y');
        expect(error.actual).toContain(String(label));
      }),
      params(5),
    );
  });

  // Item 7: predict and evaluate return NaN for finite inputs whose activations overflow
  // (trainStep refuses the same batch); they must throw a typed error or flag the result.
  it('predict never returns a silent non-finite output for finite inputs (item 7)', async () => {
    const model = await createModel({ input: [1], layers: [{ type: 'dense', units: 2, activation: 'relu' }, { type: 'dense', units: 1 }], loss: 'mse' });
    model.loadStateDict({ '0.weight': { shape: [2, 1], data: [1e20, 1e20] }, '0.bias': { shape: [2], data: [0, 0] }, '1.weight': { shape: [1, 2], data: [1e20, -1e20] }, '1.bias': { shape: [1], data: [0] } });
    fc.assert(
      fc.property(fc.float({ min: 1, max: Math.fround(3e38), noNaN: true }), (value) => {
        const output = attempt(() => model.predict({ shape: [1, 1], data: new Float32Array([value]) }));
        if (output) expect(allFinite(output.data)).toBe(true);
      }),
      params(50),
    );
  });

  // Item 7, evaluate: the same overflow is flagged as a training step flags it, so a diverged
  // run can still be measured (the lab's exploding-gradient experiments evaluate such runs).
  it('evaluate flags an output that overflows instead of returning it silently (item 7)', async () => {
    const model = await createModel({ input: [1], layers: [{ type: 'dense', units: 2, activation: 'relu', name: 'wide' }, { type: 'dense', units: 1 }], loss: 'mse' });
    model.loadStateDict({ 'wide.weight': { shape: [2, 1], data: [1e20, 1e20] }, 'wide.bias': { shape: [2], data: [0, 0] }, '1.weight': { shape: [1, 2], data: [1e20, -1e20] }, '1.bias': { shape: [1], data: [0] } });
    const x = { shape: [1, 1], data: new Float32Array([1e19]) };
    const y = { shape: [1, 1], data: new Float32Array([0]) };
    expect(model.evaluateBatch(x, y).nonFiniteAt).toBe('wide');
    expect(model.evaluate({ x, y }).nonFiniteAt).toBe('wide');
    const calm = { shape: [1, 1], data: new Float32Array([0]) };
    expect(model.evaluateBatch(calm, y)).not.toHaveProperty('nonFiniteAt');
    model.dispose();
  });

  // Validate, then compute (found by this suite): plain-array data is converted to f32 while it
  // is staged in WASM memory (ts/model/model.ts, ts/runtime/wasm.ts) before any element is checked, so a
  // Symbol or a BigInt element throws a bare TypeError from predict, trainStep and gradients.
  it('data arrays holding a Symbol or a BigInt are typed errors (staging at the boundary)', async () => {
    const model = await createModel(HEALTHY);
    fc.assert(
      fc.property(fc.constantFrom<unknown>(Symbol('s'), 10n), fc.constantFrom('predict', 'trainStep', 'gradients'), (bad, method) => {
        const x = { shape: [1, 3], data: [bad, 1, 2] as never };
        attempt(() => (method === 'predict' ? model.predict(x) : method === 'trainStep' ? model.trainStep(x, healthyY) : model.gradients(x, healthyY)));
      }),
      params(6),
    );
  });

  // Item 5: hyper-parameters are validated as numbers, not as the f32 values they become:
  // clip.norm 1e-46 rounds to 0 and turns clipping off, Adam's eps 0 is accepted.
  it('hyper-parameters that round to an invalid f32 are refused (item 5)', async () => {
    for (const spec of [{ clip: { norm: 1e-46 } }, { optimizer: { type: 'adam', lr: 0.1, eps: 0 } }, { optimizer: { type: 'sgd', lr: 1e-46 } }]) {
      const error = await attemptAsync(() => createModel({ ...classifier, ...spec } as ModelSpec).then(() => new Error(`${JSON.stringify(spec)} was accepted`)));
      if (error instanceof Error) throw error;
    }
  });

  // Item 10: validateSpec recurses per nesting level in JS, so deeply nested residual blocks
  // overflow the stack (a RangeError) before Rust's limit of 64 is reached: 3000 do in Node's
  // main thread, 30,000 in vitest's workers, whose stacks are larger.
  it('a spec nested 30,000 residual blocks deep is a typed error (item 10)', async () => {
    let layers: unknown[] = [{ type: 'dense', units: 2 }];
    for (let i = 0; i < 30_000; i++) layers = [{ type: 'residual', layers }];
    expectTyped(await createModel({ input: [2], layers, loss: 'mse' } as ModelSpec).then(() => new Error('accepted'), (error) => error));
  });

  // Items 2 and 3: filling WASM memory to its 4 GiB maximum through the public API must give
  // a typed TooLarge, and the same thread must train again after disposing. Today pointers at
  // or above 2 GiB come back negative (a RangeError) and memory_size(0) * 65536 wraps to 0 at
  // 4 GiB, bricking the instance for the rest of this file, so the test is skipped (it also
  // needs 4 GiB of RAM): run it alone with `it` once the boundary lands.
  it.skip('memory filled to 4 GiB gives a typed error, and the thread trains after disposing (items 2, 3)', async () => {
    const held: Model[] = [];
    const wide: ModelSpec = { input: [8192], layers: [{ type: 'dense', units: 8192, init: 'zeros' }], loss: 'mse' };
    let failure: unknown;
    while (failure === undefined) {
      try {
        held.push(await createModel(wide));
      } catch (error) {
        failure = error;
      }
    }
    expect(expectTyped(failure).code).toBe('TooLarge');
    for (const model of held) model.dispose();
    await expectHealthy(0);
  });
});
