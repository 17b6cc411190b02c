/**
 * `npx tsx scripts/cls-probe.ts DIR… [--task imdb] [--examples 1200] [--out results/probe-cls-imdb]`
 *
 * What a frozen BERT's [CLS] vector knows about a classification task, before any
 * fine-tuning: for each model folder, the final hidden state at [CLS] and the mean over the
 * real tokens, of the task's first `examples` training texts (128 tokens). It reports
 *   - the spread: per dimension, the standard deviation across texts, averaged, over the
 *     mean magnitude — near 0 when the vector hardly depends on the text;
 *   - a linear probe: softmax regression on standardized features of two thirds of the
 *     texts (full-batch gradient descent, L2 1e-2), accuracy on the other third.
 * A masked-LM-only model puts no loss on [CLS], which is what this makes visible; the
 * fine-tuning head reads that vector through the pooler.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadClassificationTask } from '../cli/data/tasks.ts';
import { weightsDigest } from '../cli/weights-identity.ts';
import { noGrad, setThreads, tensor } from '../index.ts';
import type { BertModel } from '../models/bert.ts';
import type { BertTokenizer } from '../models/tokenizers/index.ts';
import { loadPretrained } from '../node.ts';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const task = flag('--task', 'imdb');
const examples = Number(flag('--examples', '1200'));
const out = flag('--out', `results/probe-cls-${task}`);
const dirs = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
if (dirs.length === 0) throw new Error('usage: npx tsx scripts/cls-probe.ts DIR… [--task imdb] [--examples 1200] [--out DIR]');
const LENGTH = 128;
setThreads(cpus().length);

const data = loadClassificationTask(task as 'imdb', { seed: 0, maxTrain: examples, maxTest: 1 });
const texts = data.train.slice(0, examples);
const classes = Math.max(...texts.map((e) => e.label)) + 1;

/** [CLS] and mean-pooled final hidden states of every text, row-major [texts, hidden]. */
function features(bert: BertModel, tokenizer: BertTokenizer): { cls: Float64Array[]; mean: Float64Array[] } {
  const cls: Float64Array[] = [];
  const mean: Float64Array[] = [];
  for (let start = 0; start < texts.length; start += 32) {
    const rows = texts.slice(start, start + 32);
    const ids = new Int32Array(rows.length * LENGTH);
    const mask = new Int32Array(rows.length * LENGTH);
    rows.forEach((r, j) => {
      const e = tokenizer.encode(r.text, undefined, { maxLength: LENGTH, truncation: 'longest_first' }).inputIds;
      ids.set(e, j * LENGTH);
      mask.fill(1, j * LENGTH, j * LENGTH + e.length);
    });
    const h = noGrad(() =>
      bert
        .forward({ inputIds: tensor(ids, { shape: [rows.length, LENGTH] }), attentionMask: tensor(mask, { shape: [rows.length, LENGTH] }) })
        .lastHiddenState.contiguous(),
    );
    const width = h.shape[2]!;
    const d = h.data as Float32Array;
    rows.forEach((_, j) => {
      const n = mask.subarray(j * LENGTH, (j + 1) * LENGTH).reduce((a, x) => a + x, 0);
      cls.push(Float64Array.from(d.subarray(j * LENGTH * width, j * LENGTH * width + width)));
      const m = new Float64Array(width);
      for (let t = 0; t < n; t++) for (let k = 0; k < width; k++) m[k]! += d[(j * LENGTH + t) * width + k]! / n;
      mean.push(m);
    });
  }
  return { cls, mean };
}

/** Mean over dimensions of the across-text standard deviation, over the mean |value|. */
function spread(x: Float64Array[]): number {
  const width = x[0]!.length;
  let std = 0;
  let magnitude = 0;
  for (let k = 0; k < width; k++) {
    const column = x.map((row) => row[k]!);
    const mu = column.reduce((a, v) => a + v, 0) / column.length;
    std += Math.sqrt(column.reduce((a, v) => a + (v - mu) ** 2, 0) / column.length);
    magnitude += column.reduce((a, v) => a + Math.abs(v), 0) / column.length;
  }
  return std / magnitude;
}

/** Softmax regression on features standardized by the training part; train and test accuracy. */
function linearProbe(x: Float64Array[], labels: number[]): { train: number; test: number } {
  const cut = Math.floor((2 * x.length) / 3);
  const width = x[0]!.length;
  const mu = new Float64Array(width);
  const sd = new Float64Array(width);
  for (let k = 0; k < width; k++) {
    for (let i = 0; i < cut; i++) mu[k]! += x[i]![k]! / cut;
    for (let i = 0; i < cut; i++) sd[k]! += (x[i]![k]! - mu[k]!) ** 2 / cut;
    sd[k] = Math.sqrt(sd[k]!) + 1e-6;
  }
  const z = x.map((row) => row.map((v, k) => (v - mu[k]!) / sd[k]!));
  const w = Array.from({ length: classes }, () => new Float64Array(width + 1));
  const scores = (row: Float64Array) => w.map((wc) => row.reduce((a, v, k) => a + v * wc[k]!, wc[width]!));
  for (let iteration = 0; iteration < 2000; iteration++) {
    const grad = Array.from({ length: classes }, () => new Float64Array(width + 1));
    for (let i = 0; i < cut; i++) {
      const s = scores(z[i]!);
      const max = Math.max(...s);
      const e = s.map((v) => Math.exp(v - max));
      const total = e.reduce((a, v) => a + v, 0);
      for (let c = 0; c < classes; c++) {
        const g = e[c]! / total - (labels[i] === c ? 1 : 0);
        for (let k = 0; k < width; k++) grad[c]![k]! += (g * z[i]![k]!) / cut;
        grad[c]![width]! += g / cut;
      }
    }
    for (let c = 0; c < classes; c++) for (let k = 0; k <= width; k++) w[c]![k]! -= 0.5 * (grad[c]![k]! + (k < width ? 1e-2 * w[c]![k]! : 0));
  }
  const accuracy = (from: number, to: number) => {
    let hits = 0;
    for (let i = from; i < to; i++) {
      const s = scores(z[i]!);
      if (s.indexOf(Math.max(...s)) === labels[i]) hits++;
    }
    return hits / (to - from);
  };
  return { train: accuracy(0, cut), test: accuracy(cut, x.length) };
}

const labels = texts.map((e) => e.label);
const rows = [];
for (const dir of dirs) {
  const { model, tokenizer } = await loadPretrained(dir);
  const bert = (model as unknown as { bert: BertModel }).bert;
  bert.eval();
  const f = features(bert, tokenizer as BertTokenizer);
  const row = {
    model: dir,
    weights: weightsDigest(dir),
    cls: { spread: spread(f.cls), probe: linearProbe(f.cls, labels) },
    mean: { spread: spread(f.mean), probe: linearProbe(f.mean, labels) },
  };
  console.log(JSON.stringify(row));
  rows.push(row);
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const table = [
  '| model | weights | [CLS] spread | [CLS] probe, test | mean-pooled spread | mean-pooled probe, test |',
  '|---|---|---:|---:|---:|---:|',
  ...rows.map((r) => `| \`${r.model}\` | ${r.weights} | ${pct(r.cls.spread)} | ${pct(r.cls.probe.test)} | ${pct(r.mean.spread)} | ${pct(r.mean.probe.test)} |`),
].join('\n');
console.log(`\n${table}`);
mkdirSync(out, { recursive: true });
const record = {
  command: `npx tsx scripts/cls-probe.ts ${argv.join(' ')}`,
  generated: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version },
  task,
  texts: texts.length,
  split: `${Math.floor((2 * texts.length) / 3)} train / ${texts.length - Math.floor((2 * texts.length) / 3)} test of the task's training split (seed 0), ${LENGTH} tokens`,
  rows,
};
writeFileSync(join(out, 'results.json'), `${JSON.stringify(record, null, 1)}\n`);
writeFileSync(join(out, 'table.md'), `${table}\n`);
