/**
 * BERT's "basic tokenizer": the text clean-up and word splitting that run before
 * WordPiece. It follows the `tokenizers` (Rust) BertNormalizer + BertPreTokenizer that
 * a `tokenizer.json` describes, which agree with the Python BasicTokenizer except that
 * Rust lower-cases character by character (Σ always becomes σ, never the final ς) and
 * strips accents before lower-casing. Written as whole-string rewrites, not a per-char
 * loop, because V8's regex engine does the Unicode category tests far faster.
 */
export interface BasicTokenizerOptions {
  lowercase: boolean;
  stripAccents: boolean;
  tokenizeChineseChars: boolean;
}

/** NUL, U+FFFD and every "other" (C*) character except tab, newline and carriage return. */
const REMOVED = /[\0\uFFFD]|(?![\t\n\r])\p{C}/gu;
/** The CJK Unified Ideograph blocks of HF's `_is_chinese_char` (not kana or hangul, which are written with spaces). */
const CJK =
  /[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}]/gu;
/** Unicode punctuation plus all ASCII symbols ($ + < = > ^ ` | ~ are not P* but BERT splits on them too). */
const PUNCTUATION = /[!-/:-@[-`{-~\p{P}]/gu;
const MARK = /\p{Mn}/gu;
/** After REMOVED, JS `\s` is exactly the whitespace both HF versions split on (Zs, Zl, Zp, \t \n \r). */
const WHITESPACE = /\s+/u;

/** Splits text into BERT words: cleaned, CJK ideographs and punctuation as single-character words. */
export function basicTokenize(text: string, o: BasicTokenizerOptions): string[] {
  let t = text.replace(REMOVED, '');
  if (o.tokenizeChineseChars) t = t.replace(CJK, ' $& ');
  if (o.stripAccents) t = t.normalize('NFD').replace(MARK, '');
  // Σ is the only character whose default lower case depends on context; Rust's per-char mapping ignores it.
  if (o.lowercase) t = t.replace(/Σ/g, 'σ').toLowerCase();
  return t
    .replace(PUNCTUATION, ' $& ')
    .split(WHITESPACE)
    .filter((w) => w !== '');
}
