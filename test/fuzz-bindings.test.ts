/**
 * Fuzzing the raw bindings, beneath the TypeScript façade. Every function, static method,
 * method and getter that the Rust crate exports through wasm-bindgen is found by walking the
 * generated glue (so an export added later is fuzzed too) and called with seeded garbage:
 * NaN, infinities, huge and negative numbers, wrong types, empty and non-finite typed
 * arrays, strings that are not JSON. Each call must either succeed or throw; it must never
 * trap (a `WebAssembly.RuntimeError`, e.g. "unreachable" from a panic), a Rust error must
 * arrive as a typed `GradlabError` with an op, and the instance must keep working.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as bindings from '../dist/pkg/gradlab.js';
import { GradlabError, createModel, init, numModels } from '../dist/ts/index.js';
import { translateError } from '../dist/ts/wasm.js';
import { randomSource } from './tensor-helpers.js';

type Fn = (...args: unknown[]) => unknown;
type Instance = { free(): void } & Record<string, unknown>;

/** The glue's own entry points, not Rust exports. */
const LOADER_EXPORTS = new Set(['default', 'initSync']);
const SPEC = JSON.stringify({ input: [4], layers: [{ type: 'dense', units: 3, activation: 'relu' }, { type: 'batchnorm' }], loss: 'mse' });

const GARBAGE: unknown[] = [
  undefined,
  null,
  Number.NaN,
  Infinity,
  -Infinity,
  -1,
  -0,
  0.5,
  2 ** 31,
  2 ** 32 + 3,
  2 ** 53 + 2,
  1e300,
  '',
  'x',
  '{"input":',
  SPEC,
  true,
  {},
  [],
  [Number.NaN, 1],
  new Float32Array([Number.NaN, Infinity, -Infinity]),
  new Float32Array(0),
  new Float64Array([2 ** 53, -1, 0.5]),
  new Uint32Array([0xffffffff, 7]),
  new Int32Array([-5, 2]),
];

let model: InstanceType<typeof bindings.ModelCore>;
let batch: InstanceType<typeof bindings.Batch>;

/** How to make a live instance of each exported class, to fuzz its methods. */
const FACTORIES: Record<string, () => Instance> = {
  ModelCore: () => new bindings.ModelCore(SPEC, 0) as unknown as Instance,
  Batch: () => bindings.Batch.withValues('fuzz', new Float32Array(8), new Float64Array([2, 4]), new Float32Array(6)) as unknown as Instance,
  StepOutcome: () => model.step(true, batch) as unknown as Instance,
  Evaluation: () => model.evaluate(batch) as unknown as Instance,
  Diagnostics: () => model.diagnostics() as unknown as Instance,
};

function isClass(value: unknown): value is { prototype: object } & Fn {
  return typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value));
}

const classes = Object.entries(bindings).filter(([, value]) => isClass(value)) as [string, Fn & { prototype: object }][];
const functions = Object.entries(bindings).filter(([name, value]) => typeof value === 'function' && !isClass(value) && !LOADER_EXPORTS.has(name)) as [string, Fn][];

function ownFunctions(target: object, skip: string[]): string[] {
  return Object.getOwnPropertyNames(target).filter((name) => !skip.includes(name) && typeof Object.getOwnPropertyDescriptor(target, name)?.value === 'function');
}

function getters(target: object): string[] {
  return Object.getOwnPropertyNames(target).filter((name) => Object.getOwnPropertyDescriptor(target, name)?.get !== undefined);
}

const outcomes = { returned: 0, typed: 0, marshalling: 0 };

/** Calls `body`; passes unless it trapped, or threw a Rust error that is not a typed GradlabError. */
function survive(label: string, body: () => unknown): void {
  try {
    const result = body();
    outcomes.returned++;
    if (result && typeof (result as Instance).free === 'function' && !(result === model || result === batch)) (result as Instance).free();
  } catch (thrown) {
    const error = translateError(thrown);
    expect(error, `${label} trapped`).not.toBeInstanceOf(WebAssembly.RuntimeError);
    if (error instanceof GradlabError) {
      expect(error.op, label).toBeTruthy();
      expect(error.message, label).toContain(error.op as string);
      outcomes.typed++;
    } else {
      // The glue refusing a JavaScript value before it reaches Rust (e.g. null for a slice).
      expect(error, label).toBeInstanceOf(Error);
      expect((error as Error).message, label).not.toMatch(/unreachable|memory access out of bounds/);
      outcomes.marshalling++;
    }
  }
}

function argumentSets(arity: number, seed: number, count: number): unknown[][] {
  const random = randomSource(seed);
  const sets: unknown[][] = [];
  for (let n = 0; n < count; n++) sets.push(Array.from({ length: arity }, () => GARBAGE[Math.floor(random() * GARBAGE.length)]));
  // Each garbage value in each position, the rest from the first set.
  for (let position = 0; position < arity; position++) {
    for (const value of GARBAGE) sets.push(sets[0].map((other, i) => (i === position ? value : other)));
  }
  return sets;
}

/** The instance still builds, trains and predicts a model as the public API does. */
async function stillWorks(): Promise<void> {
  const before = numModels();
  const spec = { input: [2], layers: [{ type: 'dense' as const, units: 2 }], loss: 'mse' as const };
  const checked = await createModel(spec, { seed: 3 });
  const x = { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
  expect(checked.trainStep(x, x).applied).toBe(true);
  expect(Array.from(checked.predict(x).data).every(Number.isFinite)).toBe(true);
  checked.dispose();
  expect(numModels()).toBe(before);
}

beforeAll(async () => {
  await init();
  model = new bindings.ModelCore(SPEC, 0);
  batch = bindings.Batch.withValues('fuzz', new Float32Array(8), new Float64Array([2, 4]), new Float32Array(6));
});

describe('the wasm-bindgen exports', () => {
  it('has a factory for every exported class, so every method is fuzzed', () => {
    expect(classes.map(([name]) => name).filter((name) => !(name in FACTORIES))).toEqual([]);
  });

  it('survive garbage in every free function and static method', async () => {
    let seed = 1;
    for (const [name, fn] of functions) {
      for (const args of argumentSets(fn.length, seed++, 40)) survive(name, () => fn(...args));
    }
    for (const [className, klass] of classes) {
      for (const name of ownFunctions(klass, ['length', 'name', 'prototype', '__wrap'])) {
        const fn = (klass as unknown as Record<string, Fn>)[name];
        for (const args of argumentSets(fn.length, seed++, 40)) survive(`${className}.${name}`, () => fn.apply(klass, args));
      }
      survive(`new ${className}`, () => new (klass as unknown as new (...args: unknown[]) => unknown)(...argumentSets(4, seed++, 1)[0]));
    }
    await stillWorks();
  });

  it('survive garbage in every method and getter of live instances', async () => {
    let seed = 1000;
    for (const [className, klass] of classes) {
      const methods = ownFunctions(klass.prototype, ['constructor', 'free', '__destroy_into_raw']);
      for (const name of methods) {
        const arity = (klass.prototype as Record<string, Fn>)[name].length;
        for (const args of argumentSets(arity, seed++, 30)) {
          const instance = FACTORIES[className]();
          survive(`${className}#${name}`, () => (instance[name] as Fn)(...args));
          instance.free();
        }
      }
      for (const name of getters(klass.prototype)) {
        const instance = FACTORIES[className]();
        survive(`${className}#${name}`, () => instance[name]);
        instance.free();
      }
    }
    await stillWorks();
  });

  it('refuse a freed object with an error, not a trap', () => {
    for (const [className] of classes) {
      const instance = FACTORIES[className]();
      instance.free();
      for (const name of ownFunctions(Object.getPrototypeOf(instance) as object, ['constructor', 'free', '__destroy_into_raw'])) {
        survive(`freed ${className}#${name}`, () => (instance[name] as Fn)());
      }
    }
    expect(outcomes.typed).toBeGreaterThan(0);
    expect(outcomes.returned).toBeGreaterThan(0);
  });

  it('frees what it made', () => {
    model.free();
    batch.free();
    expect(numModels()).toBe(0);
  });
});
