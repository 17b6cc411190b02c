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

/** `get_constant_schedule` (and `_with_warmup`): 1 after the warm-up. */
export function constant({ warmupSteps = 0 }: WarmupOptions = {}): Schedule {
  return withWarmup(warmupSteps, () => 1);
}

/** `get_linear_schedule_with_warmup`: from 1 after the warm-up down to 0 at `totalSteps`, then 0. */
export function linear({ warmupSteps = 0, totalSteps }: DecayOptions): Schedule {
  return withWarmup(warmupSteps, (step) => Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps)));
}

/** `get_cosine_schedule_with_warmup`: half a cosine (`cycles` 0.5) from 1 after the warm-up to 0 at `totalSteps`. */
export function cosine({ warmupSteps = 0, totalSteps, cycles = 0.5 }: DecayOptions & { cycles?: number }): Schedule {
  return withWarmup(warmupSteps, (step) => {
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
  });
}

/** torch's `StepLR` (closed form): multiply by `gamma` every `stepSize` steps. */
export function stepDecay({ stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }): Schedule {
  return (step) => gamma ** Math.floor(step / stepSize);
}

/** Sets each group's `lr` to its base lr (the lr when the scheduler was made) times the schedule. */
export class LRScheduler {
  readonly baseLrs: number[];
  /** Optimizer steps counted so far. */
  lastStep = 0;

  constructor(readonly optimizer: Optimizer, readonly schedule: Schedule) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.hyper.lr);
    this.apply();
  }

  /** Call after each `optimizer.step()`. */
  step(): void {
    this.lastStep++;
    this.apply();
  }

  get lastLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.hyper.lr);
  }

  stateDict(): { lastStep: number; baseLrs: number[] } {
    return { lastStep: this.lastStep, baseLrs: [...this.baseLrs] };
  }

  loadStateDict(state: { lastStep: number; baseLrs: readonly number[] }): void {
    check(state.baseLrs.length === this.baseLrs.length, `LRScheduler: ${state.baseLrs.length} base lrs for ${this.baseLrs.length} parameter groups`);
    this.lastStep = state.lastStep;
    this.baseLrs.splice(0, this.baseLrs.length, ...state.baseLrs);
    this.apply();
  }

  private apply(): void {
    const factor = this.schedule(this.lastStep);
    this.optimizer.paramGroups.forEach((g, i) => (g.hyper.lr = this.baseLrs[i]! * factor));
  }
}
