/**
 * Safetensors from and to bytes: round trips for every dtype, the 16-bit float
 * converters against independent references (all 65 536 patterns, every tie), byte-exact
 * files (the reference writer's own known answers and one built by hand), and the
 * malformed corpus of docs/TESTING.md §5, each case with its FormatError kind.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError, Tensor, tensor, ValueError } from '../../index.ts';
import {
  bfloat16ToFloat,
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  parseSafetensors,
  type SafetensorsDType,
  serializeSafetensors,
} from '../../models/safetensors.ts';
import { arbShape, assertClose } from '../kit/index.ts';

// ---- an independent writer and reader of the format, by hand (docs/TESTING.md §7) -------

/** u64 LE header length, the header (a string is JSON text, anything else is stringified) padded with spaces to 8, then data. */
function fileOf(header: unknown, data: ArrayLike<number> = []): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + data.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setUint32(0, n, true);
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

/** The header JSON of a file, read by hand. */
function headerOf(bytes: Uint8Array): string {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return new TextDecoder().decode(bytes.subarray(8, 8 + n)).trimEnd();
}

function f32Bits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

/** binary16 by assembling the float32 with the same value (not the code under test's scaling). */
function referenceHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 31;
  const fraction = bits & 1023;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  if (exponent === 0) return (sign * fraction) / 16777216; // fraction · 2^−24, exact
  return sign * f32Bits(((exponent - 15 + 127) << 23) | (fraction << 13));
}

/** bfloat16 is by definition the top half of a float32. */
const referenceBfloat16 = (bits: number) => f32Bits(bits << 16);

/**
 * Round to the nearest value of a format by brute force: find the two neighbours in the
 * sorted list of all its finite non-negative values, compare with their exact midpoint,
 * and break a tie towards the even pattern; past the largest value by half an ulp or
 * more is Infinity (IEEE 754's rule, the tie included since the largest pattern is odd).
 */
function bruteForceRounder(decode: (bits: number) => number, infinityBits: number, signBit: number): (x: number) => number {
  const values = Array.from({ length: infinityBits }, (_, bits) => decode(bits));
  const max = values[infinityBits - 1]!;
  const overflow = max + (max - values[infinityBits - 2]!) / 2;
  return (x) => {
    if (Number.isNaN(x)) return NaN;
    const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
    const a = Math.abs(x);
    if (a >= overflow) return sign | infinityBits;
    let lo = 0;
    let hi = infinityBits - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (values[mid]! <= a) lo = mid;
      else hi = mid - 1;
    }
    if (values[lo] === a || lo === infinityBits - 1) return sign | lo;
    const midpoint = (values[lo]! + values[lo + 1]!) / 2; // exact: both have few significant bits
    const pick = a < midpoint ? lo : a > midpoint ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
    return sign | pick;
  };
}

/** The neighbouring double of a positive finite x: one step up or down its bit pattern. */
function neighbour(x: number, step: 1n | -1n): number {
  const bits = new BigUint64Array(Float64Array.of(x).buffer);
  bits[0]! += step;
  return new Float64Array(bits.buffer)[0]!;
}
const nextUp = (x: number) => neighbour(x, 1n);
const nextDown = (x: number) => neighbour(x, -1n);

/** Assert that fn throws a FormatError whose message starts with `kind`. */
function expectFormatError(fn: () => unknown, kind: string, detail?: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof FormatError))
    throw new Error(`expected FormatError ${kind}, got ${caught === null ? 'no error' : `${(caught as Error).name}: ${(caught as Error).message}`}`);
  expect(caught.message.startsWith(`${kind}: `), caught.message).toBe(true);
  if (detail) expect(caught.message).toMatch(detail);
}

function expectSameTensors(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const name of Object.keys(expected)) {
    expect(actual[name]!.dtype, name).toBe(expected[name]!.dtype);
    assertClose(actual[name]!, expected[name]!, 'bitwise', name);
  }
}

// ---- generated tensors -------------------------------------------------------------

const ENGINE_VALUES = {
  float32: fc.float(), // every float32: NaN, ±Infinity, −0 and subnormals included
  float64: fc.double(),
  int32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  bool: fc.constantFrom(0, 1),
} as const;
type EngineDType = keyof typeof ENGINE_VALUES;
const STORAGE = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

/** A tensor of any dtype, rank 0–3, dims 0–4 (so 0-d and empty tensors come up often). */
const arbAnyTensor = fc.constantFrom<EngineDType>('float32', 'float64', 'int32', 'bool').chain((dtype) =>
  arbShape({ maxRank: 3, maxDim: 4 }).chain((shape) => {
    const n = shape.reduce((p, d) => p * d, 1);
    return fc.array(ENGINE_VALUES[dtype], { minLength: n, maxLength: n }).map((v) => Tensor.fromStorage(STORAGE[dtype].from(v), shape));
  }),
);

/** Names as checkpoints have them, plus any string at all (the reserved `__metadata__` aside). */
const arbName = fc.oneof(
  fc.constantFrom('bert.encoder.layer.0.attention.self.query.weight', 'model.layers.0.mlp.gate_proj.weight', '__proto__', 'constructor', 'toString', ''),
  fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s !== '__metadata__'),
);

const arbTensors = fc
  .uniqueArray(fc.tuple(arbName, arbAnyTensor), { maxLength: 6, selector: ([name]) => name })
  .map((entries) => Object.fromEntries(entries) as Record<string, Tensor>);

const arbMetadata = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });

// ---- tests --------------------------------------------------------------------------

describe('round trips', () => {
  it('every engine dtype, any shape and value, any name: parse(serialize(x)) is x bitwise, and re-saving gives the same bytes', () => {
    fc.assert(
      fc.property(arbTensors, arbMetadata, (tensors, metadata) => {
        const bytes = serializeSafetensors(tensors, { metadata });
        const parsed = parseSafetensors(bytes);
        expectSameTensors(parsed.tensors, tensors);
        expect({ ...parsed.metadata }).toEqual({ ...metadata });
        expect(serializeSafetensors(parsed.tensors, { metadata: parsed.metadata })).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('storage overrides convert as documented: F16/BF16/F32 read back as float32, F64 as float64, I64 as int32', () => {
    const floats = fc.oneof(
      fc.tuple(fc.constantFrom<EngineDType>('float32'), fc.array(fc.float(), { maxLength: 8 })),
      fc.tuple(fc.constantFrom<EngineDType>('float64'), fc.array(fc.double(), { maxLength: 8 })),
    );
    const convert: Record<string, [EngineDType, (x: number) => number]> = {
      F16: ['float32', (x) => halfToFloat(floatToHalf(x))],
      BF16: ['float32', (x) => bfloat16ToFloat(floatToBfloat16(x))],
      F32: ['float32', Math.fround],
      F64: ['float64', (x) => x],
    };
    fc.assert(
      fc.property(floats, fc.constantFrom<SafetensorsDType>('F16', 'BF16', 'F32', 'F64'), ([dtype, values], stored) => {
        const t = Tensor.fromStorage(STORAGE[dtype].from(values), [values.length]);
        const back = parseSafetensors(serializeSafetensors({ t }, { dtype: { t: stored } })).tensors.t!;
        const [readAs, round] = convert[stored]!;
        expect(back.dtype).toBe(readAs);
        assertClose(back, values.map(round), 'bitwise');
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.array(ENGINE_VALUES.int32, { maxLength: 8 }), (values) => {
        const t = tensor(values, { dtype: 'int32' });
        const back = parseSafetensors(serializeSafetensors({ t }, { dtype: { t: 'I64' } })).tensors.t!;
        expect(back.dtype).toBe('int32');
        assertClose(back, values, 'bitwise');
      }),
    );
  });

  it('views are written in row-major order, and files inside a larger buffer at any byte offset parse the same', () => {
    const base = tensor([1, 2, 3, 4, 5, 6], { dtype: 'float32' }).reshape(2, 3);
    const bytes = serializeSafetensors({ t: base.T.slice(0, 0, 3, 2) });
    expect(parseSafetensors(bytes).tensors.t!.toArray()).toEqual([
      [1, 4],
      [3, 6],
    ]);
    for (let shift = 1; shift < 8; shift++) {
      const host = new Uint8Array(bytes.length + shift);
      host.set(bytes, shift);
      expectSameTensors(parseSafetensors(host.subarray(shift)).tensors, parseSafetensors(bytes).tensors);
    }
  });
});

describe('16-bit floats', () => {
  const formats = [
    { name: 'F16', decode: halfToFloat, encode: floatToHalf, reference: referenceHalf, infinity: 0x7c00, nan: 0x7e00 },
    { name: 'BF16', decode: bfloat16ToFloat, encode: floatToBfloat16, reference: referenceBfloat16, infinity: 0x7f80, nan: 0x7fc0 },
  ];

  for (const f of formats) {
    describe(f.name, () => {
      const round = bruteForceRounder(f.reference, f.infinity, 0x8000);

      it('decodes all 65 536 patterns exactly as the reference, and re-encodes every non-NaN one to itself', () => {
        for (let bits = 0; bits < 65536; bits++) {
          const x = f.decode(bits);
          if (!Object.is(x, f.reference(bits))) throw new Error(`${f.name} 0x${bits.toString(16)}: decoded ${x}, reference ${f.reference(bits)}`);
          const back = f.encode(x);
          const expected = Number.isNaN(x) ? f.nan : bits;
          if (back !== expected) throw new Error(`${f.name} 0x${bits.toString(16)} re-encoded as 0x${back.toString(16)}`);
        }
      });

      it('rounds every tie between neighbours to the even pattern, and a hair off a tie to the nearer one', () => {
        for (let bits = 0; bits + 1 < f.infinity; bits++) {
          const lo = f.reference(bits);
          const hi = f.reference(bits + 1);
          const mid = (lo + hi) / 2;
          const even = bits % 2 === 0 ? bits : bits + 1;
          for (const [x, want] of [
            [mid, even],
            [nextDown(mid), bits],
            [nextUp(mid), bits + 1],
          ] as const) {
            if (f.encode(x) !== want || f.encode(-x) !== (want | 0x8000)) {
              throw new Error(
                `${f.name}: ${x} (between 0x${bits.toString(16)} and the next) encoded as 0x${f.encode(x).toString(16)}, want 0x${want.toString(16)}`,
              );
            }
          }
        }
      });

      it('overflow: past the largest finite value by half an ulp (the tie included) is Infinity', () => {
        const max = f.reference(f.infinity - 1);
        const halfUlp = (max - f.reference(f.infinity - 2)) / 2;
        expect(f.encode(max + halfUlp)).toBe(f.infinity);
        expect(f.encode(nextDown(max + halfUlp))).toBe(f.infinity - 1);
        expect(f.encode(-Infinity)).toBe(f.infinity | 0x8000);
        expect(f.encode(Number.MAX_VALUE)).toBe(f.infinity);
        expect(f.encode(Number.MIN_VALUE)).toBe(0);
        expect(f.encode(-Number.MIN_VALUE)).toBe(0x8000);
        expect(f.encode(NaN)).toBe(f.nan);
      });

      it('any float32 and any float64 round exactly as the brute-force reference (one rounding, never through float32)', () => {
        fc.assert(
          fc.property(fc.float(), (x) => f.encode(x) === round(x) || (Number.isNaN(x) && f.encode(x) === f.nan)),
          { numRuns: 2000 },
        );
        fc.assert(
          fc.property(fc.double(), (x) => f.encode(x) === round(x) || (Number.isNaN(x) && f.encode(x) === f.nan)),
          { numRuns: 2000 },
        );
      });
    });
  }

  it('a float64 just above a tie rounds up, where rounding through float32 first would tie and go to even', () => {
    const x = 1 + 2 ** -11 + 2 ** -40; // float32 would round it to 1 + 2^-11, an F16 tie
    expect(floatToHalf(Math.fround(x))).toBe(0x3c00);
    expect(floatToHalf(x)).toBe(0x3c01);
  });
});

describe('byte-exact files', () => {
  it('matches the reference writer byte for byte (huggingface/safetensors tensor.rs test_serialization and test_empty)', () => {
    const attn = tensor([0, 1, 2, 3, 4, 5], { dtype: 'float32' }).reshape(1, 2, 3);
    expect(Array.from(serializeSafetensors({ 'attn.0': attn }))).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97,
      112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125,
      0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
    expect(Array.from(serializeSafetensors({ attn0: attn.reshape(1, 1, 2, 3) })).slice(0, 8)).toEqual([72, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(serializeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Array.from(serializeSafetensors({}, { metadata: { framework: 'pt' } }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34,
      58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  it('orders tensors by descending dtype then name, metadata first with sorted keys; data as written by hand', () => {
    const bytes = serializeSafetensors(
      {
        e: tensor([true, false, true]),
        b: tensor([-2, 0.5], { dtype: 'float32' }),
        f: tensor([1], { dtype: 'float32' }),
        h: tensor([1, -1], { dtype: 'int32' }),
        a: tensor([1], { dtype: 'float32' }),
        g: tensor([1], { dtype: 'float64' }),
        d: tensor(1.5, { dtype: 'float64' }),
        c: tensor([-2], { dtype: 'int32' }),
      },
      { metadata: { format: 'pt', a: '1' }, dtype: { f: 'F16', g: 'BF16', c: 'I64' } },
    );
    expect(headerOf(bytes)).toBe(
      '{"__metadata__":{"a":"1","format":"pt"},' +
        '"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
        '"d":{"dtype":"F64","shape":[],"data_offsets":[8,16]},' +
        '"a":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},' +
        '"b":{"dtype":"F32","shape":[2],"data_offsets":[20,28]},' +
        '"h":{"dtype":"I32","shape":[2],"data_offsets":[28,36]},' +
        '"g":{"dtype":"BF16","shape":[1],"data_offsets":[36,38]},' +
        '"f":{"dtype":"F16","shape":[1],"data_offsets":[38,40]},' +
        '"e":{"dtype":"BOOL","shape":[3],"data_offsets":[40,43]}}',
    );
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(n % 8).toBe(0);
    expect(Array.from(bytes.subarray(8 + n))).toEqual([
      ...[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // c = −2 (I64)
      ...[0, 0, 0, 0, 0, 0, 0xf8, 0x3f], // d = 1.5 (F64)
      ...[0, 0, 0x80, 0x3f], // a = 1 (F32)
      ...[0, 0, 0, 0xc0, 0, 0, 0, 0x3f], // b = −2, 0.5
      ...[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], // h = 1, −1 (I32)
      ...[0x80, 0x3f], // g = 1 (BF16 0x3f80)
      ...[0, 0x3c], // f = 1 (F16 0x3c00)
      ...[1, 0, 1], // e (BOOL)
    ]);
  });

  it('reads a file written by hand, with tensors listed in any order and __metadata__ anywhere', () => {
    const header = {
      b: { dtype: 'I32', shape: [2], data_offsets: [4, 12] },
      __metadata__: { source: 'hand' },
      a: { dtype: 'F16', shape: [], data_offsets: [0, 2] },
      z: { dtype: 'BOOL', shape: [0, 3], data_offsets: [2, 2] },
      c: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
    };
    const { tensors, metadata } = parseSafetensors(fileOf(header, [0x00, 0xc0, 0x80, 0xbf, 7, 0, 0, 0, 0xf9, 0xff, 0xff, 0xff]));
    expect({ ...metadata }).toEqual({ source: 'hand' });
    expect(Object.keys(tensors)).toEqual(['a', 'z', 'c', 'b']); // file order
    expect(tensors.a!.item()).toBe(-2);
    expect(tensors.z!.shape).toEqual([0, 3]);
    expect(tensors.c!.toArray()).toEqual([-1]);
    expect(tensors.b!.toArray()).toEqual([7, -7]);
    expect(parseSafetensors(fileOf({ __metadata__: null })).metadata).toEqual({});
  });
});

describe('malformed files are FormatErrors naming the kind (docs/TESTING.md §5)', () => {
  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  it('HeaderTooSmall, HeaderTooLarge, InvalidHeaderLength', () => {
    for (let n = 0; n < 8; n++) expectFormatError(() => parseSafetensors(new Uint8Array(n)), 'HeaderTooSmall');
    const withLength = (lo: number, hi: number) => {
      const bytes = new Uint8Array(64).fill(0x20);
      new DataView(bytes.buffer).setUint32(0, lo, true);
      new DataView(bytes.buffer).setUint32(4, hi, true);
      return bytes;
    };
    expectFormatError(() => parseSafetensors(withLength(100_000_001, 0)), 'HeaderTooLarge', /100000001/);
    expectFormatError(() => parseSafetensors(withLength(0xffffffff, 0xffffffff)), 'HeaderTooLarge');
    expectFormatError(() => parseSafetensors(withLength(0, 1)), 'HeaderTooLarge');
    expectFormatError(() => parseSafetensors(withLength(57, 0)), 'InvalidHeaderLength');
    expectFormatError(() => parseSafetensors(withLength(100_000_000, 0)), 'InvalidHeaderLength');
  });

  it('InvalidHeader: not UTF-8, not JSON, not an object, a bad entry, an unknown dtype, bad metadata', () => {
    const raw = (bytes: number[]) => {
      const out = new Uint8Array(8 + bytes.length);
      out[0] = bytes.length;
      out.set(bytes, 8);
      return out;
    };
    expectFormatError(() => parseSafetensors(raw([0x7b, 0xff, 0x7d])), 'InvalidHeader', /UTF-8/);
    expectFormatError(() => parseSafetensors(raw([0x7b, 0xed, 0xa0, 0x80, 0x7d])), 'InvalidHeader', /UTF-8/); // an encoded surrogate
    expectFormatError(() => parseSafetensors(raw([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), 'InvalidHeader', /JSON/); // a byte-order mark
    for (const text of ['{', '', '{"a":1,}', '{} x', "{'a': 1}"]) expectFormatError(() => parseSafetensors(fileOf(text)), 'InvalidHeader', /JSON/);
    for (const text of ['[]', 'null', '1', '"x"']) expectFormatError(() => parseSafetensors(fileOf(text)), 'InvalidHeader', /object/);
    const entry = (e: unknown) => () => parseSafetensors(fileOf({ t: e }, [0, 0, 0, 0]));
    const bad: [unknown, RegExp][] = [
      [[1], /must be an object/],
      [null, /must be an object/],
      [{ shape: [1], data_offsets: [0, 4] }, /unknown dtype undefined/],
      [{ ...f32(0, 4), dtype: 'U8' }, /unknown dtype "U8"/],
      [{ ...f32(0, 4), dtype: 'constructor' }, /unknown dtype "constructor"/],
      [{ ...f32(0, 4), dtype: 'f32' }, /unknown dtype "f32"/],
      [{ dtype: 'F32', data_offsets: [0, 4] }, /shape/],
      [f32(0, 4, [-1]), /shape/],
      [f32(0, 4, [1.5]), /shape/],
      [f32(0, 4, ['1'] as never), /shape/],
      [f32(0, 4, [2 ** 53] as never), /shape/],
      [{ dtype: 'F32', shape: [1] }, /data_offsets/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] }, /data_offsets/],
      [{ dtype: 'F32', shape: [1], data_offsets: [-4, 0] }, /data_offsets/],
      [{ dtype: 'F32', shape: [1], data_offsets: { 0: 0, 1: 4 } }, /data_offsets/],
    ];
    for (const [e, re] of bad) expectFormatError(entry(e), 'InvalidHeader', re);
    for (const m of [[], 'pt', 1, { format: 1 }, { format: null }, { a: ['x'] }]) {
      expectFormatError(() => parseSafetensors(fileOf({ __metadata__: m })), 'InvalidHeader', /__metadata__/);
    }
  });

  it('InvalidOffset: overlap, a hole inside or at the end, running past the end, begin after end', () => {
    const data8 = new Uint8Array(8);
    expectFormatError(() => parseSafetensors(fileOf({ a: f32(0, 8), b: f32(4, 8) }, data8)), 'InvalidOffset', /'b' starts at byte 4, inside/);
    expectFormatError(() => parseSafetensors(fileOf({ a: f32(0, 4), b: f32(4, 8), c: f32(2, 2, [0]) }, data8)), 'InvalidOffset', /inside/);
    expectFormatError(() => parseSafetensors(fileOf({ a: f32(0, 4), b: f32(8, 12) }, new Uint8Array(12))), 'InvalidOffset', /bytes 4\.\.8 before tensor 'b'/);
    expectFormatError(() => parseSafetensors(fileOf({ a: f32(4, 8) }, data8)), 'InvalidOffset', /bytes 0\.\.4/);
    expectFormatError(() => parseSafetensors(fileOf({ a: f32(0, 4) }, data8)), 'InvalidOffset', /bytes 4\.\.8 at the end/);
    expectFormatError(() => parseSafetensors(fileOf({}, [0])), 'InvalidOffset', /at the end/);
    expectFormatError(() => parseSafetensors(fileOf({ a: f32(0, 12) }, data8)), 'InvalidOffset', /past the end/);
    expectFormatError(() => parseSafetensors(fileOf({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, [])), 'InvalidOffset', /before it begins/);
  });

  it('TensorInvalidInfo: the span is not shape × dtype size, or the product overflows', () => {
    expectFormatError(
      () => parseSafetensors(fileOf({ a: f32(0, 8, [3]) }, new Uint8Array(8))),
      'TensorInvalidInfo',
      /needs 12 bytes, but its data_offsets span 8/,
    );
    expectFormatError(() => parseSafetensors(fileOf({ a: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 4] } }, new Uint8Array(4))), 'TensorInvalidInfo');
    const huge = 2 ** 52;
    expectFormatError(() => parseSafetensors(fileOf({ a: { dtype: 'F32', shape: [huge, huge, 0], data_offsets: [0, 0] } })), 'TensorInvalidInfo');
  });

  it('ValueOutOfRange: I64 values outside int32, BOOL bytes other than 0 and 1', () => {
    const i64 = (lo: number, hi: number) => {
      const data = new Uint8Array(8);
      new DataView(data.buffer).setUint32(0, lo, true);
      new DataView(data.buffer).setInt32(4, hi, true);
      return fileOf({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data);
    };
    expect(parseSafetensors(i64(0x7fffffff, 0)).tensors.a!.item()).toBe(2 ** 31 - 1);
    expect(parseSafetensors(i64(0x80000000, -1)).tensors.a!.item()).toBe(-(2 ** 31));
    expectFormatError(() => parseSafetensors(i64(0x80000000, 0)), 'ValueOutOfRange', /2147483648/);
    expectFormatError(() => parseSafetensors(i64(0x7fffffff, -1)), 'ValueOutOfRange');
    expectFormatError(() => parseSafetensors(i64(0, 1)), 'ValueOutOfRange');
    expectFormatError(() => parseSafetensors(fileOf({ a: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, [1, 2])), 'ValueOutOfRange', /element 1/);
  });

  const sample = serializeSafetensors(
    {
      'embeddings.word_embeddings.weight': tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { dtype: 'float32' },
      ),
      ids: tensor([3, -1], { dtype: 'int32' }),
      mask: tensor([true, false]),
      scale: tensor(0.5, { dtype: 'float64' }),
    },
    { metadata: { format: 'pt' }, dtype: { ids: 'I64' } },
  );

  it('a file cut at any byte is a FormatError (never another error, never a partial result)', () => {
    for (let cut = 0; cut < sample.length; cut++) {
      expect(() => parseSafetensors(sample.subarray(0, cut)), `cut at ${cut}`).toThrow(FormatError);
    }
  });

  it('any single bit flipped in the length or header either parses to a consistent file or is a FormatError', () => {
    const n = new DataView(sample.buffer).getUint32(0, true);
    let rejected = 0;
    for (let at = 0; at < 8 + n; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const bytes = sample.slice();
        bytes[at]! ^= 1 << bit;
        try {
          const { tensors } = parseSafetensors(bytes);
          const total = Object.values(tensors).reduce((s, t) => s + t.numel, 0);
          expect(total).toBeGreaterThan(0); // whatever survived still tiles the data exactly
        } catch (e) {
          if (!(e instanceof FormatError)) throw new Error(`flipping bit ${bit} of byte ${at} threw ${(e as Error).name}: ${(e as Error).message}`);
          rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('what the reference reader refuses and JSON.parse alone would accept (issue 13, finding 6)', () => {
  const zero = '{"dtype":"F32","shape":[0],"data_offsets":[0,0]}';

  it('integers written with a fraction or an exponent (8.0, 4e0, 1.0) are InvalidHeader, as serde refuses them for a size', () => {
    for (const header of [
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}',
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0.0,8]}}',
      '{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}',
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}}',
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,0.8E1]}}',
    ]) {
      expectFormatError(() => parseSafetensors(fileOf(header, new Uint8Array(8))), 'InvalidHeader', /is not written as an integer/);
    }
    // The same file with integers (and a name that contains "8.0") parses.
    expect(parseSafetensors(fileOf('{"a 8.0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', new Uint8Array(8))).tensors['a 8.0']!.shape).toEqual([2]);
  });

  it('nesting: 127 levels parse (an unknown field is ignored, as the reference does), 128 are InvalidHeader', () => {
    const nested = (levels: number) => `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}}}`;
    expect(Object.keys(parseSafetensors(fileOf(nested(127))).tensors)).toEqual(['a']);
    expectFormatError(() => parseSafetensors(fileOf(nested(128))), 'InvalidHeader', /nests 128 levels deep; the reference reader refuses more than 127/);
    expectFormatError(() => parseSafetensors(fileOf(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)), 'InvalidHeader', /nests 100000 levels/);
  });

  it('a lone surrogate escape is InvalidHeader; a pair is one character', () => {
    for (const name of ['\\ud800', '\\udfff', 'x\\ud83dy', '\\ude00\\ud83d']) {
      expectFormatError(() => parseSafetensors(fileOf(`{"${name}":${zero}}`)), 'InvalidHeader', /is a lone surrogate/);
    }
    expect(Object.keys(parseSafetensors(fileOf(`{"\\ud83d\\ude00":${zero}}`)).tensors)).toEqual(['\u{1F600}']);
    expect(Object.keys(parseSafetensors(fileOf(`{"\\\\ud800":${zero}}`)).tensors)).toEqual(['\\ud800']); // an escaped backslash, then text
  });

  it('a name listed twice is InvalidHeader (JSON.parse would keep the last silently), however it is escaped', () => {
    expectFormatError(() => parseSafetensors(fileOf(`{"a":${zero},"b":${zero},"a":${zero}}`)), 'InvalidHeader', /the name "a" is listed twice/);
    expectFormatError(() => parseSafetensors(fileOf(`{"a":${zero},"\\u0061":${zero}}`)), 'InvalidHeader', /listed twice/);
    expectFormatError(() => parseSafetensors(fileOf(`{"__metadata__":{},"__metadata__":{}}`)), 'InvalidHeader', /listed twice/);
  });

  it('an ArrayBuffer (what fetch gives) parses like the same bytes', () => {
    const bytes = serializeSafetensors({ w: tensor([[1, -2]], { dtype: 'float32' }) }, { metadata: { format: 'pt' } });
    const fromBuffer = parseSafetensors(bytes.slice().buffer);
    expectSameTensors(fromBuffer.tensors, parseSafetensors(bytes).tensors);
    expect({ ...fromBuffer.metadata }).toEqual({ format: 'pt' });
  });

  it('200,000 zero-size entries parse into 200,000 empty tensors (one linear pass: no quadratic step)', () => {
    const n = 200_000;
    const header = `{${Array.from({ length: n }, (_, i) => `"t${i}":${zero}`).join(',')}}`;
    const { tensors } = parseSafetensors(fileOf(header));
    const names = Object.keys(tensors);
    expect(names.length).toBe(n);
    expect(names.every((name) => tensors[name]!.numel === 0 && tensors[name]!.shape[0] === 0)).toBe(true);
  });
});

describe('untrusted keys', () => {
  it('__proto__ and constructor in a header are plain names and pollute nothing', () => {
    const header =
      '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"constructor":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},' +
      '"__metadata__":{"__proto__":"x","polluted":"yes","constructor":"y"}}';
    const { tensors, metadata } = parseSafetensors(fileOf(header, [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(tensors)).toBeNull();
    expect(Object.keys(tensors)).toEqual(['__proto__', 'constructor']);
    // A tensor named __proto__ is data in this null-prototype record, not the prototype accessor.
    // biome-ignore lint/suspicious/noProto lint/complexity/useLiteralKeys: reading that data is the test
    expect(tensors['__proto__']!.item()).toBe(1);
    // biome-ignore lint/complexity/useLiteralKeys: as above
    expect(tensors['constructor']!.item()).toBe(2);
    expect(Object.keys(metadata).sort()).toEqual(['__proto__', 'constructor', 'polluted']);
    expect('toString' in tensors).toBe(false);

    const nested = '{"__proto__":{"polluted":"yes"},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"__proto__":{"polluted":"yes"}}}';
    expect(() => parseSafetensors(fileOf(nested))).toThrow(FormatError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('tensors named __proto__ and constructor round-trip', () => {
    const tensors: Record<string, Tensor> = Object.fromEntries([
      ['__proto__', tensor([1], { dtype: 'float32' })],
      ['constructor', tensor([2], { dtype: 'float32' })],
    ]);
    expectSameTensors(parseSafetensors(serializeSafetensors(tensors)).tensors, tensors);
  });
});

describe('writer errors', () => {
  const t = tensor([1], { dtype: 'float32' });
  it('refuses what it cannot write, naming the tensor', () => {
    expect(() => serializeSafetensors({ __metadata__: t })).toThrow(/'__metadata__' is reserved/);
    expect(() => serializeSafetensors({ t }, { dtype: { u: 'F16' } })).toThrow(/unknown tensor\(s\) 'u'/);
    expect(() => serializeSafetensors({ t }, { dtype: { t: 'I32' } })).toThrow(/cannot store the float32 tensor 't' as I32/);
    expect(() => serializeSafetensors({ i: tensor([1], { dtype: 'int32' }) }, { dtype: { i: 'F16' } })).toThrow(ValueError);
    expect(() => serializeSafetensors({ t }, { dtype: { t: 'U8' as SafetensorsDType } })).toThrow(ValueError);
    expect(() => serializeSafetensors({ t }, { metadata: { a: 1 as unknown as string } })).toThrow(/metadata values must be strings/);
    expect(() => serializeSafetensors({ t: [1] as unknown as Tensor })).toThrow(TypeError);
  });
});
