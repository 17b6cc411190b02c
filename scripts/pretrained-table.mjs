// `node scripts/pretrained-table.mjs`: cli/pretrained/table.md, the pretraining results of
// every shipped model, generated from each folder's pretraining.json (written by
// `sparsegrad pretrain`), never typed by hand. `node scripts/readme-tables.mjs` then copies
// it into cli/pretrained/README.md; spec/readme.spec.ts checks both steps.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PRETRAINED = join(root, 'cli/pretrained');

const int = (n) => Math.round(n).toLocaleString('en-US');
const pct = (x) => `${(100 * x).toFixed(1)}%`;
function duration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${Math.round(seconds % 60)} s`;
}

/** The table, from the pretraining.json of every folder under cli/pretrained. */
export function pretrainedTable() {
  const folders = readdirSync(PRETRAINED)
    .filter((name) => existsSync(join(PRETRAINED, name, 'pretraining.json')))
    .sort();
  const rows = folders.map((name) => {
    const r = JSON.parse(readFileSync(join(PRETRAINED, name, 'pretraining.json'), 'utf8'));
    // A continued run (pretrain --init) keeps the earlier phase as `previous`: oldest first.
    const phases = [];
    for (let p = r; p; p = p.previous) phases.unshift(p);
    const c = r.config;
    const shape = `${c.num_hidden_layers} × ${c.hidden_size}, FFN ${c.intermediate_size}`;
    const what = r.model === 'bert' ? 'masked tokens' : 'next tokens';
    const { heldOut: h, baselines } = r;
    const u = baselines.unigram;
    // Held-out evaluations of every phase, numbered by the steps trained since initialization.
    let before = 0;
    const evals = phases.flatMap((p) => {
      const shifted = p.evals.map((e) => ({ loss: e.loss, step: before + e.step }));
      before += p.steps;
      return shifted;
    });
    const curve = `${evals.map((e) => e.loss.toFixed(2)).join(' → ')} (steps ${evals.map((e) => e.step).join(', ')})`;
    const batches = [...new Set(phases.map((p) => `${p.options.batchSize} × ${p.options.seqLength}`))].join(' / ');
    // A phase that also trained next-sentence prediction (pretrain --nsp), or read the
    // fine-tuning corpora's unread text (--corpus all), says so.
    const notes = (p) => [p.options.nsp && 'MLM + NSP', p.corpus.sources && 'with task text'].filter(Boolean).join(', ');
    const steps = `${phases.map((p) => `${int(p.steps)}${notes(p) ? ` (${notes(p)})` : ''}`).join(' + ')} × ${batches}, lr ${phases.map((p) => p.options.lr).join(' then ')}`;
    const accuracy = `${pct(h.accuracy)}${h.nextSentence ? `; next sentence ${pct(h.nextSentence.accuracy)}` : ''}`;
    const seconds = phases.reduce((t, p) => t + p.seconds, 0);
    return `| \`${name}\` | ${shape} | ${int(r.parameters)} | ${steps} | ${duration(seconds)} | ${what} | ${h.loss.toFixed(3)} | ${h.perplexity.toFixed(1)} | ${accuracy} | ${u.perplexity.toFixed(1)} | ${pct(u.accuracy)} | ${r.train.loss.toFixed(3)} | ${curve} |`;
  });
  return [
    '| folder | layers × hidden, FFN | parameters | steps × batch × tokens | wall time | held out | loss | perplexity | accuracy | unigram perplexity | unigram accuracy | train loss (last steps) | held-out loss during training |',
    '|---|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(join(PRETRAINED, 'table.md'), `${pretrainedTable()}\n`);
}
