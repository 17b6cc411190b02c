// `node scripts/campaign.mjs`: the experiments the README's comparison rests on, in the
// order they are worth running, each writing its numbers under results/<name>/. It runs
// every step whose output is missing, one after another; a step cut short (Ctrl-C, the
// end of a session) continues where it stopped when the script runs again, because every
// comparison runs with --resume (finished runs are kept, an interrupted one resumes from
// its checkpoint). Steps that need a pretrained folder that does not exist yet are skipped.
//
//   node scripts/campaign.mjs           run what is missing
//   node scripts/campaign.mjs --list    what is done, what is not, and each step's command
//   node scripts/campaign.mjs --only N  one step (by name)
//   node scripts/campaign.mjs --jobs N  runs at once in each comparison (default: one per core, at most 2)
//
// Then `node scripts/readme-tables.mjs` copies each committed table.md into the README.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BERT = 'cli/pretrained/bert-small';
const LLAMA = 'cli/pretrained/llama-small';
/** bert-small continued on the fine-tuning corpora's unread text (its third phase; cli/pretrained/README.md). */
const BERT_TASKTEXT = 'cli/pretrained/bert-small-tasktext';

/** k per MLP matrix of bert-small (256 × 1024) at a density: the paper's BERT-base density is ≈ 1.1 %. */
const kAt = (density) => Math.round(density * 256 * 1024);

/**
 * The comparisons whose methods the model tells apart run two seeds beyond the paper's three
 * (the sweeps keep three): their intervals are the ones the README's reading rests on.
 */
const FIVE_SEEDS = ['--seeds', '42,3705,2023,1,2'];

/**
 * A learning-rate sweep on a validation split, then the comparison at the chosen rates on
 * the test split: two steps under results/<name>/. `sweepFlags` go to the sweep only,
 * `compareFlags` to the comparison only.
 */
function tuned(name, model, flags, sweepFlags = [], compareFlags = []) {
  const sweep = `results/${name}/sweep`;
  return [
    { name: `${name}/sweep`, model, args: ['sweep', '--model', model, ...flags, ...sweepFlags, '--resume', '--out', sweep], output: `${sweep}/sweep.json` },
    {
      name,
      model,
      args: ['compare', '--model', model, ...flags, ...compareFlags, '--sweep', `${sweep}/sweep.json`, '--resume', '--out', `results/${name}`],
      output: `results/${name}/results.json`,
      seeds: seedCount(compareFlags),
    },
  ];
}

/** How many seeds the flags ask for (undefined: the setting's). */
function seedCount(flags) {
  const at = flags.indexOf('--seeds');
  return at < 0 ? undefined : flags[at + 1].split(',').length;
}

/** A comparison at the rates another step's sweep chose (the same task and setting, one thing changed). */
function atRatesOf(name, model, sweptBy, flags) {
  return {
    name,
    model,
    args: ['compare', '--model', model, ...flags, '--sweep', `results/${sweptBy}/sweep/sweep.json`, '--resume', '--out', `results/${name}`],
    output: `results/${name}/results.json`,
    after: `results/${sweptBy}/sweep/sweep.json`,
  };
}

const SPAM_MLP_ONLY = ['--task', 'spam', '--train', 'mlp-only'];

/**
 * The budget sweep: MeProp and SparseGrad at another k, at the spam sweep's rates. Only they
 * run: LoRA keeps its rank and full FT has no budget, so their runs would repeat the base's.
 */
const atDensity = (name, density) =>
  atRatesOf(name, BERT, 'spam-small-mlp-only', [...SPAM_MLP_ONLY, '--k', String(kAt(density)), '--methods', 'meprop,sparsegrad']);

export const STEPS = [
  // The method as the only variable (everything else frozen but the head), on the stronger model.
  ...tuned('spam-small-mlp-only', BERT, SPAM_MLP_ONLY),
  // The paper's LLaMa setting (MLP only) on held-out Moby Dick.
  ...tuned('moby-dick-small-mlp-only', LLAMA, ['--task', 'moby-dick', '--train', 'mlp-only'], [], FIVE_SEEDS),
  ...tuned('brown-genre-small-mlp-only', BERT, ['--task', 'brown-genre', '--train', 'mlp-only']),
  // The budget: the paper's density (1.1 %) and 10 %, beside the default r·(in + out) = 3.4 %;
  // then the preliminary phase shared by every method.
  atDensity('spam-small-mlp-only-paper-density', 0.011),
  atDensity('spam-small-mlp-only-density-10pct', 0.1),
  atRatesOf('spam-small-mlp-only-prelim-all', BERT, 'spam-small-mlp-only', [...SPAM_MLP_ONLY, '--prelim-all']),
  // bert-small after its second pretraining phase (masked LM + next-sentence prediction,
  // cli/pretrained/README.md), which trains the [CLS] vector and the pooler the classifier
  // reads: the BERT steps again, under new names (the steps above ran on the first phase's
  // weights; each results.json records the digest of the weights it used).
  // IMDB first at the --full setting's own rates (the spam sweep's choices; 3 seeds × 4 methods
  // × 500 steps of 16 × 128 tokens, ≈ 2.5 h on two cores; committed: every method near chance).
  // Its tuned step below sweeps 120-step runs, as every other task's sweep does (at 500 steps
  // the 60 runs would take ≈ 12 h), so those rates are tuned for a shorter run than the comparison's.
  {
    name: 'imdb-small-nsp-full',
    model: BERT,
    args: ['compare', '--full', '--model', BERT, '--resume', '--out', 'results/imdb-small-nsp-full'],
    output: 'results/imdb-small-nsp-full/results.json',
  },
  // (IMDB's own sweep on these weights, imdb-small-nsp-mlp-only, was stopped at 38 of its 60
  // runs, every validation accuracy within a few points of chance; its results are committed.)
  ...tuned('brown-genre-small-nsp-mlp-only', BERT, ['--task', 'brown-genre', '--train', 'mlp-only'], [], FIVE_SEEDS),
  ...tuned('spam-small-nsp-mlp-only', BERT, SPAM_MLP_ONLY, [], FIVE_SEEDS),
  // Then the paper's GLUE setting: everything outside the MLP trains densely too.
  ...tuned('spam-small-nsp-paper', BERT, ['--task', 'spam', '--train', 'paper'], [], FIVE_SEEDS),
  // bert-small after a third phase on the fine-tuning corpora's text that no fine-tuning split
  // reads (pretrain --corpus all: reviews, e-mails, other Brown genres), which the addresses
  // lack. IMDB first, the task the earlier weights left at chance.
  ...tuned('imdb-small-tasktext-mlp-only', BERT_TASKTEXT, ['--full', '--task', 'imdb', '--train', 'mlp-only'], ['--steps', '120']),
  ...tuned('brown-genre-small-tasktext-mlp-only', BERT_TASKTEXT, ['--task', 'brown-genre', '--train', 'mlp-only']),
  ...tuned('spam-small-tasktext-mlp-only', BERT_TASKTEXT, SPAM_MLP_ONLY),
];

const argv = process.argv.slice(2);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
if (only !== undefined && !STEPS.some((s) => s.name === only)) {
  console.error(`campaign: no step named ${only}; steps: ${STEPS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const jobs = argv.includes('--jobs') ? ['--jobs', argv[argv.indexOf('--jobs') + 1]] : [];
const command = (s) => `node cli/bin.mjs ${[...s.args, ...jobs].join(' ')}`;
/** A step is done when its output exists and, where it asks for more seeds, holds that many (a comparison extended with --resume). */
const done = (s) => existsSync(join(root, s.output)) && (s.seeds === undefined || seedsIn(join(root, s.output)) >= s.seeds);
const seedsIn = (file) => String(JSON.parse(readFileSync(file, 'utf8')).settings.seeds).split(',').length;

if (argv.includes('--list')) {
  for (const s of STEPS) console.log(`${done(s) ? 'done   ' : 'pending'}  ${s.name}\n         ${command(s)}`);
  process.exit(0);
}

for (const s of STEPS) {
  if ((only !== undefined && s.name !== only) || done(s)) continue;
  if (!existsSync(join(root, s.model, 'config.json'))) {
    console.log(`campaign: skipping ${s.name}: ${s.model} does not exist yet (sparsegrad pretrain --size small)`);
    continue;
  }
  if (s.after && !existsSync(join(root, s.after))) {
    console.log(`campaign: skipping ${s.name}: it uses the rates of ${s.after}, not written yet`);
    continue;
  }
  console.log(`\ncampaign: ${s.name}\n  ${command(s)}`);
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(root, 'cli/bin.mjs'), ...s.args, ...jobs], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`campaign: ${s.name} stopped (exit ${run.status ?? run.signal}); run the script again to continue it`);
    process.exit(run.status ?? 1);
  }
  console.log(`campaign: ${s.name} done in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}
