/**
 * LLaMa's pretraining task: causal LM over the documents as one token stream (LLaMa-2's
 * vocabulary, an end-of-sequence token between documents) cut into windows that each start
 * with the beginning-of-sequence token.
 */
import { ValueError } from '../../base/errors.ts';
import { Generator } from '../../core/random.ts';
import { llamaConfig } from '../../models/config.ts';
import { LlamaForCausalLM } from '../../models/llama.ts';
import { LlamaTokenizer } from '../../models/tokenizers/index.ts';
import { ARCHITECTURES } from './architectures.ts';
import { clmBatch, clmLoss, documentStream, tokenWindows } from './clm.ts';
import { llamaTokenizerJson } from './corpus.ts';
import { initWeights, type PretrainTask } from './run.ts';
import { batches, type Built, type BuildArgs, documents, EpochOrder, evaluateAll, spread, unigramBaseline } from './task-kit.ts';

export async function buildLlama(args: BuildArgs): Promise<Built<ReturnType<typeof clmBatch>>> {
  const shipped = { ...ARCHITECTURES.llama[args.size ?? 'mini'], ...(args.config ?? {}) };
  const config = llamaConfig(shipped);
  if (args.seqLength > config.max_position_embeddings)
    throw new ValueError(`pretrain: seqLength ${args.seqLength} exceeds max_position_embeddings ${config.max_position_embeddings}`);
  const json = await llamaTokenizerJson();
  const tokenizer = new LlamaTokenizer(json);
  if (tokenizer.vocab.size !== config.vocab_size)
    throw new ValueError(`pretrain: the tokenizer has ${tokenizer.vocab.size} tokens but config.vocab_size is ${config.vocab_size}`);
  const texts = await documents(args);
  const encode = (docs: readonly string[]) =>
    documentStream(
      docs.map((d) => tokenizer.encode(d, { addBos: false })),
      tokenizer.eosId,
    );
  const trainStream = encode(texts.train);
  const heldOutStream = encode(texts.heldOut);
  const trainWindows = tokenWindows(trainStream, args.seqLength, tokenizer.bosId);
  const heldOutWindows = tokenWindows(heldOutStream, args.seqLength, tokenizer.bosId);
  if (trainWindows.length === 0 || heldOutWindows.length === 0) throw new ValueError(`pretrain: the text is shorter than one ${args.seqLength}-token window`);
  const counts = new Float64Array(config.vocab_size);
  for (const id of trainStream) counts[id]!++;

  const modelGenerator = new Generator(args.seed);
  const model = new LlamaForCausalLM(config, { generator: modelGenerator });
  initWeights(model, (shipped.initializer_range as number | undefined) ?? 0.02, modelGenerator);
  const order = new EpochOrder(trainWindows.length, args.seed);
  const evalWindows = spread(heldOutWindows, args.evalSequences);
  const evalBatches = batches(evalWindows, 8).map((w) => clmBatch(w));
  const task: PretrainTask<ReturnType<typeof clmBatch>> = {
    model,
    nextBatch: () => clmBatch(order.take(args.batchSize).map((i) => trainWindows[i]!)),
    loss: (batch) => clmLoss(model, batch),
    evaluate: () => evaluateAll(evalBatches.map((b) => () => clmLoss(model, b))),
    dataState: () => ({ epoch: order.epoch, cursor: order.cursor }),
    restoreData: (s) => order.restore(s),
    generators: { model: modelGenerator },
  };
  return {
    task,
    exportModel: () => model,
    tokenizerFiles: {
      'tokenizer.json': `${JSON.stringify(json, null, 2)}\n`,
      'tokenizer_config.json': `${JSON.stringify(
        {
          tokenizer_class: 'LlamaTokenizerFast',
          add_bos_token: true,
          add_eos_token: false,
          bos_token: '<s>',
          eos_token: '</s>',
          unk_token: '<unk>',
          pad_token: null,
          legacy: true,
          clean_up_tokenization_spaces: false,
          model_max_length: config.max_position_embeddings,
        },
        null,
        2,
      )}\n`,
      'special_tokens_map.json': `${JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }, null, 2)}\n`,
    },
    corpus: {
      trainDocuments: texts.train.length,
      heldOutDocuments: texts.heldOut.length,
      trainTokens: trainStream.length,
      heldOutTokens: heldOutStream.length,
      trainSequences: trainWindows.length,
    },
    baseline: () => unigramBaseline(counts, Int32Array.from(evalWindows.flatMap((w) => [...w.subarray(1)]))),
    tokensPerStep: args.batchSize * args.seqLength,
    config: shipped,
  };
}
