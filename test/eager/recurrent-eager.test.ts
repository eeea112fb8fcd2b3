/**
 * The eager `rnn` and `lstm` ops (their gradient checks through the ABI are in
 * gradcheck.test.ts): PyTorch's nn.RNN / nn.LSTM run from a given initial state
 * (fixtures/torch/recurrent_state.json, written by recurrent_state.py: results and the gradient
 * of every input), equality with the model layer from the zero state, typed errors, and no
 * tensors left behind.
 *
 * Tolerance as in torch-fixtures.test.ts: `a` matches the float64 reference `b` when
 * |a − b| ≤ 1e-4 · max(|b|, scale) + 1e-6, `scale` the largest |value| of that tensor.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gl from '../../dist/ts/index.js';
import type { LstmResult, RecurrentParams, Tensor } from '../../dist/ts/index.js';
import { errorOf } from '../expect-error.js';
import { normal, randomSource, sizeOf } from '../tensor-helpers.js';

const RELATIVE_TOLERANCE = 1e-4;
const ABSOLUTE_FLOOR = 1e-6;

type JsonTensor = { shape: number[]; data: number[] };
type Case = {
  name: string;
  cell: 'rnn' | 'lstm';
  inputs: Record<string, JsonTensor>;
  lossWeights: Record<string, JsonTensor>;
  results: Record<string, JsonTensor>;
  grads: Record<string, JsonTensor>;
};

const fixtures: Case[] = JSON.parse(readFileSync(new URL('../fixtures/torch/recurrent_state.json', import.meta.url), 'utf8')).cases;

/** The elements of `actual` that miss `expected` beyond the tolerance, described. */
function mismatches(what: string, actual: Tensor, expected: JsonTensor): string[] {
  expect(actual.shape, what).toEqual(expected.shape);
  const values = actual.data();
  const scale = Math.max(...expected.data.map(Math.abs));
  const found: string[] = [];
  expected.data.forEach((want, i) => {
    if (!(Math.abs(values[i] - want) <= RELATIVE_TOLERANCE * Math.max(Math.abs(want), scale) + ABSOLUTE_FLOOR)) {
      found.push(`${what}[${i}]: ${values[i]} vs PyTorch ${want}`);
    }
  });
  return found;
}

/** Runs `cell` on `inputs` (by the fixtures' names) with `h0`/`c0` when present. */
function run(cell: 'rnn' | 'lstm', inputs: Record<string, Tensor>): Partial<LstmResult> & { output: Tensor; h: Tensor } {
  const params: RecurrentParams = { weightIh: inputs.weightIh, weightHh: inputs.weightHh, biasIh: inputs.biasIh, biasHh: inputs.biasHh };
  return cell === 'lstm' ? gl.lstm(inputs.x, params, { h0: inputs.h0, c0: inputs.c0 }) : gl.rnn(inputs.x, params, { h0: inputs.h0 });
}

let startTensors = 0;

beforeAll(async () => {
  await gl.init();
  startTensors = gl.numTensors();
});

describe('eager rnn and lstm against PyTorch, from a given initial state', () => {
  for (const fixture of fixtures) {
    it(fixture.name, () => {
      gl.scope(() => {
        const inputs: Record<string, Tensor> = {};
        for (const [name, value] of Object.entries(fixture.inputs)) inputs[name] = gl.tensor(value.data, value.shape, { requiresGrad: true });
        const results = run(fixture.cell, inputs) as Record<string, Tensor | undefined>;
        expect(Object.keys(results).sort()).toEqual(Object.keys(fixture.results).sort());
        const found: string[] = [];
        let loss: Tensor = gl.tensor(0);
        for (const [name, expected] of Object.entries(fixture.results)) {
          const result = results[name] as Tensor;
          found.push(...mismatches(name, result, expected));
          const weights = fixture.lossWeights[name];
          loss = gl.add(loss, gl.sum(gl.mul(result, gl.tensor(weights.data, weights.shape))));
        }
        loss.backward();
        for (const [name, expected] of Object.entries(fixture.grads)) {
          const grad = inputs[name].grad;
          expect(grad, `gradient of ${name}`).not.toBeNull();
          found.push(...mismatches(`∂L/∂${name}`, grad as Tensor, expected));
        }
        expect(found).toEqual([]);
      });
    });
  }
});

describe('eager rnn and lstm', () => {
  for (const cell of ['rnn', 'lstm'] as const) {
    it(`${cell}: from the zero state, equals the model layer's predict bit for bit`, async () => {
      const [batch, steps, features, units] = [3, 5, 2, 4];
      const model = await gl.createModel({ input: [steps, features], layers: [{ type: cell, units, returnSequences: true }], loss: 'mse' }, { seed: 7 });
      try {
        const random = randomSource(21);
        const x = { shape: [batch, steps, features], data: Float32Array.from({ length: batch * steps * features }, () => normal(random)) };
        const expected = model.predict(x);
        const state = model.stateDict();
        gl.scope(() => {
          const param = (name: string) => gl.tensor(state[`0.${name}`].data, state[`0.${name}`].shape);
          const params = { weightIh: param('weight_ih'), weightHh: param('weight_hh'), biasIh: param('bias_ih'), biasHh: param('bias_hh') };
          const result = cell === 'lstm' ? gl.lstm(gl.tensor(x.data, x.shape), params) : gl.rnn(gl.tensor(x.data, x.shape), params);
          expect(result.output.shape).toEqual([batch, steps, units]);
          expect(Array.from(result.output.data())).toEqual(Array.from(expected.data));
          const lastSteps = Array.from({ length: batch }, (_, b) => Array.from(expected.data.slice((b * steps + steps - 1) * units, (b * steps + steps) * units))).flat();
          expect(result.h.shape).toEqual([batch, units]);
          expect(Array.from(result.h.data())).toEqual(lastSteps);
          expect('c' in result).toBe(cell === 'lstm');
        });
      } finally {
        model.dispose();
      }
    });
  }

  it('lstm: a sequence fed in two chunks, the second from the first one\'s h and c, equals the whole', () => {
    gl.scope(() => {
      const [batch, features, units] = [2, 3, 4];
      const random = randomSource(5);
      const values = (shape: number[]) => gl.tensor(Float32Array.from({ length: sizeOf(shape) }, () => normal(random) * 0.5), shape);
      const params = { weightIh: values([4 * units, features]), weightHh: values([4 * units, units]), biasIh: values([4 * units]), biasHh: values([4 * units]) };
      const whole = values([batch, 5, features]);
      const data = whole.data();
      const chunk = (from: number, to: number) =>
        gl.tensor(Array.from({ length: batch }, (_, b) => Array.from(data.slice((b * 5 + from) * features, (b * 5 + to) * features))).flat(), [batch, to - from, features]);
      const all = gl.lstm(whole, params);
      const first = gl.lstm(chunk(0, 2), params);
      const second = gl.lstm(chunk(2, 5), params, { h0: first.h, c0: first.c });
      for (const [got, want] of [
        [second.h, all.h],
        [second.c, all.c],
      ]) {
        Array.from(got.data()).forEach((value, i) => expect(value).toBeCloseTo(want.data()[i], 6));
      }
    });
  });

  it('names the argument, the expected and the actual shape in its errors', () => {
    gl.scope(() => {
      const zeros = (...shape: number[]) => gl.tensor(new Float32Array(sizeOf(shape)), shape);
      const params = { weightIh: zeros(16, 3), weightHh: zeros(16, 4), biasIh: zeros(16), biasHh: zeros(16) };
      const x = zeros(2, 5, 3);
      expect(errorOf(() => gl.lstm(zeros(2, 3), params))).toMatchObject({ code: 'ShapeMismatch', op: 'lstm', arg: 'x', actual: '[2, 3]' });
      expect(errorOf(() => gl.lstm(x, { ...params, weightIh: zeros(16, 2) }))).toMatchObject({ code: 'ShapeMismatch', arg: 'weightIh', actual: '[16, 2]' });
      expect(errorOf(() => gl.lstm(x, { ...params, weightHh: zeros(4, 4) }))).toMatchObject({ code: 'ShapeMismatch', arg: 'weightHh', actual: '[4, 4]' });
      expect(errorOf(() => gl.lstm(x, { ...params, biasHh: zeros(4) }))).toMatchObject({ code: 'ShapeMismatch', arg: 'biasHh' });
      const h0 = errorOf(() => gl.lstm(x, params, { h0: zeros(3, 4) }));
      expect(h0).toMatchObject({ code: 'ShapeMismatch', arg: 'h0', actual: '[3, 4]' });
      expect(h0.expected).toContain('[2, 4]');
      expect(errorOf(() => gl.lstm(x, params, { c0: zeros(2, 5) }))).toMatchObject({ code: 'ShapeMismatch', arg: 'c0' });
      // The same parameters are an rnn's only with G = H rows.
      expect(errorOf(() => gl.rnn(x, params))).toMatchObject({ code: 'ShapeMismatch', op: 'rnn', arg: 'weightHh', actual: '[16, 4]' });
      const rnnParams = { weightIh: zeros(4, 3), weightHh: zeros(4, 4), biasIh: zeros(4), biasHh: zeros(4) };
      expect(errorOf(() => gl.rnn(x, rnnParams, { c0: zeros(2, 4) } as never))).toMatchObject({ code: 'InvalidArgument', arg: 'c0' });
      expect(errorOf(() => gl.rnn(x, { ...rnnParams, biasIh: [0, 0, 0, 0] } as never))).toMatchObject({ code: 'InvalidArgument', arg: 'biasIh' });
      expect(errorOf(() => gl.rnn(x, null as never))).toMatchObject({ code: 'InvalidArgument', arg: 'params' });
      const disposed = zeros(2, 4);
      disposed.dispose();
      expect(errorOf(() => gl.rnn(x, rnnParams, { h0: disposed }))).toMatchObject({ code: 'Disposed', arg: 'h0' });
    });
  });

  it('leaves no tensors behind', () => {
    expect(gl.numTensors()).toBe(startTensors);
  });
});
