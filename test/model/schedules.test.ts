/**
 * Learning-rate schedules through the public API: the rate each trainStep used, read back as
 * (w − w') / g with plain SGD, against PyTorch 1.13's schedulers:
 *
 * ```python
 * opt = torch.optim.SGD([p], lr=0.25)
 * s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.025)  # or StepLR(opt, step_size=2)
 * for _ in range(12): print(opt.param_groups[0]['lr']); opt.step(); s.step()
 * ```
 */
import { describe, expect, it } from 'vitest';
import { createModel, type ScheduleSpec } from '../../dist/ts/index.js';

/** The rate of each of `steps` SGD steps under `schedule` (base rate 0.25). */
async function rates(schedule: ScheduleSpec | undefined, steps: number): Promise<number[]> {
  const model = await createModel({ input: [1], layers: [{ type: 'dense', units: 1, bias: false }], loss: 'mse', optimizer: { type: 'sgd', lr: 0.25, ...(schedule ? { schedule } : {}) } });
  model.loadStateDict({ '0.weight': { shape: [1, 1], data: [1] } });
  const x = { shape: [1, 1], data: new Float32Array([1]) };
  const y = { shape: [1, 1], data: new Float32Array([0]) };
  const used: number[] = [];
  for (let i = 0; i < steps; i++) {
    const gradient = model.gradients(x, y).grads['0.weight'].data[0];
    const before = model.stateDict()['0.weight'].data[0];
    expect(model.trainStep(x, y).applied).toBe(true);
    used.push((before - model.stateDict()['0.weight'].data[0]) / gradient);
    // Back to w = 1, so every step has the same large gradient and the ratio stays accurate.
    model.loadStateDict({ '0.weight': { shape: [1, 1], data: [1] } });
  }
  model.dispose();
  return used;
}

function expectRates(got: number[], expected: number[]): void {
  expect(got).toHaveLength(expected.length);
  got.forEach((rate, i) => expect(Math.abs(rate - expected[i]), `step ${i}: ${rate} vs ${expected[i]}`).toBeLessThan(1e-6 * expected[0]));
}

describe('learning-rate schedules follow PyTorch', () => {
  it('cosine falls to etaMin at tMax and rises again after it, as CosineAnnealingLR', async () => {
    const torch = [0.25, 0.2170495129, 0.1375, 0.0579504871, 0.025, 0.0579504871, 0.1375, 0.2170495129, 0.25, 0.2170495129, 0.1375, 0.0579504871];
    expectRates(await rates({ type: 'cosine', tMax: 4, etaMin: 0.025 }, 12), torch);
  });

  it('step multiplies by gamma, 0.1 by default as StepLR, every stepSize steps', async () => {
    expectRates(await rates({ type: 'step', stepSize: 2 }, 7), [0.25, 0.25, 0.025, 0.025, 0.0025, 0.0025, 0.00025]);
    expectRates(await rates({ type: 'step', stepSize: 3, gamma: 0.5 }, 7), [0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.0625]);
  });

  it('no schedule keeps the rate', async () => {
    expectRates(await rates(undefined, 3), [0.25, 0.25, 0.25]);
  });
});
