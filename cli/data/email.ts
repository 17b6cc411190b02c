/**
 * A small RFC-822 / MIME reader: enough to turn real mailbox files into the text a
 * classifier should see (decoded body, optionally Subject/From/To), never a full
 * mail library. Real mail is often malformed, so every step degrades instead of
 * throwing: unknown charsets fall back to windows-1252, broken multiparts are read
 * as plain text, bad escapes are kept literally.
 *
 * Internally a message is a "binary string" (one char per byte, latin1), so that
 * bodies can be decoded with the charset their own part declares.
 */
import { Buffer } from 'node:buffer';

export interface Email {
  /** Decoded header values (RFC 2047 encoded-words resolved); '' when absent. */
  subject: string;
  from: string;
  to: string;
  /** The readable body: text/plain preferred, else text/html with tags stripped. */
  body: string;
}

/**
 * Parse one message. Bytes are decoded part by part with each part's declared
 * charset; a string is taken as the UTF-8 text of the message (as a file read
 * with 'utf8' would be), so pass bytes when 8-bit parts use other charsets.
 */
export function parseEmail(raw: string | Uint8Array): Email {
  const binary =
    typeof raw === 'string' ? Buffer.from(raw, 'utf8').toString('latin1') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  const part = readPart(binary);
  const header = (name: string) => decodeHeader(part.headers.get(name) ?? '');
  return { subject: header('subject'), from: header('from'), to: header('to'), body: extractText(part, 0)?.text ?? '' };
}

/** The text a model sees: the body, preceded by Subject/From/To lines when keepHeaders is set. */
export function formatEmail(email: Email, keepHeaders: boolean): string {
  if (!keepHeaders) return email.body;
  const lines = (['subject', 'from', 'to'] as const).filter((k) => email[k] !== '').map((k) => `${k[0]!.toUpperCase()}${k.slice(1)}: ${email[k]}`);
  return lines.length === 0 ? email.body : `${lines.join('\n')}\n\n${email.body}`;
}

interface Part {
  /** Lower-cased names, unfolded values, first occurrence wins. */
  headers: Map<string, string>;
  body: string;
}

/**
 * Headers run to the first empty line. A line that is neither a header nor a
 * continuation also ends them (parts without a blank line exist in the wild), and
 * a leading mbox "From " separator line is skipped.
 */
function readPart(binary: string): Part {
  const headers = new Map<string, string>();
  let sawField = false;
  let current: string | null = null; // the field that continuation lines extend; null for ignored duplicates
  let pos = 0;
  while (pos < binary.length) {
    const eol = lineEnd(binary, pos);
    const line = binary.slice(pos, eol).replace(/\r$/, '');
    if (line === '') {
      pos = eol + 1;
      break;
    }
    const field = /^([!-9;-~]+):(.*)$/.exec(line);
    if (sawField && /^[ \t]/.test(line)) {
      if (current !== null) headers.set(current, `${headers.get(current)} ${line.trim()}`);
    } else if (field) {
      sawField = true;
      const name = field[1]!.toLowerCase();
      current = headers.has(name) ? null : name;
      if (current !== null) headers.set(current, field[2]!.trim());
    } else if (!(pos === 0 && line.startsWith('From '))) break;
    pos = eol + 1;
  }
  return { headers, body: binary.slice(Math.min(pos, binary.length)) };
}

function lineEnd(s: string, from: number): number {
  const i = s.indexOf('\n', from);
  return i < 0 ? s.length : i;
}

/** `type/subtype; name=value; name="quoted value"` → lower-cased type and parameters. */
function parseContentType(value: string): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  for (const m of value.matchAll(/;\s*([^=;\s]+)\s*=\s*(?:"([^"]*)"?|([^;\s]*))/g)) params.set(m[1]!.toLowerCase(), m[2] ?? m[3]!);
  return { type: value.split(';')[0]!.trim().toLowerCase(), params };
}

interface Text {
  text: string;
  /** Whether the text came from a text/plain part (preferred in multipart/alternative). */
  plain: boolean;
}

/** Deep enough for real mail (forwarded messages in mixed parts); stops pathological nesting. */
const MAX_DEPTH = 8;

function extractText(part: Part, depth: number): Text | null {
  const declared = part.headers.get('content-type');
  const { type, params } = parseContentType(declared ?? 'text/plain');
  if (depth < MAX_DEPTH && type.startsWith('multipart/')) {
    const children = splitMultipart(part.body, params.get('boundary') ?? '');
    if (children !== null)
      return combine(
        children.map((c) => extractText(readPart(c), depth + 1)),
        type === 'multipart/alternative',
      );
  }
  const bytes = decodeTransfer(part.body, (part.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase());
  if (depth < MAX_DEPTH && type === 'message/rfc822') return extractText(readPart(Buffer.from(bytes).toString('latin1')), depth + 1);
  if (type !== '' && !type.startsWith('text/') && !type.startsWith('multipart/')) return null; // images, attachments
  const text = decodeBytes(bytes, params.get('charset') ?? '');
  const html = type === 'text/html' || looksLikeHtml(text, declared === undefined);
  return { text: tidy(html ? htmlToText(text) : text), plain: !html };
}

/**
 * Many spams send HTML without a type or labelled text/plain. Such a body counts as
 * HTML when it opens with a typical tag, or, untyped, contains <html> anywhere;
 * text/plain that merely quotes HTML further down is left alone.
 */
function looksLikeHtml(text: string, untyped: boolean): boolean {
  return /^\s*<(!doctype html|html|head|body|table|font|div|center|p)\b/i.test(text) || (untyped && /<html[\s>]/i.test(text));
}

/** Alternatives: the first non-empty text/plain, else the first non-empty one; other multiparts: all parts in order. */
function combine(children: (Text | null)[], alternative: boolean): Text | null {
  const texts = children.filter((c): c is Text => c !== null && c.text !== '');
  if (alternative) return texts.find((t) => t.plain) ?? texts[0] ?? null;
  if (texts.length === 0) return null;
  return { text: texts.map((t) => t.text).join('\n\n'), plain: texts.some((t) => t.plain) };
}

/**
 * The parts between `--boundary` lines (each at a line start, followed by the end
 * of the line or `--`); an unterminated last part is kept. Null when the boundary
 * never occurs, so that the caller reads the body as text.
 */
function splitMultipart(body: string, boundary: string): string[] | null {
  if (boundary === '') return null;
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let start = -1;
  for (let i = body.indexOf(delimiter); i >= 0; i = body.indexOf(delimiter, i + 1)) {
    const after = i + delimiter.length;
    const closing = body.startsWith('--', after);
    const next = body[closing ? after + 2 : after];
    if ((i > 0 && body[i - 1] !== '\n') || (next !== undefined && !/[\r\n \t]/.test(next))) continue;
    if (start >= 0) parts.push(body.slice(start, i).replace(/\r?\n$/, ''));
    if (closing) return parts;
    start = lineEnd(body, after) + 1;
  }
  if (start >= 0) parts.push(body.slice(start));
  return parts.length > 0 ? parts : null;
}

function decodeTransfer(body: string, encoding: string): Uint8Array {
  if (encoding === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return Buffer.from(body, 'latin1'); // 7bit, 8bit, binary and unknown encodings: the bytes as they are
}

/** Soft line breaks (`=` at a line end, transport whitespace allowed) vanish; `=XX` is a byte; a stray `=` stays. */
export function decodeQuotedPrintable(binary: string): Uint8Array {
  const s = binary.replace(/=[ \t]*\r?\n/g, '');
  const out = new Uint8Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const hex = s[i] === '=' ? s.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = s.charCodeAt(i) & 0xff;
  }
  return out.subarray(0, n);
}

type Decode = (bytes: Uint8Array) => string;

/** windows-1252's 0x80–0x9F; the five undefined bytes map to themselves, as in WHATWG's table. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

/**
 * WHATWG's "latin1" is windows-1252, a superset of ISO-8859-1 in what mail actually
 * contains; written out because Node 20's TextDecoder reads 0x80–0x9F as C1 controls.
 */
const windows1252: Decode = (bytes) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    .replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!);

const decoders = new Map<string, Decode | null>();

function decoderFor(label: string): Decode | null {
  if (!decoders.has(label)) {
    try {
      const decoder = new TextDecoder(label);
      decoders.set(label, decoder.encoding === 'windows-1252' ? windows1252 : (bytes) => decoder.decode(bytes));
    } catch {
      decoders.set(label, null); // not a WHATWG encoding label
    }
  }
  return decoders.get(label)!;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes → text by a charset label. Undeclared, ASCII and UTF-8 labels are tried as
 * strict UTF-8 first, because mislabelled mail is common; bytes that are not UTF-8,
 * and labels TextDecoder does not know, are read as windows-1252.
 */
export function decodeBytes(bytes: Uint8Array, charset: string): string {
  const label = charset.trim().toLowerCase();
  if (label === '' || /^(us-)?ascii$|^utf-?8$/.test(label)) {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return windows1252(bytes);
    }
  }
  return (decoderFor(label) ?? windows1252)(bytes);
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/** RFC 2047 (`=?charset?B|Q?text?=`); whitespace between adjacent encoded-words is dropped, as the RFC says, other runs become one space. */
function decodeHeader(binary: string): string {
  const joined = binary.replace(/(\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?)/g, '$1');
  let out = '';
  let last = 0;
  for (const m of joined.matchAll(ENCODED_WORD)) {
    out += decodeBytes(Buffer.from(joined.slice(last, m.index), 'latin1'), '');
    const text = m[3]!;
    const bytes = m[2]!.toLowerCase() === 'b' ? Buffer.from(text, 'base64') : decodeQuotedPrintable(text.replace(/_/g, ' '));
    out += decodeBytes(bytes, m[1]!.replace(/\*.*$/, '')); // drop an RFC 2231 language suffix
    last = m.index + m[0].length;
  }
  return (out + decodeBytes(Buffer.from(joined.slice(last), 'latin1'), '')).replace(/\s+/g, ' ').trim();
}

/** Block-level tags become the only line breaks; scripts, styles, the head and comments disappear with their content. */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, '')
      .replace(/\s+/g, ' ') // source line breaks are spaces in HTML
      .replace(/<\/?(br|p|div|tr|li|h[1-6]|table|blockquote|hr)\b[^>]*>/gi, '\n')
      .replace(/<[a-zA-Z/!?][^>]*>/g, ''),
  );
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  laquo: '«',
  raquo: '»',
  bull: '•',
  middot: '·',
  euro: '€',
  pound: '£',
  cent: '¢',
  yen: '¥',
  sect: '§',
  deg: '°',
  times: '×',
  plusmn: '±',
  frac12: '½',
  frac14: '¼',
  iexcl: '¡',
  iquest: '¿',
  szlig: 'ß',
  equiv: '≡',
};

/** Latin-1's accented letters (&eacute;, &Atilde;, ...) are a letter plus a combining mark. */
const ACCENTS: Record<string, string> = { acute: '\u0301', grave: '\u0300', circ: '\u0302', tilde: '\u0303', uml: '\u0308', cedil: '\u0327', ring: '\u030a' };

/** Named entities (the semicolon is optional, as browsers allow) and numeric ones; unknown ones stay. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,7});?/g, (match, ref: string) => {
    if (ref[0] !== '#') {
      const accent = /^([a-zA-Z])(acute|grave|circ|tilde|uml|cedil|ring)$/.exec(ref);
      if (accent) return (accent[1]! + ACCENTS[accent[2]!]!).normalize('NFC');
      const name = ref.toLowerCase();
      return Object.hasOwn(ENTITIES, name) ? ENTITIES[name]! : match; // hasOwn: "&constructor" is no entity
    }
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    // Browsers read &#128;–&#159; as windows-1252 (&#146; is ’), a habit of 2002-era HTML mail.
    if (code >= 0x80 && code <= 0x9f) return windows1252(Uint8Array.of(code));
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : match;
  });
}

/** LF line ends, no control characters (binary junk in spam), no trailing or repeated blanks, at most one empty line in a row. */
function tidy(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters from e-mail text is the point
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
      .replace(/[ \t\u00a0]+/g, ' ')
      .replace(/ ?\n ?/g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}
