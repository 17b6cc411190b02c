/**
 * `sparsegrad finetune`: one method on one task with any HF model folder — BERT for the
 * classification tasks, LLaMa for the language-modelling ones — every hyper-parameter a
 * flag, checkpoints (atomic; Ctrl-C saves one) and `--resume`. Writes the fine-tuned model
 * as a plain HF folder (adapters and W̃ merged back into W) plus result.json.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLASSIFICATION_TASKS, loadClassificationTask, loadLmTask } from '../data/tasks.ts';
import { checkPretrainingOverlap } from '../pretrain/task-text.ts';
import { ValueError } from '../../base/errors.ts';
import { configJson } from '../../models/weights.ts';
import { savePretrained, writeFileAtomic } from '../../node.ts';
import { readFolderTokenizer } from '../../node/pretrained.ts';
import { CliError, commandLine, withoutFlag, formatHelp, parseFlags, type FlagSpecs } from '../args.ts';
import { METHOD_LABELS, METHODS, tokenizerFiles, TRAIN_SCOPES, type MethodName, type TrainScope } from '../methods.ts';
import { classificationBaselines } from '../baselines.ts';
import { formatBytes, formatCount } from '../metrics.ts';
import { encodeClassification, encodeLm, type EncodedTask } from '../train/encode.ts';
import { Interrupted } from '../train/interrupt.ts';
import { runTraining } from '../train/run.ts';
import { DEFAULT_BERT, DEFAULT_LLAMA } from '../paths.ts';
import { assertFiniteTensors, DEFAULT_DIVERGENCE } from '../divergence.ts';
import { checkModelFolder, checkOutputFolder } from '../preflight.ts';

export const LM_TASK_HINT = 'moby-dick, brown:<genre>';

export const isClassificationTask = (task: string) => CLASSIFICATION_TASKS.includes(task);

/** The task's kind, or a CliError naming every valid task. */
export function taskKind(task: string): 'classification' | 'lm' {
  if (isClassificationTask(task)) return 'classification';
  if (task === 'moby-dick' || task.startsWith('brown:')) return 'lm';
  throw new CliError(`unknown task '${task}'; valid: ${CLASSIFICATION_TASKS.join(', ')} (classification, BERT), ${LM_TASK_HINT} (language modelling, LLaMa)`);
}

/** The model folder: the flag's (relative to the working directory) or the task kind's default. */
export function modelFolder(flag: string | undefined, kind: 'classification' | 'lm'): string {
  const dir = flag === undefined ? (kind === 'classification' ? DEFAULT_BERT : DEFAULT_LLAMA) : resolve(flag);
  if (!existsSync(join(dir, 'config.json'))) {
    throw new CliError(
      `model folder not found: ${dir} (expected config.json and model.safetensors)${flag === undefined ? "; build the default models with 'sparsegrad pretrain', or pass --model DIR" : ''}`,
    );
  }
  return dir;
}

export interface TaskOptions {
  dataSeed: number;
  maxTrain?: number;
  maxTest?: number;
  maxChars?: number;
  heldOutFraction: number;
  maxLength: number;
  /** LM tuning: training documents held out and evaluated instead of the held-out ones (classification: compare splits examples itself). */
  validation?: number;
  /** Evaluation only: tokenize the test / held-out side alone (the training labels are still kept, for the baseline). */
  evaluationOnly?: boolean;
}

/** Load and tokenize a task with the model folder's tokenizer; `special`: a BERT tokenizer's [CLS], [SEP] and padding ids (null for LLaMa). */
export async function loadEncodedTask(task: string, dir: string, o: TaskOptions): Promise<{ encoded: EncodedTask; split: string; special: number[] | null }> {
  const kind = taskKind(task);
  const tokenizer = await readFolderTokenizer(dir);
  try {
    if (kind === 'classification') {
      if (!tokenizer || !('clsId' in tokenizer)) throw new CliError(`${dir} has no BERT tokenizer (vocab.txt); classification tasks need a BERT folder`);
      checkPretrainingOverlap(dir, task, o.dataSeed);
      const raw = loadClassificationTask(task, { seed: o.dataSeed, maxTrain: o.maxTrain, maxTest: o.maxTest, maxChars: o.maxChars });
      const special = [tokenizer.clsId, tokenizer.sepId, tokenizer.padId];
      if (o.evaluationOnly) {
        const encoded = encodeClassification({ ...raw, train: [] }, tokenizer, o.maxLength);
        return { encoded: { ...encoded, train: raw.train.map((e) => ({ ids: [], label: e.label })) }, split: raw.split, special };
      }
      return { encoded: encodeClassification(raw, tokenizer, o.maxLength), split: raw.split, special };
    }
    if (!tokenizer || 'clsId' in tokenizer) throw new CliError(`${dir} has no LLaMa tokenizer (tokenizer.json); language-modelling tasks need a LLaMa folder`);
    const raw = loadLmTask(task, { seed: o.dataSeed, heldOutFraction: o.heldOutFraction, maxChars: o.maxChars, validation: o.validation });
    return { encoded: encodeLm(o.evaluationOnly ? { ...raw, train: raw.heldOut } : raw, tokenizer, o.maxLength), split: raw.split, special: null };
  } catch (e) {
    if (e instanceof ValueError) throw new CliError(e.message);
    throw e;
  }
}

export const finetuneFlags = {
  task: { type: 'string', default: 'spam', help: `task: ${CLASSIFICATION_TASKS.join(', ')} (BERT), or ${LM_TASK_HINT} (LLaMa)` },
  model: {
    type: 'string',
    placeholder: 'DIR',
    help: 'HF model folder (default: pretrained/bert-mini for classification, pretrained/llama-mini for language modelling)',
  },
  method: { type: 'choice', choices: METHODS, default: 'sparsegrad', help: 'fine-tuning method' },
  seed: { type: 'int', min: 0, default: 42, help: 'training seed (init of new weights, dropout, data order)' },
  steps: { type: 'int', min: 1, default: 200, help: 'optimizer steps (SparseGrad: preliminary steps included)' },
  batchSize: { type: 'int', min: 1, default: 16, help: 'examples (classification) or blocks (LM) per step (LM default: 4)' },
  lr: { type: 'number', min: 0, exclusiveMin: true, default: 1e-3, help: 'learning rate (constant)' },
  maxLength: { type: 'int', min: 4, default: 128, help: 'tokens per text (classification) or per block (LM)' },
  maxTrain: { type: 'int', min: 1, help: 'classification: training examples (stratified subset)' },
  maxTest: { type: 'int', min: 1, help: 'classification: test examples (stratified subset)' },
  maxChars: { type: 'int', min: 1, help: 'classification: characters per text; LM: characters per side' },
  heldOutFraction: { type: 'number', min: 0, exclusiveMin: true, max: 0.99, default: 0.1, help: 'LM: share of documents held out' },
  dataSeed: { type: 'int', min: 0, default: 0, help: 'seed of the train/test split' },
  rank: { type: 'int', min: 1, default: 7, help: 'LoRA rank; MeProp/SparseGrad budget k = rank·(in + out) per layer' },
  k: { type: 'int', min: 1, help: 'MeProp/SparseGrad: entries per layer per step (instead of rank·(in + out))' },
  loraAlpha: { type: 'number', default: 1, help: 'LoRA α (scale α/r)' },
  prelimSteps: { type: 'int', min: 1, default: 11, help: 'SparseGrad: preliminary steps' },
  prelimUpdate: { type: 'boolean', default: true, help: 'SparseGrad: preliminary steps update the model (the reference; --no-prelim-update only collects)' },
  inputBasis: { type: 'choice', choices: ['consistent', 'reference'], default: 'consistent', help: 'SparseGrad input rotation: U or Uᵀ (reference code)' },
  materialized: { type: 'choice', choices: ['auto', 'on', 'off'], default: 'auto', help: 'SparseGrad materialized-weight mode' },
  everyNthBlock: { type: 'int', min: 1, help: 'LLaMa: adapt only blocks whose index is a multiple of N' },
  evalEvery: { type: 'int', min: 0, default: 0, help: 'also evaluate every N steps (0: only at the end)' },
  evalBatchSize: { type: 'int', min: 1, default: 64, help: 'examples per evaluation batch' },
  output: {
    type: 'string',
    placeholder: 'DIR',
    help: 'where the fine-tuned model, result.json and checkpoints go (default: runs/finetune-<task>-<method>-seed<seed>)',
  },
  checkpointDir: { type: 'string', placeholder: 'DIR', help: 'checkpoint folder (default: <output>/checkpoint)' },
  checkpointEvery: { type: 'int', min: 0, default: 0, help: 'save a checkpoint every N steps (0: only on Ctrl-C and at the end)' },
  resume: { type: 'boolean', help: 'continue from the checkpoint (same flags)' },
  save: { type: 'boolean', default: true, help: 'write the merged model folder to <output>/model (--no-save skips it)' },
  concentrationBatches: { type: 'int', min: 0, default: 0, help: 'SparseGrad: measure gradient concentration on N batches' },
  train: {
    type: 'choice',
    choices: TRAIN_SCOPES,
    default: 'paper',
    help: "what trains besides the MLP linears: 'paper' (everything, densely) or 'mlp-only' (everything else frozen but the task head)",
  },
  prelimAll: { type: 'boolean', help: "LoRA/MeProp: start with SparseGrad's preliminary full AdamW steps (--prelim-steps, counted in --steps)" },
  sparseMoments: { type: 'boolean', help: 'SparseGrad: SparseAdam keeps m, v only for the entries ever selected' },
  rowCompaction: { type: 'boolean', help: 'SparseGrad: skip the all-zero rows of the output gradient in the backward' },
  divergenceFactor: {
    type: 'number',
    min: 0,
    default: DEFAULT_DIVERGENCE.factor,
    help: 'stop (exit 3) when the loss stays above this many times its first value (0: never; a NaN/Inf loss or weight always stops)',
  },
  divergenceSteps: { type: 'int', min: 1, default: DEFAULT_DIVERGENCE.patience, help: '... for this many steps in a row' },
  stopAfter: { type: 'int', min: 1, hidden: true, help: 'test hook: interrupt after N steps' },
} as const satisfies FlagSpecs;

export async function finetuneCommand(argv: readonly string[]): Promise<number> {
  const { flags, help, given } = parseFlags(argv, finetuneFlags, 'finetune');
  if (help) {
    console.log(formatHelp('finetune', 'Fine-tune one method on one task; Ctrl-C saves a checkpoint that --resume continues.', finetuneFlags));
    return 0;
  }
  const kind = taskKind(flags.task);
  // Language modelling: each block's logits span the vocabulary (32,000 for LLaMa-2), so fewer blocks per step.
  if (kind === 'lm' && !given.has('batchSize')) flags.batchSize = 4;
  const method = flags.method as MethodName;
  if (method === 'sparsegrad' && flags.steps <= flags.prelimSteps)
    throw new CliError(`--steps (${flags.steps}) must exceed --prelim-steps (${flags.prelimSteps}), which count towards them`);
  const dir = modelFolder(flags.model, kind);
  const output = resolve(flags.output ?? join('runs', `finetune-${flags.task.replace(/[^a-z0-9-]/gi, '_')}-${method}-seed${flags.seed}`));
  const checkpointDir = flags.checkpointDir ? resolve(flags.checkpointDir) : join(output, 'checkpoint');
  if (flags.resume && !existsSync(join(checkpointDir, 'trainer_state.json'))) console.log(`no checkpoint in ${checkpointDir}: starting from the beginning`);
  if (!flags.resume && existsSync(join(checkpointDir, 'trainer_state.json'))) {
    throw new CliError(`${checkpointDir} already holds a checkpoint: continue it with --resume, or choose another --output/--checkpoint-dir`);
  }
  // Before the dataset is tokenized: a bad output path or model folder costs seconds, not the run.
  checkOutputFolder('--output', output);
  if (flags.checkpointDir) checkOutputFolder('--checkpoint-dir', checkpointDir);
  await checkModelFolder(dir, kind);
  console.log(`finetune ${METHOD_LABELS[method]} on ${flags.task} with ${dir}\noutput ${output}`);
  const { encoded, split, special } = await loadEncodedTask(flags.task, dir, { ...flags, maxLength: flags.maxLength });
  console.log(split);
  if (encoded.kind === 'classification') classificationBaselines(encoded, special);
  const { result, model, prepared } = await runTraining(
    {
      model: dir,
      method,
      seed: flags.seed,
      lr: flags.lr,
      batchSize: flags.batchSize,
      steps: flags.steps,
      maxLength: flags.maxLength,
      evalBatchSize: flags.evalBatchSize,
      evalEvery: flags.evalEvery,
      checkpointDir,
      checkpointEvery: flags.checkpointEvery,
      resume: flags.resume,
      rank: flags.rank,
      k: flags.k,
      loraAlpha: flags.loraAlpha,
      prelimSteps: flags.prelimSteps,
      prelimUpdate: flags.prelimUpdate,
      inputBasis: flags.inputBasis as 'consistent' | 'reference',
      materialized: flags.materialized as 'auto' | 'on' | 'off',
      everyNthBlock: flags.everyNthBlock,
      concentrationBatches: method === 'sparsegrad' ? flags.concentrationBatches : 0,
      captureUpdate: false,
      train: flags.train as TrainScope,
      prelimAll: flags.prelimAll ?? false,
      sparseMoments: flags.sparseMoments ?? false,
      rowCompaction: flags.rowCompaction ?? false,
      divergence: { factor: flags.divergenceFactor, patience: flags.divergenceSteps },
      ...(flags.stopAfter !== undefined ? { stopAfter: flags.stopAfter } : {}),
    },
    encoded,
  ).catch((e: unknown) => {
    // The hint names the whole command, runnable as it is (npx, or npm start from a checkout).
    if (e instanceof Interrupted)
      throw new Interrupted(e.checkpointDir, e.step, commandLine(['finetune', ...withoutFlag(withoutFlag(argv, 'stop-after'), 'resume', false), '--resume']));
    throw e;
  });
  await writeFileAtomic(join(output, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
  if (flags.save) {
    prepared.merge();
    const modelDir = join(output, 'model');
    assertFiniteTensors(modelDir, Object.entries(model.stateDict())); // checked at every step too; this is the last word
    await savePretrained(modelDir, model, { tokenizerFiles: await tokenizerFiles(dir) });
    if (encoded.kind === 'classification') {
      // HF's label names, so `eval` and transformers show them.
      const config = {
        ...configJson(model),
        id2label: Object.fromEntries(encoded.labels.map((l, i) => [String(i), l])),
        label2id: Object.fromEntries(encoded.labels.map((l, i) => [l, i])),
      };
      await writeFileAtomic(join(modelDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    }
    console.log(`model: ${modelDir}`);
  }
  const m = result.memory;
  const score =
    result.eval.kind === 'classification'
      ? `accuracy ${(result.eval.accuracy! * 100).toFixed(2)}%, macro-F1 ${(result.eval.f1! * 100).toFixed(2)}%`
      : `held-out loss ${result.eval.loss!.toFixed(4)}, perplexity ${result.eval.perplexity!.toFixed(2)}`;
  console.log(
    `${METHOD_LABELS[method]} seed ${flags.seed}: ${score}; ${result.msPerStep.toFixed(0)} ms/step${m ? `; ${formatCount(m.trainableEntries)} trainable, grad + optimizer state ${formatBytes(m.gradOptBytes)}` : ''}; peak RSS ${formatBytes(result.peakRssBytes)}`,
  );
  console.log(`result: ${join(output, 'result.json')}`);
  return 0;
}
