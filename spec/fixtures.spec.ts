/**
 * Smoke test of the PyTorch reference fixtures (spec/fixtures/, written by
 * scripts/make-fixtures.py, docs/TESTING.md §7): every file is the one meta.json describes
 * (size, sha256), every safetensors header is well formed and follows the layout the
 * script promises (the library's writer reproduces each file byte for byte), the JSON
 * twins are consistent, and the cross-checks the script recorded all passed. The
 * model-vs-fixture comparisons live with the model code.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Tensor } from '../core/tensor.ts';
import { parseSafetensors, serializeSafetensors } from '../models/safetensors.ts';

const dir = join(import.meta.dirname, 'fixtures');
interface Fixture {
  file: string;
  config_file?: string;
  tensors: Record<string, string[]>;
  cross_checks: Record<string, unknown>;
}
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as {
  conventions: Record<string, unknown>;
  fixtures: Record<string, Fixture>;
  files: Record<string, { bytes: number; sha256: string }>;
};

const RESERVED = ['input.', 'output.', 'grad.', 'debug.', 'fp32.'];
const isWeight = (name: string) => !RESERVED.some((p) => name.startsWith(p));
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const files = readdirSync(dir)
  .filter((f) => f !== 'meta.json' && f !== 'README.md')
  .sort();
const safetensorsFiles = files.filter((f) => f.endsWith('.safetensors'));
const fixtureOf = (file: string) => Object.entries(meta.fixtures).find(([, v]) => v.file === file)!;

test('meta.json lists exactly the fixture files, with their sizes and sha256', () => {
  expect(Object.keys(meta.files).sort()).toEqual(files);
  for (const f of files) {
    const bytes = readFileSync(join(dir, f));
    expect({ file: f, bytes: bytes.length, sha256: sha256(bytes) }).toEqual({ file: f, ...meta.files[f] });
  }
  const total = files.reduce((s, f) => s + meta.files[f]!.bytes, 0) + readFileSync(join(dir, 'meta.json')).length;
  expect(total).toBeLessThan(3_000_000);
});

test('every cross-check recorded by the generator passed', () => {
  const tol = meta.conventions.cross_check_tolerance as number;
  expect(tol).toBeLessThanOrEqual(1e-10);
  for (const [name, fx] of Object.entries(meta.fixtures)) {
    const checks = Object.entries(fx.cross_checks);
    expect(
      checks.some(([k]) => k.startsWith('manual_backward_vs_autograd')),
      name,
    ).toBe(true);
    expect((fx.cross_checks.gradcheck as { passed: boolean }).passed, name).toBe(true);
    for (const [k, v] of checks) {
      if (k.endsWith('_max_abs')) expect(v as number, `${name}: ${k}`).toBeLessThanOrEqual(tol);
      if (k.endsWith('_bitwise')) expect(v, `${name}: ${k}`).toBe(true);
    }
  }
});

const ENGINE_DTYPE: Record<string, string> = { F64: 'float64', F32: 'float32', I32: 'int32' };

describe.each(safetensorsFiles)('%s', (file) => {
  const bytes = new Uint8Array(readFileSync(join(dir, file)));
  const { tensors, metadata } = parseSafetensors(bytes);
  const [name, fx] = fixtureOf(file);
  const get = (key: string): Tensor => {
    const t = tensors[key];
    if (t === undefined) throw new Error(`${file}: no tensor '${key}'`);
    return t;
  };

  test('canonical layout: the library writer reproduces the file byte for byte', () => {
    // Same bytes = compact JSON header with sorted __metadata__, space padding to 8, data
    // ordered by descending dtype (safetensors' enum order) then name, little-endian values.
    const again = serializeSafetensors(tensors, { metadata });
    expect(again.length).toBe(bytes.length);
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    expect(metadata).toMatchObject({ format: 'pt', fixture: name, generator: 'scripts/make-fixtures.py' });
  });

  test('tensor groups: weights F32 with F64 grads of their shape; outputs F64; fp32 twins; integer inputs I32', () => {
    const groups: Record<string, string[]> = { weights: [], inputs: [], outputs: [], grads: [], debug: [], fp32: [] };
    const prefix: Record<string, string> = { 'input.': 'inputs', 'output.': 'outputs', 'grad.': 'grads', 'debug.': 'debug', 'fp32.': 'fp32' };
    for (const n of Object.keys(tensors).sort()) groups[Object.entries(prefix).find(([p]) => n.startsWith(p))?.[1] ?? 'weights']!.push(n);
    expect(groups).toEqual(fx.tensors);
    expect(groups.weights!.length).toBeGreaterThan(0);
    const sig = (t: Tensor) => [t.dtype, [...t.shape]];
    for (const w of groups.weights!) {
      expect(get(w).dtype, w).toBe(ENGINE_DTYPE.F32);
      expect(sig(get(`grad.${w}`)), `grad.${w}`).toEqual([ENGINE_DTYPE.F64, [...get(w).shape]]);
    }
    for (const g of groups.grads!) {
      const target = g.slice('grad.'.length);
      expect(sig(get(g)), g).toEqual([ENGINE_DTYPE.F64, [...get(target).shape]]);
    }
    for (const o of groups.outputs!) expect(get(o).dtype, o).toBe(ENGINE_DTYPE.F64);
    for (const f of groups.fp32!) expect(sig(get(f)), f).toEqual([ENGINE_DTYPE.F32, [...get(f.slice('fp32.'.length)).shape]]);
    for (const i of groups.inputs!) expect(get(i).dtype, i).toBe(/_ids$|_mask$/.test(i) ? ENGINE_DTYPE.I32 : ENGINE_DTYPE.F32);
    expect(groups.inputs!.some((i) => i.startsWith('input.grad_output'))).toBe(true);
  });

  test('values: finite floats, ids inside the vocabulary (full models)', () => {
    for (const [k, t] of Object.entries(tensors)) {
      // debug.scores holds finfo(float64).min at masked positions: finite by design.
      expect(
        (t.data as Float64Array).every((v) => Number.isFinite(v)),
        k,
      ).toBe(true);
    }
    if (fx.config_file) {
      const config = JSON.parse(readFileSync(join(dir, fx.config_file), 'utf8'));
      expect(JSON.parse(metadata.config!)).toEqual(config);
      expect((get('input.input_ids').data as Int32Array).every((v) => v >= 0 && v < config.vocab_size)).toBe(true);
      const embed = get(config.model_type === 'bert' ? 'bert.embeddings.word_embeddings.weight' : 'model.embed_tokens.weight');
      expect([...embed.shape]).toEqual([config.vocab_size, config.hidden_size]);
      if (config.model_type === 'llama') expect('lm_head.weight' in tensors).toBe(!config.tie_word_embeddings);
    }
  });
});

describe.each(files.filter((f) => f.endsWith('.tiny.json')))('%s', (file) => {
  const twin = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const tensors = twin.tensors as Record<string, { dtype: string; shape: number[]; data: number[] }>;

  test('tensors: data length matches shape, F32 values are float32-exact, I32 values integers', () => {
    expect(fixtureOf(file)[0]).toBe(twin.fixture);
    for (const [n, t] of Object.entries(tensors)) {
      expect(t.data.length, n).toBe(numel(t.shape));
      if (t.dtype === 'F32')
        expect(
          t.data.every((v) => Math.fround(v) === v),
          n,
        ).toBe(true);
      if (t.dtype === 'I32')
        expect(
          t.data.every((v) => Number.isInteger(v)),
          n,
        ).toBe(true);
    }
    for (const w of Object.keys(tensors).filter(isWeight)) expect(tensors[`grad.${w}`]?.shape, w).toEqual(tensors[w]!.shape);
    expect(tensors['grad.input.hidden_states']!.shape).toEqual(tensors['input.hidden_states']!.shape);
    expect(twin.config.hidden_size).toBe(8);
    expect(tensors['input.hidden_states']!.shape[1]).toBe(3);
  });
});
