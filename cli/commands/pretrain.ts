/**
 * `sparsegrad pretrain`: trains the small BERT (masked LM) or LLaMa (causal LM) from
 * scratch on the State of the Union addresses (BERT with `--corpus all`: also the
 * fine-tuning corpora's text that no fine-tuning split reads) with the bert-base-uncased / LLaMa-2
 * vocabularies, and writes a Hugging Face folder (config.json, model.safetensors in F16,
 * tokenizer files) plus `pretraining.json` (the options, corpus sizes, loss curve,
 * held-out metrics and baselines). The defaults are exactly the runs that built
 * `pretrained/bert-mini` and `pretrained/llama-mini` (see cli/pretrained/README.md).
 *
 * Callable two ways: `pretrainCommand({ model: 'bert', out: 'DIR', steps, seed, … })`
 * resolves with the run's summary; `pretrainCommand(argv)` (the CLI: `--model bert
 * --out DIR --steps N …`) parses flags and resolves with the exit status.
 *
 * A run checkpoints every `checkpointEvery` steps into `<out>/checkpoint`; running the
 * same command again resumes there. The checkpoint folder is removed once the final
 * model is written.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { noGrad } from '../../core/autograd.ts';
import { ValueError } from '../../base/errors.ts';
import { Generator } from '../../core/random.ts';
import { BertForMaskedLM, BertForPreTraining } from '../../models/bert.ts';
import { bertConfig, llamaConfig } from '../../models/config.ts';
import { LlamaForCausalLM } from '../../models/llama.ts';
import { BertTokenizer, LlamaTokenizer } from '../../models/tokenizers/index.ts';
import { exportWeights, loadWeights } from '../../models/weights.ts';
import { writeFileAtomic } from '../../node.ts';
import { BUNDLED, PRETRAINED_DIR } from '../paths.ts';
import { setThreads } from '../../index.ts';
import { readFolderWeights, savePretrained } from '../../node/pretrained.ts';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from '../args.ts';
import { clmBatch, clmLoss, documentStream, tokenWindows } from '../pretrain/clm.ts';
import { bertVocabText, llamaTokenizerJson, loadSotu, sentences, splitAddresses } from '../pretrain/corpus.ts';
import { unlabeledTaskText } from '../pretrain/task-text.ts';
import { bertMasking, encoderInputs, maskBatch, type MlmBatch, mlmLoss, type PackedUnit, packUnits, unitSequence } from '../pretrain/mlm.ts';
import { nextSentenceLoss, type PretrainingBatch, pretrainingLoss, sentencePair } from '../pretrain/nsp.ts';
import {
  canonicalJson,
  formatDuration,
  initWeights,
  NextSentenceTally,
  type NextSentenceMetrics,
  train,
  type Evaluation,
  type PretrainTask,
  type TrainResult,
} from '../pretrain/run.ts';

export type PretrainModel = 'bert' | 'llama';
export type PretrainCorpus = 'sotu' | 'all';

export interface PretrainArgs {
  model: PretrainModel;
  /** The architecture (default 'mini'): ARCHITECTURES[model][size]. */
  size?: PretrainSize;
  /** The folder to write (created). */
  out: string;
  steps?: number;
  seed?: number;
  /** Sequences per step (BERT 16 × 128 tokens, LLaMa 4 × 256). */
  batchSize?: number;
  /** Tokens per sequence (≤ max_position_embeddings). */
  seqLength?: number;
  /** Peak learning rate (after warm-up; linear decay to 0). */
  lr?: number;
  /** Default: 6% of the steps. */
  warmupSteps?: number;
  weightDecay?: number;
  /** Dropout during pretraining (the shipped config keeps HF's 0.1 for fine-tuning). */
  dropout?: number;
  logEvery?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  /** Default `<out>/checkpoint`. */
  checkpointDir?: string;
  /** Continue from the checkpoint when there is one (default true). */
  resume?: boolean;
  /**
   * Continued pretraining: start from the weights of this pretrained folder (same
   * architecture) instead of a random initialization, with a fresh optimizer and schedule.
   * Its `pretraining.json` is kept as `previous` in the new one, so the record covers every phase.
   */
  init?: string;
  /**
   * BERT: add next-sentence prediction (BertForPreTraining: sentence pairs, the pooler and a
   * two-way head trained beside masked LM), which is what trains the [CLS] vector.
   */
  nsp?: boolean;
  /** Held-out sequences evaluated (default BERT 512, LLaMa 96). */
  evalSequences?: number;
  /** Architecture overrides (HF config field names), e.g. a tiny model for tests. */
  config?: Record<string, unknown>;
  /**
   * BERT: 'sotu' (default) trains on the State of the Union addresses alone; 'all' adds the
   * fine-tuning corpora's text that no fine-tuning split reads (cli/pretrain/task-text.ts).
   * Held out are the same addresses either way, so the held-out numbers of both compare.
   */
  corpus?: PretrainCorpus;
  /** Use these documents instead of the State of the Union split (tests). */
  texts?: { train: readonly string[]; heldOut: readonly string[] };
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
}

export interface Metrics {
  loss: number;
  perplexity: number;
  accuracy: number;
}

export interface PretrainSummary {
  model: PretrainModel;
  /** The earlier phase this run continued (`init`): its whole pretraining.json. */
  previous?: Record<string, unknown>;
  out: string;
  config: Record<string, unknown>;
  parameters: number;
  steps: number;
  seconds: number;
  tokensPerStep: number;
  corpus: {
    trainDocuments: number;
    heldOutDocuments: number;
    trainTokens: number;
    heldOutTokens: number;
    trainSequences: number;
    /** With corpus 'all': the documents added to the addresses, per source. */
    sources?: { name: string; documents: number; how: string }[];
  };
  /** Training loss over the last logging interval. */
  train: Metrics;
  /** Held-out loss per predicted token (BERT: masked tokens; LLaMa: next tokens). */
  heldOut: Metrics & { tokens: number; nextSentence?: NextSentenceMetrics };
  baselines: { uniform: Metrics; unigram: Metrics };
  history: TrainResult['history'];
  evals: TrainResult['evals'];
}

/** The shipped architectures (HF config fields). */
export const BERT_MINI: Record<string, unknown> = {
  architectures: ['BertForMaskedLM'],
  model_type: 'bert',
  vocab_size: 30522,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 512,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 128,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  torch_dtype: 'float16',
};

export const LLAMA_MINI: Record<string, unknown> = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 32000,
  hidden_size: 128,
  intermediate_size: 344,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 32,
  hidden_act: 'silu',
  max_position_embeddings: 256,
  initializer_range: 0.02,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: 'float16',
};

/** BERT-small: 4 layers × 256 (4 heads of 64), FFN 1024 — the mini's vocabulary and positions. */
export const BERT_SMALL: Record<string, unknown> = { ...BERT_MINI, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 };

/** LLaMa-small: 4 layers × 256, GQA with 4 query / 2 key-value heads of 64, SwiGLU 688 (≈ 8/3 · 256, as LLaMa sizes it). */
export const LLAMA_SMALL: Record<string, unknown> = {
  ...LLAMA_MINI,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 64,
};

export type PretrainSize = 'mini' | 'small';

/** The architecture of each model and size. */
export const ARCHITECTURES: Record<PretrainModel, Record<PretrainSize, Record<string, unknown>>> = {
  bert: { mini: BERT_MINI, small: BERT_SMALL },
  llama: { mini: LLAMA_MINI, small: LLAMA_SMALL },
};

/** Defaults per model and size: the settings of the committed runs (cli/pretrained/README.md). */
export const DEFAULTS = {
  bert: {
    mini: { steps: 600, batchSize: 16, seqLength: 128, lr: 2e-3, evalSequences: 512 },
    small: { steps: 1000, batchSize: 16, seqLength: 128, lr: 1e-3, evalSequences: 512 },
  },
  llama: {
    mini: { steps: 450, batchSize: 4, seqLength: 256, lr: 2e-3, evalSequences: 96 },
    small: { steps: 800, batchSize: 4, seqLength: 256, lr: 1e-3, evalSequences: 96 },
  },
} as const;

const ln = Math.log;

/** Seeds the held-out masks (2: what seed 0's runs, the shipped models, always used). */
const HELD_OUT_MASK_SEED = 2;
/** Seeds the held-out sentence pairs and their masks (--nsp). */
const HELD_OUT_PAIR_SEED = 3;

/** Add-one unigram model of `counts` (over `vocab` ids): loss, perplexity and accuracy (always its mode) on `targets`. */
function unigramBaseline(counts: Float64Array, targets: ArrayLike<number>): Metrics {
  let total = 0;
  let mode = 0;
  for (let i = 0; i < counts.length; i++) {
    total += counts[i]!;
    if (counts[i]! > counts[mode]!) mode = i;
  }
  let loss = 0;
  let hits = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    loss -= ln((counts[t]! + 1) / (total + counts.length));
    if (t === mode) hits++;
  }
  loss /= targets.length;
  return { loss, perplexity: Math.exp(loss), accuracy: hits / targets.length };
}

/** `n` items evenly spread over `items` (all of them when there are fewer). */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}

/** A per-epoch shuffled order over `n` items, derived from the seed and the epoch alone (so a cursor resumes it). */
class EpochOrder {
  epoch = 0;
  cursor = 0;
  private order: Int32Array;

  constructor(
    readonly n: number,
    readonly seed: number,
  ) {
    this.order = this.permutation(0);
  }

  private permutation(epoch: number): Int32Array {
    const g = new Generator(this.seed * 1_000_003 + epoch + 17);
    const p = Int32Array.from({ length: this.n }, (_, i) => i);
    for (let i = this.n - 1; i > 0; i--) {
      const j = g.integer(0, i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }

  take(count: number): number[] {
    const out: number[] = [];
    while (out.length < count) {
      if (this.cursor >= this.n) this.restore({ epoch: this.epoch + 1, cursor: 0 });
      out.push(this.order[this.cursor++]!);
    }
    return out;
  }

  restore(state: { epoch: number; cursor: number }): void {
    if (state.epoch !== this.epoch) this.order = this.permutation(state.epoch);
    this.epoch = state.epoch;
    this.cursor = state.cursor;
  }
}

function countParameters(model: { parameters(): { numel: number }[] }): number {
  return model.parameters().reduce((n, p) => n + p.numel, 0);
}

interface Built<B> {
  task: PretrainTask<B>;
  /** The model to save, with the shipped config (dropout as HF's default). */
  exportModel(): BertForMaskedLM | BertForPreTraining | LlamaForCausalLM;
  tokenizerFiles: Record<string, string>;
  corpus: PretrainSummary['corpus'];
  baseline: () => Metrics;
  tokensPerStep: number;
  config: Record<string, unknown>;
}

interface Documents {
  train: readonly string[];
  heldOut: readonly string[];
  sources?: PretrainSummary['corpus']['sources'];
}

async function sotuTexts(): Promise<Documents> {
  const { train, heldOut } = splitAddresses(await loadSotu());
  return { train: train.map((a) => a.text), heldOut: heldOut.map((a) => a.text) };
}

async function documents(args: PretrainArgs): Promise<Documents> {
  const { train, heldOut } = args.texts ?? (await sotuTexts());
  if (args.corpus !== 'all') return { train, heldOut };
  const added = unlabeledTaskText();
  return {
    train: [...train, ...added.flatMap((s) => s.documents)],
    heldOut,
    sources: added.map((s) => ({ name: s.name, documents: s.documents.length, how: s.how })),
  };
}

async function buildBert(
  args: Required<Pick<PretrainArgs, 'seed' | 'batchSize' | 'seqLength' | 'dropout' | 'evalSequences'>> & PretrainArgs,
): Promise<Built<MlmBatch>> {
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
  const evalBatches = Array.from({ length: Math.ceil(evalSeqs.length / 32) }, (_, i) => evalSeqs.slice(32 * i, 32 * i + 32));
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
    const pairBatch = (unitList: readonly PackedUnit[], indices: readonly number[], g: Generator, masks: Generator): PretrainingBatch => {
      const pairs = indices.map((i) => pair(unitList, i, g));
      const batch = maskBatch(
        pairs.map((p) => p.ids),
        args.seqLength,
        tokenizer.padId,
        masks,
        masking,
        pairs.map((p) => p.types),
      );
      return { ...batch, nextSentenceLabels: Int32Array.from(pairs, (p) => p.label) };
    };
    const heldOutPairGenerator = new Generator(HELD_OUT_PAIR_SEED);
    const evalPairIndices = spread(
      Array.from({ length: heldOutUnits.length }, (_, i) => i),
      args.evalSequences,
    );
    const evalPairs = Array.from({ length: Math.ceil(evalPairIndices.length / 32) }, (_, i) =>
      pairBatch(heldOutUnits, evalPairIndices.slice(32 * i, 32 * i + 32), heldOutPairGenerator, heldOutPairGenerator),
    );
    const pairGenerator = new Generator(args.seed + 3);
    task = {
      ...common,
      nextBatch: () => pairBatch(trainUnits, order.take(args.batchSize), pairGenerator, maskGenerator),
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
          masking,
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

async function buildLlama(
  args: Required<Pick<PretrainArgs, 'seed' | 'batchSize' | 'seqLength' | 'dropout' | 'evalSequences'>> & PretrainArgs,
): Promise<Built<ReturnType<typeof clmBatch>>> {
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
  const evalBatches = Array.from({ length: Math.ceil(evalWindows.length / 8) }, (_, i) => clmBatch(evalWindows.slice(8 * i, 8 * i + 8)));
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

/**
 * Loads the weights of the pretrained folder `dir` into the task's model (refusing another
 * model type or architecture) and returns that folder's pretraining.json. Read before
 * training starts, so `out` may be `dir` itself: the folder is replaced only at the end.
 */
async function continueFrom(dir: string, built: Built<unknown>, model: PretrainModel): Promise<Record<string, unknown>> {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(await readFile(join(dir, 'pretraining.json'), 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ValueError(`pretrain: init ${dir} needs a folder written by 'sparsegrad pretrain' (its pretraining.json: ${(e as Error).message})`);
  }
  const theirs = (record.config ?? {}) as Record<string, unknown>;
  // The architecture name may change (a masked-LM folder continued with --nsp); the shape may not.
  const differing = Object.keys(built.config).filter((k) => k !== 'architectures' && canonicalJson(theirs[k]) !== canonicalJson(built.config[k]));
  if (record.model !== model || differing.length > 0) {
    throw new ValueError(
      `pretrain: init ${dir} holds a ${String(record.model)} model whose config differs from this run's in ${differing.join(', ') || 'model type'}`,
    );
  }
  // Only what the folder cannot have is left at its fresh initialization: the pooler and the
  // next-sentence head when a masked-LM-only model is continued with next-sentence prediction.
  const { missing, unexpected } = loadWeights(built.task.model, await readFolderWeights(dir), { source: dir, strict: false });
  if (unexpected.length > 0)
    throw new ValueError(
      `pretrain: init ${dir} holds weights this model has no place for (${unexpected.slice(0, 3).join(', ')}); continue a next-sentence model with nsp`,
    );
  const unfilled = missing.filter((n) => !(built.task.model instanceof BertForPreTraining && /^(bert\.pooler\.|cls\.seq_relationship\.)/.test(n)));
  if (unfilled.length > 0)
    throw new ValueError(`pretrain: init ${dir} lacks ${unfilled.length} weight(s) of this model, e.g. ${unfilled.slice(0, 3).join(', ')}`);
  return record;
}

/** Token-weighted mean loss and accuracy over evaluation batches. */
function evaluateAll(batches: (() => { loss: { item(): number }; count: number; correct: number })[]): Evaluation {
  let loss = 0;
  let correct = 0;
  let count = 0;
  noGrad(() => {
    for (const run of batches) {
      const r = run();
      loss += r.loss.item() * r.count;
      correct += r.correct;
      count += r.count;
    }
  });
  return { loss: loss / count, accuracy: correct / count, count };
}

const pretrainFlags = {
  model: { type: 'choice', choices: ['bert', 'llama'], help: 'which model to pretrain' },
  size: { type: 'choice', choices: ['mini', 'small'], default: 'mini', help: 'mini: 2 × 128; small: 4 × 256 (BERT FFN 1024, LLaMa GQA 4/2 heads, SwiGLU 688)' },
  out: { type: 'string', placeholder: 'DIR', help: 'the folder to write (default pretrained/<model>-<size>)' },
  steps: { type: 'int', min: 1, help: 'optimizer steps (default: bert 600 mini / 1000 small, llama 450 / 800)' },
  seed: { type: 'int', default: 0, help: 'seed of the initialization, data order and masking' },
  batchSize: { type: 'int', min: 1, help: 'sequences per step (default: bert 16, llama 4)' },
  seqLength: { type: 'int', min: 3, help: 'tokens per sequence (default: bert 128, llama 256)' },
  lr: { type: 'number', min: 0, exclusiveMin: true, help: 'peak learning rate (default: 2e-3 mini, 1e-3 small)' },
  warmupSteps: { type: 'int', min: 0, help: 'linear warm-up steps (default: 6% of the steps)' },
  weightDecay: { type: 'number', min: 0, default: 0.01, help: 'AdamW weight decay (not on biases and norms)' },
  logEvery: { type: 'int', min: 1, default: 20, help: 'steps between progress lines' },
  evalEvery: { type: 'int', min: 0, default: 200, help: 'steps between held-out evaluations (0: only at the end)' },
  checkpointEvery: { type: 'int', min: 0, default: 100, help: 'steps between checkpoints in <out>/checkpoint (0: none)' },
  resume: { type: 'boolean', default: true, help: 'continue from <out>/checkpoint when present (--no-resume starts over)' },
  nsp: { type: 'boolean', default: false, help: 'BERT: also train next-sentence prediction (BertForPreTraining: sentence pairs, pooler, [CLS])' },
  corpus: {
    type: 'choice',
    choices: ['sotu', 'all'],
    default: 'sotu',
    help: "BERT: 'all' adds the fine-tuning corpora's text no fine-tuning split reads (spam and IMDB beyond what --data-seed 0 uses, Brown outside brown-genre's genres)",
  },
  init: { type: 'string', placeholder: 'DIR', help: 'continued pretraining: start from the weights of this pretrained folder (fresh optimizer and schedule)' },
  threads: { type: 'int', min: 1, help: 'threads for the kernels (default: every core)' },
} satisfies FlagSpecs;

/** Pretrain from a plain options object; resolves with the summary (also written to `<out>/pretraining.json`). */
export async function pretrainCommand(args: PretrainArgs): Promise<PretrainSummary>;
/** Pretrain from command-line flags; resolves with the exit status. */
export async function pretrainCommand(argv: readonly string[]): Promise<number>;
export async function pretrainCommand(input: PretrainArgs | readonly string[]): Promise<PretrainSummary | number> {
  if (!Array.isArray(input)) return pretrain(input as PretrainArgs);
  const { flags, help } = parseFlags(input as readonly string[], pretrainFlags, 'pretrain');
  if (help) {
    console.log(
      formatHelp(
        'pretrain',
        "Pretrain the small BERT (masked LM) or LLaMa (causal LM) on the State of the Union addresses (BERT --corpus all: and the fine-tuning corpora's unread text) and write a Hugging Face folder.",
        pretrainFlags,
      ),
    );
    return 0;
  }
  if (!flags.model) throw new CliError('pretrain: --model is required (bert or llama)');
  const model = flags.model as PretrainModel;
  const size = flags.size as PretrainSize;
  if (flags.threads !== undefined) setThreads(flags.threads);
  await pretrain({
    model,
    size,
    // From the sources it rebuilds the shipped models; an installed CLI writes under the working folder.
    out: flags.out ?? join(BUNDLED ? 'pretrained' : PRETRAINED_DIR, `${model}-${size}`),
    steps: flags.steps,
    seed: flags.seed,
    batchSize: flags.batchSize,
    seqLength: flags.seqLength,
    lr: flags.lr,
    warmupSteps: flags.warmupSteps,
    weightDecay: flags.weightDecay,
    logEvery: flags.logEvery,
    evalEvery: flags.evalEvery,
    checkpointEvery: flags.checkpointEvery,
    resume: flags.resume,
    init: flags.init,
    nsp: flags.nsp,
    corpus: flags.corpus as PretrainCorpus,
  });
  return 0;
}

async function pretrain(args: PretrainArgs): Promise<PretrainSummary> {
  const log = args.log ?? ((line: string) => console.log(line));
  const d = DEFAULTS[args.model]?.[args.size ?? 'mini'];
  if (!d)
    throw new ValueError(
      `pretrain: model must be 'bert' or 'llama' and size 'mini' or 'small', got ${JSON.stringify(args.model)} and ${JSON.stringify(args.size)}`,
    );
  if (args.nsp && args.model !== 'bert')
    throw new ValueError(`pretrain: next-sentence prediction (nsp) is a BERT task; ${args.model} is pretrained as a causal LM`);
  // LLaMa's fine-tuning tasks are Moby Dick and any Brown genre, so it has no unread task text to add.
  if (args.corpus === 'all' && args.model !== 'bert')
    throw new ValueError(`pretrain: corpus 'all' is for BERT; ${args.model}'s fine-tuning tasks (Moby Dick, every Brown genre) would overlap it`);
  const steps = args.steps ?? d.steps;
  const full = {
    ...args,
    seed: args.seed ?? 0,
    batchSize: args.batchSize ?? d.batchSize,
    seqLength: args.seqLength ?? d.seqLength,
    dropout: args.dropout ?? 0,
    evalSequences: args.evalSequences ?? d.evalSequences,
  };
  const lr = args.lr ?? d.lr;
  const out = resolve(args.out);
  const started = performance.now();
  const source = args.texts ? 'given texts' : 'State of the Union addresses';
  log(`pretrain ${args.model}: building the data (${args.corpus === 'all' ? `${source} + the fine-tuning corpora's unread text` : source})…`);
  const built = args.model === 'bert' ? await buildBert(full) : await buildLlama(full);
  const previous = args.init === undefined ? undefined : await continueFrom(resolve(args.init), built, args.model);
  if (previous) log(`pretrain ${args.model}: continuing from ${args.init} (${previous.steps} steps already trained)`);
  const parameters = countParameters(built.task.model);
  log(
    `pretrain ${args.model}: ${parameters.toLocaleString('en-US')} parameters; ${built.corpus.trainDocuments} training documents (${built.corpus.trainTokens.toLocaleString('en-US')} tokens, ` +
      `${built.corpus.trainSequences.toLocaleString('en-US')} sequences), ${built.corpus.heldOutDocuments} held out (${built.corpus.heldOutTokens.toLocaleString('en-US')} tokens); ` +
      `${steps} steps × ${full.batchSize} × ${full.seqLength} tokens, lr ${lr}, seed ${full.seed} (data ready in ${formatDuration((performance.now() - started) / 1000)})`,
  );
  const runConfig = {
    model: args.model,
    size: args.size ?? 'mini',
    seed: full.seed,
    batchSize: full.batchSize,
    seqLength: full.seqLength,
    dropout: full.dropout,
    evalSequences: full.evalSequences,
    config: built.config,
    corpus: built.corpus,
    // A checkpoint of a run from another starting point or objective is refused rather than resumed.
    ...(previous ? { init: { steps: previous.steps, seconds: previous.seconds } } : {}),
    ...(args.nsp ? { nsp: true } : {}),
  };
  const result = await train(built.task as PretrainTask<unknown>, {
    steps,
    lr,
    warmupSteps: args.warmupSteps,
    weightDecay: args.weightDecay ?? 0.01,
    logEvery: args.logEvery ?? 20,
    evalEvery: args.evalEvery ?? 200,
    checkpointEvery: args.checkpointEvery ?? 100,
    checkpointDir: args.checkpointDir ?? join(out, 'checkpoint'),
    resume: args.resume ?? true,
    runConfig,
    log,
  });
  const final = result.evals.at(-1)!;
  const vocab = built.config.vocab_size as number;
  const summary: PretrainSummary = {
    model: args.model,
    ...(previous ? { previous } : {}),
    out,
    config: built.config,
    parameters,
    steps: result.steps,
    seconds: result.seconds,
    tokensPerStep: built.tokensPerStep,
    corpus: built.corpus,
    train: { loss: result.trainLoss, perplexity: Math.exp(result.trainLoss), accuracy: result.trainAccuracy },
    heldOut: {
      loss: final.loss,
      perplexity: Math.exp(final.loss),
      accuracy: final.accuracy,
      tokens: final.count,
      ...(final.nextSentence ? { nextSentence: final.nextSentence } : {}),
    },
    baselines: { uniform: { loss: ln(vocab), perplexity: vocab, accuracy: 1 / vocab }, unigram: built.baseline() },
    history: result.history,
    evals: result.evals,
  };
  await mkdir(out, { recursive: true });
  await savePretrained(out, built.exportModel(), { dtype: 'F16', tokenizerFiles: built.tokenizerFiles });
  const { out: _out, ...record } = summary;
  void _out;
  const options = {
    ...runConfig,
    steps,
    lr,
    warmupSteps: args.warmupSteps ?? Math.round(0.06 * steps),
    weightDecay: args.weightDecay ?? 0.01,
    clipNorm: 1.0,
    betas: [0.9, 0.98],
    eps: 1e-6,
  };
  await writeFileAtomic(join(out, 'pretraining.json'), `${JSON.stringify({ options, ...record, node: process.version }, null, 1)}\n`);
  await rm(args.checkpointDir ?? join(out, 'checkpoint'), { recursive: true, force: true });
  const what = args.model === 'bert' ? 'masked tokens' : 'next tokens';
  const f = (m: Metrics) => `loss ${m.loss.toFixed(3)}, perplexity ${m.perplexity.toFixed(1)}, accuracy ${(100 * m.accuracy).toFixed(1)}%`;
  log(`pretrain ${args.model}: done in ${formatDuration(result.seconds)}; wrote ${out}`);
  log(`  train (last ${args.logEvery ?? 20} steps):   ${f(summary.train)}`);
  log(`  held-out ${what}:  ${f(summary.heldOut)}  (${final.count} tokens)`);
  const pairs = summary.heldOut.nextSentence;
  if (pairs) log(`  held-out next sentence: loss ${pairs.loss.toFixed(3)}, accuracy ${(100 * pairs.accuracy).toFixed(1)}%  (${pairs.count} pairs; chance 50%)`);
  log(`  unigram baseline:       ${f(summary.baselines.unigram)}`);
  log(`  uniform (chance):       loss ${ln(vocab).toFixed(3)}, perplexity ${vocab}`);
  return summary;
}
