/**
 * The "Settings" table of a comparison's report and results.json: every value the runs
 * used, in words.
 *
 * Why in words and relative paths: a committed results folder must say how it was made
 * without its reader knowing the flags' defaults, and name no machine's folders.
 */
import { resolve } from 'node:path';
import { portablePath } from '../paths.ts';
import { sweepChoice } from '../report/sweep-table.ts';
import type { ReportData } from '../report/data.ts';
import type { EncodedTask } from '../train/encode.ts';
import { pretrainingSummary } from '../weights-identity.ts';
import { formatLrs } from './profiles.ts';
import type { Settings } from './settings.ts';

/** `weights`: the digest of the model's weights. */
export function reportSettings(s: Settings, encoded: EncodedTask, weights: string): ReportData['settings'] {
  const { kind, sweep } = s;
  return {
    // Relative to where the command ran when inside it, so that committed results name no machine's folders.
    model: portablePath(s.model),
    'model weights': [weights, pretrainingSummary(s.model)].filter(Boolean).join('; '),
    task: s.task,
    ...(encoded.kind === 'classification'
      ? { 'train / test examples': `${encoded.train.length} / ${encoded.test.length}` }
      : { 'train / held-out blocks': `${encoded.train.length} / ${encoded.heldOut.length} of ${encoded.blockLength} tokens` }),
    steps: s.steps,
    'batch size': s.batchSize,
    'max length': s.maxLength,
    'learning rate': formatLrs(s),
    ...(s.validation
      ? {
          evaluation: `validation: ${s.validation} held-out training ${kind === 'lm' ? 'documents (not the held-out documents)' : 'examples (not the test split)'}`,
        }
      : {}),
    seeds: s.seeds.join(', '),
    rank: s.rank,
    'SparseGrad preliminary steps': s.prelimSteps,
    'SparseGrad input basis': s.inputBasis,
    'parallel jobs': s.jobs,
    'trained besides the MLP linears':
      s.train === 'paper' ? 'everything (paper)' : kind === 'lm' ? 'nothing (mlp-only: a causal LM has no task head)' : 'the task head only (mlp-only)',
    'preliminary full steps for LoRA and MeProp': s.prelimAll ? `yes (${s.prelimSteps})` : 'no',
    'SparseAdam moments': s.sparseMoments ? 'sparse (touched entries only)' : 'dense',
    'row compaction': s.rowCompaction ? 'on' : 'off',
    ...(sweep
      ? {
          'learning rates chosen by': `${portablePath(resolve(sweep.file))} (${sweepChoice(sweep.summary.metric)})`,
        }
      : {}),
    'bootstrap replicates': s.bootstrap,
    ...(s.k !== undefined ? { 'MeProp/SparseGrad k per layer': s.k } : {}),
  };
}
