/**
 * Schedules at known steps against hand-computed values of Hugging Face's
 * `get_*_schedule_with_warmup` and torch's `StepLR`, and the scheduler's effect on groups.
 */
import { describe, expect, test } from 'vitest';
import { tensor, ValueError, zeros } from '../../index.ts';
import { adamW, constant, cosine, linear, LRScheduler, Optimizer, SGD, stepDecay, type Schedule } from '../../optim/index.ts';

const at = (schedule: Schedule, steps: number[]) => steps.map(schedule);

describe('schedule values', () => {
  test('constant, with and without warm-up (get_constant_schedule[_with_warmup])', () => {
    expect(at(constant(), [0, 1, 1000])).toEqual([1, 1, 1]);
    expect(at(constant({ warmupSteps: 4 }), [0, 1, 2, 3, 4, 9])).toEqual([0, 0.25, 0.5, 0.75, 1, 1]);
  });

  test('linear warm-up then decay to 0 (get_linear_schedule_with_warmup, 10 warm-up of 100)', () => {
    expect(at(linear({ warmupSteps: 10, totalSteps: 100 }), [0, 5, 10, 55, 99, 100, 150])).toEqual([0, 0.5, 1, 0.5, 1 / 90, 0, 0]);
    expect(at(linear({ totalSteps: 4 }), [0, 1, 4])).toEqual([1, 0.75, 0]);
  });

  test('cosine with warm-up (get_cosine_schedule_with_warmup, 10 warm-up of 110)', () => {
    const s = cosine({ warmupSteps: 10, totalSteps: 110 });
    expect(at(s, [0, 5, 10, 60, 110])).toEqual([0, 0.5, 1, expect.closeTo(0.5, 15), 0]);
    expect(s(35)).toBeCloseTo(0.5 * (1 + Math.SQRT1_2), 15); // progress ¼: ½(1 + cos π/4)
    expect(s(85)).toBeCloseTo(0.5 * (1 - Math.SQRT1_2), 15);
    expect(cosine({ totalSteps: 100, cycles: 1 })(100)).toBeCloseTo(1, 15); // a full cycle comes back up
  });

  test('step decay (StepLR, step 3, γ ½)', () => {
    expect(at(stepDecay({ stepSize: 3, gamma: 0.5 }), [0, 2, 3, 5, 6, 9])).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
  });
});

describe('LRScheduler', () => {
  const make = () =>
    new Optimizer(
      [
        { params: [tensor([1]).setRequiresGrad()], lr: 0.1 },
        { params: [tensor([2]).setRequiresGrad()], lr: 0.01 },
      ],
      { rule: adamW },
    );

  test('sets every group’s lr to base × factor, starting at step 0 (torch LambdaLR)', () => {
    const opt = make();
    const scheduler = new LRScheduler(opt, linear({ warmupSteps: 2, totalSteps: 4 }));
    expect(scheduler.lastLrs).toEqual([0, 0]);
    scheduler.step();
    expect(scheduler.lastLrs).toEqual([0.05, 0.005]);
    scheduler.step();
    scheduler.step();
    expect(scheduler.lastLrs).toEqual([0.05, 0.005]);
    expect(opt.stateDict().paramGroups.map((g) => g.lr)).toEqual([0.05, 0.005]);
  });

  test('its state dict round-trips', () => {
    const a = new LRScheduler(make(), cosine({ warmupSteps: 1, totalSteps: 10 }));
    for (let i = 0; i < 4; i++) a.step();
    const b = new LRScheduler(make(), cosine({ warmupSteps: 1, totalSteps: 10 }));
    b.loadStateDict(a.stateDict());
    a.step();
    b.step();
    expect(b.lastLrs).toEqual(a.lastLrs);
    expect(() => b.loadStateDict({ lastStep: 0, baseLrs: [1] })).toThrow('LRScheduler: 1 base lrs for 2 parameter groups');
  });
});

test('a schedule giving a non-finite or negative lr is refused, and nothing changes (lr, step count)', () => {
  const opt = new SGD([zeros([2], { requiresGrad: true })], { lr: 0.1 });
  const bad = new LRScheduler(opt, (step) => (step === 0 ? 1 : step === 1 ? Infinity : -1));
  expect(() => bad.step()).toThrow(
    new ValueError(
      "LRScheduler: the schedule gives factor Infinity at step 1, so group 0's learning rate would be Infinity (Invalid learning rate: it must be finite and ≥ 0)",
    ),
  );
  expect([opt.paramGroups[0]!.hyper.lr, bad.lastStep]).toEqual([0.1, 0]);
  expect(() => bad.loadStateDict({ lastStep: 5, baseLrs: [0.2] })).toThrow(/factor -1 at step 5, so group 0's learning rate would be -0\.2/);
  expect([opt.paramGroups[0]!.hyper.lr, bad.lastStep, bad.baseLrs]).toEqual([0.1, 0, [0.1]]);
  expect(() => new LRScheduler(opt, () => NaN)).toThrow(/factor NaN at step 0/);
});
