/**
 * Special tokens typed inside the text ("[MASK]", "</s>") become their ids, as in HF:
 * its AddedVocabulary cuts them out of the raw text before normalisation, taking the
 * leftmost match and, among matches at one place, the longest.
 */

/** Returns a splitter whose output alternates text, special, text, ... (odd entries are specials). */
export function specialTokenSplitter(specials: readonly string[]): (text: string) => string[] {
  if (specials.length === 0) return (text) => [text];
  // A regex alternation takes the first alternative that matches: longest first gives leftmost-longest.
  const alternatives = [...specials].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`(${alternatives.join('|')})`);
  return (text) => text.split(re);
}
