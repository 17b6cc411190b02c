/**
 * The main phase: step after step up to the configured total, with a progress bar, an
 * evaluation every `evalEvery` steps, a checkpoint every `checkpointEvery` steps and at
 * the end, and Ctrl-C honoured between steps (checkpoint, then `Interrupted`).
 *
 * Why the loop yields to the event loop after every step: the SIGINT handler can only
 * run then, and a step boundary is the one place where a checkpoint is consistent.
 */
import { startProgress } from '../progress.ts';
import { writeCheckpoint } from './checkpoint.ts';
import type { RunContext } from './context.ts';
import { evaluate } from './evaluate.ts';
import { Interrupted, interruptPending, yieldToEventLoop } from './interrupt.ts';
import type { Start } from './start.ts';
import { stepper } from './step.ts';

/** Train from `start.startStep` to the last step; returns the seconds it took. */
export async function trainSteps(ctx: RunContext, start: Start): Promise<number> {
  const { config: c, model, task } = ctx;
  const { saved } = start;
  const save = (step: number) => writeCheckpoint(ctx, start, step);
  const takeStep = stepper(ctx, start);
  const trainStart = performance.now();
  const bar = startProgress(`train ${c.label ?? c.method}`, c.steps - start.startStep);
  let done = 0;
  for (let step = start.startStep; step < c.steps; step++) {
    const value = takeStep(step);
    const last = step === c.steps - 1;
    done++;
    bar.tick(1, `loss ${value.toFixed(4)}`);
    if (c.evalEvery > 0 && (step + 1) % c.evalEvery === 0 && !last) {
      const e = evaluate(model, task, c.evalBatchSize, false);
      saved.evalCurve.push({ step: step + 1, accuracy: e.accuracy, loss: e.loss });
    }
    if (c.stopAfter !== undefined && done === c.stopAfter) process.kill(process.pid, 'SIGINT');
    if (c.checkpointEvery > 0 && (step + 1) % c.checkpointEvery === 0 && !last) await save(step + 1);
    await yieldToEventLoop();
    if (interruptPending()) {
      bar.done('interrupted');
      await save(step + 1);
      throw new Interrupted(c.checkpointDir, step + 1);
    }
  }
  const trainSeconds = (performance.now() - trainStart) / 1000;
  bar.done(saved.losses.length ? `loss ${saved.losses.at(-1)!.toFixed(4)}` : undefined);
  if (done > 0) await save(c.steps);
  return trainSeconds;
}
