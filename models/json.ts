/**
 * Untrusted JSON text (config.json, tokenizer.json, a shard index, trainer_state.json, a
 * safetensors header) → a value, with the limits every loader shares. These files are
 * written and read by serde_json in Hugging Face's Rust code, so the rules follow it:
 *
 * - nesting is bounded: serde_json refuses the 128th level of arrays/objects. V8's
 *   JSON.parse would accept any depth, but everything that walks the value afterwards
 *   (a reviver, JSON.stringify, a recursive reader) recurses and would overflow the stack;
 * - a `\uD800`–`\uDFFF` escape must be half of a surrogate pair (serde_json refuses a lone
 *   one; JSON.parse would make a string that is not valid Unicode);
 * - bytes must be UTF-8.
 *
 * The scan is one linear pass over the text before JSON.parse, so a hostile file costs
 * time proportional to its size and nothing else.
 */
import { FormatError } from '../base/errors.ts';

/** Deepest nesting accepted: serde_json's recursion limit (128) refuses the 128th level. */
export const MAX_JSON_DEPTH = 127;

export interface JsonScan {
  /** Deepest nesting of arrays and objects (a bare scalar is 0). */
  depth: number;
  /** Offset of the first number written with a fraction or an exponent (`8.0`, `1e3`), or −1. */
  firstNonInteger: number;
  /** Offset of the first `\uD800`–`\uDFFF` escape that is not half of a pair, or −1. */
  firstLoneSurrogate: number;
  /** The keys of the outermost object as written (quotes and escapes included), in order. */
  topKeys: string[];
}

/**
 * One pass over JSON text: nesting depth, and where numbers and escapes break the rules
 * above. It does not check the syntax (JSON.parse does), so on invalid text the answers
 * describe the text as far as it looks like JSON.
 */
export function scanJson(text: string): JsonScan {
  let depth = 0;
  let deepest = 0;
  let firstNonInteger = -1;
  let firstLoneSurrogate = -1;
  const topKeys: string[] = [];
  // Inside the outermost object, a string right after `{` or `,` is a key.
  let expectKey = false;
  let outerObject = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth; // { [
      if (depth === 1) outerObject = c === 0x7b;
      expectKey = depth === 1 && outerObject;
    } else if (c === 0x7d || c === 0x5d) {
      depth--; // } ]
    } else if (c === 0x2c) {
      expectKey = depth === 1 && outerObject; // `,` in the outermost object
    } else if (c === 0x22) {
      // A string: skip to its closing quote, checking \u escapes on the way.
      const start = i;
      for (i++; i < n; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x22) break;
        if (s !== 0x5c) continue;
        i++;
        if (text.charCodeAt(i) !== 0x75) continue; // \" \\ \n …: one character
        const unit = hex4(text, i + 1);
        i += 4;
        if (unit >= 0xd800 && unit <= 0xdbff && text.charCodeAt(i + 1) === 0x5c && text.charCodeAt(i + 2) === 0x75) {
          const low = hex4(text, i + 3);
          if (low >= 0xdc00 && low <= 0xdfff) {
            i += 6;
            continue;
          }
        }
        if (unit >= 0xd800 && unit <= 0xdfff && firstLoneSurrogate < 0) firstLoneSurrogate = i - 5;
      }
      if (expectKey && depth === 1) topKeys.push(text.slice(start, i + 1));
      expectKey = false;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      // A number: its characters are - + . 0-9 e E.
      const start = i;
      let integer = true;
      for (; i + 1 < n; i++) {
        const d = text.charCodeAt(i + 1);
        if (d === 0x2e || d === 0x65 || d === 0x45) integer = false;
        else if (!(d === 0x2b || d === 0x2d || (d >= 0x30 && d <= 0x39))) break;
      }
      if (!integer && firstNonInteger < 0) firstNonInteger = start;
    }
  }
  return { depth: deepest, firstNonInteger, firstLoneSurrogate, topKeys };
}

/** The value of 4 hex digits at `at`, or −1 (then JSON.parse reports the bad escape). */
function hex4(text: string, at: number): number {
  const digits = text.slice(at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(digits) ? Number.parseInt(digits, 16) : -1;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes (or text already decoded) → text; `what` names the file in the error. */
export function decodeUtf8(input: string | Uint8Array | ArrayBuffer, what: string): string {
  if (typeof input === 'string') return input;
  try {
    return UTF8.decode(input);
  } catch {
    throw new FormatError(`${what} is not valid UTF-8`);
  }
}

/**
 * Parse untrusted JSON: bytes or text → a value, FormatError naming `what` for invalid
 * UTF-8, invalid JSON, nesting past MAX_JSON_DEPTH or a lone surrogate escape. Objects
 * keep JSON.parse's semantics: a `"__proto__"` key is an own property, never the prototype.
 */
export function parseJson(input: string | Uint8Array | ArrayBuffer, what: string): unknown {
  const text = decodeUtf8(input, what);
  const scan = scanJson(text);
  if (scan.depth > MAX_JSON_DEPTH)
    throw new FormatError(`${what}: JSON nested ${scan.depth} levels deep, more than the ${MAX_JSON_DEPTH} a Hugging Face (serde_json) reader accepts`);
  if (scan.firstLoneSurrogate >= 0) {
    throw new FormatError(
      `${what}: the escape ${text.slice(scan.firstLoneSurrogate, scan.firstLoneSurrogate + 6)} at character ${scan.firstLoneSurrogate} is half of a surrogate pair without the other half`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-negative safe integer: a size, an offset, an id or a count. */
export function isNat(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A short, bounded rendering of an untrusted value for an error message. */
export function show(value: unknown, max = 60): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value;
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
