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
 *
 * The parts live beside the training loop (cli/pretrain/run.ts): the architectures and
 * defaults in architectures.ts, each model's data and objective in bert-task.ts and
 * llama-task.ts, what they share in task-kit.ts.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValueError } from '../../base/errors.ts';
import { BertForPreTraining } from '../../models/bert.ts';
import { loadWeights } from '../../models/weights.ts';
import { writeFileAtomic } from '../../node.ts';
import { BUNDLED, PRETRAINED_DIR } from '../paths.ts';
import { setThreads } from '../../index.ts';
import { readFolderWeights, savePretrained } from '../../node/pretrained.ts';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from '../args.ts';
import { DEFAULTS, type PretrainModel, type PretrainSize } from '../pretrain/architectures.ts';
import { buildBert } from '../pretrain/bert-task.ts';
import { buildLlama } from '../pretrain/llama-task.ts';
import { canonicalJson, formatDuration, type NextSentenceMetrics, type PretrainTask, train, type TrainResult } from '../pretrain/run.ts';
import type { Built } from '../pretrain/task-kit.ts';

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
  /**
   * BERT: the share of each training sequence's tokens chosen for prediction (default 0.15,
   * the original recipe). The held-out masks stay at 0.15 whatever this is, so held-out
   * numbers of runs with different rates compare.
   */
  maskRate?: number;
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

const ln = Math.log;

function countParameters(model: { parameters(): { numel: number }[] }): number {
  return model.parameters().reduce((n, p) => n + p.numel, 0);
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
  maskRate: {
    type: 'number',
    min: 0,
    exclusiveMin: true,
    max: 1,
    help: 'BERT: share of each training sequence chosen for prediction (held-out masks stay at 0.15) (default: 0.15)',
  },
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
    maskRate: flags.maskRate,
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
    ...(args.maskRate !== undefined ? { maskRate: args.maskRate } : {}),
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
