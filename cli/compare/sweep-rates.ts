/**
 * `compare --sweep FILE`: each method's learning rate from the sweep.json of
 * `sparsegrad sweep`, checked against this comparison.
 *
 * Why the checks: rates chosen for another task, on other weights, or on a validation
 * split the comparison would evaluate on again are not this comparison's rates; a sweep
 * that did not run a method leaves it without one. Each is refused with one line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { CliError } from '../args.ts';
import { METHOD_LABELS, type MethodName } from '../methods.ts';
import type { SweepSummary } from '../commands/sweep.ts';

/** A sweep's summary, checked against this comparison: same task, no --lr or --validation beside it. */
export function readSweep(path: string, task: string, flags: { lr?: number; validation?: number }): SweepSummary {
  if (!existsSync(path)) throw new CliError(`--sweep: no file ${path} (run 'sparsegrad sweep' first; it writes sweep.json in its --out)`);
  const sweep = JSON.parse(readFileSync(path, 'utf8')) as SweepSummary;
  if (!sweep.chosen || !sweep.grid) throw new CliError(`--sweep: ${path} is not a sweep summary (no 'chosen' rates)`);
  if (sweep.task !== task) throw new CliError(`--sweep: ${path} swept ${sweep.task}, this comparison runs ${task}`);
  if (flags.lr !== undefined) throw new CliError('--sweep and --lr exclude each other (--lr-<method> overrides one method)');
  if (flags.validation !== undefined)
    throw new CliError('--sweep: the rates were chosen on a validation split; the comparison that uses them evaluates on the test split (drop --validation)');
  return sweep;
}

/** Every method compared has a rate: the sweep's choice or its own --lr-<method>. */
export function checkSweepCovers(sweepFlag: string, sweep: SweepSummary, methods: readonly MethodName[], lrFlag: Record<MethodName, number | undefined>): void {
  const missing = methods.filter((m) => sweep.chosen[m] === undefined && lrFlag[m] === undefined);
  if (missing.length > 0)
    throw new CliError(
      `--sweep ${sweepFlag}: no rate was chosen for ${missing.map((m) => METHOD_LABELS[m]).join(', ')} (the sweep ran ${Object.keys(sweep.chosen).join(', ')}); sweep them too, or pass --lr-<method>`,
    );
}

/** The sweep ran on the weights the comparison fine-tunes (`weights`: their digest). */
export function checkSweepWeights(sweepFlag: string, sweep: SweepSummary, model: string, weights: string): void {
  if (sweep.weights !== weights)
    throw new CliError(
      `--sweep ${sweepFlag}: its rates were chosen on other weights (${sweep.weights ?? 'not recorded: a sweep from before weights were recorded'}); ${model} holds ${weights}. Run the sweep on this model`,
    );
}
