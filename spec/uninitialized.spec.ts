// Outputs that a kernel overwrites entirely come from storage without zero-filling
// (kernels/cpu/uninitialized.ts). Here: that path is taken for large float buffers in Node and
// poisoned under test (spec/setup.ts), that small and integer ones stay zeroed, and that a
// BERT layer's training step — every kind of kernel output — leaves no element unwritten.
import { afterEach, expect, test } from 'vitest';
import { Generator, randn, setBackend } from '../index.ts';
import { empty } from '../core/ops/util.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { setUninitializedFill } from '../kernels/cpu/uninitialized.ts';
import { BertLayer } from '../models/bert.ts';
import type { BertConfig } from '../models/config.ts';

afterEach(() => setUninitializedFill(Number.NaN));

test('large float outputs come unfilled (poisoned with NaN under test); small and integer ones zeroed', () => {
  const big = empty('float32', [128, 128]).storage.data as Float32Array; // 64 KiB
  expect(Number.isNaN(big[0]!) && Number.isNaN(big[big.length - 1]!)).toBe(true);
  expect(Number.isNaN((empty('float64', [64, 128]).storage.data as Float64Array)[5]!)).toBe(true);
  expect(Array.from(empty('float32', [16, 16]).storage.data as Float32Array).every((v) => v === 0)).toBe(true);
  expect(Array.from(empty('int32', [128, 128]).storage.data as Int32Array).every((v) => v === 0)).toBe(true);
  setUninitializedFill(null);
  expect(cpuBackend.allocate('float32', 1 << 16, true).data.buffer).not.toBeInstanceOf(SharedArrayBuffer); // a private buffer
});

test("a BERT layer's forward and backward write every element of every output", () => {
  setBackend('cpu');
  const config: BertConfig = {
    model_type: 'bert',
    vocab_size: 1,
    hidden_size: 128,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    intermediate_size: 512,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    max_position_embeddings: 128,
    type_vocab_size: 1,
    layer_norm_eps: 1e-12,
    pad_token_id: null,
    num_labels: 1,
    classifier_dropout: null,
  };
  const gen = new Generator(3);
  const layer = new BertLayer(config, { generator: gen });
  const x = randn([2, 128, 128], { generator: gen }).setRequiresGrad(); // 32,768 elements: past every wasm threshold
  const y = layer.forward(x);
  y.mul(randn(y.shape, { generator: gen }))
    .sum()
    .backward();
  const finite = (t: { toTypedArray(): ArrayLike<number> }) => Array.from(t.toTypedArray()).every(Number.isFinite);
  expect(finite(y)).toBe(true);
  expect(finite(x.grad as never)).toBe(true);
  for (const [name, p] of layer.namedParameters()) expect(finite(p.grad as never), name).toBe(true);
});

test('outputs that are zeros by definition come out zeros: a product over an empty axis, a sum of nothing', () => {
  const zeros = (t: { toTypedArray(): ArrayLike<number> }) => Array.from(t.toTypedArray()).every((v) => v === 0);
  const a = randn([256, 0]),
    b = randn([0, 256]);
  expect(zeros(a.matmul(b))).toBe(true); // 65,536 elements: storage that is not zero-filled
  expect(zeros(randn([4, 0, 128, 128]).sum(1))).toBe(true);
});
