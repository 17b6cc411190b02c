/**
 * `sparsegrad compare`'s flags and help text.
 *
 * Why a file of its own: the table is long (a line of help per flag, naming the settings'
 * defaults from ./profiles.ts) and three readers share it: the parser, `compare --help`,
 * and the resolution of the flags into settings (./settings.ts).
 */
import { CLASSIFICATION_TASKS } from '../data/tasks.ts';
import { formatHelp, type FlagSpecs, type Flags } from '../args.ts';
import { METHODS, TRAIN_SCOPES } from '../methods.ts';
import { formatCount } from '../metrics.ts';
import { LM_TASK_HINT } from '../commands/finetune.ts';
import { formatLrs, LM_LR_SMALL, LM_PROFILES, PROFILES, type ProfileName } from './profiles.ts';

export const compareFlags = {
  quick: { type: 'boolean', help: `the small setting (≤ 2 minutes on 2 cores): ${describeProfile('quick')}` },
  full: { type: 'boolean', help: `the long setting: ${describeProfile('full')}` },
  task: {
    type: 'string',
    help: `task: ${CLASSIFICATION_TASKS.join(', ')} (BERT classification; default: the setting's), or ${LM_TASK_HINT} (LLaMa language modelling, held-out perplexity)`,
  },
  model: {
    type: 'string',
    placeholder: 'DIR',
    help: "a BERT folder (BertForMaskedLM or BertForSequenceClassification) for classification (default: the setting's, pretrained/bert-small; --quick: pretrained/bert-mini); for language modelling a LLaMa folder (default: the setting's, pretrained/llama-small; --quick: pretrained/llama-mini)",
  },
  methods: { type: 'list', choices: METHODS, help: 'methods to compare', default: METHODS },
  seeds: { type: 'ints', min: 0, help: "training seeds (default: the setting's; 42,3705,2023 as the paper)" },
  steps: { type: 'int', min: 1, help: "optimizer steps per run, the same for every method (default: the setting's)" },
  batchSize: { type: 'int', min: 1, help: 'examples per step' },
  lr: { type: 'number', min: 0, exclusiveMin: true, help: 'learning rate (constant) for every method; --lr-<method> overrides one' },
  lrFull: { type: 'number', min: 0, exclusiveMin: true, help: 'learning rate of full fine-tuning' },
  lrLora: { type: 'number', min: 0, exclusiveMin: true, help: 'learning rate of LoRA' },
  lrMeprop: { type: 'number', min: 0, exclusiveMin: true, help: 'learning rate of MeProp' },
  lrSparsegrad: { type: 'number', min: 0, exclusiveMin: true, help: 'learning rate of SparseGrad' },
  validation: {
    type: 'int',
    min: 1,
    help: 'hold out N training examples (stratified; language modelling: N training documents) and evaluate on them instead of the test split: for tuning',
  },
  maxLength: { type: 'int', min: 8, help: 'tokens per text ([CLS] and [SEP] included)' },
  maxTrain: { type: 'int', min: 1, help: 'training examples (a stratified subset)' },
  maxTest: { type: 'int', min: 1, help: 'test examples (a stratified subset)' },
  maxChars: { type: 'int', min: 1, help: 'cut each text to this many characters before tokenizing' },
  dataSeed: { type: 'int', min: 0, default: 0, help: 'seed of the train/test split' },
  rank: { type: 'int', min: 1, default: 7, help: 'LoRA rank r; MeProp and SparseGrad keep k = r·(in + out) entries per MLP layer' },
  k: {
    type: 'int',
    min: 1,
    help: "MeProp and SparseGrad: entries kept per MLP layer and step instead of r·(in + out), for a budget sweep (the paper's BERT-base density ≈ 1.2 %: k = 0.012·in·out); LoRA keeps its rank",
  },
  prelimSteps: { type: 'int', min: 1, default: 11, help: 'SparseGrad preliminary AdamW steps (counted in --steps)' },
  inputBasis: {
    type: 'choice',
    choices: ['consistent', 'reference'],
    default: 'consistent',
    help: 'SparseGrad input rotation: U (consistent) or Uᵀ (the reference code)',
  },
  materialized: {
    type: 'choice',
    choices: ['auto', 'on', 'off'],
    default: 'auto',
    help: 'SparseGrad materialized-weight mode (same numbers, faster for long batches)',
  },
  train: {
    type: 'choice',
    choices: TRAIN_SCOPES,
    help: "what trains besides the MLP linears: 'paper' = everything, densely, in every method (the paper's GLUE code); 'mlp-only' = everything else frozen but a classifier's task head (pooler + classifier; a causal LM has none), so that the MLP method is the only variable (default: the setting's: mlp-only; --quick: paper)",
  },
  prelimAll: {
    type: 'boolean',
    help: "ablation: LoRA and MeProp also start with SparseGrad's preliminary full AdamW steps (--prelim-steps, counted in --steps), so that it is not SparseGrad's advantage alone",
  },
  sparseMoments: {
    type: 'boolean',
    help: 'SparseGrad: SparseAdam keeps m and v only for the entries ever selected (int32 index + 2 moments each) instead of dense',
  },
  rowCompaction: {
    type: 'boolean',
    help: "SparseGrad: skip the all-zero rows of the output gradient in the backward (padding, the last block's non-[CLS] positions); same numbers",
  },
  sweep: {
    type: 'string',
    placeholder: 'FILE',
    help: "take each method's learning rate from a learning-rate sweep (the sweep.json of 'sparsegrad sweep', same task) and show the whole grid in the report; --lr-<method> still overrides one",
  },
  bootstrap: {
    type: 'int',
    min: 100,
    default: 10_000,
    help: 'paired bootstrap replicates for the 95 % intervals of accuracy (or held-out loss) differences (seeded, over test examples and seeds)',
  },
  concentrationBatches: { type: 'int', min: 0, default: 4, help: 'batches of held-out gradients for the concentration plot' },
  evalBatchSize: { type: 'int', min: 1, default: 64, help: 'examples per evaluation batch' },
  jobs: { type: 'int', min: 1, help: 'runs at once (default: min(2, cores))' },
  out: { type: 'string', placeholder: 'DIR', help: 'output folder for runs, results.json and report.html (default: runs/compare-<task>)' },
  resume: { type: 'boolean', help: 'skip finished runs and continue an interrupted one from its checkpoint' },
  keepCheckpoints: { type: 'boolean', help: "keep each run's final checkpoint (they are deleted once its result is written)" },
  rerender: {
    type: 'boolean',
    help: "only rewrite report.html from the results.json in --out (no training); results from before the bag-of-word-pieces baseline get it, from the task the other flags describe (the comparison's own flags: its test labels are checked)",
  },
  stopAfter: { type: 'int', min: 1, hidden: true, help: 'test hook: interrupt each run after N steps' },
} as const satisfies FlagSpecs;

export type CompareFlags = Flags<typeof compareFlags>;

function describeProfile(name: ProfileName): string {
  const p = PROFILES[name];
  return `${p.model} (--train ${p.train}), ${p.task}, ${p.maxTrain} train / ${p.maxTest} test, ${p.steps} steps of ${p.batchSize}×${p.maxLength} tokens, ${formatLrs({ lr: p.lr, methods: [...METHODS] })}, ${p.seeds.length} seed${p.seeds.length > 1 ? 's' : ''}`;
}

export const compareHelp = () =>
  formatHelp(
    'compare',
    [
      'Fine-tune a BERT classifier with full fine-tuning, LoRA (r=7), MeProp and SparseGrad at the same',
      'trainable budget, over several seeds; print the table and write an HTML report.',
      'Under each table: the majority class and a bag-of-word-pieces baseline (softmax regression on the same',
      'truncated tokens), so that a reader sees whether fine-tuning beat the simplest model.',
      'Every accuracy difference between two methods comes with a paired bootstrap 95 % interval (over the',
      'test examples and the seeds); with one seed no method is ranked above another. --train mlp-only makes',
      'the MLP method the only variable (everything else frozen but the task head); --prelim-all gives LoRA',
      'and MeProp the preliminary full steps SparseGrad takes. Per step, the report shows how many entries each',
      'method changed and how much gradient energy its top-k kept. Memory at BERT-base size: sparsegrad memory.',
      `Settings: default: ${describeProfile('default')}.`,
      `Language modelling (--task moby-dick or brown:<genre>, LLaMa): held-out loss and perplexity; ${(['quick', 'default', 'full'] as const).map((n) => `${n}: ${LM_PROFILES[n].steps} steps of ${LM_PROFILES[n].batchSize}×${LM_PROFILES[n].maxLength} tokens, ≤ ${formatCount(LM_PROFILES[n].maxChars)} chars per side, ${LM_PROFILES[n].seeds.length} seed${LM_PROFILES[n].seeds.length > 1 ? 's' : ''}`).join('; ')}. The default and full settings: llama-small with --train mlp-only (as the paper's LLaMa runs), ${formatLrs({ lr: LM_LR_SMALL, methods: [...METHODS] })} (the Moby Dick sweep's); quick: llama-mini, --train paper, lr 1e-3 (untuned).`,
    ].join('\n'),
    compareFlags,
  );
