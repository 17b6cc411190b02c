/**
 * What every part of one run shares: its configuration and encoded task, the model
 * (loaded, in train mode, its training scope applied) with the model's generator, the
 * data order, and the options the method is prepared with.
 *
 * Why one object: starting, stepping, checkpointing and evaluating each need most of
 * these; handing them over as one keeps the outline in run.ts short.
 */
import { Generator } from '../../core/random.ts';
import type { BertForSequenceClassification } from '../../models/bert.ts';
import type { LlamaForCausalLM } from '../../models/llama.ts';
import { applyTrainScope, loadBertClassifier, loadLlama, type MethodOptions } from '../methods.ts';
import type { RunConfig } from './config.ts';
import type { EncodedTask } from './encode.ts';
import { Stream } from './stream.ts';

export type AnyModel = BertForSequenceClassification | LlamaForCausalLM;

export interface RunContext {
  readonly config: RunConfig;
  readonly task: EncodedTask;
  readonly model: AnyModel;
  /** The model's generator (classifier init, dropout masks), `Generator(seed)`; checkpoints keep its state. */
  readonly generator: Generator;
  readonly stream: Stream;
  readonly methodOptions: MethodOptions;
}

/** Load the model for `task` (a BERT classifier or a LLaMa) and set up what the run shares. */
export async function loadContext(c: RunConfig, task: EncodedTask): Promise<RunContext> {
  const generator = new Generator(c.seed);
  const model: AnyModel =
    task.kind === 'classification' ? (await loadBertClassifier(c.model, task.labels.length, generator)).model : (await loadLlama(c.model, generator)).model;
  model.train();
  applyTrainScope(model, c); // before any method is prepared: 'mlp-only' freezes all but the MLP linears and the head
  const tokensPerStep = c.batchSize * (task.kind === 'classification' ? c.maxLength : task.blockLength);
  return { config: c, task, model, generator, stream: new Stream(task.train.length, c.seed), methodOptions: { ...c, tokensPerStep } };
}
