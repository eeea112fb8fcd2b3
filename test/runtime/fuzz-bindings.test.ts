/**
 * Fuzzing the raw bindings, beneath the TypeScript façade. Every function, static method,
 * constructor, method and getter that the Rust crate exports through wasm-bindgen is read
 * from the generated declarations (pkg/gradlab.d.ts, so an export added later is fuzzed too)
 * and called with seeded hostile values of its declared types: NaN, infinities, huge,
 * negative and fractional numbers; empty, non-finite and wrong-length typed arrays; strings
 * that are not JSON or name nothing; freed objects. Each call must either succeed or throw;
 * it must never trap (a `WebAssembly.RuntimeError`, e.g. "unreachable" from a panic), a
 * Rust error must arrive as a typed `GradlabError` naming its op, and the instance must keep
 * working. (Values of the wrong JavaScript type are the façade's to refuse: the glue copies a
 * string argument without looking at its type.)
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as bindings from '../../dist/pkg/gradlab.js';
import { GradlabError, createModel, init, numModels } from '../../dist/ts/index.js';
import { translateError } from '../../dist/ts/runtime/wasm.js';
import { randomSource } from '../tensor-helpers.js';

type Fn = (...args: unknown[]) => unknown;
type Instance = { free(): void } & Record<string, unknown>;
interface Signature {
  owner?: string;
  kind: 'function' | 'static' | 'method' | 'constructor' | 'getter';
  name: string;
  params: string[];
}

/** The glue's own entry points, not Rust exports. */
const LOADER_FUNCTIONS = new Set(['initSync', '__wbg_init']);
const SPEC = JSON.stringify({ input: [4], layers: [{ type: 'dense', units: 3, activation: 'relu' }, { type: 'batchnorm' }], loss: 'mse' });

/** Hostile values of each type the declarations use. */
const VALUES: Record<string, () => unknown[]> = {
  number: () => [Number.NaN, Infinity, -Infinity, -1, -0, 0, 1, 2, 3, 0.5, 7, 2 ** 31, 2 ** 32 + 3, 2 ** 53 + 2, 1e300, 1e-46],
  boolean: () => [true, false],
  string: () => ['', 'x', '{"input":', SPEC, 'sigmoid', 'leakyRelu', 'mean', 'weight', 'add', '\u0000', 'a'.repeat(300)],
  Float32Array: () => [new Float32Array(0), new Float32Array([Number.NaN, Infinity, -Infinity]), new Float32Array(6), new Float32Array(8).fill(3e38), new Float32Array(7).fill(0.5)],
  Float64Array: () => [new Float64Array(0), new Float64Array([2, 4]), new Float64Array([2 ** 53, -1, 0.5]), new Float64Array([Number.NaN]), new Float64Array([1e10, 3]), new Float64Array([2, 3, 4, 5, 6])],
  Uint32Array: () => [new Uint32Array(0), new Uint32Array([0xffffffff, 7])],
  Int32Array: () => [new Int32Array(0), new Int32Array([-5, 2])],
};

/** The exported functions, static methods, constructors, methods and getters, from the declarations. */
function signatures(): Signature[] {
  const text = readFileSync(new URL('../../dist/pkg/gradlab.d.ts', import.meta.url), 'utf8');
  const params = (list: string) => (list.trim() === '' ? [] : list.split(/, (?=\w+\??:)/).map((p) => p.replace(/^\w+\??: /, '') + (/^\w+\?:/.test(p) ? ' | undefined' : '')));
  const found: Signature[] = [];
  let owner: string | undefined;
  for (const line of text.split('\n')) {
    let match: RegExpExecArray | null;
    if ((match = /^export function (\w+)\((.*)\): .*;$/.exec(line))) {
      if (!LOADER_FUNCTIONS.has(match[1])) found.push({ kind: 'function', name: match[1], params: params(match[2]) });
    }
    else if ((match = /^export class (\w+) \{/.exec(line))) owner = match[1];
    else if (line === '}') owner = undefined;
    else if (owner && (match = /^ {2}constructor\((.*)\);$/.exec(line))) found.push({ owner, kind: 'constructor', name: 'constructor', params: params(match[1]) });
    else if (owner && (match = /^ {2}static (\w+)\((.*)\): .*;$/.exec(line))) found.push({ owner, kind: 'static', name: match[1], params: params(match[2]) });
    else if (owner && (match = /^ {2}(\w+)\((.*)\): .*;$/.exec(line)) && match[1] !== 'free' && match[1] !== '__destroy_into_raw') found.push({ owner, kind: 'method', name: match[1], params: params(match[2]) });
    else if (owner && (match = /^ {2}(?:readonly )?(\w+): .*;$|^ {2}get (\w+)\(\)/.exec(line))) found.push({ owner, kind: 'getter', name: match[1] ?? match[2], params: [] });
  }
  return found;
}

let model: InstanceType<typeof bindings.ModelCore>;
let batch: InstanceType<typeof bindings.Batch>;

/** How to make a live instance of each exported class, to fuzz its methods. */
const FACTORIES: Record<string, () => Instance> = {
  ModelCore: () => new bindings.ModelCore(SPEC, 0) as unknown as Instance,
  Batch: () => bindings.Batch.withValues('fuzz', new Float32Array(8), new Float64Array([2, 4]), new Float32Array(6)) as unknown as Instance,
  StepOutcome: () => model.step(true, batch) as unknown as Instance,
  Evaluation: () => model.evaluate(batch) as unknown as Instance,
  Diagnostics: () => model.diagnostics() as unknown as Instance,
  TensorCore: () => new bindings.TensorCore(new Float32Array(6), new Float64Array([2, 3]), true) as unknown as Instance,
  RbmCore: () => new bindings.RbmCore(4, 3, 0) as unknown as Instance,
  StagedMatrixCore: () => new bindings.StagedMatrixCore(2, 3) as unknown as Instance,
  Task: () => bindings.addingProblem(5, 4, 0) as unknown as Instance,
};

const classes = [...new Set(signatures().flatMap((signature) => (signature.owner ? [signature.owner] : [])))];

/**
 * Hostile values of a declared parameter type; class parameters get live objects. (A freed
 * object as an argument is refused by the glue after it has borrowed the others, which then
 * stay borrowed for good: the façade checks `dispose()` first, and the test below passes
 * freed objects only as the receiver, which the glue checks before borrowing anything.)
 */
/** The live objects made for arguments, freed once every call of a signature is done. */
const argumentObjects: Instance[] = [];

function valuesOf(type: string): unknown[] {
  const options = type.split(' | ').map((t) => t.trim());
  return options.flatMap((option) => {
    if (option === 'null' || option === 'undefined') return [undefined];
    if (option in VALUES) return VALUES[option]();
    if (option in FACTORIES) {
      const instance = FACTORIES[option]();
      argumentObjects.push(instance);
      return [instance];
    }
    throw new Error(`fuzz-bindings: no hostile values for type '${option}'; add them to VALUES`);
  });
}

const outcomes = { returned: 0, typed: 0, marshalling: 0 };

/** Calls `body`; passes unless it trapped, or threw a Rust error that is not a typed GradlabError. */
function survive(label: string, body: () => unknown): void {
  try {
    const result = body();
    outcomes.returned++;
    release([result]);
  } catch (thrown) {
    const error = translateError(thrown);
    expect(error, `${label} trapped`).not.toBeInstanceOf(WebAssembly.RuntimeError);
    if (error instanceof GradlabError) {
      // The op is the public name; raw calls that pass the op themselves may pass ''.
      expect(typeof error.op, label).toBe('string');
      expect(error.message, label).toMatch(/\S/);
      outcomes.typed++;
    } else {
      // The glue refusing a JavaScript value before it reaches Rust (e.g. null for a slice).
      expect(error, label).toBeInstanceOf(Error);
      expect((error as Error).message, label).not.toMatch(/unreachable|memory access out of bounds/);
      outcomes.marshalling++;
    }
  }
}

function argumentSets(params: string[], seed: number, count: number): unknown[][] {
  const random = randomSource(seed);
  const pools = params.map(valuesOf);
  const pick = (pool: unknown[]) => pool[Math.floor(random() * pool.length)];
  const sets: unknown[][] = [];
  for (let n = 0; n < count; n++) sets.push(pools.map(pick));
  // Each value in each position, the others from the first set.
  pools.forEach((pool, position) => pool.forEach((value) => sets.push((sets[0] ?? []).map((other, i) => (i === position ? value : other)))));
  return sets;
}

/** Frees what a call returned (or the receiver it was made for). */
function release(values: unknown[]): void {
  for (const value of values) {
    if (value && typeof value === 'object' && typeof (value as Instance).free === 'function' && value !== model && value !== batch) {
      try {
        (value as Instance).free();
      } catch {
        // Already freed, or consumed by the call (a `self` or owned argument).
      }
    }
  }
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
  const all = signatures();

  it('are found in the declarations, each class with a factory so its methods are fuzzed', () => {
    expect(all.filter((s) => s.kind === 'function').length).toBeGreaterThan(10);
    expect(classes.filter((name) => !(name in FACTORIES))).toEqual([]);
  });

  it('survive hostile arguments in every function, constructor and static method', async () => {
    let seed = 1;
    for (const signature of all.filter((s) => s.kind === 'function' || s.kind === 'static' || s.kind === 'constructor')) {
      const owner = signature.owner ? ((bindings as unknown as Record<string, Fn & Record<string, Fn>>)[signature.owner]) : undefined;
      for (const args of argumentSets(signature.params, seed++, 40)) {
        const label = `${signature.owner ?? ''}${signature.owner ? '.' : ''}${signature.name}`;
        survive(label, () => {
          if (signature.kind === 'constructor') return new (owner as unknown as new (...a: unknown[]) => unknown)(...args);
          if (signature.kind === 'static') return (owner as Record<string, Fn>)[signature.name].apply(owner, args);
          return (bindings as unknown as Record<string, Fn>)[signature.name](...args);
        });
      }
      release(argumentObjects.splice(0));
    }
    await stillWorks();
  });

  it('survive hostile arguments in every method and getter of live instances', async () => {
    let seed = 1000;
    for (const signature of all.filter((s) => s.kind === 'method' || s.kind === 'getter')) {
      for (const args of argumentSets(signature.params, seed++, signature.kind === 'getter' ? 1 : 30)) {
        const instance = FACTORIES[signature.owner as string]();
        survive(`${signature.owner}#${signature.name}`, () => (signature.kind === 'getter' ? instance[signature.name] : (instance[signature.name] as Fn)(...args)));
        release([instance]);
      }
      release(argumentObjects.splice(0));
    }
    await stillWorks();
  });

  it('refuse a freed object with an error, not a trap', () => {
    for (const signature of all.filter((s) => s.kind === 'method' || s.kind === 'getter')) {
      const instance = FACTORIES[signature.owner as string]();
      instance.free();
      const args = argumentSets(signature.params, 7, 1)[0] ?? [];
      survive(`freed ${signature.owner}#${signature.name}`, () => (signature.kind === 'getter' ? instance[signature.name] : (instance[signature.name] as Fn)(...args)));
      release(argumentObjects.splice(0));
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
