/**
 * Safetensors, Hugging Face's weight format, from and to bytes (no file access here:
 * `sparsegrad/node` adds that, so this file bundles for the browser).
 *
 * Layout: a u64 little-endian header length N; N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`,
 * space-padded to a multiple of 8; then the tensors' raw little-endian bytes, which must
 * tile the data section exactly.
 *
 * Reading is eager: every tensor is converted into engine storage (F16/BF16 widen to
 * float32, I64 narrows to int32), so there is nothing to gain from lazy views over the
 * file's bytes, and every byte goes through a little-endian DataView, so big-endian hosts
 * read the same values. Validation follows the reference reader
 * (`huggingface/safetensors: safetensors/src/tensor.rs`): each FormatError message starts
 * with the reference's kind (HeaderTooSmall, HeaderTooLarge, InvalidHeaderLength,
 * InvalidHeader, InvalidOffset, TensorInvalidInfo) or ValueOutOfRange for values that do
 * not fit the engine's dtype. The header passes the reference's JSON rules too (serde_json:
 * nesting, surrogates, integers written as integers; see parseHeader), and its cost is one
 * linear scan plus one sort, so a header of 200,000 entries is no slower per entry than one.
 *
 * Writing follows the reference writer byte for byte: tensors ordered by descending
 * dtype (the reference's enum order, which is descending element size) then by name,
 * `__metadata__` first with sorted keys, compact JSON. So the same tensors always give the
 * same bytes, and save → load → save is byte-identical.
 */
import type { DType, Storage } from '../base/dtype.ts';
import { allocate } from '../base/dtype.ts';
import { FormatError, ValueError } from '../base/errors.ts';
import { formatShape } from '../base/shape.ts';
import { Tensor } from '../core/tensor.ts';
import { isNat, isRecord, MAX_JSON_DEPTH, scanJson, show } from './json.ts';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'BOOL';

export interface SafetensorsFile {
  /** Tensors by name, in file order; a null-prototype record, so any name is a plain key. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` string map (empty when the file has none); null-prototype too. */
  metadata: Record<string, string>;
}

export interface SerializeOptions {
  /** Written as `__metadata__` when it has at least one key. */
  metadata?: Record<string, string>;
  /** Storage dtype per tensor name, e.g. `{ 'lm_head.weight': 'BF16' }`; others keep their own. */
  dtype?: Record<string, SafetensorsDType>;
}

/** How one safetensors dtype is stored and which engine dtypes it holds. */
interface Codec {
  readonly size: number;
  /** Position in the reference's `Dtype` enum: the writer sorts by it, descending. */
  readonly rank: number;
  /** The engine dtype it is read into. */
  readonly engine: DType;
  /** Engine dtypes it may store (floats convert, with round-to-nearest-even when narrowing). */
  readonly stores: readonly DType[];
  read(view: DataView, at: number): number;
  write(view: DataView, at: number, value: number): void;
}

const FLOATS: readonly DType[] = ['float32', 'float64'];

const CODECS: Record<SafetensorsDType, Codec> = {
  I64: {
    size: 8,
    rank: 13,
    engine: 'int32',
    stores: ['int32'],
    // Exact below 2^53 and far outside int32 above it, which is all the range check needs.
    read: (v, at) => v.getInt32(at + 4, true) * 2 ** 32 + v.getUint32(at, true),
    write: (v, at, x) => (v.setInt32(at, x, true), v.setInt32(at + 4, x < 0 ? -1 : 0, true)),
  },
  F64: { size: 8, rank: 12, engine: 'float64', stores: FLOATS, read: (v, at) => v.getFloat64(at, true), write: (v, at, x) => v.setFloat64(at, x, true) },
  F32: { size: 4, rank: 11, engine: 'float32', stores: FLOATS, read: (v, at) => v.getFloat32(at, true), write: (v, at, x) => v.setFloat32(at, x, true) },
  I32: { size: 4, rank: 9, engine: 'int32', stores: ['int32'], read: (v, at) => v.getInt32(at, true), write: (v, at, x) => v.setInt32(at, x, true) },
  BF16: {
    size: 2,
    rank: 8,
    engine: 'float32',
    stores: FLOATS,
    read: (v, at) => bfloat16ToFloat(v.getUint16(at, true)),
    write: (v, at, x) => v.setUint16(at, floatToBfloat16(x), true),
  },
  F16: {
    size: 2,
    rank: 7,
    engine: 'float32',
    stores: FLOATS,
    read: (v, at) => halfToFloat(v.getUint16(at, true)),
    write: (v, at, x) => v.setUint16(at, floatToHalf(x), true),
  },
  BOOL: { size: 1, rank: 0, engine: 'bool', stores: ['bool'], read: (v, at) => v.getUint8(at), write: (v, at, x) => v.setUint8(at, x) },
};

const DEFAULT_DTYPE: Record<DType, SafetensorsDType> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

/** The reference reader's limit: a larger header is refused before it is decoded. */
const MAX_HEADER_BYTES = 100_000_000;

/** One header entry, checked. */
interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

// ---- reading ------------------------------------------------------------------------

/**
 * Parse a whole safetensors file (bytes, or the ArrayBuffer `fetch` gives); every malformed input is a FormatError naming its kind.
 *
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from 'sparsegrad/models';
 * import { tensor } from 'sparsegrad';
 * const file = parseSafetensors(serializeSafetensors({ w: tensor([[1, 2], [3, 4]]) }));
 * file.tensors.w; // => [[1, 2], [3, 4]]
 * ```
 */
export function parseSafetensors(input: Uint8Array | ArrayBuffer): SafetensorsFile {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  if (bytes.length < 8) fail('HeaderTooSmall', `a safetensors file starts with an 8-byte header length, but got only ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (n > MAX_HEADER_BYTES) fail('HeaderTooLarge', `the header declares ${n} bytes, more than the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + n > bytes.length) fail('InvalidHeaderLength', `the header declares ${n} bytes, but only ${bytes.length - 8} follow the length`);
  const { entries, metadata } = parseHeader(bytes.subarray(8, 8 + n));
  checkLayout(entries, bytes.length - 8 - n);
  const tensors: Record<string, Tensor> = Object.create(null);
  for (const e of entries) tensors[e.name] = readTensor(e, view, 8 + n);
  return { tensors, metadata };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decode and check the JSON header. Beyond JSON.parse, the text must pass what the
 * reference (serde_json) enforces and JSON.parse does not: at most 127 levels of nesting,
 * no lone surrogate escape, and integers written as integers (serde refuses `8.0` or
 * `8e0` for a size; every number a writer puts in a header is a size or an offset, so a
 * fraction anywhere is refused, even in an unknown field the reference would skip). A name listed
 * twice is refused too (JSON.parse would keep the last silently). Objects come from
 * JSON.parse, which defines keys as own properties, so `__proto__` is an ordinary name;
 * the tensors are returned in a null-prototype record for the same reason.
 */
function parseHeader(raw: Uint8Array): { entries: Entry[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    fail('InvalidHeader', 'the header is not valid UTF-8');
  }
  const scan = scanJson(text);
  if (scan.depth > MAX_JSON_DEPTH)
    fail('InvalidHeader', `the header nests ${scan.depth} levels deep; the reference reader refuses more than ${MAX_JSON_DEPTH}`);
  if (scan.firstLoneSurrogate >= 0)
    fail(
      'InvalidHeader',
      `the escape ${text.slice(scan.firstLoneSurrogate, scan.firstLoneSurrogate + 6)} at header byte ${scan.firstLoneSurrogate} is a lone surrogate`,
    );
  if (scan.firstNonInteger >= 0) {
    const number = /^-?[\d.eE+-]+/.exec(text.slice(scan.firstNonInteger, scan.firstNonInteger + 40))![0];
    fail('InvalidHeader', `the number ${number} at header byte ${scan.firstNonInteger} is not written as an integer (shapes and data_offsets are integers)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail('InvalidHeader', `the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(json)) fail('InvalidHeader', 'the header must be a JSON object');
  const names = Object.keys(json);
  if (names.length !== scan.topKeys.length) {
    const seen = new Set<string>();
    for (const key of scan.topKeys) {
      const name = JSON.parse(key) as string;
      if (seen.has(name)) fail('InvalidHeader', `the name ${JSON.stringify(name)} is listed twice`);
      seen.add(name);
    }
  }
  const metadata: Record<string, string> = Object.create(null);
  const entries: Entry[] = [];
  for (const name of names) {
    if (name === '__metadata__') Object.assign(metadata, parseMetadata(json[name]));
    else entries.push(parseEntry(name, json[name]));
  }
  return { entries, metadata };
}

/** `__metadata__` is a string → string map, or null (the reference's `Option`). */
function parseMetadata(value: unknown): Record<string, string> {
  if (value === null) return {};
  if (!isRecord(value)) fail('InvalidHeader', '__metadata__ must be an object of strings');
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail('InvalidHeader', `__metadata__ must map strings to strings, but '${key}' holds ${show(v)}`);
  }
  return value as Record<string, string>;
}

function parseEntry(name: string, value: unknown): Entry {
  const bad = (what: string): never => fail('InvalidHeader', `tensor '${name}': ${what}`);
  if (!isRecord(value)) return bad('the entry must be an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string' || !Object.hasOwn(CODECS, dtype)) {
    return bad(`unknown dtype ${show(dtype)} (sparsegrad reads ${Object.keys(CODECS).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNat)) return bad(`shape must be an array of non-negative integers, got ${show(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNat)) {
    return bad(`data_offsets must be [begin, end] with non-negative integers, got ${show(offsets)}`);
  }
  // `+ 0` turns a JSON −0 into 0, so shapes and offsets compare and print plainly.
  return { name, dtype: dtype as SafetensorsDType, shape: shape.map((d: number) => d + 0), begin: offsets[0]! + 0, end: offsets[1]! + 0 };
}

/** The tensors must tile the data section: sorted by offset, each starts where the last ended. */
function checkLayout(entries: Entry[], dataLength: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.end < e.begin) fail('InvalidOffset', `tensor '${e.name}' ends (byte ${e.end}) before it begins (byte ${e.begin})`);
    if (e.begin < at) fail('InvalidOffset', `tensor '${e.name}' starts at byte ${e.begin}, inside the tensor before it (which ends at byte ${at})`);
    if (e.begin > at) fail('InvalidOffset', `bytes ${at}..${e.begin} before tensor '${e.name}' belong to no tensor`);
    const need = byteLength(e);
    if (need !== e.end - e.begin) {
      fail(
        'TensorInvalidInfo',
        `tensor '${e.name}' of dtype ${e.dtype} and shape ${formatShape(e.shape)} needs ${need === Infinity ? 'over 2^53' : need} bytes, but its data_offsets span ${e.end - e.begin}`,
      );
    }
    at = e.end;
  }
  if (at > dataLength) fail('InvalidOffset', `the tensors end at byte ${at}, past the end of the ${dataLength}-byte data section`);
  if (at < dataLength) fail('InvalidOffset', `bytes ${at}..${dataLength} at the end of the data section belong to no tensor`);
}

/** shape × element size, or Infinity when an intermediate product is not exact (the reference's overflow check). */
function byteLength(e: Entry): number {
  let n = CODECS[e.dtype].size;
  for (const d of e.shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}

function readTensor(e: Entry, view: DataView, dataStart: number): Tensor {
  const codec = CODECS[e.dtype];
  const data = allocate(codec.engine, (e.end - e.begin) / codec.size);
  const fits = codec.engine === 'int32' ? (x: number) => x === (x | 0) : codec.engine === 'bool' ? (x: number) => x === 0 || x === 1 : () => true;
  for (let i = 0, at = dataStart + e.begin; i < data.length; i++, at += codec.size) {
    const x = codec.read(view, at);
    if (!fits(x)) fail('ValueOutOfRange', `tensor '${e.name}' (${e.dtype}) holds ${x} at element ${i}, which does not fit the engine's ${codec.engine}`);
    data[i] = x;
  }
  return Tensor.fromStorage(data, e.shape);
}

// ---- writing ------------------------------------------------------------------------

/**
 * Serialize tensors (any layout; views are read in row-major order) to safetensors bytes.
 *
 * @example
 * ```ts
 * import { serializeSafetensors } from 'sparsegrad/models';
 * import { tensor } from 'sparsegrad';
 * const bytes = serializeSafetensors({ w: tensor([1, 2]) });
 * bytes.length > 8; // => true
 * ```
 */
export function serializeSafetensors(tensors: Record<string, Tensor>, options: SerializeOptions = {}): Uint8Array {
  const overrides = options.dtype ?? {};
  const unknown = Object.keys(overrides).filter((name) => !Object.hasOwn(tensors, name));
  if (unknown.length > 0) throw new ValueError(`serializeSafetensors(): dtype given for unknown tensor(s) ${unknown.map((k) => `'${k}'`).join(', ')}`);
  const planned = Object.keys(tensors)
    .map((name) => plan(name, tensors[name]!, Object.hasOwn(overrides, name) ? overrides[name]! : undefined))
    .sort((a, b) => CODECS[b.dtype].rank - CODECS[a.dtype].rank || compareCodePoints(a.name, b.name));
  const fields: string[] = [];
  let offset = 0;
  for (const p of planned) {
    const end = offset + p.values.length * CODECS[p.dtype].size;
    fields.push(`${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":${JSON.stringify(p.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const metadata = checkedMetadata(options.metadata ?? {});
  if (metadata.length > 0) fields.unshift(`"__metadata__":{${metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  const header = new TextEncoder().encode(`{${fields.join(',')}}`);
  const padded = header.length + ((8 - (header.length % 8)) % 8);

  const bytes = new Uint8Array(8 + padded + offset);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, padded, true); // padded < 2^32 here: the high word stays 0
  bytes.set(header, 8);
  bytes.fill(0x20, 8 + header.length, 8 + padded);
  let at = 8 + padded;
  for (const p of planned) {
    const codec = CODECS[p.dtype];
    for (let i = 0; i < p.values.length; i++, at += codec.size) codec.write(view, at, p.values[i]!);
  }
  return bytes;
}

function plan(
  name: string,
  t: Tensor,
  override: SafetensorsDType | undefined,
): { name: string; dtype: SafetensorsDType; shape: readonly number[]; values: Storage } {
  if (name === '__metadata__') throw new ValueError("serializeSafetensors(): '__metadata__' is reserved and cannot name a tensor");
  if (!(t instanceof Tensor))
    throw new TypeError(`serializeSafetensors(): '${name}' must be a Tensor, but got '${(t as object)?.constructor?.name ?? typeof t}'`);
  const dtype = override ?? DEFAULT_DTYPE[t.dtype];
  if (!Object.hasOwn(CODECS, dtype) || !CODECS[dtype].stores.includes(t.dtype)) {
    throw new ValueError(`serializeSafetensors(): cannot store the ${t.dtype} tensor '${name}' as ${dtype}`);
  }
  return { name, dtype, shape: t.shape, values: t.contiguous().data };
}

function checkedMetadata(metadata: Record<string, string>): [string, string][] {
  const entries = Object.entries(metadata);
  for (const [key, value] of entries) {
    if (typeof value !== 'string') throw new ValueError(`serializeSafetensors(): metadata values must be strings, but '${key}' is ${typeof value}`);
  }
  return entries.sort(([a], [b]) => compareCodePoints(a, b));
}

/**
 * Order strings by code point, which is the byte order of their UTF-8 encodings (how the
 * reference writer sorts names); plain `<` compares UTF-16 units and differs past U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

// ---- 16-bit floats ------------------------------------------------------------------

/** IEEE 754 binary16 bits → its exact value. */
export const halfToFloat = smallFloatDecoder(5, 10);
/** A number → the nearest binary16 (ties to even; overflow to ±Infinity; NaN → 0x7e00). */
export const floatToHalf = smallFloatEncoder(5, 10);
/** bfloat16 bits (the top half of a float32) → its exact value. */
export const bfloat16ToFloat = smallFloatDecoder(8, 7);
/** A number → the nearest bfloat16 (ties to even; overflow to ±Infinity; NaN → 0x7fc0). */
export const floatToBfloat16 = smallFloatEncoder(8, 7);

function smallFloatDecoder(exponentBits: number, fractionBits: number): (bits: number) => number {
  const bias = 2 ** (exponentBits - 1) - 1;
  const maxExponent = 2 ** exponentBits - 1;
  const one = 2 ** fractionBits;
  return (bits) => {
    const sign = (bits >> (exponentBits + fractionBits)) & 1 ? -1 : 1;
    const exponent = (bits >> fractionBits) & maxExponent;
    const fraction = bits & (one - 1);
    if (exponent === maxExponent) return fraction === 0 ? sign * Infinity : NaN;
    // Subnormals (exponent 0) have no implicit leading 1 and the smallest normal's scale.
    const significand = exponent === 0 ? fraction : fraction + one;
    return sign * significand * pow2(Math.max(exponent, 1) - bias - fractionBits);
  };
}

/**
 * Round a float64 straight to the small format (one rounding, never via float32, which
 * could round twice). The value is scaled so that one unit in the last place of the
 * result is 1, rounded to an integer, and added to the exponent field: a carry out of
 * the fraction then moves to the next binade, and past the largest finite value lands
 * on the Infinity pattern, exactly as IEEE 754 rounding does.
 */
function smallFloatEncoder(exponentBits: number, fractionBits: number): (x: number) => number {
  const bias = 2 ** (exponentBits - 1) - 1;
  const one = 2 ** fractionBits;
  const infinity = (2 ** exponentBits - 1) * one;
  const quietNaN = infinity + one / 2;
  const signBit = 2 ** (exponentBits + fractionBits);
  return (x) => {
    if (Number.isNaN(x)) return quietNaN;
    scratch.setFloat64(0, x);
    const high = scratch.getUint32(0);
    // floor(log2|x|) from the float64 exponent field (Math.log2 may round); subnormals share the smallest normal's scale.
    const exponent = Math.max(((high >>> 20) & 0x7ff) - 1023, 1 - bias);
    const units = roundHalfEven(Math.abs(x) * pow2(fractionBits - exponent));
    return (high >>> 31 ? signBit : 0) + Math.min((exponent + bias - 1) * one + units, infinity);
  };
}

const scratch = new DataView(new ArrayBuffer(8));

/** 2^k for integer k in [−1022, 1023], built from its bits: exact by construction, and faster than `2 ** k`. */
function pow2(k: number): number {
  scratch.setUint32(0, (k + 1023) << 20);
  scratch.setUint32(4, 0);
  return scratch.getFloat64(0);
}

function roundHalfEven(q: number): number {
  const floor = Math.floor(q);
  const rest = q - floor;
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

// ---- helpers --------------------------------------------------------------------------

function fail(kind: string, detail: string): never {
  throw new FormatError(`${kind}: ${detail}`);
}

// Kept importable from here for existing callers; they live in json.ts with the other JSON rules.
export { isNat, isRecord };
