/**
 * gradlab against PyTorch 1.13: the golden fixtures in test/fixtures/torch/, written by
 * make_fixtures.py (see the README there). For every case: the forward output, the loss and
 * every parameter gradient, then three optimiser steps with the loss, the pre-clip gradient norm
 * and the whole state dict (BatchNorm running statistics included) after each step. predict is
 * inference (BatchNorm on running statistics) whatever setTraining says; the training flag
 * governs gradients and trainStep.
 *
 * Tolerance: gradlab computes in float32, the fixtures in float64. A value `a` matches the
 * expected `b` when |a − b| ≤ 1e-4 · max(|b|, scale) + 1e-6, where `scale` is the largest |value|
 * of that tensor (for a scalar, |b| itself): relative error 1e-4, measured against the tensor's
 * magnitude so that elements near zero are not judged by a tiny denominator. The 1e-6 floor
 * covers values that are zero in exact arithmetic (the bias feeding a BatchNorm), where float32
 * leaves rounding noise.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as gradlab from '../../dist/ts/index.js';

const RELATIVE_TOLERANCE = 1e-4;
const ABSOLUTE_FLOOR = 1e-6;
const FIXTURES = new URL('../fixtures/torch/', import.meta.url);
const FAMILIES = [
  'activations',
  'prelu',
  'losses',
  'regularization',
  'optimizers',
  'batchnorm',
  'residual',
  'recurrent',
];

/** A tensor as the fixtures store it: float64 values, row-major. */
type JsonTensor = { shape: number[]; data: number[] };
type JsonState = Record<string, JsonTensor>;
type Step = { loss: number; dataLoss: number; gradNorm: number; state: JsonState };
type Case = {
  name: string;
  spec: Record<string, unknown>;
  training: boolean;
  initial: JsonState;
  x: JsonTensor;
  y: JsonTensor & { dtype: 'int32' | 'float32' };
  output: JsonTensor;
  loss: number;
  dataLoss: number;
  penalty: number;
  grads: JsonState;
  steps?: Step[];
};

// The model contract of DESIGN.md ("Public contract"), as this suite uses it.
type Tensor = { shape: number[]; data: ArrayLike<number> };
type Model = {
  stateDict(): Record<string, Tensor>;
  loadStateDict(dict: Record<string, Tensor>): void;
  predict(x: Tensor): Tensor;
  gradients(x: Tensor, y: Tensor): {
    loss: number;
    grads: Record<string, Tensor>;
    dataLoss: number;
    penalty: number;
  };
  trainStep(x: Tensor, y: Tensor): { loss: number; gradNorm: number };
  setTraining(on: boolean): void;
  dispose(): void;
};
type CreateModel = (spec: unknown, options: { seed?: number }) => Promise<Model>;

const api = gradlab as unknown as Record<string, unknown>;

function createModel(): CreateModel {
  return api.createModel as CreateModel;
}

function readFamily(family: string): Case[] {
  const text = readFileSync(new URL(`${family}.json`, FIXTURES), 'utf8');
  return (JSON.parse(text) as { cases: Case[] }).cases;
}

function inputOf(tensor: JsonTensor): Tensor {
  return { shape: tensor.shape, data: Float32Array.from(tensor.data) };
}

function targetOf(target: Case['y']): Tensor {
  const data = target.dtype === 'int32' ? Int32Array.from(target.data) : Float32Array.from(target.data);
  return { shape: target.shape, data };
}

/** A fresh model holding the case's initial weights in the case's mode (and fresh optimiser state). */
async function modelFor(testCase: Case): Promise<Model> {
  const model = await createModel()(testCase.spec, { seed: 0 });
  model.loadStateDict(testCase.initial);
  model.setTraining(testCase.training);
  return model;
}

async function withModel(testCase: Case, body: (model: Model) => void): Promise<void> {
  const model = await modelFor(testCase);
  try {
    body(model);
  } finally {
    model.dispose();
  }
}

function within(actual: number, expected: number, scale: number): boolean {
  const tolerance = RELATIVE_TOLERANCE * Math.max(Math.abs(expected), scale) + ABSOLUTE_FLOOR;
  return Math.abs(actual - expected) <= tolerance; // false for NaN
}

function expectScalar(actual: number | undefined, expected: number, what: string): void {
  expect(typeof actual, `${what}: type`).toBe('number');
  if (!within(actual as number, expected, Math.abs(expected))) {
    throw new Error(`${what}: got ${actual}, expected ${expected}`);
  }
}

/** Same shape, and every element within tolerance; the message names the worst elements. */
function expectTensor(actual: Tensor | undefined, expected: JsonTensor, what: string): void {
  expect(actual, `${what}: missing`).toBeDefined();
  const tensor = actual as Tensor;
  expect(Array.from(tensor.shape), `${what}: shape`).toEqual(expected.shape);
  expect(tensor.data.length, `${what}: length`).toBe(expected.data.length);
  const scale = expected.data.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
  const mismatches: string[] = [];
  expected.data.forEach((value, index) => {
    if (!within(tensor.data[index], value, scale)) {
      mismatches.push(`[${index}] got ${tensor.data[index]}, expected ${value}`);
    }
  });
  if (mismatches.length > 0) {
    throw new Error(
      `${what}: ${mismatches.length}/${expected.data.length} elements differ ` +
        `(scale ${scale}): ${mismatches.slice(0, 6).join('; ')}`,
    );
  }
}

function expectState(actual: Record<string, Tensor>, expected: JsonState, what: string): void {
  expect(Object.keys(actual).sort(), `${what}: names`).toEqual(Object.keys(expected).sort());
  for (const [name, tensor] of Object.entries(expected)) {
    expectTensor(actual[name], tensor, `${what} ${name}`);
  }
}

for (const family of FAMILIES) {
  describe(`PyTorch fixtures: ${family}`, () => {
    for (const testCase of readFamily(family)) {
      describe(testCase.name, () => {
        const x = inputOf(testCase.x);
        const y = targetOf(testCase.y);

        it('forward: predict (inference) matches', async () => {
          await withModel(testCase, (model) => {
            expectTensor(model.predict(x), testCase.output, 'output');
          });
        });

        it('backward: loss and every gradient match', async () => {
          await withModel(testCase, (model) => {
            const result = model.gradients(x, y);
            expectScalar(result.loss, testCase.loss, 'loss');
            expectScalar(result.dataLoss, testCase.dataLoss, 'dataLoss');
            expectScalar(result.penalty, testCase.penalty, 'penalty');
            expectState(result.grads, testCase.grads, 'grad');
          });
        });

        const steps = testCase.steps;
        if (steps !== undefined) {
          it(`steps: loss, gradNorm and state after each of ${steps.length} optimiser steps`, async () => {
            await withModel(testCase, (model) => {
              steps.forEach((step, index) => {
                const result = model.trainStep(x, y);
                expectScalar(result.loss, step.loss, `step ${index + 1} loss`);
                expectScalar(result.gradNorm, step.gradNorm, `step ${index + 1} gradNorm`);
                expectState(model.stateDict(), step.state, `step ${index + 1} state`);
              });
            });
          });
        }
      });
    }
  });
}

/**
 * safetensors: reference.safetensors was written from the specification by
 * safetensors_format.py (Debian has no python3-safetensors). The first test checks the file
 * itself with an independent reader; the others check that gradlab reads exactly those tensors
 * and writes exactly those bytes, alone and through a model.
 */
describe('PyTorch fixtures: safetensors', () => {
  type Reference = {
    spec: Record<string, unknown>;
    metadata: Record<string, string>;
    headerLength: number;
    byteLength: number;
    state: JsonState;
  };
  const reference = JSON.parse(
    readFileSync(new URL('safetensors.json', FIXTURES), 'utf8'),
  ) as Reference;
  const bytes = new Uint8Array(readFileSync(new URL('reference.safetensors', FIXTURES)));

  it('the reference file follows the specification', () => {
    expect(bytes.length).toBe(reference.byteLength);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = Number(view.getBigUint64(0, true));
    expect(headerLength).toBe(reference.headerLength);
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    const { __metadata__: metadata, ...tensors } = header;
    expect(metadata).toEqual(reference.metadata);
    const bufferStart = 8 + headerLength;
    for (const [name, expected] of Object.entries(reference.state)) {
      const entry = tensors[name];
      expect(entry.dtype).toBe('F32');
      const [begin, end] = entry.data_offsets;
      const values = Array.from({ length: (end - begin) / 4 }, (_, index) =>
        view.getFloat32(bufferStart + begin + 4 * index, true),
      );
      expect({ shape: entry.shape, data: values }).toEqual(expected);
    }
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(reference.state).sort());
  });

  type SafetensorsModel = Model & {
    loadSafetensors(bytes: Uint8Array): void;
    saveSafetensors(metadata?: Record<string, string>): Uint8Array;
  };
  const decodeSafetensors = api.decodeSafetensors as (data: Uint8Array) => Record<string, Tensor>;
  const encodeSafetensors = api.encodeSafetensors as (
    dict: Record<string, Tensor>,
    metadata?: Record<string, string>,
  ) => Uint8Array;

  function expectExactState(state: Record<string, Tensor>): void {
    expect(Object.keys(state).sort()).toEqual(Object.keys(reference.state).sort());
    for (const [name, expected] of Object.entries(reference.state)) {
      expect(Array.from(state[name].shape), name).toEqual(expected.shape);
      expect(Array.from(state[name].data), name).toEqual(expected.data);
    }
  }

  it('gradlab reads the reference file exactly', () => {
    expectExactState(decodeSafetensors(bytes));
  });

  it('gradlab writes the reference bytes', () => {
    const written = encodeSafetensors(reference.state, reference.metadata);
    expect(Buffer.from(written).equals(Buffer.from(bytes))).toBe(true);
  });

  it('a model loads the reference file and saves it back byte for byte', async () => {
    const model = (await createModel()(reference.spec, { seed: 0 })) as SafetensorsModel;
    try {
      model.loadSafetensors(bytes);
      expectExactState(model.stateDict());
      const saved = model.saveSafetensors(reference.metadata);
      expect(Buffer.from(saved).equals(Buffer.from(bytes))).toBe(true);
    } finally {
      model.dispose();
    }
  });
});
