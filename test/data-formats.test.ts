/**
 * The data files the doctor reads: CSV, NumPy .npy/.npz and safetensors written by NumPy
 * (test/fixtures/data/make_files.py), each compared value by value with expected.json, and
 * hostile or mismatched files, each a typed error naming what is wrong.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GradlabError, builtinDataset, dataTargetOf, loadDataFile, loadDataSource, parseBuiltinSource, parseCsv, parseNpy, parseNpz, type DataTarget } from '../dist/ts/index.js';
import { errorOf, errorOfAsync } from './expect-error.js';

const FIXTURES = new URL('./fixtures/data/', import.meta.url);
const bytes = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
const file = (name: string) => ({ name, bytes: bytes(name) });
const expected = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as { x: number[]; y: number[]; x_u1: number[]; x_i2: number[] };
const classifier: DataTarget = { input: [4], output: [3], loss: 'softmaxCrossEntropy' };

function npyHeader(header: string, major = 1): Uint8Array {
  const text = new TextEncoder().encode(header);
  const lengthBytes = major === 1 ? 2 : 4;
  const out = new Uint8Array(8 + lengthBytes + text.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  new DataView(out.buffer).setUint32(8, text.length, true);
  if (major === 1) new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(text, 8 + lengthBytes);
  return out;
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};

describe('files written by NumPy', () => {
  it('reads .npy in every supported dtype, byte order and memory order as the same values', () => {
    for (const name of ['x_f4.npy', 'x_f8_big.npy', 'x_f4_fortran.npy']) {
      const array = parseNpy(bytes(name));
      expect(array.shape, name).toEqual([6, 4]);
      expect(Array.from(array.data), name).toEqual(expected.x);
    }
    expect(parseNpy(bytes('x_f4.npy')).data).toBeInstanceOf(Float32Array);
    expect(Array.from(parseNpy(bytes('x_u1.npy')).data)).toEqual(expected.x_u1);
    expect(Array.from(parseNpy(bytes('x_i2_big.npy')).data)).toEqual(expected.x_i2);
    expect(parseNpy(bytes('x_3d.npy')).shape).toEqual([6, 2, 2]);
    expect(Array.from(parseNpy(bytes('y_i8.npy')).data)).toEqual(expected.y);
    expect(Array.from(parseNpy(bytes('y_bool.npy')).data)).toEqual(expected.y.map((v) => (v === 2 ? 1 : 0)));
  });

  it('reads .npz stored (np.savez), deflated (np.savez_compressed) and positional', async () => {
    for (const name of ['xy_stored.npz', 'xy_deflated.npz', 'xy_positional.npz']) {
      const data = await loadDataFile(file(name), classifier);
      expect(data.x.shape, name).toEqual([6, 4]);
      expect(Array.from(data.x.data), name).toEqual(expected.x);
      expect(data.y.data, name).toBeInstanceOf(Int32Array);
      expect(Array.from(data.y.data), name).toEqual(expected.y);
    }
    expect([...(await parseNpz(bytes('xy_deflated.npz'))).keys()]).toEqual(['features', 'labels']);
  });

  it('reads CSV with a header and the label column last, or features and labels in two files', async () => {
    const inOne = await loadDataFile(file('xy_header.csv'), classifier);
    const inTwo = await loadDataFile(file('x_plain.csv'), classifier, { labels: file('y_plain.csv') });
    const npyWithCsvLabels = await loadDataFile(file('x_f4.npy'), classifier, { labels: file('y_plain.csv') });
    for (const data of [inOne, inTwo, npyWithCsvLabels]) {
      // CSV holds float32 values printed as float64 decimals: they parse back bit for bit.
      expect(Array.from(data.x.data)).toEqual(expected.x);
      expect(Array.from(data.y.data)).toEqual(expected.y);
    }
  });

  it('reads safetensors with I64 labels', async () => {
    const data = await loadDataFile(file('xy.safetensors'), classifier);
    expect(Array.from(data.x.data)).toEqual(expected.x);
    expect(Array.from(data.y.data)).toEqual(expected.y);
  });

  it('one-hot encodes class labels for sigmoid cross-entropy and reshapes flat rows to a sequence input', async () => {
    const data = await loadDataFile(file('xy_stored.npz'), { input: [2, 2], output: [3], loss: 'sigmoidCrossEntropy' });
    expect(data.x.shape).toEqual([6, 2, 2]);
    expect(data.y.shape).toEqual([6, 3]);
    expect(Array.from(data.y.data.slice(0, 6))).toEqual([1, 0, 0, 0, 0, 1]);
    const regression = await loadDataFile(file('x_f4.npy'), { input: [4], output: [1], loss: 'mse' }, { labels: file('y_i8.npy') });
    expect(regression.y.shape).toEqual([6, 1]);
    expect(Array.from(regression.y.data)).toEqual(expected.y);
  });
});

describe('CSV', () => {
  it('picks the label column by index, negative index or header name', () => {
    const text = 'p,label,q\n1,0,2\n3,1,4\n';
    for (const labelColumn of [1, -2, 'label']) {
      const table = parseCsv(text, { labelColumn });
      expect(Array.from(table.features.data)).toEqual([1, 2, 3, 4]);
      expect(Array.from(table.labels!.data)).toEqual([0, 1]);
    }
    expect(parseCsv('"a ""x""",b\n1,2\n').columns).toEqual(['a "x"', 'b']);
    expect(parseCsv('1,2\r\n\r\n3,4\r\n').features.shape).toEqual([2, 1]);
  });

  it('names the line and column of a value that is not a finite number', () => {
    for (const [text, arg, actual] of [
      ['a,b\n1,2\n3,NaN\n', 'line 3, column 2 ("b")', '"NaN"'],
      ['1,2\n3,\n', 'line 2, column 2', '""'],
      ['1,2\n1e999,4\n', 'line 2, column 1', '"1e999"'],
    ] as const) {
      const error = errorOf(() => parseCsv(text));
      expect(error.code).toBe('InvalidArgument');
      expect(error.arg).toBe(arg);
      expect(error.actual).toBe(actual);
    }
    expect(errorOf(() => parseCsv('1,2\n3\n')).arg).toBe('line 2');
    expect(errorOf(() => parseCsv('"1,2\n')).expected).toMatch(/closing double quote/);
    expect(errorOf(() => parseCsv('a,b\n')).actual).toBe('a header only');
    expect(errorOf(() => parseCsv('1,2\n', { labelColumn: 5 })).arg).toBe('labelColumn');
    expect(errorOf(() => parseCsv('a,b\n1,2\n', { labelColumn: 'c' })).expected).toMatch(/a, b/);
  });
});

describe('hostile and mismatched files', () => {
  const f4 = bytes('x_f4.npy');

  it('refuses malformed .npy headers and sizes with the field named', () => {
    const cases: [string, Uint8Array, string | RegExp][] = [
      ['not npy', new TextEncoder().encode('hello world, no magic'), 'bytes'],
      ['truncated data', f4.subarray(0, f4.length - 1), 'bytes'],
      ['extra data', concat(f4, new Uint8Array(4)), 'bytes'],
      ['an object dtype', npyHeader("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"), 'header.descr'],
      ['a structured dtype', npyHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"), 'header.descr'],
      ['no shape', npyHeader("{'descr': '<f4', 'fortran_order': False, }"), 'header.shape'],
      ['a huge shape', concat(npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"), new Uint8Array(8)), 'header.shape'],
      ['a negative dimension', npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), 'header.shape'],
      ['version 9', (() => { const b = f4.slice(); b[6] = 9; return b; })(), 'version'],
      ['a header longer than the file', npyHeader("{'descr'", 2).subarray(0, 10), 'bytes'],
    ];
    for (const [what, file, arg] of cases) {
      const error = errorOf(() => parseNpy(file));
      expect(error.code, what).toBe('InvalidArgument');
      expect(error.arg, what).toMatch(arg);
    }
    const int64 = concat(npyHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }"), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x40]));
    expect(errorOf(() => parseNpy(int64)).expected).toMatch(/2\^53/);
  });

  it('refuses corrupt, truncated or lying .npz archives', async () => {
    const stored = bytes('xy_stored.npz');
    const flipped = stored.slice();
    flipped[100] ^= 0xff; // inside x.npy's data: the CRC-32 no longer matches
    expect((await errorOfAsync(() => parseNpz(flipped))).arg).toMatch(/CRC-32/);
    expect((await errorOfAsync(() => parseNpz(stored.subarray(0, 200)))).arg).toMatch(/bytes|central directory|local header/);
    expect((await errorOfAsync(() => parseNpz(new Uint8Array(100)))).expected).toMatch(/ZIP archive/);

    // A deflated member that inflates past the size its directory entry declares (a "zip bomb").
    const deflated = bytes('xy_deflated.npz');
    const view = new DataView(deflated.buffer, deflated.byteOffset, deflated.byteLength);
    let directory = deflated.length - 22;
    while (view.getUint32(directory, true) !== 0x06054b50) directory--;
    const first = view.getUint32(directory + 16, true);
    const lying = deflated.slice();
    new DataView(lying.buffer).setUint32(first + 24, 10, true);
    expect((await errorOfAsync(() => parseNpz(lying))).actual).toMatch(/more bytes/);

    // Deflate data that is not deflate.
    const garbage = deflated.slice();
    const local = view.getUint32(first + 42, true);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    garbage.fill(0xff, start, start + 20);
    expect((await errorOfAsync(() => parseNpz(garbage))).code).toBe('InvalidArgument');
  });

  it('refuses data that does not fit the spec, naming rows and values', async () => {
    const mismatch = [
      [{ ...classifier, input: [784] }, 'features', /784 values per row/],
      [{ ...classifier, output: [2] }, 'labels[1]', /\[0, 1\]/],
    ] as const;
    for (const [target, arg, expectedText] of mismatch) {
      const error = await errorOfAsync(() => loadDataFile(file('xy_stored.npz'), target));
      expect(error.arg).toBe(arg);
      expect(error.expected).toMatch(expectedText);
    }
    const fewer = await errorOfAsync(() => loadDataFile(file('x_f4.npy'), classifier, { labels: { name: 'y.csv', bytes: new TextEncoder().encode('0\n1\n') } }));
    expect(fewer.code).toBe('ShapeMismatch');
    expect(fewer.actual).toMatch(/^2 rows/);
    const fractional = await errorOfAsync(() => loadDataFile({ name: 'd.csv', bytes: new TextEncoder().encode('1,2,3,4,0.5\n') }, classifier));
    expect(fractional.arg).toBe('labels[0]');
    expect(fractional.actual).toBe('0.5');
    const nan = concat(npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 4), }"), new Uint8Array(new Float64Array([1, 2, NaN, 4]).buffer));
    const nanError = await errorOfAsync(() => loadDataFile({ name: 'x.npy', bytes: nan }, classifier, { labels: { name: 'y.csv', bytes: new TextEncoder().encode('0\n') } }));
    expect(nanError.arg).toBe('features[0]');
    expect(nanError.actual).toMatch(/NaN at row 0, position 2/);
    const huge = concat(npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 4), }"), new Uint8Array(new Float64Array([1, 2, 1e300, 4]).buffer));
    expect((await errorOfAsync(() => loadDataFile({ name: 'x.npy', bytes: huge }, classifier, { labels: { name: 'y.csv', bytes: new TextEncoder().encode('0\n') } }))).expected).toMatch(/float32/);
    expect((await errorOfAsync(() => loadDataFile(file('x_f4.npy'), classifier))).arg).toBe('labels');
    expect((await errorOfAsync(() => loadDataFile({ name: 'x.parquet', bytes: new Uint8Array() }, classifier))).expected).toMatch(/\.csv, \.npy, \.npz, \.safetensors/);
    expect((await errorOfAsync(() => loadDataFile({ name: 'x.csv', bytes: new Uint8Array([0xff, 0xfe]) }, classifier))).expected).toBe('UTF-8 text');
    const onlyY = { name: 'y.npz', bytes: bytes('xy_stored.npz') };
    expect((await loadDataFile(file('x_f4.npy'), classifier, { labels: onlyY })).y.shape).toEqual([6]);
  });
});

describe('built-in sources', () => {
  it('parses mnist, mnist:N, adding:T and firstSymbol:T, and refuses sizes out of range', () => {
    expect(parseBuiltinSource('mnist')).toEqual({ name: 'mnist', size: 100 });
    expect(parseBuiltinSource('mnist:20')).toEqual({ name: 'mnist', size: 20 });
    expect(parseBuiltinSource('adding:50')).toEqual({ name: 'adding', size: 50 });
    expect(parseBuiltinSource('firstSymbol:7')).toEqual({ name: 'firstSymbol', size: 7 });
    expect(parseBuiltinSource('data.csv')).toBeUndefined();
    for (const text of ['mnist:0', 'mnist:900', 'adding:1', 'adding:x', 'firstSymbol:', 'adding:2.5']) {
      expect(errorOf(() => parseBuiltinSource(text)).arg, text).toBe('data');
    }
  });

  it('loads them shaped for the spec: one-hot mnist for sigmoid cross-entropy, sequences for the tasks', async () => {
    const mnist = await builtinDataset({ name: 'mnist', size: 2 }, { input: [784], output: [10], loss: 'sigmoidCrossEntropy' }, 0);
    expect(mnist.x.shape).toEqual([20, 784]);
    expect(Array.from(mnist.y.data.slice(10, 20))).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const adding = await builtinDataset({ name: 'adding', size: 5 }, { input: [5, 2], output: [1], loss: 'mse' }, 3);
    expect(adding.x.shape).toEqual([2048, 5, 2]);
    const first = await builtinDataset({ name: 'firstSymbol', size: 5 }, { input: [5, 4], output: [4], loss: 'softmaxCrossEntropy' }, 3);
    expect(first.y.data).toBeInstanceOf(Int32Array);
    expect((await errorOfAsync(() => builtinDataset({ name: 'adding', size: 5 }, { input: [10, 2], output: [1], loss: 'mse' }, 0))).code).toBe('ShapeMismatch');
  });
});

describe('loadDataSource', () => {
  const spec = { input: [4], layers: [{ type: 'dense' as const, units: 3 }], loss: 'softmaxCrossEntropy' as const };

  it("takes the target from the spec's model and reads a built-in name or a file", async () => {
    expect(await dataTargetOf(spec)).toEqual(classifier);
    const data = await loadDataSource(spec, file('xy.safetensors'));
    expect(Array.from(data.y.data)).toEqual(expected.y);
    const sequences = await loadDataSource({ input: [3, 4], layers: [{ type: 'lstm', units: 2 }, { type: 'dense', units: 4 }], loss: 'softmaxCrossEntropy' }, 'firstSymbol:3', { seed: 2 });
    expect(sequences.x.shape).toEqual([2048, 3, 4]);
  });

  it('refuses a name that is no built-in source, and a labels file beside a built-in one', async () => {
    expect((await errorOfAsync(() => loadDataSource(spec, 'data.csv'))).arg).toBe('source');
    expect((await errorOfAsync(() => loadDataSource(spec, 'mnist', { labels: file('y_plain.csv') }))).arg).toBe('options.labels');
  });
});

describe('any damage to a file', () => {
  const names = ['x_f4.npy', 'x_f8_big.npy', 'xy_stored.npz', 'xy_deflated.npz', 'xy.safetensors', 'xy_header.csv'];
  const damage = fc.record({
    name: fc.constantFrom(...names),
    cut: fc.option(fc.nat(), { nil: undefined }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
  });

  it('loads, or throws a GradlabError: never another exception, never a non-finite value', async () => {
    await fc.assert(
      fc.asyncProperty(damage, async ({ name, cut, flips }) => {
        const original = bytes(name);
        const damaged = original.slice(0, cut === undefined ? original.length : cut % (original.length + 1));
        for (const [at, mask] of flips) if (damaged.length > 0) damaged[at % damaged.length] ^= mask;
        try {
          const data = await loadDataFile({ name, bytes: damaged }, classifier);
          expect(data.x.data.every(Number.isFinite)).toBe(true);
          expect(data.y.data.every((v) => Number.isInteger(v) && v >= 0 && v < 3)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(GradlabError);
        }
      }),
      { numRuns: 400, seed: 14 },
    );
  });
});
