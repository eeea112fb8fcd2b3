/**
 * The spec's rules live in the Rust core; the TypeScript types only describe them. These
 * tests fail when the two drift apart: a name or field added on one side and not the other.
 */
import { describe, expect, it } from 'vitest';
import { createModel, init, validateSpec, type GradlabError } from '../../dist/ts/index.js';
import { SPEC_VOCABULARY } from '../../dist/ts/model/spec.js';
import { errorOf, expectError } from '../expect-error.js';

describe('the spec vocabulary', () => {
  it('names the same activations, inits, losses and fields in TypeScript as in the core', async () => {
    const core = await init();
    const rust = JSON.parse(core.call((b) => b.specVocabulary())) as typeof SPEC_VOCABULARY;
    const sorted = (names: readonly string[]) => [...names].sort();
    expect(sorted(rust.activations)).toEqual(sorted(SPEC_VOCABULARY.activations));
    expect(sorted(rust.parametricActivations)).toEqual(sorted(SPEC_VOCABULARY.parametricActivations));
    expect(sorted(rust.inits)).toEqual(sorted(SPEC_VOCABULARY.inits));
    expect(sorted(rust.losses)).toEqual(sorted(SPEC_VOCABULARY.losses));
    expect(Object.keys(rust.fields).sort()).toEqual(Object.keys(SPEC_VOCABULARY.fields).sort());
    for (const [kind, fields] of Object.entries(SPEC_VOCABULARY.fields)) {
      expect(sorted(rust.fields[kind as keyof typeof rust.fields]), kind).toEqual(sorted(fields));
    }
  });

  it('accepts every name the types allow', async () => {
    await init();
    for (const activation of [...SPEC_VOCABULARY.activations, ...SPEC_VOCABULARY.parametricActivations.map((type) => ({ type }))]) {
      expect(validateSpec({ input: [2], layers: [{ type: 'activation', activation }], loss: 'mse' }).layers[0]).toMatchObject({ activation });
    }
    for (const init of SPEC_VOCABULARY.inits) {
      expect(validateSpec({ input: [2], layers: [{ type: 'dense', units: 2, init }], loss: 'mse' }).layers[0]).toMatchObject({ init });
    }
    for (const loss of SPEC_VOCABULARY.losses) expect(validateSpec({ input: [2], layers: [], loss }).loss).toBe(loss);
  });

  it('describes values JSON cannot carry as JavaScript does', async () => {
    const cases: [unknown, string][] = [
      [Number.NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [() => 3, 'function'],
      [new Float32Array(2), 'a Float32Array of length 2'],
      [10n, 'bigint'],
    ];
    for (const [units, actual] of cases) {
      const spec = { input: [2], layers: [{ type: 'dense', units }], loss: 'mse' } as never;
      await expect(createModel(spec)).rejects.toMatchObject({ code: 'InvalidSpec', arg: 'layers[0].units', actual } satisfies Partial<GradlabError>);
    }
  });

  it('refuses cycles and deep nesting structurally, naming where', async () => {
    await init();
    const cyclic: Record<string, unknown> = { type: 'residual' };
    cyclic.layers = [cyclic];
    expectError(() => validateSpec({ input: [2], layers: [cyclic], loss: 'mse' }), 'InvalidSpec', 'layers[0].layers[0]');
    let deep: Record<string, unknown> = { type: 'dense', units: 2 };
    for (let i = 0; i < 3000; i++) deep = { type: 'residual', layers: [deep] };
    expect(errorOf(() => validateSpec({ input: [2], layers: [deep], loss: 'mse' })).code).toBe('InvalidSpec');
    let nested: Record<string, unknown> = { type: 'dense', units: 2 };
    for (let i = 0; i < 40; i++) nested = { type: 'residual', layers: [nested] };
    expect(expectError(() => validateSpec({ input: [2], layers: [nested], loss: 'mse' }), 'InvalidSpec').expected).toContain('nested at most 32');
  });
});
