/**
 * SparseGrad on whole models: default targets per architecture, the preliminary phase
 * (gradients streamed into per-type Gram matrices through hooks), bases that are
 * orthonormal eigenvectors, conversion that leaves the model's outputs unchanged,
 * merge back to HF names, unload, and the optimizer groups of the reference.
 */
import { describe, expect, test } from 'vitest';
import { crossEntropy, Generator, noGrad, tensor, Tensor } from '../../index.ts';
import { BertForSequenceClassification } from '../../models/bert.ts';
import { bertConfig, llamaConfig } from '../../models/config.ts';
import { LlamaForCausalLM } from '../../models/llama.ts';
import { exportWeights } from '../../models/weights.ts';
import type { Linear } from '../../nn/linear.ts';
import { applySparseGrad, budget, collectGradients, sparseGradGroups } from '../../nn/sparsegrad/apply.ts';
import { SparseGradLinear } from '../../nn/sparsegrad/layer.ts';
import { findTargets } from '../../nn/targets.ts';
import { assertClose, T32, T64 } from '../kit/index.ts';
import { BERT, LLAMA } from './helpers.ts';

const bert = (dtype: 'float32' | 'float64' = 'float64', seed = 1) =>
  new BertForSequenceClassification(bertConfig(BERT), { dtype, generator: new Generator(seed) });
const batch = () => ({
  inputIds: tensor(Int32Array.from([5, 6, 7, 8, 9, 10, 11, 0]), { shape: [2, 4] }),
  attentionMask: tensor(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 0]), { shape: [2, 4] }),
  labels: tensor(Int32Array.from([0, 1])),
});

/** A few backward passes (no update) so the Gram matrices have enough slices; returns the bases. */
function collect(model: BertForSequenceClassification, steps = 6) {
  const collector = collectGradients(model);
  for (let s = 0; s < steps; s++) {
    model.zeroGrad();
    const b = batch();
    const ids = b.inputIds.add(s).clamp(0, 29);
    model.forward({ ...b, inputIds: ids }).loss!.backward();
  }
  return collector.finish();
}

describe('targets', () => {
  test('BERT: intermediate.dense and output.dense of every block, never attention.output.dense', () => {
    const names = findTargets(bert()).map(([n]) => n);
    expect(names).toEqual([
      'bert.encoder.layer.0.intermediate.dense',
      'bert.encoder.layer.0.output.dense',
      'bert.encoder.layer.1.intermediate.dense',
      'bert.encoder.layer.1.output.dense',
    ]);
  });

  test('LLaMa: up_proj and down_proj, every n-th block', () => {
    const model = new LlamaForCausalLM(llamaConfig(LLAMA), { generator: new Generator(1) });
    expect(findTargets(model, { everyNthBlock: 3 }).map(([n]) => n)).toEqual([
      'model.layers.0.mlp.up_proj',
      'model.layers.0.mlp.down_proj',
      'model.layers.3.mlp.up_proj',
      'model.layers.3.mlp.down_proj',
    ]);
  });

  test('budget: k = rank·(in + out) by default, density rounds, k is capped at in·out', () => {
    expect(budget({}, 768, 3072)).toBe(7 * (768 + 3072));
    expect(budget({ rank: 10 }, 1024, 4096)).toBe(51200);
    expect(budget({ density: 0.01 }, 768, 3072)).toBe(23593);
    expect(budget({ k: 1e9 }, 3, 2)).toBe(6);
    expect(() => budget({ density: 0 }, 3, 2)).toThrow(/density must be in \(0, 1\]/);
  });
});

describe('preliminary phase and conversion', () => {
  test('one pair of orthonormal bases per layer type, eigenvalues descending', () => {
    const bases = collect(bert());
    expect([...bases.keys()]).toEqual(['bert.encoder.layer.*.intermediate.dense', 'bert.encoder.layer.*.output.dense']);
    for (const b of bases.values()) {
      expect(b.slices).toBe(6 * 2); // steps × blocks
      for (const Q of [b.U, b.V]) {
        const n = Q.shape[0]!;
        assertClose(Q.transpose().matmul(Q), Tensor.fromStorage(eyeData(n), [n, n]), { atol: 1e-12, rtol: 0 }, 'QᵀQ = I');
      }
      for (const values of [b.inValues, b.outValues]) for (let i = 1; i < values.length; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
    }
  });

  test.each(['consistent', 'reference'] as const)('conversion leaves the model outputs unchanged (%s basis), merge restores HF names', (inputBasis) => {
    for (const dtype of ['float64', 'float32'] as const) {
      const model = bert(dtype);
      const before = noGrad(() => model.forward(batch()).logits);
      const names = Object.keys(exportWeights(model));
      const handle = applySparseGrad(model, collect(model), { inputBasis });
      expect(handle.layers.every(([, l]) => l instanceof SparseGradLinear)).toBe(true);
      assertClose(
        noGrad(() => model.forward(batch()).logits),
        before,
        dtype === 'float64' ? T64 : T32,
        `converted ${dtype}`,
      );
      handle.merge();
      expect(Object.keys(exportWeights(model))).toEqual(names);
      assertClose(
        noGrad(() => model.forward(batch()).logits),
        before,
        dtype === 'float64' ? T64 : T32,
        `merged ${dtype}`,
      );
    }
  });

  test('bases: one converted copy per layer type, shared by every block; memoryReport counts it once (also after a reload)', async () => {
    const { memoryReport } = await import('../../nn/memory.ts');
    const model = bert('float32');
    const bases = collect(bert('float64')); // float64 bases, float32 model: a conversion is needed
    const handle = applySparseGrad(model, bases, { keepOriginal: false });
    // intermediate, output, intermediate, output
    const [a0, b0, a1, b1] = handle.layers.map(([, l]) => l) as [SparseGradLinear, SparseGradLinear, SparseGradLinear, SparseGradLinear];
    // Same storage object for the blocks of a type, different ones across types.
    expect(a1!.U.data).toBe(a0!.U.data);
    expect(a1!.V.data).toBe(a0!.V.data);
    expect(b1!.U.data).toBe(b0!.U.data);
    expect(b0!.U.data).not.toBe(a0!.U.data);
    expect(a0!.U.dtype).toBe('float32');
    // H = 8, I = 12: intermediate U 8², V 12²; output U 12², V 8²; float32, once per type.
    const oneCopy = 2 * (8 * 8 + 12 * 12) * 4;
    expect(memoryReport(model).bases).toBe(oneCopy);
    model.loadStateDict(model.stateDict()); // a resumed run copies into the buffers in place: still shared
    expect(a1!.U.data).toBe(a0!.U.data);
    expect(memoryReport(model).bases).toBe(oneCopy);
  });

  test('unload puts the original linears back', () => {
    const model = bert();
    const originals = findTargets(model).map(([, l]) => l);
    const handle = applySparseGrad(model, collect(model));
    handle.unload();
    expect(findTargets(model).map(([, l]) => l)).toEqual(originals);
  });

  test('optimizer groups: the sparse group is exactly the W̃s; biases and attention.output.dense are dense', () => {
    const model = bert();
    const handle = applySparseGrad(model, collect(model));
    const [sparse, dense] = sparseGradGroups(model, handle, { sparse: 'S', dense: 'D' });
    expect(sparse!.params).toEqual(handle.layers.map(([, l]) => l.weight_tilde));
    const denseSet = new Set(dense!.params);
    for (const [, l] of handle.layers) expect(denseSet.has(l.bias!)).toBe(true);
    const attnOut = model.getSubmodule('bert.encoder.layer.0.attention.output.dense') as Linear;
    expect(denseSet.has(attnOut.weight)).toBe(true);
    expect(denseSet.size + sparse!.params.length).toBe(model.parameters().filter((p) => p.requiresGrad).length);
  });

  test('training steps produce sparse gradients with at most k entries per layer (exact mode)', () => {
    const model = bert();
    const handle = applySparseGrad(model, collect(model), { k: 10, selection: 'exact' });
    const loss = crossEntropy(model.forward(batch()).logits, batch().labels);
    loss.backward();
    for (const [, l] of handle.layers) expect((l.weight_tilde.grad as { nnz: number }).nnz).toBe(10);
  });
});

function eyeData(n: number): Float64Array {
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) d[i * n + i] = 1;
  return d;
}

describe('training', () => {
  test('identity bases and full density: SparseGrad + SparseAdam is bitwise plain training + its dense twin (adamw_hf, wd 0)', async () => {
    const { Optimizer, sparseAdam, adamWHf } = await import('../../optim/index.ts');
    const { eye } = await import('../../index.ts');
    const plain = bert('float64', 7);
    const converted = bert('float64', 7);
    const identity = new Map(
      [...collect(bert('float64', 7), 1).entries()].map(([type, b]) => [
        type,
        {
          ...b,
          U: eye(b.U.shape[0]!, b.U.shape[0]!, { dtype: 'float64' }),
          V: eye(b.V.shape[0]!, b.V.shape[0]!, { dtype: 'float64' }),
        },
      ]),
    );
    const handle = applySparseGrad(converted, identity, { density: 1 });
    const optPlain = new Optimizer(plain.parameters(), { rule: adamWHf, lr: 1e-2, weightDecay: 0, eps: 1e-8 });
    const optSg = new Optimizer(sparseGradGroups(converted, handle, { sparse: sparseAdam, dense: adamWHf }), {
      rule: adamWHf,
      lr: 1e-2,
      weightDecay: 0,
      eps: 1e-8,
    });
    for (let step = 0; step < 3; step++) {
      for (const [model, opt] of [
        [plain, optPlain],
        [converted, optSg],
      ] as const) {
        opt.zeroGrad();
        model.forward(batch()).loss!.backward();
        opt.step();
      }
    }
    handle.merge();
    for (const [name, t] of Object.entries(plain.stateDict())) assertClose(converted.stateDict()[name]!, t, 'bitwise', name);
  });

  test('sign invariance (consistent basis): flipping eigenvector signs leaves the merged weights of a training run unchanged', async () => {
    const { Optimizer, sparseAdam, adamWHf } = await import('../../optim/index.ts');
    const run = (flip: boolean) => {
      const model = bert('float64', 8);
      const bases = collect(bert('float64', 8));
      const flipped = new Map(
        [...bases.entries()].map(([type, b]) => {
          const signs = (n: number) =>
            Tensor.fromStorage(
              Float64Array.from({ length: n }, (_, i) => (flip && i % 2 === 0 ? -1 : 1)),
              [n],
            );
          return [type, { ...b, U: b.U.mul(signs(b.U.shape[1]!)), V: b.V.mul(signs(b.V.shape[1]!)) }];
        }),
      );
      const handle = applySparseGrad(model, flipped, { k: 40, selection: 'exact' });
      const opt = new Optimizer(sparseGradGroups(model, handle, { sparse: sparseAdam, dense: adamWHf }), {
        rule: adamWHf,
        lr: 1e-2,
        weightDecay: 0,
        eps: 1e-8,
      });
      for (let s = 0; s < 3; s++) {
        opt.zeroGrad();
        model.forward(batch()).loss!.backward();
        opt.step();
      }
      handle.merge();
      return model.stateDict();
    };
    const a = run(false);
    const b = run(true);
    for (const [name, t] of Object.entries(a)) assertClose(b[name]!, t, T64, name);
  });

  test('a checkpoint holds W̃, U and V; reloading then merging reproduces the model', async () => {
    const { decodeCheckpoint, encodeCheckpoint } = await import('../../models/checkpoint.ts');
    const model = bert('float64', 9);
    const bases = collect(model);
    const handle = applySparseGrad(model, bases);
    noGrad(() => handle.layers.forEach(([, l]) => l.weight_tilde.add_(0.01)));
    const saved = decodeCheckpoint(encodeCheckpoint({ model: model.stateDict(), step: 0 }));
    expect(Object.keys(saved.model).filter((n) => /weight_tilde|\.U$|\.V$/.test(n))).toHaveLength(handle.layers.length * 3);
    const restored = bert('float64', 10);
    const restoredHandle = applySparseGrad(restored, collect(restored));
    restored.loadStateDict(saved.model);
    handle.merge();
    restoredHandle.merge();
    for (const [name, t] of Object.entries(model.stateDict())) assertClose(restored.stateDict()[name]!, t, 'bitwise', name);
  });
});
