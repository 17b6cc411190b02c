/**
 * BERT's WordPiece tokenizer, id for id with HF's BertTokenizerFast: the basic
 * tokenizer (bert-basic.ts), then greedy longest-match-first WordPiece with `##`
 * continuations, then `[CLS] a [SEP] b [SEP]` with segment ids, truncation and padding.
 */
import { FormatError, ValueError } from '../../base/errors.ts';
import { show } from '../json.ts';
import { basicTokenize, type BasicTokenizerOptions } from './bert-basic.ts';
import { pad, truncate, type EncodeOptions, type Encoding } from './encoding.ts';
import { specialTokenSplitter } from './special-tokens.ts';
import { checkTokenizerJson, describeComponents, flattenComponents, type TokenizerJson } from './tokenizer-json.ts';
import { Vocabulary } from './vocab.ts';

export interface BertTokenizerOptions {
  doLowerCase?: boolean;
  /** Defaults to `doLowerCase`, as in HF (cased models keep accents). */
  stripAccents?: boolean;
  tokenizeChineseChars?: boolean;
  unkToken?: string;
  /** Longer words become a single unknown token. */
  maxInputCharsPerWord?: number;
  /** Default `maxLength` for truncation and padding (bert-base's position table holds 512). */
  modelMaxLength?: number;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** HF's `clean_up_tokenization_spaces` (true for BERT): "hello , world" → "hello, world". */
  cleanUpSpaces?: boolean;
}

const PREFIX = '##';
/** HF's cleanup, applied in this order: each pattern loses its leading space ("hello , world" → "hello, world"). */
const CLEANUPS = [' .', ' ?', ' !', ' ,', " ' ", " n't", " 'm", " 's", " 've", " 're"];

export class BertTokenizer {
  readonly vocab: Vocabulary;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly maskId: number;
  private readonly basic: BasicTokenizerOptions;
  private readonly maxInputCharsPerWord: number;
  private readonly modelMaxLength: number;
  private readonly specialIds: ReadonlySet<number>;
  private readonly splitSpecials: (text: string) => string[];
  /** Longest piece in code points: WordPiece never needs to try a longer candidate. */
  private readonly maxPieceChars: number;

  /** `vocab`: tokens in id order, the text of a `vocab.txt`, or a parsed `tokenizer.json` with a WordPiece model. */
  constructor(vocab: readonly string[] | string | TokenizerJson, options: BertTokenizerOptions = {}) {
    const fromJson = typeof vocab === 'object' && !Array.isArray(vocab) ? checkTokenizerJson(vocab) : undefined;
    if (!fromJson && typeof vocab !== 'string' && !(Array.isArray(vocab) && vocab.every((t) => typeof t === 'string'))) {
      throw new FormatError(`BertTokenizer: the vocabulary must be vocab.txt text, an array of tokens or a tokenizer.json object, got ${typeof vocab}`);
    }
    const o = { ...(fromJson ? optionsFromJson(fromJson) : {}), ...options };
    this.vocab = new Vocabulary(fromJson ? new Map(Object.entries(fromJson.model.vocab)) : vocabMap(vocab as readonly string[] | string), 'BertTokenizer');
    const lower = o.doLowerCase ?? true;
    this.basic = { lowercase: lower, stripAccents: o.stripAccents ?? lower, tokenizeChineseChars: o.tokenizeChineseChars ?? true };
    this.maxInputCharsPerWord = o.maxInputCharsPerWord ?? 100;
    this.modelMaxLength = o.modelMaxLength ?? 512;
    const named = ['[PAD]', '[CLS]', '[SEP]', '[MASK]', o.unkToken ?? '[UNK]'];
    [this.padId, this.clsId, this.sepId, this.maskId, this.unkId] = named.map((t) => this.vocab.id(t)) as [number, number, number, number, number];
    // A tokenizer.json lists its added tokens (all cut out of the text, the special ones skippable); a vocab.txt has the five above.
    const added = fromJson?.added_tokens ?? named.map((content) => ({ content, special: true }));
    this.specialIds = new Set(added.filter((t) => t.special).map((t) => this.vocab.id(t.content)));
    this.splitSpecials = specialTokenSplitter([...new Set(added.map((t) => t.content))]);
    let longest = 0;
    for (const t of this.vocab.ids.keys()) longest = Math.max(longest, [...(t.startsWith(PREFIX) ? t.slice(PREFIX.length) : t)].length);
    this.maxPieceChars = longest;
  }

  /** Word pieces of `text`, without [CLS]/[SEP]. */
  tokenize(text: string): string[] {
    return this.ids(text).map((id) => this.vocab.token(id));
  }

  /** Ids of `text` (and `pair`) laid out as BERT expects: `[CLS] text [SEP] pair [SEP]`. */
  encode(text: string, pair?: string, options: EncodeOptions = {}): Encoding {
    const e = this.encodeUnpadded(text, pair, options);
    return options.padding === 'max_length' ? pad(e, options.maxLength ?? this.modelMaxLength, this.padId) : e;
  }

  /** Encodes each text or `[text, pair]`; `padding: 'longest'` pads all to the longest result. */
  encodeBatch(inputs: readonly (string | readonly [string, string])[], options: EncodeOptions = {}): Encoding[] {
    const encoded = inputs.map((x) => (typeof x === 'string' ? this.encode(x, undefined, options) : this.encode(x[0], x[1], options)));
    if (options.padding !== 'longest') return encoded;
    const longest = encoded.reduce((n, e) => Math.max(n, e.inputIds.length), 0);
    return encoded.map((e) => pad(e, longest, this.padId));
  }

  /** Text of `ids`: pieces joined by spaces, `##` continuations glued to their word. */
  decode(ids: readonly number[], { skipSpecialTokens = false, cleanUpSpaces = true }: DecodeOptions = {}): string {
    const kept = skipSpecialTokens ? ids.filter((id) => !this.specialIds.has(id)) : ids;
    const text = kept
      .map((id) => this.vocab.token(id))
      .join(' ')
      .replaceAll(` ${PREFIX}`, '')
      .trim();
    return cleanUpSpaces ? CLEANUPS.reduce((t, p) => t.replaceAll(p, p.trim()), text) : text;
  }

  private encodeUnpadded(text: string, pair: string | undefined, o: EncodeOptions): Encoding {
    const special = o.addSpecialTokens ?? true;
    const maxLength = o.maxLength ?? this.modelMaxLength;
    const reserved = special ? (pair === undefined ? 2 : 3) : 0;
    if (o.truncation && maxLength < reserved) throw new ValueError(`BertTokenizer.encode: maxLength ${maxLength} cannot hold the ${reserved} special tokens`);
    const [a, b] = truncate(this.ids(text), pair === undefined ? undefined : this.ids(pair), maxLength - reserved, o.truncation ?? false);
    const first = special ? [this.clsId, ...a, this.sepId] : a;
    const second = b === undefined ? [] : special ? [...b, this.sepId] : b;
    return {
      inputIds: [...first, ...second],
      tokenTypeIds: [...first.map(() => 0), ...second.map(() => 1)],
      attentionMask: new Array<number>(first.length + second.length).fill(1),
    };
  }

  private ids(text: string): number[] {
    const out: number[] = [];
    this.splitSpecials(text).forEach((segment, i) => {
      if (i % 2 === 1) out.push(this.vocab.id(segment));
      else for (const word of basicTokenize(segment, this.basic)) this.wordPiece(word, out);
    });
    return out;
  }

  /** Greedy longest-match-first, as Google's BERT: a word that cannot be covered is one unknown token. */
  private wordPiece(word: string, out: number[]): void {
    const chars = [...word];
    if (chars.length > this.maxInputCharsPerWord) {
      out.push(this.unkId);
      return;
    }
    const pieces: number[] = [];
    for (let start = 0; start < chars.length; ) {
      let end = Math.min(chars.length, start + this.maxPieceChars);
      let id: number | undefined;
      for (; end > start; end--) {
        id = this.vocab.ids.get((start > 0 ? PREFIX : '') + chars.slice(start, end).join(''));
        if (id !== undefined) break;
      }
      if (id === undefined) {
        out.push(this.unkId);
        return;
      }
      pieces.push(id);
      start = end;
    }
    out.push(...pieces);
  }
}

/** `vocab.txt` holds one token per line, the line number being the id; HF lets a repeated token keep its last id. */
function vocabMap(vocab: readonly string[] | string): Map<string, number> {
  const tokens = typeof vocab === 'string' ? vocab.replace(/\r?\n$/, '').split(/\r?\n/) : vocab;
  return new Map(tokens.map((t, i) => [t, i]));
}

/**
 * Reads the settings a `tokenizer.json` carries (BertNormalizer fields, WordPiece model
 * fields). Anything that would make HF tokenize differently from our basic tokenizer —
 * another normalizer or pre-tokenizer, `clean_text: false` — is refused, not ignored.
 */
function optionsFromJson(json: TokenizerJson): BertTokenizerOptions {
  const { model } = json;
  const fail = (detail: string): never => {
    throw new FormatError(`BertTokenizer: tokenizer.json ${detail}`);
  };
  if (model.type !== 'WordPiece') fail(`model.type is '${model.type}', expected 'WordPiece'`);
  if ((model.continuing_subword_prefix ?? PREFIX) !== PREFIX) fail(`continuing_subword_prefix '${model.continuing_subword_prefix}' is not '##'`);
  const norms = flattenComponents(json.normalizer);
  const pres = flattenComponents(json.pre_tokenizer);
  if (norms.length !== 1 || norms[0]!.type !== 'BertNormalizer') fail(`normalizer must be one BertNormalizer, got ${describeComponents(norms)}`);
  if (pres.length !== 1 || pres[0]!.type !== 'BertPreTokenizer') fail(`pre_tokenizer must be one BertPreTokenizer, got ${describeComponents(pres)}`);
  const norm = norms[0]!;
  if (norm.clean_text === false) fail('BertNormalizer.clean_text false is not supported (text is always cleaned)');
  for (const field of ['clean_text', 'handle_chinese_chars', 'lowercase']) {
    if (norm[field] !== undefined && typeof norm[field] !== 'boolean') fail(`BertNormalizer.${field} must be true or false, got ${show(norm[field])}`);
  }
  if (norm.strip_accents !== undefined && norm.strip_accents !== null && typeof norm.strip_accents !== 'boolean') {
    fail(`BertNormalizer.strip_accents must be true, false or null, got ${show(norm.strip_accents)}`);
  }
  if (typeof model.unk_token !== 'string') fail(`model.unk_token must name the unknown token, got ${show(model.unk_token)}`);
  const o: BertTokenizerOptions = { unkToken: model.unk_token! };
  if (model.max_input_chars_per_word !== undefined) o.maxInputCharsPerWord = model.max_input_chars_per_word;
  o.doLowerCase = norm.lowercase !== false;
  if (typeof norm.strip_accents === 'boolean') o.stripAccents = norm.strip_accents;
  o.tokenizeChineseChars = norm.handle_chinese_chars !== false;
  return o;
}
