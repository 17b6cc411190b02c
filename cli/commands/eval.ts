/**
 * `sparsegrad eval`: evaluate a model folder on a task — accuracy and macro-F1 on the test
 * split for a BERT classifier (e.g. `finetune`'s output), held-out loss and perplexity for
 * a LLaMa language model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Generator } from '../../core/random.ts';
import type { Module } from '../../nn/module.ts';
import { formatHelp, parseFlags, type FlagSpecs } from '../args.ts';
import { loadBertClassifier, loadLlama } from '../methods.ts';
import { classificationBaselines } from '../baselines.ts';
import { evaluate } from '../train/evaluate.ts';
import { LM_TASK_HINT, loadEncodedTask, modelFolder, taskKind } from './finetune.ts';
import { CLASSIFICATION_TASKS } from '../data/tasks.ts';
import { checkModelFolder } from '../preflight.ts';

export const evalFlags = {
  model: { type: 'string', placeholder: 'DIR', help: 'the model folder (default: pretrained/bert-mini or pretrained/llama-mini by task)' },
  task: { type: 'string', default: 'spam', help: `task: ${CLASSIFICATION_TASKS.join(', ')} (BERT), or ${LM_TASK_HINT} (LLaMa)` },
  maxTest: { type: 'int', min: 1, help: 'classification: test examples (stratified subset)' },
  maxChars: { type: 'int', min: 1, help: 'classification: characters per text; LM: characters per side' },
  maxLength: { type: 'int', min: 4, default: 128, help: 'tokens per text / block' },
  dataSeed: { type: 'int', min: 0, default: 0, help: 'seed of the train/test split (use the one the model was trained with)' },
  heldOutFraction: { type: 'number', min: 0, exclusiveMin: true, max: 0.99, default: 0.1, help: 'LM: share of documents held out' },
  evalBatchSize: { type: 'int', min: 1, default: 64, help: 'examples per batch' },
} as const satisfies FlagSpecs;

export async function evalCommand(argv: readonly string[]): Promise<number> {
  const { flags, help } = parseFlags(argv, evalFlags, 'eval');
  if (help) {
    console.log(formatHelp('eval', 'Evaluate a model folder on a task: accuracy and macro-F1 (classification) or perplexity (LM).', evalFlags));
    return 0;
  }
  const kind = taskKind(flags.task);
  const dir = modelFolder(flags.model, kind);
  await checkModelFolder(dir, kind); // before the test split is tokenized
  const { encoded, split } = await loadEncodedTask(flags.task, dir, { ...flags, maxLength: flags.maxLength, evaluationOnly: true });
  console.log(split);
  let model: Module;
  if (encoded.kind === 'classification') {
    const loaded = await loadBertClassifier(dir, encoded.labels.length, new Generator(0));
    model = loaded.model;
    if (loaded.missing.some((n) => n.startsWith('classifier.'))) {
      console.warn(
        `warning: ${dir} has no classifier head for ${encoded.labels.length} labels (a pretraining checkpoint?): the head is random, so expect chance-level scores`,
      );
    }
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { id2label?: Record<string, string> };
    const names = config.id2label ? Object.values(config.id2label) : null;
    if (names && names.join() !== encoded.labels.join())
      console.warn(`warning: the model's labels (${names.join(', ')}) differ from the task's (${encoded.labels.join(', ')})`);
    classificationBaselines(encoded, null); // the training texts are not tokenized here: the majority class only
  } else {
    model = (await loadLlama(dir, new Generator(0))).model;
  }
  const r = evaluate(model, encoded, flags.evalBatchSize);
  console.log(
    r.kind === 'classification'
      ? `${encoded.name}: accuracy ${(r.accuracy! * 100).toFixed(2)}%, macro-F1 ${(r.f1! * 100).toFixed(2)}% on ${r.examples} test examples`
      : `${encoded.name}: held-out loss ${r.loss!.toFixed(4)}, perplexity ${r.perplexity!.toFixed(2)} on ${r.examples} blocks`,
  );
  return 0;
}
