/**
 * Fuzz: mutated safetensors files (spec/fuzz/harness.ts states the law). Bases are valid
 * files with tensors of every dtype, empty tensors and metadata; mutations are byte edits
 * anywhere (length, header, data) and edits of the header's JSON tree re-written with a
 * correct length (so they reach the entry checks, not just the length check).
 *
 * An accepted file must be consistent: the values it allocates are bounded by its bytes
 * (Σ numel ≤ data bytes: every stored element takes at least one byte), parsing is
 * deterministic, and writing the result back and parsing again gives the same tensors.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { tensor, type Tensor } from '../../index.ts';
import { parseSafetensors, serializeSafetensors } from '../../models/safetensors.ts';
import { assertClose } from '../kit/index.ts';
import { applyByteEdits, applyJsonEdits, arbByteEdits, arbJsonEdits, describeCase, jsonText, params, Tally } from './harness.ts';

const BASES: Uint8Array[] = [
  serializeSafetensors(
    {
      w: tensor(
        [
          [1.5, -2],
          [3, 0.25],
        ],
        { dtype: 'float32' },
      ),
      d: tensor([1e-300, -0, 7], { dtype: 'float64' }),
      i: tensor([1, -2, 3], { dtype: 'int32' }),
      b: tensor([1, 0, 1, 1], { dtype: 'bool' }),
      e: tensor([], { dtype: 'float32' }),
    },
    { metadata: { format: 'pt', note: 'x' } },
  ),
  serializeSafetensors(
    { h: tensor([0.5, 65504, -1e-7], { dtype: 'float32' }), z: tensor([3, 4], { dtype: 'float32' }), l: tensor([5, -6], { dtype: 'int32' }) },
    { dtype: { h: 'F16', z: 'BF16', l: 'I64' } },
  ),
  serializeSafetensors({}),
];

/** Data bytes after the header, if the length field is readable. */
function dataBytes(bytes: Uint8Array): number {
  return bytes.length < 8 ? 0 : bytes.length - 8 - new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
}

function expectConsistent(bytes: Uint8Array, tensors: Record<string, Tensor>): void {
  const names = Object.keys(tensors);
  const values = names.reduce((n, k) => n + tensors[k]!.numel, 0);
  expect(values).toBeLessThanOrEqual(dataBytes(bytes));
  const again = parseSafetensors(bytes).tensors;
  const back = parseSafetensors(serializeSafetensors(tensors)).tensors;
  for (const name of names) {
    assertClose(again[name]!, tensors[name]!, 'bitwise', `${name} parsed twice`);
    assertClose(back[name]!, tensors[name]!, 'bitwise', `${name} written and read back`);
  }
}

/** A file with this header text (its length field correct) and the base's data section. */
function withHeader(base: Uint8Array, header: string): Uint8Array {
  const n = new DataView(base.buffer, base.byteOffset).getUint32(0, true);
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + dataBytes(base));
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(base.subarray(8 + n), 8 + json.length);
  return out;
}

const tallies: Tally[] = [];
afterAll(() => {
  for (const t of tallies) console.log(t.summary());
});

describe('fuzz: safetensors', () => {
  test('byte edits anywhere: a FormatError naming its kind, or a consistent file', () => {
    const tally = new Tally('safetensors bytes');
    tallies.push(tally);
    fc.assert(
      // Three cases in four spare the 8-byte length field, so most edits reach the header and data.
      fc.property(fc.nat({ max: BASES.length - 1 }), arbByteEdits, fc.nat({ max: 3 }), (which, edits, region) => {
        const bytes = applyByteEdits(BASES[which]!, edits, region === 0 ? 0 : 8);
        const file = tally.run(
          () => describeCase(`base ${which}, from byte ${region === 0 ? 0 : 8}`, edits),
          () => parseSafetensors(bytes),
        );
        if (file) expectConsistent(bytes, file.tensors);
      }),
      params(1301, 1200),
    );
    expect(tally.ok).toBeGreaterThan(0);
  });

  test('edits of the header JSON tree (types, numbers, names, nesting), re-framed with a correct length', () => {
    const tally = new Tally('safetensors header JSON');
    tallies.push(tally);
    const headers = BASES.map((b) => JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + new DataView(b.buffer, b.byteOffset).getUint32(0, true)))));
    fc.assert(
      fc.property(fc.nat({ max: BASES.length - 1 }), arbJsonEdits, (which, edits) => {
        const text = jsonText(applyJsonEdits(headers[which], edits));
        if (text === null) return;
        const bytes = withHeader(BASES[which]!, text);
        const file = tally.run(
          () => describeCase(`base ${which}`, edits),
          () => parseSafetensors(bytes),
        );
        if (file) expectConsistent(bytes, file.tensors);
      }),
      params(1302, 1200),
    );
    expect(tally.ok).toBeGreaterThan(0);
  });
});
