/**
 * exportOnnx against ONNX Runtime (onnxruntime-web's WebAssembly backend, in this Node
 * process): for every case of onnx-cases.ts, at batch sizes 1 and 7, the exported graph's
 * output equals gradlab's `predict` to 1e-5 (see `maxError`), after random weights and after
 * training. The graph's interface (opset, names, symbolic batch, initializers) is read back
 * from the protobuf bytes, and every graph passes the official ONNX checker (Debian's
 * python3-onnx; skipped with a printed reason where it is not installed). Bad input is a typed
 * error naming what does not fit.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { ONNX_OPSET, createModel, exportOnnx, exportOnnxFromStateDict, init, type Model, type ModelSpec } from '../../dist/ts/index.js';
import { expectError, expectRejection } from '../expect-error.js';
import { BATCH_SIZES, ONNX_CASES, maxError, randomInput, randomState } from './onnx-cases.js';

const TOLERANCE = 1e-5;
const BATCH_DIMENSION = 'batch';
const T_STEPS = 5;

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** Runs the ONNX model `bytes` on `x` in ONNX Runtime; returns `y`. */
async function runOnnx(bytes: Uint8Array, x: { shape: number[]; data: Float32Array }): Promise<{ shape: number[]; data: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    const result = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) });
    return { shape: [...result.y.dims], data: (result.y.data as Float32Array).slice() };
  } finally {
    await session.release();
  }
}

async function expectSamePredictions(model: Model, seed: number): Promise<void> {
  const bytes = exportOnnx(model);
  for (const batch of BATCH_SIZES) {
    const x = randomInput(model, batch, seed + batch);
    const expected = model.predict(x);
    const actual = await runOnnx(bytes, x);
    expect(actual.shape, `batch ${batch}`).toEqual(expected.shape);
    expect(maxError(actual.data, expected.data), `batch ${batch}`).toBeLessThanOrEqual(TOLERANCE);
  }
}

beforeAll(async () => {
  await init();
});

describe('exportOnnx in ONNX Runtime', () => {
  ONNX_CASES.forEach(({ name, spec }, index) => {
    it(`predicts what gradlab predicts: ${name}`, async () => {
      const model = await createModel(spec, { seed: index });
      try {
        model.loadStateDict(randomState(model, 100 + index));
        await expectSamePredictions(model, 200 + index);
      } finally {
        model.dispose();
      }
    });
  });

  it('exports the trained weights and BatchNorm running statistics', async () => {
    const spec: ModelSpec = {
      input: [4],
      layers: [{ type: 'dense', units: 6, activation: { type: 'prelu' } }, { type: 'batchnorm' }, { type: 'dense', units: 2 }],
      loss: 'mse',
      optimizer: { type: 'adam', lr: 0.05 },
    };
    const model = await createModel(spec, { seed: 3 });
    try {
      const before = exportOnnx(model);
      const data = randomInput(model, 32, 9);
      const y = { shape: [32, 2], data: data.data.filter((_, i) => i % 2 === 0) };
      for (let step = 0; step < 5; step++) model.trainStep(data, y);
      const after = exportOnnx(model);
      expect(after).not.toEqual(before);
      await expectSamePredictions(model, 11);
      // The running statistics moved away from their initial 0 and 1, so they are exercised.
      const running = model.stateDict()['1.running_mean'].data;
      expect(Math.max(...running.map(Math.abs))).toBeGreaterThan(1e-3);
    } finally {
      model.dispose();
    }
  });

  it('writes input x and output y with a symbolic batch, opset 17 and the weights under their state-dict names', async () => {
    const model = await createModel({ input: [T_STEPS, 3], layers: [{ type: 'lstm', units: 4 }, { type: 'dense', units: 2, name: 'head' }, { type: 'batchnorm' }], loss: 'mse' });
    try {
      const onnx = fromBinary(ModelProtoSchema, exportOnnx(model));
      expect(onnx.opsetImport).toEqual([expect.objectContaining({ domain: '', version: BigInt(ONNX_OPSET) })]);
      expect(ONNX_OPSET).toBeGreaterThanOrEqual(17);
      const graph = onnx.graph!;
      const dims = (value: (typeof graph.input)[number]) => {
        const type = value.type!.value;
        if (type.case !== 'tensorType') throw new Error('not a tensor');
        return type.value.shape!.dim.map((d) => d.value.value);
      };
      expect(graph.input.map((v) => v.name)).toEqual(['x']);
      expect(graph.output.map((v) => v.name)).toEqual(['y']);
      expect(dims(graph.input[0])).toEqual(['batch', BigInt(T_STEPS), 3n]);
      expect(dims(graph.output[0])).toEqual(['batch', 2n]);
      const initializers = graph.initializer.map((t) => t.name);
      expect(initializers).toEqual(expect.arrayContaining(['head.weight', 'head.bias', '2.weight', '2.bias', '2.running_mean', '2.running_var', '0.W', '0.R', '0.B']));
      expect(graph.node.map((n) => n.opType)).toEqual(['Transpose', 'LSTM', 'Squeeze', 'Gemm', 'BatchNormalization', 'Identity']);
      // ONNX's LSTM stacks the gates i, o, f, c; gradlab's weight_ih stacks i, f, g, o.
      const weightIh = model.stateDict()['0.weight_ih'].data;
      const w = graph.initializer.find((t) => t.name === '0.W')!;
      const onnxW = new Float32Array(w.rawData.slice().buffer);
      const block = 4 * 3;
      [0, 3, 1, 2].forEach((gradlabGate, onnxGate) => {
        expect(onnxW.subarray(onnxGate * block, (onnxGate + 1) * block)).toEqual(weightIh.subarray(gradlabGate * block, (gradlabGate + 1) * block));
      });
    } finally {
      model.dispose();
    }
  });
});

describe('exportOnnxFromStateDict', () => {
  const spec: ModelSpec = { input: [3], layers: [{ type: 'dense', units: 4, activation: 'relu' }, { type: 'batchnorm', name: 'bn' }, { type: 'dense', units: 2 }], loss: 'mse' };

  it('exports a spec with a state dict as the model with those weights exports', async () => {
    const model = await createModel(spec);
    try {
      const state = randomState(model, 5);
      model.loadStateDict(state);
      expect(await exportOnnxFromStateDict(spec, state)).toEqual(exportOnnx(model));
    } finally {
      model.dispose();
    }
  });

  it('names the entry of a state dict that does not match the spec', async () => {
    const model = await createModel(spec);
    const state = randomState(model, 5);
    model.dispose();
    const { 'bn.running_var': _missing, ...withoutOne } = state;
    const missing = await expectRejection(exportOnnxFromStateDict(spec, withoutOne), 'InvalidArgument', 'bn.running_var');
    expect(missing.expected).toContain('[4]');
    const wrongShape = await expectRejection(exportOnnxFromStateDict(spec, { ...state, '0.weight': { shape: [3, 4], data: new Float32Array(12) } }), 'ShapeMismatch', '0.weight');
    expect([wrongShape.expected, wrongShape.actual]).toEqual(['[4, 3]', '[3, 4]']);
    await expectRejection(exportOnnxFromStateDict(spec, { ...state, '1.weight': { shape: [4], data: new Float32Array(4) } }), 'InvalidArgument', '1.weight');
  });

  it('names the field of a spec that is not a model', async () => {
    await expectRejection(exportOnnxFromStateDict({ ...spec, layers: [{ type: 'dense', units: 0 }] }, {}), 'InvalidSpec', 'layers[0].units');
  });
});

describe('exportOnnx on bad input', () => {
  it('refuses what is not a model, and a disposed model', async () => {
    expectError(() => exportOnnx({ spec: { layers: [] } } as unknown as Model), 'InvalidArgument', 'model');
    const model = await createModel({ input: [2], layers: [], loss: 'mse' });
    model.dispose();
    expectError(() => exportOnnx(model), 'Disposed');
  });
});

/** The official checker: full check and strict shape inference; prints each file's inferred output dims. */
const CHECKER = `
import json, sys, onnx
from onnx import shape_inference
for path in sys.argv[1:]:
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    output = shape_inference.infer_shapes(model, strict_mode=True).graph.output[0].type.tensor_type.shape
    print(json.dumps([d.dim_param or d.dim_value for d in output.dim]))
`;
const PYTHON = '/usr/bin/python3';
const checkerMissing = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status !== 0;
if (checkerMissing) console.log(`skipping the ONNX checker: it needs Debian's python3-onnx (apt-get install -y python3-onnx), run by ${PYTHON}`);

describe.skipIf(checkerMissing)('the official ONNX checker', () => {
  it('accepts every exported graph and infers its output shape [batch, ...output]', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradlab-onnx-check-'));
    try {
      const files: string[] = [];
      const expected: (string | number)[][] = [];
      for (const [index, { spec }] of ONNX_CASES.entries()) {
        const model = await createModel(spec, { seed: index });
        files.push(join(dir, `${index}.onnx`));
        writeFileSync(files[index], exportOnnx(model));
        expected.push([BATCH_DIMENSION, ...model.outputShape]);
        model.dispose();
      }
      const printed = execFileSync(PYTHON, ['-c', CHECKER, ...files], { encoding: 'utf8' });
      expect(printed.trim().split('\n').map((line) => JSON.parse(line))).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
