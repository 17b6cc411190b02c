/**
 * Learning-rate schedules. A `Schedule` is a pure function from the number of optimizer
 * steps taken to a factor of each group's base lr — torch's `LambdaLR` lambda, and the
 * form of Hugging Face's `get_*_schedule_with_warmup` (transformers `optimization.py`),
 * whose formulas these copy expression for expression. `LRScheduler` applies one to an
 * optimizer: `optimizer.step(); scheduler.step();` as in torch.
 */
import { check, type Optimizer } from './optimizer.ts';

export type Schedule = (step: number) => number;

export interface WarmupOptions {
  /** Steps of linear warm-up from 0 (HF: `num_warmup_steps`); default 0. */
  warmupSteps?: number;
}
export interface DecayOptions extends WarmupOptions {
  /** Total steps, where linear decay reaches 0 (HF: `num_training_steps`). */
  totalSteps: number;
}

/** HF's warm-up, shared by every schedule: step/warmup while step < warmup. */
function withWarmup(warmupSteps: number, after: Schedule): Schedule {
  return (step) => (step < warmupSteps ? step / Math.max(1, warmupSteps) : after(step));
}

/**
 * `get_constant_schedule` (and `_with_warmup`): 1 after the warm-up.
 *
 * @example
 * ```ts
 * import { constant } from 'sparsegrad/optim';
 * const f = constant({ warmupSteps: 2 });
 * [0, 1, 2, 3].map(f); // => [0, 0.5, 1, 1]
 * ```
 */
export function constant({ warmupSteps = 0 }: WarmupOptions = {}): Schedule {
  return withWarmup(warmupSteps, () => 1);
}

/**
 * `get_linear_schedule_with_warmup`: from 1 after the warm-up down to 0 at `totalSteps`, then 0.
 *
 * @example
 * ```ts
 * import { linear } from 'sparsegrad/optim';
 * const f = linear({ warmupSteps: 1, totalSteps: 5 });
 * [0, 1, 2, 3, 4, 5, 6].map(f); // => [0, 1, 0.75, 0.5, 0.25, 0, 0]
 * ```
 */
export function linear({ warmupSteps = 0, totalSteps }: DecayOptions): Schedule {
  return withWarmup(warmupSteps, (step) => Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps)));
}

/**
 * `get_cosine_schedule_with_warmup`: half a cosine (`cycles` 0.5) from 1 after the warm-up to 0 at `totalSteps`.
 *
 * @example
 * ```ts
 * import { cosine } from 'sparsegrad/optim';
 * const f = cosine({ totalSteps: 4 });
 * [0, 2, 4].map(f); // => [1, 0.5, 0]
 * ```
 */
export function cosine({ warmupSteps = 0, totalSteps, cycles = 0.5 }: DecayOptions & { cycles?: number }): Schedule {
  return withWarmup(warmupSteps, (step) => {
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
  });
}

/**
 * torch's `StepLR` (closed form): multiply by `gamma` every `stepSize` steps.
 *
 * @example
 * ```ts
 * import { stepDecay } from 'sparsegrad/optim';
 * const f = stepDecay({ stepSize: 2, gamma: 0.5 });
 * [0, 1, 2, 3, 4].map(f); // => [1, 1, 0.5, 0.5, 0.25]
 * ```
 */
export function stepDecay({ stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }): Schedule {
  return (step) => gamma ** Math.floor(step / stepSize);
}

/**
 * Sets each group's `lr` to its base lr (the lr when the scheduler was made) times the schedule.
 *
 * @example
 * ```ts
 * import { linear, LRScheduler, SGD } from 'sparsegrad/optim';
 * import { zeros } from 'sparsegrad';
 * const opt = new SGD([zeros([2], { requiresGrad: true })], { lr: 0.1 });
 * const scheduler = new LRScheduler(opt, linear({ totalSteps: 4 }));
 * scheduler.lastLrs; // => [0.1]
 * opt.step();
 * scheduler.step();
 * scheduler.lastLrs; // => [0.075]
 * ```
 */
export class LRScheduler {
  readonly baseLrs: number[];
  /** Optimizer steps counted so far. */
  lastStep = 0;

  constructor(
    readonly optimizer: Optimizer,
    readonly schedule: Schedule,
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.hyper.lr);
    this.apply(0);
  }

  /** Call after each `optimizer.step()`. */
  step(): void {
    this.apply(this.lastStep + 1);
    this.lastStep++;
  }

  get lastLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.hyper.lr);
  }

  stateDict(): { lastStep: number; baseLrs: number[] } {
    return { lastStep: this.lastStep, baseLrs: [...this.baseLrs] };
  }

  loadStateDict(state: { lastStep: number; baseLrs: readonly number[] }): void {
    check(state.baseLrs.length === this.baseLrs.length, `LRScheduler: ${state.baseLrs.length} base lrs for ${this.baseLrs.length} parameter groups`);
    const previous = [...this.baseLrs];
    this.baseLrs.splice(0, this.baseLrs.length, ...state.baseLrs);
    try {
      this.apply(state.lastStep);
    } catch (e) {
      this.baseLrs.splice(0, this.baseLrs.length, ...previous);
      throw e;
    }
    this.lastStep = state.lastStep;
  }

  /** A schedule is user code: a factor giving a negative or non-finite lr is refused before anything changes. */
  private apply(step: number): void {
    const factor = this.schedule(step);
    const lrs = this.baseLrs.map((base) => base * factor);
    lrs.forEach((lr, i) =>
      check(
        Number.isFinite(lr) && lr >= 0,
        `LRScheduler: the schedule gives factor ${factor} at step ${step}, so group ${i}'s learning rate would be ${lr} (Invalid learning rate: it must be finite and ≥ 0)`,
      ),
    );
    this.optimizer.paramGroups.forEach((g, i) => (g.hyper.lr = lrs[i]!));
  }
}
