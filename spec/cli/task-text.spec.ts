/**
 * The unlabeled pretraining text taken from the fine-tuning corpora (`pretrain --corpus
 * all`): none of it may be a text that a fine-tuning split of --data-seed 0 evaluates on,
 * nor one that the presets train on, or the comparison would test on what the model read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { brownDocuments, brownText } from '../../cli/data/corpora.ts';
import { BROWN_CLASSIFICATION_GENRES, loadClassificationTask } from '../../cli/data/tasks.ts';
import { pretrainCommand } from '../../cli/commands/pretrain.ts';
import { pretrainingSummary } from '../../cli/weights-identity.ts';
import { checkPretrainingOverlap, PRETRAINING_DATA_SEED, pretrainedOnTaskText, RESERVED_TRAINING, unlabeledTaskText } from '../../cli/pretrain/task-text.ts';

describe('pretraining text from the fine-tuning corpora', () => {
  const sources = Object.fromEntries(unlabeledTaskText().map((s) => [s.name, s]));

  test.each(['spam', 'imdb'] as const)('%s: no test text and none of the reserved training texts, at any cap up to the reserve', (task) => {
    const used = new Set(sources[task]!.documents);
    const whole = loadClassificationTask(task, { seed: PRETRAINING_DATA_SEED });
    expect(whole.test.filter((e) => used.has(e.text))).toEqual([]);
    // The presets' caps (spam ≤ 2,000, IMDB --full 4,000) and the reserve itself read none of it.
    for (const cap of [600, 2000, 4000, RESERVED_TRAINING[task]].filter((c) => c <= RESERVED_TRAINING[task])) {
      const read = loadClassificationTask(task, { seed: PRETRAINING_DATA_SEED, maxTrain: cap });
      expect(read.train.filter((e) => used.has(e.text)).length, `cap ${cap}`).toBe(0);
    }
    // What is left is the rest of the training side (less duplicates of excluded texts).
    expect(sources[task]!.documents.length).toBeGreaterThan(0.9 * (whole.train.length - RESERVED_TRAINING[task]));
    expect(sources[task]!.documents.length).toBeLessThanOrEqual(whole.train.length - RESERVED_TRAINING[task]);
  });

  test('brown: only documents of the genres brown-genre does not classify, so none of its passages', () => {
    const brown = sources.brown!.documents;
    const classified = brownDocuments().filter((d) => BROWN_CLASSIFICATION_GENRES.includes(d.genre));
    const text = new Set(brown);
    expect(classified.filter((d) => text.has(brownText(d)))).toEqual([]);
    expect(brown.length).toBe(brownDocuments().length - classified.length);
    const passages = loadClassificationTask('brown-genre', { seed: PRETRAINING_DATA_SEED });
    const all = brown.join('\n');
    for (const e of [...passages.train.slice(0, 20), ...passages.test.slice(0, 20)]) expect(all.includes(e.text)).toBe(false);
  });

  test('LLaMa refuses it: its fine-tuning tasks (Moby Dick, any Brown genre) would overlap', async () => {
    await expect(pretrainCommand({ model: 'llama', out: '/nonexistent', corpus: 'all', log: () => {} })).rejects.toThrow(/corpus 'all' is for BERT/);
  });
});

describe('a model pretrained on task text is evaluated on the split that excludes it', () => {
  test('any phase counts; another --data-seed is refused for that task only; folders without a record pass', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-task-text-'));
    try {
      expect(pretrainedOnTaskText(dir)).toEqual([]);
      checkPretrainingOverlap(dir, 'imdb', 3);
      // The task text came in an earlier phase; the last phase read the addresses only.
      const record = { corpus: {}, previous: { corpus: { sources: [{ name: 'spam' }, { name: 'imdb' }, { name: 'brown' }] }, previous: { corpus: {} } } };
      writeFileSync(join(dir, 'pretraining.json'), JSON.stringify(record));
      expect(pretrainedOnTaskText(dir).sort()).toEqual(['brown', 'imdb', 'spam']);
      checkPretrainingOverlap(dir, 'imdb', PRETRAINING_DATA_SEED);
      checkPretrainingOverlap(dir, 'brown-genre', 3);
      expect(() => checkPretrainingOverlap(dir, 'imdb', 3)).toThrow(/pretrained on imdb text .* --data-seed 3 may contain text it read/);
      expect(() => checkPretrainingOverlap(dir, 'spam', 1)).toThrow(/Use --data-seed 0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the report's pretraining line", () => {
  test('every phase oldest first, with what each one trained; the last phase gives the held-out figures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-phases-'));
    try {
      expect(pretrainingSummary(dir)).toBeNull();
      const phase = (steps: number, nsp: boolean, sources: { name: string }[] | undefined, accuracy: number, previous?: object) => ({
        model: 'bert',
        steps,
        options: { nsp },
        corpus: sources ? { sources } : {},
        heldOut: { accuracy, ...(nsp ? { nextSentence: { accuracy: 0.734 } } : {}) },
        previous,
      });
      const record = phase(1000, true, [{ name: 'imdb' }], 0.156, phase(1500, true, undefined, 0.158, phase(3000, false, undefined, 0.15)));
      writeFileSync(join(dir, 'pretraining.json'), JSON.stringify(record));
      expect(pretrainingSummary(dir)).toBe(
        'pretrained here: 3,000 + 1,500 (MLM + NSP) + 1,000 (MLM + NSP, with task text) steps; held-out masked-token accuracy 15.6 %, next sentence 73.4 %',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
