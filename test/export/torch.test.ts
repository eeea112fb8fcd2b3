/**
 * exportTorch against a real PyTorch (Debian's python3-torch, run with /usr/bin/python3): the
 * exported module predicts what gradlab predicts, three optimiser steps of train.py match
 * three trainStep calls, and `torchrun --nproc_per_node 2` matches createTrainer({ workers: 2 })
 * on the same shards; the weights come back into gradlab. Skipped (with the reason printed)
 * where PyTorch is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, createTrainer, decodeSafetensors, encodeSafetensors, exportTorch, GradlabError, type ModelSpec, type StateDict, type TensorData } from '../../dist/ts/index.js';
import { run } from '../../dist/ts/cli/export.js';

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch, torch.distributed; print(torch.__version__)'], { encoding: 'utf8' });
const torchVersion = probe.status === 0 ? probe.stdout.trim() : undefined;
const TORCHRUN = '/usr/bin/torchrun';
if (torchVersion === undefined) console.log(`test/export/torch.test.ts: skipped, ${PYTHON} cannot import torch (apt-get install python3-torch): ${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}`);
else if (!existsSync(TORCHRUN)) console.log(`test/export/torch.test.ts: the torchrun test is skipped, ${TORCHRUN} is missing`);

const scratch = mkdtempSync(join(tmpdir(), 'gradlab-export-torch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const freshDir = (label: string) => join(scratch, `${label}-${counter++}`);

/** A deterministic stream of numbers in [-1, 1). */
function uniforms(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 2 ** 32) * 2 - 1;
  };
}

function randomTensor(shape: number[], next: () => number, scale = 1): TensorData {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = scale * next();
  return { shape, data };
}

/** The model's state dict refilled with random values (running variances positive), so eval-mode BatchNorm and every slope are real tests. */
function randomState(state: StateDict, seed: number): StateDict {
  const next = uniforms(seed);
  const out: StateDict = {};
  for (const [name, { shape, data }] of Object.entries(state)) {
    const values = new Float32Array(data.length);
    for (let i = 0; i < values.length; i++) values[i] = name.endsWith('running_var') ? 0.5 + 0.5 * (next() + 1) : 0.6 * next();
    out[name] = { shape, data: values };
  }
  return out;
}

/** The targets `spec` trains on for a batch whose output has `outputShape`. */
function targetsFor(spec: ModelSpec, outputShape: number[], next: () => number): TensorData | { shape: number[]; data: Int32Array } {
  const classes = outputShape[outputShape.length - 1];
  if (spec.loss === 'softmaxCrossEntropy') {
    const rows = outputShape.slice(0, -1).reduce((a, b) => a * b, 1);
    return { shape: outputShape.slice(0, -1), data: Int32Array.from({ length: rows }, () => Math.floor(((next() + 1) / 2) * classes) % classes) };
  }
  const y = randomTensor(outputShape, next);
  if (spec.loss === 'sigmoidCrossEntropy') y.data.forEach((v, i) => (y.data[i] = v > 0 ? 1 : 0));
  return y;
}

function python(args: string[], what: string): string {
  const result = spawnSync(PYTHON, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

async function exportTo(spec: ModelSpec, weights: StateDict | undefined, label: string): Promise<string> {
  const dir = freshDir(label);
  const { files } = await exportTorch(spec, { weights });
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** The exported module's eval-mode output for `x`, with the weights in `weightsPath`. */
function torchPredict(dir: string, weightsPath: string, x: TensorData): TensorData {
  const xPath = join(dir, 'predict-x.safetensors');
  const outPath = join(dir, 'predict-y.safetensors');
  writeFileSync(xPath, encodeSafetensors({ x }));
  const script = [
    'import sys, torch',
    `sys.path.insert(0, ${JSON.stringify(dir)})`,
    'import model',
    'm = model.build_model()',
    `model.load_weights(m, ${JSON.stringify(weightsPath)})`,
    'm.eval()',
    'with torch.no_grad():',
    `    y = m(model.read_array(${JSON.stringify(xPath)}, 'x'))`,
    `model.write_safetensors({'y': y}, ${JSON.stringify(outPath)})`,
  ].join('\n');
  python(['-c', script], 'the exported predict');
  return decodeSafetensors(new Uint8Array(readFileSync(outPath))).y;
}

/** The largest |actual − expected| over the largest |expected| (1 when expected is all zeros). */
function relativeError(actual: TensorData, expected: TensorData): number {
  expect(actual.shape).toEqual(expected.shape);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.data.length; i++) {
    worst = Math.max(worst, Math.abs(actual.data[i] - expected.data[i]));
    scale = Math.max(scale, Math.abs(expected.data[i]));
  }
  return worst / (scale || 1);
}

function expectStatesClose(actual: StateDict, expected: StateDict, tolerance: number): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const name of Object.keys(expected)) {
    const error = relativeError(actual[name], expected[name]);
    expect(error, `${name}: relative error ${error}`).toBeLessThanOrEqual(tolerance);
  }
}

/** Every layer kind, activation, initialiser and recurrent option, across a few specs. */
const PREDICT_SPECS: Record<string, ModelSpec> = {
  activations: {
    input: [6],
    layers: [
      { type: 'dense', units: 7, activation: 'sigmoid', init: 'nielsen' },
      { type: 'dense', units: 7, activation: 'tanh', init: 'xavier' },
      { type: 'dense', units: 7, activation: 'relu', init: 'he' },
      { type: 'dense', units: 7, activation: { type: 'leakyRelu', alpha: 0.2 }, init: 'heUniform' },
      { type: 'dense', units: 7, activation: { type: 'leakyRelu' }, init: 'lecun' },
      { type: 'dense', units: 7, activation: { type: 'elu', alpha: 0.5 }, init: 'xavierUniform' },
      { type: 'dense', units: 7, activation: { type: 'elu' }, init: { type: 'normal', std: 0.3 } },
      { type: 'dense', units: 7, activation: { type: 'prelu' }, name: 'slope' },
      { type: 'activation', activation: { type: 'prelu', alpha: 0.1 } },
      { type: 'activation', activation: 'tanh', name: 'training' }, // a Module attribute's name
      { type: 'dense', units: 7, name: 'it\'s "odd" \\ \u00fcn\u00efc\u00f6de \u{1f600}' },
      { type: 'dense', units: 4, activation: 'softmax', bias: false, init: 'normal' },
    ],
    loss: 'mse',
  },
  batchnormResidual: {
    input: [5],
    layers: [
      { type: 'dense', units: 6, bias: false },
      { type: 'batchnorm', momentum: 0.3, eps: 1e-3 },
      { type: 'activation', activation: 'relu' },
      {
        type: 'residual',
        name: 'block',
        layers: [
          { type: 'dense', units: 8, activation: 'relu' },
          { type: 'batchnorm', name: 'norm' },
          { type: 'residual', layers: [{ type: 'dense', units: 8, activation: 'tanh' }] },
          { type: 'dense', units: 6 },
        ],
      },
      { type: 'dense', units: 3 },
    ],
    loss: 'softmaxCrossEntropy',
  },
  recurrent: {
    input: [5, 3],
    layers: [
      { type: 'lstm', units: 4, returnSequences: true, forgetBias: 1 },
      { type: 'dense', units: 4, activation: 'tanh' },
      { type: 'batchnorm' },
      { type: 'rnn', units: 5, returnSequences: true, bpttSteps: 2 },
      { type: 'lstm', units: 3, name: 'last' },
      { type: 'dense', units: 2 },
    ],
    loss: 'sigmoidCrossEntropy',
  },
  sequenceOutput: {
    input: [4, 2],
    layers: [{ type: 'rnn', units: 3, returnSequences: true }, { type: 'activation', activation: 'softmax' }],
    loss: 'mse',
  },
};

/** Specs for the optimiser steps: every optimiser, clipping by norm and value, L1 and L2, schedules. */
const STEP_SPECS: Record<string, ModelSpec> = {
  sgdMomentumClipNormL1L2: {
    input: [5],
    layers: [{ type: 'dense', units: 6, activation: 'tanh', init: 'normal' }, { type: 'dense', units: 3 }],
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 },
    clip: { norm: 0.5 },
    regularization: { l1: 0.01, l2: 0.02 },
  },
  sgdNesterovWeightDecayStep: {
    input: [5],
    layers: [{ type: 'dense', units: 6, activation: 'relu' }, { type: 'batchnorm' }, { type: 'dense', units: 3 }],
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.2, momentum: 0.8, nesterov: true, weightDecay: 0.05, schedule: { type: 'step', stepSize: 2, gamma: 0.5 } },
    clip: { value: 0.05 },
  },
  adamClipBothL2: {
    input: [4, 3],
    layers: [{ type: 'lstm', units: 4, forgetBias: 1 }, { type: 'dense', units: 3, activation: { type: 'prelu' } }, { type: 'dense', units: 2 }],
    loss: 'sigmoidCrossEntropy',
    optimizer: { type: 'adam', lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.01 },
    clip: { norm: 1, value: 0.2 },
    regularization: { l2: 0.01 },
  },
  adamwCosineL1: {
    input: [4, 3],
    layers: [{ type: 'rnn', units: 5, returnSequences: true }, { type: 'residual', layers: [{ type: 'dense', units: 5, activation: { type: 'elu' } }] }, { type: 'rnn', units: 3 }],
    loss: 'mse',
    optimizer: { type: 'adamw', lr: 0.02, schedule: { type: 'cosine', tMax: 2, etaMin: 0.001 } },
    regularization: { l1: 0.001 },
  },
};

const BATCH = 7;

describe.skipIf(torchVersion === undefined)(`exportTorch with PyTorch ${torchVersion ?? '(missing)'}`, () => {
  for (const [label, spec] of Object.entries(PREDICT_SPECS)) {
    it(`predicts what gradlab predicts: ${label}`, async () => {
      const model = await createModel(spec, { seed: 5 });
      const weights = randomState(model.stateDict(), 11);
      model.loadStateDict(weights);
      const x = randomTensor([BATCH, ...spec.input], uniforms(23), 1.5);
      const expected = model.predict(x);
      model.dispose();
      const dir = await exportTo(spec, weights, label);
      const error = relativeError(torchPredict(dir, join(dir, 'weights.safetensors'), x), expected);
      expect(error).toBeLessThanOrEqual(1e-5);
    });
  }

  for (const [label, spec] of Object.entries(STEP_SPECS)) {
    it(`train.py's three steps match three trainStep calls: ${label}`, async () => {
      const model = await createModel(spec, { seed: 2 });
      const initial = model.stateDict();
      const next = uniforms(31);
      const x = randomTensor([BATCH, ...spec.input], next, 1.5);
      const y = targetsFor(spec, model.predict(x).shape, next);
      const dir = await exportTo(spec, initial, label);
      for (let step = 0; step < 3; step++) expect(model.trainStep(x, y).applied).toBe(true);
      const expected = model.stateDict();
      model.dispose();
      writeFileSync(join(dir, 'x.safetensors'), encodeSafetensors({ x }));
      writeFileSync(join(dir, 'y.safetensors'), encodeSafetensors({ y: { shape: y.shape, data: Float32Array.from(y.data) } }));
      const out = join(dir, 'trained.safetensors');
      const log = python([join(dir, 'train.py'), '--x', join(dir, 'x.safetensors'), '--y', join(dir, 'y.safetensors'), '--epochs', '3', '--batch-size', String(BATCH), '--out', out], 'train.py');
      expect(log).toContain('wrote');
      expectStatesClose(decodeSafetensors(new Uint8Array(readFileSync(out))), expected, 1e-5);
    });
  }

  it('train.py refuses a non-finite step as trainStep does, changing nothing (running statistics included)', async () => {
    const spec: ModelSpec = { input: [3], layers: [{ type: 'dense', units: 4 }, { type: 'batchnorm' }, { type: 'dense', units: 2 }], loss: 'mse', optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 } };
    const model = await createModel(spec, { seed: 4 });
    const initial = model.stateDict();
    initial['2.weight'].data.fill(1e30); // the squared error overflows float32
    model.loadStateDict(initial);
    const x = randomTensor([BATCH, 3], uniforms(5));
    const y = randomTensor([BATCH, 2], uniforms(6));
    expect(model.trainStep(x, y).applied).toBe(false);
    model.dispose();
    const dir = await exportTo(spec, initial, 'refused');
    writeFileSync(join(dir, 'x.safetensors'), encodeSafetensors({ x }));
    writeFileSync(join(dir, 'y.safetensors'), encodeSafetensors({ y }));
    const out = join(dir, 'trained.safetensors');
    const log = python([join(dir, 'train.py'), '--x', join(dir, 'x.safetensors'), '--y', join(dir, 'y.safetensors'), '--batch-size', String(BATCH), '--out', out], 'train.py');
    expect(log).toContain('1 steps refused (non-finite)');
    expectStatesClose(decodeSafetensors(new Uint8Array(readFileSync(out))), initial, 0);
  });

  it.skipIf(!existsSync(TORCHRUN))('torchrun --nproc_per_node 2 takes the step createTrainer({ workers: 2 }) takes; the weights come back', async () => {
    const spec: ModelSpec = {
      input: [4, 3],
      layers: [
        { type: 'lstm', units: 5, returnSequences: true },
        { type: 'batchnorm' },
        { type: 'rnn', units: 4 },
        { type: 'dense', units: 6, activation: 'relu' },
        { type: 'batchnorm', name: 'norm' },
        { type: 'dense', units: 3 },
      ],
      loss: 'softmaxCrossEntropy',
      optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 },
      clip: { norm: 1 },
      regularization: { l2: 0.001 },
    };
    const rows = 9; // shards of 5 and 4 rows: the average is weighted by rows
    const next = uniforms(47);
    const x = randomTensor([rows, ...spec.input], next, 1.5);
    const y = targetsFor(spec, [rows, 3], next);
    const trainer = await createTrainer(spec, { seed: 3, workers: 2 });
    const initial = await trainer.stateDict();
    const dir = await exportTo(spec, initial, 'ddp');
    await trainer.trainStep(x, y);
    const expected = await trainer.stateDict();
    await trainer.dispose();

    writeNpy(join(dir, 'x.npy'), '<f4', x.shape, new Uint8Array(x.data.buffer));
    writeNpy(join(dir, 'y.npy'), '<i4', y.shape, new Uint8Array(y.data.buffer));
    const out = join(dir, 'trained.safetensors');
    const launched = spawnSync(
      TORCHRUN,
      ['--standalone', '--nproc_per_node', '2', '--redirects', '1', '--tee', '1', join(dir, 'train.py'), '--x', join(dir, 'x.npy'), '--y', join(dir, 'y.npy'), '--batch-size', String(rows), '--out', out],
      { encoding: 'utf8', timeout: 300_000 },
    );
    if (launched.status !== 0) throw new Error(`torchrun failed (${launched.status}):\n${launched.stdout}\n${launched.stderr}`);
    expect(launched.stdout).toContain('on 2 processes');
    const trained = decodeSafetensors(new Uint8Array(readFileSync(out)));
    expectStatesClose(trained, expected, 1e-5);

    const model = await createModel(spec);
    model.loadStateDict(trained);
    const probeX = randomTensor([5, ...spec.input], uniforms(59));
    expect(relativeError(model.predict(probeX), torchPredict(dir, out, probeX))).toBeLessThanOrEqual(1e-5);
    model.dispose();
  });

  it("build_model() initialises as gradlab does: every entry's mean and spread, biases and forget bias", async () => {
    const spec: ModelSpec = {
      input: [20, 40],
      layers: [
        { type: 'lstm', units: 64, returnSequences: true, forgetBias: 1 },
        { type: 'rnn', units: 64, returnSequences: true },
        { type: 'dense', units: 100 },
        ...(['nielsen', 'normal', 'xavier', 'xavierUniform', 'he', 'heUniform', 'lecun', 'zeros'] as const).map((init) => ({ type: 'dense' as const, units: 100, init })),
        { type: 'dense', units: 100, init: { type: 'normal' as const, std: 0.3 }, activation: { type: 'prelu' as const, alpha: 0.1 } },
        { type: 'batchnorm' },
      ],
      loss: 'mse',
    };
    const model = await createModel(spec, { seed: 9 });
    const expected = model.stateDict();
    model.dispose();
    const dir = await exportTo(spec, undefined, 'init');
    const out = join(dir, 'initial.safetensors');
    python(['-c', `import sys, torch\nsys.path.insert(0, ${JSON.stringify(dir)})\nimport model\ntorch.manual_seed(1)\nmodel.save_weights(model.build_model(), ${JSON.stringify(out)})`], 'build_model');
    const actual = decodeSafetensors(new Uint8Array(readFileSync(out)));
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    const moments = ({ data }: TensorData) => {
      const mean = data.reduce((a, b) => a + b, 0) / data.length;
      return { mean, std: Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length) };
    };
    for (const name of Object.keys(expected)) {
      const [mine, theirs] = [moments(actual[name]), moments(expected[name])];
      // Four standard errors of a sample of this size (exact for the constant entries).
      const tolerance = (4 * theirs.std) / Math.sqrt(expected[name].data.length) + 1e-7;
      expect(Math.abs(mine.std - theirs.std), `${name}: std ${mine.std} vs gradlab's ${theirs.std}`).toBeLessThanOrEqual(tolerance);
      expect(Math.abs(mine.mean - theirs.mean), `${name}: mean ${mine.mean} vs gradlab's ${theirs.mean}`).toBeLessThanOrEqual(tolerance);
    }
  });

  it('load_weights refuses a state dict that does not fit, naming the entry', async () => {
    const spec = PREDICT_SPECS.batchnormResidual;
    const dir = await exportTo(spec, randomState((await createModel(spec)).stateDict(), 3), 'mismatch');
    const other = await createModel({ input: [5], layers: [{ type: 'dense', units: 6 }], loss: 'mse' });
    writeFileSync(join(dir, 'other.safetensors'), other.saveSafetensors());
    other.dispose();
    expect(() => torchPredict(dir, join(dir, 'other.safetensors'), randomTensor([2, 5], uniforms(1)))).toThrow(/does not match the model: missing \[.*'1\.weight'.*unknown \['0\.bias'\]/);
  });
});

describe('exportTorch input checks', () => {
  it('a spec gradlab refuses is an InvalidSpec naming the field', async () => {
    const error = await exportTorch({ input: [3], layers: [{ type: 'dense', units: 0 }], loss: 'mse' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GradlabError);
    expect(error).toMatchObject({ code: 'InvalidSpec', arg: 'layers[0].units' });
  });

  it('weights that do not fit the spec name the entry', async () => {
    const spec: ModelSpec = { input: [3], layers: [{ type: 'dense', units: 2, name: 'head' }], loss: 'mse' };
    const wrongShape = { 'head.weight': { shape: [3, 2], data: new Float32Array(6) }, 'head.bias': { shape: [2], data: new Float32Array(2) } };
    await expect(exportTorch(spec, { weights: wrongShape })).rejects.toMatchObject({ code: 'ShapeMismatch', op: 'exportTorch', arg: 'weights["head.weight"]', expected: '[2, 3]', actual: '[3, 2]' });
    const missing = { 'head.weight': { shape: [2, 3], data: new Float32Array(6) } };
    await expect(exportTorch(spec, { weights: missing })).rejects.toMatchObject({ op: 'exportTorch', arg: 'weights["head.bias"]' });
  });

  it('the CLI writes the project and reports bad input with its exit code', async () => {
    const dir = freshDir('cli');
    const specPath = join(scratch, 'cli-spec.json');
    writeFileSync(specPath, JSON.stringify({ input: [3], layers: [{ type: 'dense', units: 2 }], loss: 'mse' }));
    expect(await run(['torch', specPath, '--out', dir])).toBe(0);
    expect(existsSync(join(dir, 'model.py')) && existsSync(join(dir, 'train.py')) && existsSync(join(dir, 'spec.json'))).toBe(true);
    expect(readFileSync(join(dir, 'model.py'), 'utf8')).toContain("('0', Dense(3, 2, activation='identity'))");
    expect(await run(['torch', specPath])).toBe(2);
    expect(await run(['torch', specPath, '--out', dir, '--epochs', '3'])).toBe(2);
    expect(await run(['--help'])).toBe(0);
    writeFileSync(specPath, JSON.stringify({ input: [3], layers: [{ type: 'dense', units: -1 }], loss: 'mse' }));
    expect(await run(['torch', specPath, '--out', dir])).toBe(1);
  });
});

/** A NumPy .npy file (version 1.0, C order) of raw little-endian `bytes`. */
function writeNpy(path: string, descr: string, shape: number[], bytes: Uint8Array): void {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const prefix = new Uint8Array(10);
  prefix.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  new DataView(prefix.buffer).setUint16(8, header.length, true);
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), bytes]));
}
