// The training loops' contract: every bad argument to fit/evaluate is a GradlabError naming
// it, and fit visits the rows in a new seeded order every epoch.
import { describe, expect, it } from 'vitest';
import { createModel, type Model, type TensorLike } from '../../dist/ts/index.js';
import { expectError } from '../expect-error.js';

const spec = { input: [1], layers: [{ type: 'dense' as const, units: 1 }], loss: 'mse' as const };
/** Row i holds the value i, so a batch says which rows it took. */
const rows = 12;
const data = { x: { shape: [rows, 1], data: Float32Array.from({ length: rows }, (_, i) => i) }, y: { shape: [rows, 1], data: new Float32Array(rows) } };

/** The row order of every epoch of `fit`, read from the batches the model is given. */
function epochOrders(model: Model, options: { epochs: number; shuffle?: boolean; seed?: number }): number[][] {
  const seen: number[] = [];
  const trainStep = model.trainStep.bind(model);
  model.trainStep = (x: TensorLike, y: TensorLike) => {
    seen.push(...Array.from(x.data));
    return trainStep(x, y);
  };
  model.fit(data, { batchSize: 5, ...options });
  return Array.from({ length: options.epochs }, (_, epoch) => seen.slice(epoch * rows, (epoch + 1) * rows));
}

const sorted = (order: number[]) => [...order].sort((a, b) => a - b);
const identity = Array.from({ length: rows }, (_, i) => i);

describe('fit: the order of the rows', () => {
  it('is a new permutation every epoch, the same for the same seed, another for another seed', async () => {
    const model = await createModel(spec);
    const orders = epochOrders(model, { epochs: 4, seed: 3 });
    for (const order of orders) expect(sorted(order)).toEqual(identity);
    for (let a = 0; a < orders.length; a++) for (let b = a + 1; b < orders.length; b++) expect(orders[b], `epochs ${a} and ${b}`).not.toEqual(orders[a]);
    expect(orders.some((order) => order.join() !== identity.join())).toBe(true);
    expect(epochOrders(await createModel(spec), { epochs: 4, seed: 3 })).toEqual(orders);
    expect(epochOrders(await createModel(spec), { epochs: 1, seed: 4 })[0]).not.toEqual(orders[0]);
  });

  it('keeps the given order without shuffling', async () => {
    expect(epochOrders(await createModel(spec), { epochs: 2, shuffle: false })).toEqual([identity, identity]);
  });

  it('still changes every epoch for seeds whose product with the epoch mixer passes 2^53', async () => {
    const orders = epochOrders(await createModel(spec), { epochs: 3, seed: Number.MAX_SAFE_INTEGER });
    expect(orders[1]).not.toEqual(orders[0]);
    expect(orders[2]).not.toEqual(orders[1]);
  });
});

describe('fit and evaluate: bad arguments are GradlabErrors naming them', () => {
  it('a dataset whose x or y lacks data, or is no tensor', async () => {
    const model = await createModel(spec);
    const options = { epochs: 1, batchSize: 2 };
    expectError(() => model.fit({ x: { shape: [2, 1] }, y: data.y } as never, options), 'InvalidArgument', 'data.x.data');
    expectError(() => model.fit({ x: data.x, y: { shape: [2, 1] } } as never, options), 'InvalidArgument', 'data.y.data');
    expectError(() => model.fit({ x: data.x } as never, options), 'InvalidArgument', 'data.y');
    expectError(() => model.fit({ x: { data: [1] }, y: data.y } as never, options), 'InvalidArgument', 'data.x.shape');
    expectError(() => model.fit({ x: { shape: [1.5], data: [1] }, y: data.y } as never, options), 'InvalidArgument', 'data.x.shape');
    expectError(() => model.fit(null as never, options), 'InvalidArgument', 'data');
    expectError(() => model.evaluate({ x: { shape: [2, 1], data: 5 }, y: data.y } as never), 'InvalidArgument', 'data.x.data');
    expect(model.evaluate(data).loss).toBeGreaterThanOrEqual(0);
  });

  it('options that are missing or of the wrong type', async () => {
    const model = await createModel(spec);
    expectError(() => model.fit(data, undefined as never), 'InvalidArgument', 'options');
    expectError(() => model.fit(data, { epochs: 1 } as never), 'InvalidArgument', 'batchSize');
    expectError(() => model.fit(data, { epochs: -1, batchSize: 2 }), 'InvalidArgument', 'epochs');
    expectError(() => model.fit(data, { epochs: 1, batchSize: 2, seed: -1 }), 'InvalidArgument', 'seed');
    expectError(() => model.fit(data, { epochs: 1, batchSize: 2, seed: 2 ** 53 }), 'InvalidArgument', 'seed');
    expectError(() => model.fit(data, { epochs: 1, batchSize: 2, shuffle: 'yes' as never }), 'InvalidArgument', 'shuffle');
    expectError(() => model.evaluate(data, null as never), 'InvalidArgument', 'options');
    expect(model.fit(data, { epochs: 1, batchSize: 4 }).epochs[0].steps).toBe(3);
  });
});
