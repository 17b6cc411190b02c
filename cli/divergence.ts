/**
 * Divergence: a run that has gone wrong stops with a clear message and a non-zero exit
 * instead of finishing "successfully" with a majority-class accuracy and a model full of
 * ±Inf (`finetune --lr 10` used to print losses 0.76 → 190 → 2828 and exit 0).
 *
 * Three checks, cheap enough for every step (one pass over the trainable weights costs
 * a few ms against a step of hundreds):
 * - the loss is finite, checked after the forward pass and before the update, so a NaN
 *   loss never reaches the weights;
 * - the loss does not stay above `factor` × the run's first loss for `patience` steps in a
 *   row (a single spike is forgiven; a 2-class cross-entropy 10× its initial 0.69 means
 *   confident wrong answers on average, which no healthy run sustains);
 * - every trainable weight is finite after the update (`--lr 1e39` keeps the loss of the
 *   first step finite, and only the weights show it).
 * And one before writing: `assertFiniteTensors` refuses to save a model or checkpoint
 * holding a non-finite value, whatever let it through.
 */
import type { Tensor } from '../core/tensor.ts';
import { CliError } from './args.ts';

/** The exit status of a diverged run (2 is a usage error, 130 an interrupt). */
export const DIVERGED_EXIT = 3;

export class Diverged extends CliError {
  constructor(message: string) {
    super(message, DIVERGED_EXIT);
    this.name = 'Diverged';
  }
}

export interface DivergenceOptions {
  /** Stop when the loss exceeds factor × the first loss for `patience` steps in a row; 0 turns the ratio check off. */
  factor: number;
  patience: number;
}

export const DEFAULT_DIVERGENCE: DivergenceOptions = { factor: 10, patience: 5 };

/** The first non-finite entry among named tensors, found in one pass per tensor. */
export function firstNonFinite(named: Iterable<readonly [string, Tensor]>): { name: string; index: number; value: number } | null {
  for (const [name, t] of named) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64') continue;
    const values = t.isContiguous() && t.offset === 0 && t.data.length === t.numel ? t.data : t.contiguous().data;
    // v·0 is 0 for finite v and NaN for NaN or ±Inf: one sum, no branch per value.
    let probe = 0;
    for (let i = 0; i < values.length; i++) probe += values[i]! * 0;
    if (probe === 0) continue;
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return { name, index: i, value: values[i]! };
  }
  return null;
}

/** Refuse to write `path` if any tensor about to go into it is non-finite. */
export function assertFiniteTensors(path: string, named: Iterable<readonly [string, Tensor]>): void {
  const bad = firstNonFinite(named);
  if (bad) throw new Diverged(`refusing to write ${path}: tensor '${bad.name}' holds ${bad.value} (entry ${bad.index}); the run diverged, nothing was written`);
}

/** Watches one run's losses and weights; each check throws `Diverged`. */
export class DivergenceGuard {
  private first: number | undefined;
  private over = 0;

  /** `history`: the losses of the steps already taken (a resumed run picks up its first loss and its streak). */
  constructor(
    readonly label: string,
    readonly options: DivergenceOptions = DEFAULT_DIVERGENCE,
    history: readonly number[] = [],
  ) {
    for (const value of history) this.track(value);
  }

  private track(value: number): boolean {
    if (this.first === undefined) {
      this.first = value;
      return false;
    }
    const high = this.options.factor > 0 && value > this.options.factor * this.first;
    this.over = high ? this.over + 1 : 0;
    return this.over >= this.options.patience;
  }

  /** The loss of 1-based step `step`, before the update. */
  loss(step: number, value: number): void {
    if (!Number.isFinite(value)) {
      throw new Diverged(`${this.label}: the loss became ${value} at step ${step}; the run diverged (lower --lr); nothing of this step was saved`);
    }
    if (this.track(value)) {
      const { factor, patience } = this.options;
      throw new Diverged(
        `${this.label}: the loss diverged: ${value.toPrecision(4)} at step ${step}, above ${factor}× its first value (${this.first!.toPrecision(4)}) for ${patience} steps in a row; ` +
          'lower --lr (--divergence-factor 0 turns this check off)',
      );
    }
  }

  /** The weights after the update of step `step`. */
  weights(step: number, named: Iterable<readonly [string, Tensor]>): void {
    const bad = firstNonFinite(named);
    if (bad) throw new Diverged(`${this.label}: weight '${bad.name}' became ${bad.value} (entry ${bad.index}) at step ${step}; the run diverged (lower --lr)`);
  }
}
