/**
 * One run of the lab page, as a sequence of measurements: every net at initialisation (epoch 0),
 * then after each epoch of the CLI's own loop (`trainMeasuringSpeeds`). The worker posts each
 * measurement as it comes; test/lab/lab-web.test.ts replays the same run in Node to compare.
 */
import type { MnistSplit } from '../src/data.js';
import { measureHiddenLayers } from '../src/nets.js';
import { trainMeasuringSpeeds } from '../src/speeds.js';
import { createModelSync, type Model, type Dataset, type Core } from 'gradlab';
import { netsFor, type PageNet, type RunConfig } from './config.js';
import type { EpochPoint } from './protocol.js';

export interface Measurement {
  net: PageNet['key'];
  point: EpochPoint;
}

function accuracy(model: Model, test: Dataset): number {
  return model.evaluate(test).accuracy ?? NaN;
}

/**
 * Trains the nets of `config` side by side (each seeded with `config.seed`, so a net equals the
 * CLI's run of it), yielding one measurement per net and epoch. Stopping early (`return()`)
 * frees the models.
 */
export function* measureRun(core: Core, config: RunConfig, data: Pick<MnistSplit, 'train' | 'test'>): Generator<Measurement> {
  const nets = netsFor(config).map((net) => ({ net, model: createModelSync(core, net.spec, config.seed) }));
  try {
    for (const { net, model } of nets) {
      const { speeds, weightGradNorms } = measureHiddenLayers(model, data.train, config.depth);
      yield { net: net.key, point: { epoch: 0, speeds, weightGradNorms, loss: null, testAccuracy: accuracy(model, data.test) } };
    }
    const loops = nets.map(({ model }) => trainMeasuringSpeeds(model, data.train, { epochs: config.epochs, seed: config.seed, hidden: config.depth }));
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      for (const [i, { net, model }] of nets.entries()) {
        const measured = loops[i].next().value;
        if (!measured) throw new Error(`the training loop of ${net.title} ended before epoch ${epoch}`);
        const { speeds, weightGradNorms, loss } = measured;
        yield { net: net.key, point: { epoch: measured.epoch, speeds, weightGradNorms, loss, testAccuracy: accuracy(model, data.test) } };
      }
    }
  } finally {
    for (const { model } of nets) model.dispose();
  }
}
