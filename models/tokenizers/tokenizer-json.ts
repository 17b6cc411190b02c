/**
 * The parts of a Hugging Face `tokenizer.json` that our tokenizers read, and the check
 * that an untrusted file holds them in the forms we support. Only the fields we use are
 * typed; the post-processor, decoder, truncation and padding sections are not read (the
 * readers implement BERT's and LLaMa's standard ones), so files written by any
 * `tokenizers` version load as long as these fields keep their meaning.
 */
import { FormatError } from '../../base/errors.ts';
import { isNat, isRecord, parseJson, show } from '../json.ts';

export interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

/** A normalizer or pre-tokenizer entry: a `type` and its own fields (see the readers). */
export interface ComponentJson {
  type: string;
  [field: string]: unknown;
}

export interface TokenizerJson {
  model: {
    type: string;
    vocab: Record<string, number>;
    /** BPE only: `"a b"` strings (tokenizers < 0.20) or `["a", "b"]` pairs, highest priority first. */
    merges?: (string | [string, string])[];
    unk_token?: string | null;
    byte_fallback?: boolean;
    continuing_subword_prefix?: string | null;
    max_input_chars_per_word?: number;
  };
  normalizer?: ComponentJson | null;
  pre_tokenizer?: ComponentJson | null;
  added_tokens?: AddedTokenJson[];
}

/** Nested `Sequence`s accepted in a normalizer or pre-tokenizer; real files use one level. */
export const MAX_COMPONENT_DEPTH = 8;

/**
 * Check an untrusted parsed `tokenizer.json` against what our tokenizers support, so a bad
 * file is a FormatError naming the field at load time (never a TypeError later, never
 * wrong ids): the model's type and fields; a vocabulary whose ids are 0..n−1, each once
 * (safe integers: not "5", 1.5 or 2^40); merges as `"a b"` strings or `[a, b]` pairs of
 * strings; added tokens that name a vocabulary token by its own id; normalizers and
 * pre-tokenizers as objects with a string `type`, `Sequence`s nested at most
 * MAX_COMPONENT_DEPTH deep. Which components each model supports is checked by its reader.
 */
export function checkTokenizerJson(json: unknown, what = 'tokenizer.json'): TokenizerJson {
  const fail = (field: string, detail: string): never => {
    throw new FormatError(`${what}: ${field} ${detail}`);
  };
  if (!isRecord(json)) return fail('the file', `must hold a JSON object, got ${show(json)}`);
  const model = json.model;
  if (!isRecord(model)) return fail('model', `must be an object, got ${show(model)}`);
  if (model.type !== 'WordPiece' && model.type !== 'BPE') return fail('model.type', `${show(model.type)} is not supported (WordPiece or byte-fallback BPE)`);
  const vocab = model.vocab;
  if (!isRecord(vocab)) return fail('model.vocab', `must map tokens to ids, got ${show(vocab)}`);
  const tokens = Object.keys(vocab);
  if (tokens.length === 0) fail('model.vocab', 'is empty');
  const owner: string[] = new Array(tokens.length);
  for (const token of tokens) {
    const id = vocab[token];
    if (!isNat(id)) fail(`model.vocab[${show(token)}]`, `must be a non-negative integer id, got ${show(id)}`);
    if ((id as number) >= tokens.length)
      fail(`model.vocab[${show(token)}]`, `is ${id}, but the ids of ${tokens.length} tokens must be 0..${tokens.length - 1}`);
    if (owner[id as number] !== undefined) fail('model.vocab', `gives id ${id} to both ${show(owner[id as number])} and ${show(token)}`);
    owner[id as number] = token;
  }
  for (const field of ['unk_token', 'continuing_subword_prefix', 'end_of_word_suffix']) {
    if (model[field] !== undefined && model[field] !== null && typeof model[field] !== 'string')
      fail(`model.${field}`, `must be a string or null, got ${show(model[field])}`);
  }
  if (model.max_input_chars_per_word !== undefined && !(isNat(model.max_input_chars_per_word) && model.max_input_chars_per_word > 0)) {
    fail('model.max_input_chars_per_word', `must be a positive integer, got ${show(model.max_input_chars_per_word)}`);
  }
  for (const field of ['byte_fallback', 'fuse_unk', 'ignore_merges']) {
    if (model[field] !== undefined && typeof model[field] !== 'boolean') fail(`model.${field}`, `must be true or false, got ${show(model[field])}`);
  }
  if (model.type === 'BPE') checkBpe(model, fail);
  if (json.added_tokens !== undefined && json.added_tokens !== null) {
    if (!Array.isArray(json.added_tokens)) fail('added_tokens', `must be an array, got ${show(json.added_tokens)}`);
    (json.added_tokens as unknown[]).forEach((t, i) => {
      const at = `added_tokens[${i}]`;
      if (!isRecord(t)) return fail(at, `must be an object, got ${show(t)}`);
      if (typeof t.content !== 'string' || t.content === '') fail(`${at}.content`, `must be a non-empty string, got ${show(t.content)}`);
      if (!isNat(t.id)) fail(`${at}.id`, `must be a non-negative integer id, got ${show(t.id)}`);
      if (t.special !== undefined && typeof t.special !== 'boolean') fail(`${at}.special`, `must be true or false, got ${show(t.special)}`);
      // Our tokenizers look added tokens up in the vocabulary: both must agree.
      if (!Object.hasOwn(vocab, t.content as string) || vocab[t.content as string] !== t.id) {
        fail(
          at,
          `${show(t.content)} has id ${t.id}, but the vocabulary ${Object.hasOwn(vocab, t.content as string) ? `gives it id ${vocab[t.content as string]}` : 'does not hold it'} (tokens added beyond the vocabulary are not supported)`,
        );
      }
    });
  }
  checkComponent(json.normalizer, 'normalizer', 'normalizers', 0, fail);
  checkComponent(json.pre_tokenizer, 'pre_tokenizer', 'pretokenizers', 0, fail);
  return json as unknown as TokenizerJson;
}

/** BPE fields: merges well formed; features that change the result and that we do not implement refused. */
function checkBpe(model: Record<string, unknown>, fail: (field: string, detail: string) => never): void {
  const merges = model.merges ?? [];
  if (!Array.isArray(merges)) return fail('model.merges', `must be an array, got ${show(merges)}`);
  merges.forEach((m: unknown, i) => {
    const ok =
      typeof m === 'string'
        ? /^[^ ]+ [^ ]+$/su.test(m)
        : Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string' && m[0] !== '' && m[1] !== '';
    if (!ok) fail(`model.merges[${i}]`, `must be "left right" (one space) or a pair ["left", "right"] of tokens, got ${show(m)}`);
  });
  if (model.dropout !== undefined && model.dropout !== null) fail('model.dropout', `${show(model.dropout)}: BPE dropout is not supported`);
  if (model.ignore_merges === true) fail('model.ignore_merges', 'true is not supported (whole-word vocabulary lookups before merging)');
  for (const field of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    if (model[field] !== undefined && model[field] !== null && model[field] !== '')
      fail(`model.${field}`, `${show(model[field])} is not supported by the SentencePiece-style BPE reader`);
  }
}

/** A normalizer or pre-tokenizer: null, or an object with a string `type`; a `Sequence` holds a bounded list of them. */
function checkComponent(c: unknown, field: string, members: string, depth: number, fail: (field: string, detail: string) => never): void {
  if (c === undefined || c === null) return;
  if (!isRecord(c) || typeof c.type !== 'string') return fail(field, `must be null or an object with a string "type", got ${show(c)}`);
  if (c.type !== 'Sequence') return;
  if (depth >= MAX_COMPONENT_DEPTH) fail(field, `nests Sequences more than ${MAX_COMPONENT_DEPTH} deep`);
  const list = c[members];
  if (!Array.isArray(list)) fail(`${field}.${members}`, `must be an array, got ${show(list)}`);
  (list as unknown[]).forEach((m, i) => checkComponent(m, `${field}.${members}[${i}]`, members, depth + 1, fail));
}

/** Parse and check `tokenizer.json` bytes or text (see checkTokenizerJson). */
export function parseTokenizerJson(input: string | Uint8Array | ArrayBuffer, what = 'tokenizer.json'): TokenizerJson {
  return checkTokenizerJson(parseJson(input, what), what);
}

/** Depth-first list of a component and, for `Sequence`, its members. */
export function flattenComponents(c: ComponentJson | null | undefined): ComponentJson[] {
  if (!c) return [];
  const members = (c.normalizers ?? c.pretokenizers) as ComponentJson[] | undefined;
  return c.type === 'Sequence' && members ? members.flatMap(flattenComponents) : [c];
}

/** The types of a component list, for an error message ("nothing" when empty). */
export function describeComponents(list: readonly ComponentJson[]): string {
  return list.length === 0 ? 'nothing' : list.map((c) => c.type).join(' + ');
}
