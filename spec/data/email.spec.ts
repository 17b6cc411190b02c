/**
 * The MIME reader on hand-written messages (each feature alone, with CRLF and LF
 * line ends) and on every real SpamAssassin message, where it must never throw.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, test } from 'vitest';
import { spamAssassin } from '../../cli/data/corpora.ts';
import { decodeEntities, decodeQuotedPrintable, formatEmail, htmlToText, parseEmail } from '../../cli/data/email.ts';

const crlf = (s: string) => s.replace(/\n/g, '\r\n');
const body = (raw: string | Uint8Array) => parseEmail(raw).body;
/** A message as bytes, each char of `s` one byte (to write 8-bit bodies in other charsets). */
const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('headers', () => {
  const raw = `From alice@example.com  Thu Aug 22 12:36:23 2002
Subject: a long
  subject\tthat is
\tfolded
From: Alice <alice@example.com>
To: bob@example.com
Subject: a second subject is ignored
X-Empty:

Body.
`;

  test.each([
    ['LF', raw],
    ['CRLF', crlf(raw)],
  ])('unfolded, first occurrence wins, mbox line skipped (%s)', (_, text) => {
    expect(parseEmail(text)).toEqual({ subject: 'a long subject that is folded', from: 'Alice <alice@example.com>', to: 'bob@example.com', body: 'Body.' });
  });

  test('RFC 2047 encoded-words, B and Q, adjacent words joined', () => {
    const e = parseEmail('Subject: =?iso-8859-1?Q?caf=E9_cr=E8me?= and =?UTF-8?B?w7xi?=\n =?UTF-8?B?ZXI=?=\nFrom: =?x-unknown?Q?J=F6rg?= <j@x.de>\n\nx');
    expect(e.subject).toBe('café crème and über');
    expect(e.from).toBe('Jörg <j@x.de>'); // unknown charset: windows-1252, no crash
  });

  test('keepHeaders prefixes Subject/From/To; absent ones are left out', () => {
    const e = parseEmail('Subject: Hi\nTo: b@x\n\nText');
    expect(formatEmail(e, true)).toBe('Subject: Hi\nTo: b@x\n\nText');
    expect(formatEmail(e, false)).toBe('Text');
  });

  test('a body without a blank line after the headers, and a message without headers', () => {
    expect(body('Subject: x\nthis line is not a header\nmore')).toBe('this line is not a header\nmore');
    expect(body('\nonly a body')).toBe('only a body');
    expect(body('just text, no headers')).toBe('just text, no headers');
  });
});

describe('transfer encodings', () => {
  test('quoted-printable: soft line breaks, =XX in either case, stray = kept', () => {
    const decoded = decodeQuotedPrintable('soft=\r\nbreak, transport space =  \nremoved, a = b, =3d=3D =ZZ =');
    expect(Buffer.from(decoded).toString('latin1')).toBe('softbreak, transport space removed, a = b, == =ZZ =');
    const raw = 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 au lait, tr=\n=C3=A8s bon=20\n';
    expect(body(raw)).toBe('café au lait, très bon');
    expect(body(crlf(raw))).toBe('café au lait, très bon');
  });

  test('base64 with line breaks, charset from the part', () => {
    const encoded = Buffer.from('Grüße aus Köln', 'utf8')
      .toString('base64')
      .replace(/(.{8})/g, '$1\r\n');
    expect(body(`Content-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: BASE64\n\n${encoded}`)).toBe('Grüße aus Köln');
  });
});

describe('charsets', () => {
  test.each([
    ['iso-8859-1', 'caf\xe9', 'café'],
    ['windows-1252', '\x93quoted\x94 \x80', '“quoted” €'],
    ['koi8-r', '\xf0\xd2\xc9\xd7\xc5\xd4', 'Привет'],
    ['us-ascii', 'mislabelled caf\xe9', 'mislabelled café'], // not UTF-8: read as windows-1252
    ['x-no-such-charset', 'caf\xe9', 'café'],
  ])('8-bit body in %s', (charset, text, expected) => {
    expect(body(bytes(`Content-Type: text/plain; charset=${charset}\n\n${text}`))).toBe(expected);
  });

  test('undeclared charset: UTF-8 when the bytes are UTF-8; a string input is UTF-8 text', () => {
    expect(body(Buffer.from('Content-Type: text/plain\n\nnaïve “smart”', 'utf8'))).toBe('naïve “smart”');
    expect(body('\nnaïve “smart”')).toBe('naïve “smart”');
  });
});

const alternative = (plain: string, html: string) => `Content-Type: multipart/alternative; boundary="alt"

preamble
--alt
Content-Type: text/plain; charset=us-ascii

${plain}
--alt
Content-Type: text/html; charset=us-ascii

${html}
--alt--
epilogue`;

describe('multipart', () => {
  test('alternative: text/plain preferred, html stripped when plain is empty', () => {
    expect(body(alternative('plain version', '<p>html version</p>'))).toBe('plain version');
    expect(body(crlf(alternative('plain version', '<p>html version</p>')))).toBe('plain version');
    expect(body(alternative('', '<p>html <b>version</b></p>'))).toBe('html version');
  });

  test('nested: mixed > (alternative, pdf attachment, forwarded message, text)', () => {
    const raw = `MIME-Version: 1.0
Content-Type: multipart/mixed;
\tboundary="----=_outer"

------=_outer
${alternative('first', '<i>first</i>')}
------=_outer
Content-Type: application/pdf; name="x.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
------=_outer
Content-Type: message/rfc822

Subject: forwarded
Content-Type: text/plain

inner text
------=_outer
Content-Type: text/plain

last
------=_outer--
`;
    expect(body(raw)).toBe('first\n\ninner text\n\nlast');
  });

  test('a boundary that is a prefix of a longer line does not split', () => {
    expect(body('Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--bb not a delimiter\n--b--\n')).toBe('one\n--bb not a delimiter');
  });

  test('broken multiparts degrade to text', () => {
    expect(body('Content-Type: multipart/mixed\n\nno boundary parameter')).toBe('no boundary parameter');
    expect(body('Content-Type: multipart/mixed; boundary=zz\n\nboundary never occurs')).toBe('boundary never occurs');
    expect(body('Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\nunterminated part')).toBe('unterminated part');
    const deep = `${Array.from({ length: 20 }, (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n`).join('')}\ninnermost`;
    expect(() => parseEmail(deep)).not.toThrow();
  });

  test('only non-text parts: empty body', () => {
    expect(body('Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlh')).toBe('');
  });
});

describe('HTML', () => {
  test('tags, scripts, styles, head and comments removed; block tags break lines; source newlines are spaces', () => {
    const html =
      '<html><head><title>t</title><style>p{}</style></head><body><!-- c --><script>x<y</script>\n<p>Hello\n<b>there</b></p>line<br>next<div>cell</div>a < b</body></html>';
    expect(body(`Content-Type: text/html\n\n${html}`)).toBe('Hello there\nline\nnext\ncell\na < b');
  });

  test('entities: named, accented, numeric, windows-1252 range; unknown kept', () => {
    expect(decodeEntities('&amp;&lt;&gt;&quot;&nbsp;&copy &eacute;&Atilde;&ntilde; &#8217;&#x2014;&#146; &bogus; &#0; &constructor;')).toBe(
      '&<>" © éÃñ ’—’ &bogus; &#0; &constructor;',
    );
    expect(htmlToText('<p>5 &lt; 6</p>')).toBe('\n5 < 6\n');
  });

  test('untyped or text/plain bodies that are plainly HTML are read as HTML', () => {
    expect(body('Subject: x\n\n<html><body><p>Buy <b>now</b></p></body></html>')).toBe('Buy now');
    expect(body('Content-Type: text/plain\n\n<table><tr><td>Buy</td></tr></table>')).toBe('Buy');
    expect(body('Content-Type: text/plain\n\nquoting <html> is fine')).toBe('quoting <html> is fine');
  });
});

describe('the real SpamAssassin corpus', () => {
  const corpus = spamAssassin(); // parses all 6,046 messages; a throw fails the whole file

  test('6,046 messages: ham 4,150, spam 1,896', () => {
    expect(corpus.length).toBe(6046);
    expect(corpus.filter((m) => m.spam).length).toBe(1896);
  });

  test('≥ 99% have a non-empty body, without control characters', () => {
    const nonEmpty = corpus.filter((m) => m.email.body !== '').length;
    expect(nonEmpty / corpus.length).toBeGreaterThanOrEqual(0.99);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may survive the e-mail decoding
    expect(corpus.filter((m) => /[\u0000-\u0008\u000b-\u001f]/.test(m.email.body))).toEqual([]);
  });

  test('non-ASCII charsets decode: almost no replacement characters', () => {
    expect(corpus.filter((m) => m.email.body.includes('\ufffd')).length).toBeLessThanOrEqual(10);
  });
});
