/**
 * Where the step loop begins: the method prepared, the state the result accumulates, the
 * first step to take and the divergence guard. A run gets there either fresh
 * (fresh-start.ts: the preliminary steps, if any, then the method) or from its
 * checkpoint (resume.ts); this file holds what both ways share.
 *
 * Why both produce the same thing: from here on, a resumed run and an uninterrupted one
 * run the very same code, which is what lets them end with bitwise the same weights.
 */
import { Generator } from '../../core/random.ts';
import { DEFAULT_DIVERGENCE, DivergenceGuard } from '../divergence.ts';
import { type Prepared, prepareSimple } from '../methods.ts';
import type { RunConfig } from './config.ts';
import type { RunContext } from './context.ts';
import type { SavedState } from './saved-state.ts';
import { mixSeed } from './stream.ts';

export interface Start {
  prepared: Prepared;
  saved: SavedState;
  /** The 0-based step the loop begins at: after the preliminary steps, or the checkpoint's. */
  startStep: number;
  /** Checks every loss of the run before its backward pass and update, and the weights after (cli/divergence.ts). */
  guard: DivergenceGuard;
  /** The checkpoint's step when the run was resumed; null for a fresh run. */
  resumedFrom: number | null;
}

/** The run's divergence guard; `history`: the losses of the steps already taken (a resumed run picks up its streak). */
export function divergenceGuard(c: RunConfig, history: readonly number[] = []): DivergenceGuard {
  return new DivergenceGuard(c.label ?? c.method, c.divergence ?? DEFAULT_DIVERGENCE, history);
}

/** Full FT, LoRA or MeProp on the model as it is; LoRA's A is drawn from its own seeded generator. */
export function prepareSimpleMethod(ctx: RunContext): Prepared {
  return prepareSimple(ctx.model, ctx.methodOptions, new Generator(mixSeed(ctx.config.seed, 0x10a)));
}
