/**
 * memoryReport against numbers computed by hand: parameters, dense and sparse (COO)
 * gradients, optimizer moments, shared bases counted once, materialized weights, and
 * the analytic activation table per method (nn/memory.ts header).
 */
import { describe, expect, test } from 'vitest';
import { Generator, randn, type SparseCoo, type Tensor } from '../../index.ts';
import type { Linear } from '../../nn/linear.ts';
import { applyLora } from '../../nn/lora.ts';
import { formatMemoryReport, memoryReport } from '../../nn/memory.ts';
import { applyMeProp } from '../../nn/meprop.ts';
import { Module } from '../../nn/module.ts';
import { SparseGradLinear } from '../../nn/sparsegrad/layer.ts';
import { AdamW, Optimizer, SparseAdam, adamW, sparseAdam } from '../../optim/index.ts';
import { linear, randomOrthogonal } from './helpers.ts';

/** Named children a, b, … so that targets can be picked by name. */
class Net extends Module {
  constructor(layers: Record<string, Module>) {
    super();
    Object.assign(this, layers);
  }
}

/** One backward of Σ (layer(x) ⊙ g) into `.grad`. */
function backward(layer: { forward(x: Tensor): Tensor }, inF: number, outF: number, dtype: 'float32' | 'float64' = 'float32'): void {
  const x = randn([4, inF], { dtype, generator: new Generator(7) });
  layer
    .forward(x)
    .mul(randn([4, outF], { dtype, generator: new Generator(8) }))
    .sum()
    .backward();
}

describe('memoryReport: exact bytes held', () => {
  test('Linear 3→2, float32, AdamW after one step: 32 B parameters, 32 B gradients, 64 B moments', () => {
    const layer = linear(3, 2, 1, 'float32');
    const optimizer = new AdamW(layer.parameters(), { lr: 1e-3 });
    expect(memoryReport(layer, optimizer).held).toBe(32); // no state before the first step
    backward(layer, 3, 2);
    optimizer.step();
    const r = memoryReport(layer, optimizer);
    expect(r.parameters).toEqual({ bytes: 6 * 4 + 2 * 4, entries: 8, trainableBytes: 32, trainableEntries: 8 });
    expect(r.gradients).toEqual({ dense: 32, sparse: 0 });
    expect(r.optimizerState).toBe(2 * 32); // exp_avg and exp_avg_sq, like the parameters
    expect(r.held).toBe(32 + 32 + 64);
    optimizer.zeroGrad();
    expect(memoryReport(layer, optimizer).held).toBe(96);
    expect(memoryReport(linear(3, 2, 1, 'float64')).held).toBe(64);
  });

  test('LoRA r = 2 on 5→4: W is frozen and not copied; A, B and the bias are the trainable bytes', () => {
    const net = new Net({ a: linear(5, 4, 1, 'float32') });
    applyLora(net, { targets: 'a', r: 2 });
    const r = memoryReport(net);
    expect(r.parameters).toEqual({ bytes: (20 + 4 + 10 + 8) * 4, entries: 42, trainableBytes: (4 + 10 + 8) * 4, trainableEntries: 22 });
    expect(r.originals).toBe(0); // the original's W and b are the LoRA layer's own arrays
  });

  test('SparseGrad: shared U, V counted once; the kept original W; COO gradients = nnz·(4 + 4) bytes; SparseAdam keeps dense moments', () => {
    const [inF, outF, k] = [6, 5, 7];
    const U = randomOrthogonal(inF, 1).to('float32');
    const V = randomOrthogonal(outF, 2).to('float32');
    const make = (seed: number) => new SparseGradLinear(linear(inF, outF, seed, 'float32'), U, V, { k, selection: 'exact' });
    const net = new Net({ a: make(3), b: make(4) });
    const layers = [net.getSubmodule('a'), net.getSubmodule('b')] as SparseGradLinear[];
    for (const l of layers) backward(l, inF, outF);
    const optimizer = new SparseAdam(
      layers.map((l) => l.weight_tilde),
      { lr: 1e-3 },
    );
    optimizer.step();
    const r = memoryReport(net, optimizer);
    expect(r.bases).toBe((inF * inF + outF * outF) * 4);
    expect(r.otherBuffers).toBe(0);
    expect(r.originals).toBe(2 * outF * inF * 4); // each layer's W, kept for unload(); biases are shared
    for (const l of layers) expect((l.weight_tilde.grad as SparseCoo).nnz).toBe(k);
    expect(r.gradients).toEqual({ dense: 2 * outF * 4, sparse: 2 * k * (4 + 4) }); // the biases' grads are dense
    expect(r.optimizerState).toBe(2 * 2 * outF * inF * 4);
    expect(r.materializedWeights).toBe(0);
    const materialized = new Net({ a: new SparseGradLinear(linear(inF, outF, 5, 'float64'), U.to('float64'), V.to('float64'), { k, materialized: true }) });
    expect(memoryReport(materialized).materializedWeights).toBe(outF * inF * 8);
  });

  test('an optimizer over two groups: every buffer counted, each once', () => {
    const net = new Net({ a: linear(3, 2, 1, 'float32'), b: linear(2, 4, 2, 'float32') });
    const [a, b] = [net.getSubmodule('a'), net.getSubmodule('b')] as [Linear, Linear];
    const optimizer = new Optimizer([{ params: a.parameters() }, { params: b.parameters(), rule: adamW }], { rule: sparseAdam });
    b.forward(randn([1, 2]))
      .sum()
      .backward();
    optimizer.step(); // only b has gradients: only b gets state
    expect(memoryReport(net, optimizer).optimizerState).toBe(2 * (8 + 4) * 4);
  });
});

describe('memoryReport: analytic activations per method', () => {
  test('T·in for a trained Linear and MeProp, 0 frozen, T(in + r) LoRA, X̃ and G̃ for SparseGrad', () => {
    const [inF, outF, T, e] = [6, 5, 10, 4];
    const U = randomOrthogonal(inF, 1).to('float32');
    const V = randomOrthogonal(outF, 2).to('float32');
    const frozen = linear(inF, outF, 3, 'float32');
    frozen.weight.requiresGrad = false;
    const net = new Net({
      dense: linear(inF, outF, 1, 'float32'),
      frozen,
      lora: linear(inF, outF, 2, 'float32'),
      paper: linear(inF, outF, 4, 'float32'),
      original: linear(inF, outF, 5, 'float32'),
      sg: new SparseGradLinear(linear(inF, outF, 6, 'float32'), U, V, { k: 3 }),
      sgm: new SparseGradLinear(linear(inF, outF, 7, 'float32'), U, V, { k: 3, materialized: true }),
    });
    applyLora(net, { targets: 'lora', r: 2 });
    applyMeProp(net, { targets: 'paper', k: 3 });
    applyMeProp(net, { targets: 'original', variant: 'original', k: 2 });
    const a = memoryReport(net, undefined, { tokens: T, targets: (name) => name !== '' })!.activations!;
    expect(a.layers.map(({ name, method, saved, transient }) => [name, method, saved / e, transient / e])).toEqual([
      ['dense', 'dense', T * inF, 0],
      ['frozen', 'frozen', 0, 0],
      ['lora', 'lora', T * (inF + 2), 0],
      ['paper', 'meprop-paper', T * inF, outF * inF],
      ['original', 'meprop-original', T * inF, T * outF],
      ['sg', 'sparsegrad', T * inF, T * outF + outF * inF],
      ['sgm', 'sparsegrad-materialized', T * inF, 2 * outF * inF],
    ]);
    expect(a.saved).toBe(a.layers.reduce((s, l) => s + l.saved, 0));
    const table = formatMemoryReport(memoryReport(net, undefined, { tokens: T, targets: 'sg' }));
    expect(table).toMatch(/held/);
    expect(table).toMatch(/sg \[sparsegrad\]/);
  });

  test('default targets need a known architecture; tokens must be a positive integer', () => {
    const net = new Net({ a: linear(3, 2, 1) });
    expect(() => memoryReport(net, undefined, { tokens: 4 })).toThrow(/no default targets/);
    expect(() => memoryReport(net, undefined, { tokens: 0, targets: 'a' })).toThrow(/tokens must be a positive integer/);
    expect(memoryReport(net).activations).toBeNull();
  });
});
