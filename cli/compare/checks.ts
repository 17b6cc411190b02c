/**
 * A comparison's settings checked before anything is loaded or trained.
 *
 * Why up front: a comparison starts one worker process per run, possibly for hours; a
 * setting that cannot work (too few steps, a seed twice, a missing model, an output path
 * that is a file, a sweep made on other weights) should fail in the first second with one
 * clear line, not once per worker with a stack trace.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../args.ts';
import { checkModelFolder, checkOutputFolder } from '../preflight.ts';
import { weightsDigest } from '../weights-identity.ts';
import type { CompareFlags } from './flags.ts';
import type { Settings } from './settings.ts';
import { checkSweepCovers, checkSweepWeights } from './sweep-rates.ts';

/** The settings agree with each other, and the model folder exists. */
export function checkSettings(s: Settings, flags: CompareFlags): void {
  if (s.methods.includes('sparsegrad') && s.steps <= s.prelimSteps)
    throw new CliError(`--steps (${s.steps}) must exceed --prelim-steps (${s.prelimSteps}): SparseGrad's preliminary steps count towards the run's steps`);
  if (s.prelimAll && s.steps <= s.prelimSteps)
    throw new CliError(`--prelim-all: --steps (${s.steps}) must exceed --prelim-steps (${s.prelimSteps}), which LoRA and MeProp then take first too`);
  if (s.sweep) {
    const lrFlag = { full: flags.lrFull, lora: flags.lrLora, meprop: flags.lrMeprop, sparsegrad: flags.lrSparsegrad };
    checkSweepCovers(s.sweep.file, s.sweep.summary, s.methods, lrFlag);
  }
  if (new Set(s.seeds).size !== s.seeds.length) throw new CliError(`--seeds lists a seed twice: ${s.seeds.join(',')}`);
  if (!existsSync(join(s.model, 'config.json'))) {
    throw new CliError(
      `model folder not found: ${s.model} (expected config.json, model.safetensors and vocab.txt)${flags.model === undefined ? "; build it with 'sparsegrad pretrain' or pass --model DIR" : ''}`,
    );
  }
}

/** The output folder can be written and the model loads; resolves with the digest of its weights. */
export async function preflight(s: Settings): Promise<string> {
  checkOutputFolder('--out', s.out);
  await checkModelFolder(s.model, s.kind);
  const weights = weightsDigest(s.model);
  if (s.sweep) checkSweepWeights(s.sweep.file, s.sweep.summary, s.model, weights);
  return weights;
}
