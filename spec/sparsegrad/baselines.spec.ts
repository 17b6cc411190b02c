/**
 * The paper's baselines (docs/METHOD.md §8, §12.11–12): LoRA as the authors' lora_utils.py
 * and MeProp in both variants, over fast-check sizes and seeds.
 * - LoRA at init: the output is bitwise the base layer's (B = 0 makes the correction ±0),
 *   dA = 0 and dB ≠ 0; r(in + out) trainable entries per layer plus the bias; merge ≡ the
 *   unmerged forward (T64 in float64); unload gives the original object back.
 * - MeProp 'paper' with k = in·out is bitwise dense (a −0 would come back +0: the selection
 *   never keeps a zero; random data has none); its kept set is the top-k of a naive sort.
 * - MeProp 'original' with k = out is bitwise dense; with small k each token keeps k entries
 *   and dX = G_k W, dW = G_kᵀ X, db = Σ G.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Generator, grad, noGrad, randn, Tensor } from '../../index.ts';
import { BertForSequenceClassification } from '../../models/bert.ts';
import { bertConfig, llamaConfig } from '../../models/config.ts';
import { LlamaForCausalLM } from '../../models/llama.ts';
import { exportWeights } from '../../models/weights.ts';
import { Linear } from '../../nn/linear.ts';
import { applyLora, type LoraLinear } from '../../nn/lora.ts';
import { applyMeProp, MePropLinear, topKRows } from '../../nn/meprop.ts';
import { Module } from '../../nn/module.ts';
import { arbSeed, assertClose, T64 } from '../kit/index.ts';
import { BERT, LLAMA, linear } from './helpers.ts';

const bert = () => new BertForSequenceClassification(bertConfig(BERT), { dtype: 'float64', generator: new Generator(1) });

/** One Linear under the name `layer`, so applyLora/applyMeProp can target it. */
class Holder extends Module {
  constructor(public layer: Module) {
    super();
  }
}

const arbCase = fc.record({
  inF: fc.integer({ min: 1, max: 7 }),
  outF: fc.integer({ min: 1, max: 7 }),
  tokens: fc.integer({ min: 1, max: 5 }),
  r: fc.integer({ min: 1, max: 4 }),
  alpha: fc.double({ min: 0.25, max: 16, noNaN: true }),
  seed: arbSeed(),
});
type Case = typeof arbCase extends fc.Arbitrary<infer C> ? C : never;

function setup(c: Case, dtype: 'float32' | 'float64' = 'float64') {
  const base = linear(c.inF, c.outF, c.seed, dtype);
  const x = randn([c.tokens, c.inF], { dtype, generator: new Generator(c.seed + 1) }).setRequiresGrad();
  const g = randn([c.tokens, c.outF], { dtype, generator: new Generator(c.seed + 2) });
  return { base, x, g, holder: new Holder(base) };
}

/** dX, dW, db of the module now at `holder.layer`. */
function grads(holder: Holder, x: Tensor, g: Tensor): Tensor[] {
  const layer = holder.layer as Linear; // or a MePropLinear: the same forward, weight and bias
  return grad(layer.forward(x), [x, layer.weight, layer.bias!], { gradOutputs: [g] }) as Tensor[];
}

describe('LoRA (lora_utils.py)', () => {
  test("at init the output is bitwise the base layer's; dA = 0 and dB ≠ 0 (float32 and float64)", () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        for (const dtype of ['float32', 'float64'] as const) {
          const { base, x, g, holder } = setup(c, dtype);
          const expected = noGrad(() => base.forward(x));
          const [[, lora]] = applyLora(holder, { targets: 'layer', r: c.r, alpha: c.alpha, generator: new Generator(c.seed + 3) }).layers as [
            [string, LoraLinear],
          ];
          assertClose(lora.forward(x), expected, 'bitwise', `output ${dtype}`);
          const [dA, dB] = grad(lora.forward(x), [lora.lora_A, lora.lora_B], { gradOutputs: [g] }) as Tensor[];
          expect(Array.from(dA!.data).every((v) => v === 0)).toBe(true);
          expect(Array.from(dB!.data).some((v) => v !== 0)).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  test('A [in, r] ~ U(±1/√r), B [out, r] = 0, W frozen on the original storage, bias trainable', () => {
    const { base, holder } = setup({ inF: 100, outF: 5, tokens: 1, r: 4, alpha: 1, seed: 9 });
    const [[, lora]] = applyLora(holder, { targets: 'layer', r: 4 }).layers as [[string, LoraLinear]];
    expect(lora.lora_A.shape).toEqual([100, 4]);
    expect(lora.lora_B.shape).toEqual([5, 4]);
    // 400 draws of U(±1/2): all within the bound, and the largest near it (not 1/√in = 0.1).
    const magnitudes = Array.from(lora.lora_A.data, Math.abs);
    expect(Math.max(...magnitudes)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...magnitudes)).toBeGreaterThan(0.45);
    expect(Array.from(lora.lora_B.data).every((v) => v === 0)).toBe(true);
    expect(lora.weight.requiresGrad).toBe(false);
    expect(lora.weight.data).toBe(base.weight.data);
    expect(base.weight.requiresGrad).toBe(true);
    expect(lora.bias).toBe(base.bias);
    expect(lora.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias', 'lora_A', 'lora_B']);
  });

  test('r(in + out) trainable entries per layer, plus the bias; everything else still trains', () => {
    const model = bert();
    const before = model
      .parameters()
      .filter((p) => p.requiresGrad)
      .reduce((n, p) => n + p.numel, 0);
    const handle = applyLora(model, { r: 2 });
    let delta = 0;
    for (const [, l] of handle.layers) {
      const trainable = l
        .parameters()
        .filter((p) => p.requiresGrad)
        .reduce((n, p) => n + p.numel, 0);
      expect(trainable).toBe(2 * (l.inFeatures + l.outFeatures) + l.outFeatures);
      delta += 2 * (l.inFeatures + l.outFeatures) - l.inFeatures * l.outFeatures;
    }
    const after = model
      .parameters()
      .filter((p) => p.requiresGrad)
      .reduce((n, p) => n + p.numel, 0);
    expect(after).toBe(before + delta);
  });

  test('merge ≡ the unmerged forward (T64, float64) once B is trained; merged names are the HF ones', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { x, holder } = setup(c);
        const handle = applyLora(holder, { targets: 'layer', r: c.r, alpha: c.alpha, generator: new Generator(c.seed + 3) });
        const [[, lora]] = handle.layers as [[string, LoraLinear]];
        noGrad(() => lora.lora_B.copy_(randn(lora.lora_B.shape, { dtype: 'float64', generator: new Generator(c.seed + 4) })));
        const unmerged = noGrad(() => lora.forward(x));
        handle.merge();
        expect(holder.layer).toBeInstanceOf(Linear);
        expect(Object.keys(holder.layer.stateDict())).toEqual(['weight', 'bias']);
        assertClose(
          noGrad(() => (holder.layer as Linear).forward(x)),
          unmerged,
          T64,
          'merged forward',
        );
      }),
      { numRuns: 40 },
    );
  });

  test('unload restores the original objects; a merged BERT exports the original names', () => {
    const model = bert();
    const names = Object.keys(exportWeights(model));
    const handle = applyLora(model);
    const originals = handle.layers.map(([, l]) => l.unload());
    handle.unload();
    handle.layers.forEach(([name], i) => expect(model.getSubmodule(name)).toBe(originals[i]));
    handle.merge();
    expect(Object.keys(exportWeights(model))).toEqual(names);
  });

  test('default targets: BERT MLP linears but never attention.output.dense; LLaMa everyNthBlock 2 → blocks 0 and 2', () => {
    const names = applyLora(bert()).layers.map(([n]) => n);
    expect(names).toEqual([
      'bert.encoder.layer.0.intermediate.dense',
      'bert.encoder.layer.0.output.dense',
      'bert.encoder.layer.1.intermediate.dense',
      'bert.encoder.layer.1.output.dense',
    ]);
    expect(names.some((n) => n.includes('attention.output.dense'))).toBe(false);
    const llama = new LlamaForCausalLM(llamaConfig(LLAMA), { generator: new Generator(1) });
    expect(applyLora(llama, { everyNthBlock: 2 }).layers.map(([n]) => n)).toEqual([
      'model.layers.0.mlp.up_proj',
      'model.layers.0.mlp.down_proj',
      'model.layers.2.mlp.up_proj',
      'model.layers.2.mlp.down_proj',
    ]);
  });
});

describe('MeProp, paper variant (top-k of the dense dW, dense masked gradient)', () => {
  test('k = in·out: dX, dW, db bitwise the dense ones', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { x, g, holder } = setup(c);
        const dense = grads(holder, x, g);
        applyMeProp(holder, { targets: 'layer', k: c.inF * c.outF });
        grads(holder, x, g).forEach((t, i) => assertClose(t, dense[i]!, 'bitwise', ['dX', 'dW', 'db'][i]));
      }),
      { numRuns: 40 },
    );
  });

  test('the kept set is the top-k of a naive sort (threshold semantics), values untouched, the rest +0', () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 1, max: 49 }), (c, kRaw) => {
        const { x, g, holder } = setup(c);
        const k = 1 + (kRaw % (c.inF * c.outF));
        const dense = grads(holder, x, g)[1]!.toTypedArray() as Float64Array;
        const handle = applyMeProp(holder, { targets: 'layer', k });
        const masked = grads(holder, x, g)[1]!.toTypedArray();
        const threshold = Array.from(dense, Math.abs).sort((a, b) => b - a)[k - 1]!;
        dense.forEach((v, i) => expect(Object.is(masked[i], Math.abs(v) >= threshold && v !== 0 ? v : 0)).toBe(true));
        handle.unload();
        assertClose(grads(holder, x, g)[1]!, Tensor.fromStorage(dense, [c.outF, c.inF]), 'bitwise', 'unload removes the hook');
      }),
      { numRuns: 60 },
    );
  });

  test("default k is SparseGrad's budget 7·(in + out), capped at in·out", () => {
    const { x, g, holder } = setup({ inF: 40, outF: 30, tokens: 3, r: 1, alpha: 1, seed: 5 });
    applyMeProp(holder, { targets: 'layer' });
    const kept = Array.from(grads(holder, x, g)[1]!.toTypedArray()).filter((v) => v !== 0).length;
    expect(kept).toBe(7 * (40 + 30));
  });
});

describe('MeProp, original variant (top-k of G per token)', () => {
  test('k = out: dX, dW, db bitwise the dense ones; unload restores the Linear', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { base, x, g, holder } = setup(c);
        const dense = grads(holder, x, g);
        const handle = applyMeProp(holder, { targets: 'layer', variant: 'original', k: c.outF });
        expect(holder.layer).toBeInstanceOf(MePropLinear);
        grads(holder, x, g).forEach((t, i) => assertClose(t, dense[i]!, 'bitwise', ['dX', 'dW', 'db'][i]));
        handle.unload();
        expect(holder.layer).toBe(base);
      }),
      { numRuns: 40 },
    );
  });

  test('small k: each token keeps k entries of G; dX = G_k W, dW = G_kᵀ X (T64), db = Σ G (bitwise)', () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 1, max: 6 }), (c, kRaw) => {
        const k = 1 + (kRaw % c.outF);
        const { base, x, g, holder } = setup(c);
        const gk = topKRows(g, k);
        for (let t = 0; t < c.tokens; t++) {
          const row = Array.from(g.data.subarray(t * c.outF, (t + 1) * c.outF));
          const kept = Array.from(gk.data.subarray(t * c.outF, (t + 1) * c.outF));
          expect(kept.filter((v) => v !== 0).length).toBe(k);
          const smallestKept = Math.min(...row.filter((_, i) => kept[i] !== 0).map(Math.abs));
          row.forEach((v, i) => (kept[i] !== 0 ? expect(kept[i]).toBe(v) : expect(Math.abs(v)).toBeLessThanOrEqual(smallestKept)));
        }
        applyMeProp(holder, { targets: 'layer', variant: 'original', k });
        const [dx, dw, db] = grads(holder, x, g);
        assertClose(dx!, gk.matmul(base.weight), T64, 'dX');
        assertClose(dw!, gk.transpose().matmul(x.detach()), T64, 'dW');
        assertClose(db!, g.sum(0), 'bitwise', 'db');
      }),
      { numRuns: 60 },
    );
  });

  test('k is required and counts output units', () => {
    expect(() => applyMeProp(new Holder(linear(3, 2, 1)), { targets: 'layer', variant: 'original' })).toThrow(/output units kept per token/);
  });
});
