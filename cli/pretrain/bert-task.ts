/**
 * BERT's pretraining task: masked LM on packed sentences (bert-base-uncased's vocabulary),
 * and with `nsp` next-sentence prediction on sentence pairs cut from the same units; the
 * held-out masks and pairs are drawn once with fixed seeds, so every run and every phase of
 * a continued run is evaluated on the same inputs.
 */
import { noGrad } from '../../core/autograd.ts';
import { ValueError } from '../../base/errors.ts';
import { Generator } from '../../core/random.ts';
import { BertForMaskedLM, BertForPreTraining } from '../../models/bert.ts';
import { bertConfig } from '../../models/config.ts';
import { BertTokenizer } from '../../models/tokenizers/index.ts';
import { exportWeights, loadWeights } from '../../models/weights.ts';
import { ARCHITECTURES } from './architectures.ts';
import { bertVocabText, sentences } from './corpus.ts';
import { bertMasking, encoderInputs, maskBatch, type MlmBatch, mlmLoss, type PackedUnit, packUnits, unitSequence } from './mlm.ts';
import { nextSentenceLoss, type PretrainingBatch, pretrainingLoss, sentencePair } from './nsp.ts';
import { initWeights, NextSentenceTally, type PretrainTask } from './run.ts';
import { batches, type Built, type BuildArgs, documents, EpochOrder, evaluateAll, spread, unigramBaseline } from './task-kit.ts';

/** Seeds the held-out masks (2: what seed 0's runs, the shipped models, always used). */
const HELD_OUT_MASK_SEED = 2;
/** Seeds the held-out sentence pairs and their masks (--nsp). */
const HELD_OUT_PAIR_SEED = 3;

export async function buildBert(args: BuildArgs): Promise<Built<MlmBatch>> {
  const shipped: Record<string, unknown> = {
    ...ARCHITECTURES.bert[args.size ?? 'mini'],
    ...(args.nsp ? { architectures: ['BertForPreTraining'] } : {}),
    ...(args.config ?? {}),
  };
  const config = bertConfig({ ...shipped, hidden_dropout_prob: args.dropout, attention_probs_dropout_prob: args.dropout });
  if (args.seqLength > config.max_position_embeddings)
    throw new ValueError(`pretrain: seqLength ${args.seqLength} exceeds max_position_embeddings ${config.max_position_embeddings}`);
  const vocabTxt = bertVocabText();
  const tokenizer = new BertTokenizer(vocabTxt);
  if (tokenizer.vocab.size !== config.vocab_size)
    throw new ValueError(`pretrain: the tokenizer has ${tokenizer.vocab.size} tokens but config.vocab_size is ${config.vocab_size}`);
  const texts = await documents(args);
  const encode = (docs: readonly string[]) => docs.map((d) => sentences(d).map((s) => tokenizer.encode(s, undefined, { addSpecialTokens: false }).inputIds));
  // Tokenized and packed once: the masked-LM sequences are the units with their specials, the
  // next-sentence pairs (--nsp) are cut from the same units.
  const trainUnits = packUnits(encode(texts.train), args.seqLength - 2);
  const heldOutUnits = packUnits(encode(texts.heldOut), args.seqLength - 2);
  const trainSeqs = trainUnits.map((u) => unitSequence(u, tokenizer.clsId, tokenizer.sepId));
  const heldOutSeqs = heldOutUnits.map((u) => unitSequence(u, tokenizer.clsId, tokenizer.sepId));
  if (trainSeqs.length === 0 || heldOutSeqs.length === 0) throw new ValueError('pretrain: no training or held-out sequences');
  const masking = bertMasking(tokenizer);
  // Training may choose more tokens per sequence (--mask-rate); the held-out masks below keep
  // the original 15 %, so every run is scored on the same inputs.
  const trainMasking = args.maskRate === undefined ? masking : { ...masking, probability: args.maskRate };
  const counts = new Float64Array(config.vocab_size);
  let trainTokens = 0;
  for (const s of trainSeqs) for (const id of s) if (!masking.specialIds.has(id)) counts[id]!++, trainTokens++;
  let heldOutTokens = 0;
  for (const s of heldOutSeqs) heldOutTokens += s.length - 2;

  const modelGenerator = new Generator(args.seed);
  const model = args.nsp ? new BertForPreTraining(config, { generator: modelGenerator }) : new BertForMaskedLM(config, { generator: modelGenerator });
  initWeights(model, (shipped.initializer_range as number | undefined) ?? 0.02, modelGenerator);
  const maskGenerator = new Generator(args.seed + 1);
  const order = new EpochOrder(trainSeqs.length, args.seed);
  const evalSeqs = spread(heldOutSeqs, args.evalSequences);
  // The held-out masks are drawn once, from their own generator with a fixed seed: every
  // evaluation of every run (any --seed, any phase of a continued run) sees the same inputs.
  const evalBatches = batches(evalSeqs, 32);
  const evalGenerator = new Generator(HELD_OUT_MASK_SEED);
  const evalMasked = evalBatches.map((b) => maskBatch(b, args.seqLength, tokenizer.padId, evalGenerator, masking));
  const common = {
    model,
    dataState: () => ({ epoch: order.epoch, cursor: order.cursor }),
    restoreData: (s: { epoch: number; cursor: number }) => order.restore(s),
  };
  let task: PretrainTask<MlmBatch>;
  if (model instanceof BertForPreTraining) {
    // Sentence pairs from the same packed units (the MLM data's order), and held-out pairs
    // drawn once with fixed seeds; the held-out masked-token numbers stay on the plain
    // sequences above, comparable with a masked-LM-only run.
    const pair = (unitList: readonly PackedUnit[], i: number, g: Generator) => sentencePair(unitList, i, args.seqLength, tokenizer.clsId, tokenizer.sepId, g);
    const pairBatch = (unitList: readonly PackedUnit[], indices: readonly number[], g: Generator, masks: Generator, how = masking): PretrainingBatch => {
      const pairs = indices.map((i) => pair(unitList, i, g));
      const batch = maskBatch(
        pairs.map((p) => p.ids),
        args.seqLength,
        tokenizer.padId,
        masks,
        how,
        pairs.map((p) => p.types),
      );
      return { ...batch, nextSentenceLabels: Int32Array.from(pairs, (p) => p.label) };
    };
    const heldOutPairGenerator = new Generator(HELD_OUT_PAIR_SEED);
    const evalPairIndices = spread(
      Array.from({ length: heldOutUnits.length }, (_, i) => i),
      args.evalSequences,
    );
    const evalPairs = batches(evalPairIndices, 32).map((indices) => pairBatch(heldOutUnits, indices, heldOutPairGenerator, heldOutPairGenerator));
    const pairGenerator = new Generator(args.seed + 3);
    task = {
      ...common,
      nextBatch: () => pairBatch(trainUnits, order.take(args.batchSize), pairGenerator, maskGenerator, trainMasking),
      loss: (batch) => pretrainingLoss(model, batch as PretrainingBatch),
      evaluate: () => {
        const masked = evaluateAll(evalMasked.map((b) => () => mlmLoss(model, b)));
        // Only the next-sentence head on the held-out pairs: their masked tokens are not scored.
        const tally = new NextSentenceTally();
        noGrad(() => {
          for (const b of evalPairs) {
            const { loss, correct } = nextSentenceLoss(model, model.bert.forward(encoderInputs(b)).pooled!, b.nextSentenceLabels);
            tally.add({ loss: loss.item(), correct, count: b.nextSentenceLabels.length });
          }
        });
        return { ...masked, nextSentence: tally.take() };
      },
      generators: { model: modelGenerator, masking: maskGenerator, pairs: pairGenerator },
    };
  } else {
    task = {
      ...common,
      nextBatch: () =>
        maskBatch(
          order.take(args.batchSize).map((i) => trainSeqs[i]!),
          args.seqLength,
          tokenizer.padId,
          maskGenerator,
          trainMasking,
        ),
      loss: (batch) => mlmLoss(model, batch),
      evaluate: () => evaluateAll(evalMasked.map((b) => () => mlmLoss(model, b))),
      generators: { model: modelGenerator, masking: maskGenerator },
    };
  }
  return {
    task,
    exportModel: () => {
      const out = args.nsp ? new BertForPreTraining(bertConfig(shipped)) : new BertForMaskedLM(bertConfig(shipped));
      loadWeights(out, exportWeights(model));
      return out;
    },
    tokenizerFiles: {
      'vocab.txt': vocabTxt,
      'tokenizer_config.json': `${JSON.stringify(
        {
          tokenizer_class: 'BertTokenizer',
          do_lower_case: true,
          model_max_length: config.max_position_embeddings,
          strip_accents: null,
          tokenize_chinese_chars: true,
          clean_up_tokenization_spaces: true,
          unk_token: '[UNK]',
          sep_token: '[SEP]',
          pad_token: '[PAD]',
          cls_token: '[CLS]',
          mask_token: '[MASK]',
        },
        null,
        2,
      )}\n`,
      'special_tokens_map.json': `${JSON.stringify({ unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' }, null, 2)}\n`,
    },
    corpus: {
      trainDocuments: texts.train.length,
      heldOutDocuments: texts.heldOut.length,
      trainTokens,
      heldOutTokens,
      trainSequences: trainSeqs.length,
      ...(texts.sources ? { sources: texts.sources } : {}),
    },
    baseline: () => unigramBaseline(counts, Int32Array.from(evalMasked.flatMap((b) => [...b.targets]))),
    tokensPerStep: args.batchSize * args.seqLength,
    config: shipped,
  };
}
