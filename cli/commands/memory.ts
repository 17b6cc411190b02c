/**
 * `sparsegrad memory`: the memory each fine-tuning method holds at the sizes where the
 * paper makes its claim — BERT-base (GLUE) and a LLaMa-2-7B-shaped stack of MLP blocks —
 * built from the config alone (random weights, no data, no training).
 *
 * Two routes to the same numbers:
 * - measured: the model is built, the method applied exactly as `compare` applies it
 *   (cli/methods.ts: the same train scope, LoRA/MeProp/SparseGrad set-up, optimizer
 *   groups, SparseGrad's materialized rule), every trainable parameter given the gradient
 *   it holds after a backward (dense zeros; each W̃ a COO gradient of exactly k entries),
 *   one optimizer step taken so the optimizer state exists, and then nn/memory.ts's
 *   memoryReport reads the bytes off the live arrays (each array once: bases shared by the
 *   blocks of a type count once);
 * - analytic: the same categories computed from the shapes (`analyticMemory`). The test
 *   proves analytic = measured, byte for byte, on small configs of both architectures;
 *   where a model does not fit the machine (the 7B stack holds ≈ 17 GB of float32
 *   weights before any gradient), only the analytic route is taken, and the table says so.
 *
 * Conventions: float32 everywhere (the engine's training dtype; the paper's LLaMa runs
 * use bf16, which halves every byte count but the int32 indices); SparseGrad keeps no
 * original W (as `compare` and the reference); its bases are one float32 U, V pair per
 * layer type; SparseAdam with sparse moments stores an int32 index and two float32
 * moments for each entry ever selected — the share of entries ever selected is the
 * `--touched` flag (default below). The activation figures are nn/memory.ts's analytic
 * estimate for the adapted linears only (what each method's backward keeps and makes),
 * labelled as such: not a measurement, and not the whole network's activations.
 *
 * The parts, in cli/memory/: models.ts (what is built), accounting.ts (both routes, per
 * method), table.ts (the rows and the sentence naming the least); here, the flags.
 */
import { availableParallelism } from 'node:os';
import { ValueError } from '../../base/errors.ts';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from '../args.ts';
import { TRAIN_SCOPES, type TrainScope } from '../methods.ts';

import { type ModelSpec, bertBaseSpec, llama7bMlpSpec } from '../memory/models.ts';
import { DEFAULT_TOUCHED, type MemorySettings } from '../memory/accounting.ts';
import { formatMemoryTable, leastSentence, memoryTable, type MemoryTable } from '../memory/table.ts';

export const memoryFlags = {
  models: {
    type: 'list',
    choices: ['bert-base', 'llama-7b-mlp'],
    default: ['bert-base', 'llama-7b-mlp'],
    help: 'which models: bert-base (built and measured), llama-7b-mlp (analytic unless --limit-gib allows it)',
  },
  train: {
    type: 'choice',
    choices: TRAIN_SCOPES,
    default: 'paper',
    help: "what trains besides the adapted linears: 'paper' (BERT: everything; LLaMa: gate_proj of the adapted blocks) or 'mlp-only' (BERT: the task head; LLaMa: nothing)",
  },
  rank: {
    type: 'int',
    min: 1,
    default: 7,
    help: 'LoRA rank r; MeProp and SparseGrad keep k = r·(in + out) entries per layer (BERT-base: 26,880 ≈ 1.2 %; 7B: 105,728 ≈ 0.23 %)',
  },
  touched: {
    type: 'number',
    min: 0,
    exclusiveMin: true,
    max: 1,
    default: DEFAULT_TOUCHED,
    help: `share of each W̃ ever selected, for sparse-moment SparseAdam (default ${DEFAULT_TOUCHED}: measured in compare's default setting on bert-mini after 109 SparseGrad steps; see cli/memory/accounting.ts)`,
  },
  bertTokens: { type: 'int', min: 1, default: 32 * 128, help: "tokens per step for BERT-base (default 32 × 128, the paper's GLUE batch and length)" },
  llamaTokens: { type: 'int', min: 1, default: 2 * 512, help: "tokens per micro-step for the 7B stack (default 2 × 512, the reference's micro-batch)" },
  materialized: {
    type: 'choice',
    choices: ['auto', 'on', 'off'],
    default: 'auto',
    help: "SparseGrad's materialized weight: 'auto' as compare (on when it is the cheaper path for the tokens)",
  },
  limitGib: {
    type: 'number',
    min: 0,
    exclusiveMin: true,
    default: 6,
    help: 'build and measure a model only if its largest method holds at most this many GiB (else analytic)',
  },
  json: { type: 'string', placeholder: 'FILE', help: 'also write the tables as JSON' },
} as const satisfies FlagSpecs;

export async function memoryCommand(argv: readonly string[]): Promise<number> {
  const { flags, help } = parseFlags(argv, memoryFlags, 'memory');
  if (help) {
    console.log(
      formatHelp(
        'memory',
        [
          "The bytes each method holds at the paper's sizes, built from config alone (random weights, no training):",
          'BERT-base and a LLaMa-2-7B-shaped MLP stack; per method (full FT, LoRA, MeProp, SparseGrad with dense and',
          'sparse-moment SparseAdam) the exact held bytes by category, an analytic activation estimate, and which holds',
          'the least. A model whose largest method exceeds --limit-gib is computed analytically, and the table says so.',
        ].join('\n'),
        memoryFlags,
      ),
    );
    return 0;
  }
  const settings: MemorySettings = {
    scope: flags.train as TrainScope,
    rank: flags.rank,
    touched: flags.touched,
    materialized: flags.materialized as MemorySettings['materialized'],
  };
  const specs: Record<string, () => ModelSpec> = { 'bert-base': () => bertBaseSpec(flags.bertTokens), 'llama-7b-mlp': () => llama7bMlpSpec(flags.llamaTokens) };
  const tables: MemoryTable[] = [];
  console.log(`memory: ${availableParallelism()} cores; float32; building the models that fit under ${flags.limitGib} GiB`);
  for (const name of flags.models) {
    const spec = specs[name];
    if (!spec) throw new CliError(`memory: unknown model '${name}'`);
    const s = spec();
    const t0 = performance.now();
    let table: MemoryTable;
    try {
      table = memoryTable(s, settings, flags.limitGib * 2 ** 30);
    } catch (e) {
      if (e instanceof ValueError) throw new CliError(`memory (${name}): ${e.message}`);
      throw e;
    }
    tables.push(table);
    console.log(`\n${formatMemoryTable(table, settings)}\n(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  if (flags.json) {
    const { writeFileAtomic } = await import('../../node.ts');
    await writeFileAtomic(flags.json, `${JSON.stringify({ settings, tables: tables.map((t) => ({ ...t, least: leastSentence(t) })) }, null, 1)}\n`);
    console.log(`json: ${flags.json}`);
  }
  return 0;
}
