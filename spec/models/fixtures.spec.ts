/**
 * BERT and LLaMa against the independent PyTorch reference (spec/fixtures, made by
 * scripts/make-fixtures.py from explicit float64 formulas). For every fixture:
 * - float64: outputs and the gradient of every weight (and of the input) within 1e-10
 *   of the reference, relative to each tensor's largest entry;
 * - float32: the same within T32.
 * The key-projection bias has an exactly-zero gradient (softmax ignores a per-row
 * shift), so it is compared with an absolute bound scaled by the largest gradient.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type Tensor, tensor, type FloatDType } from '../../index.ts';
import { parseSafetensors } from '../../models/safetensors.ts';
import { BertForSequenceClassification, BertLayer } from '../../models/bert.ts';
import { bertConfig, llamaConfig } from '../../models/config.ts';
import { LlamaDecoderLayer, LlamaForCausalLM } from '../../models/llama.ts';
import { loadWeights } from '../../models/weights.ts';
import type { Module } from '../../nn/module.ts';
import { assertClose, T32, type Bound } from '../kit/index.ts';

const dir = join(import.meta.dirname, '..', 'fixtures');
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
const F64: Bound = { name: 'F64 (1e-10 of max)', atol: 1e-10, rtol: 0, atolRelativeToMax: true };

/** The tiny twins are JSON ({name: {dtype, shape, data}}) so that a reader can check them by eye. */
function readJsonTwin(file: string): Record<string, Tensor> {
  const dtypes: Record<string, 'float32' | 'float64' | 'int32'> = { F32: 'float32', F64: 'float64', I32: 'int32' };
  const raw = JSON.parse(readFileSync(file, 'utf8')).tensors as Record<string, { dtype: string; shape: number[]; data: number[] }>;
  return Object.fromEntries(Object.entries(raw).map(([n, t]) => [n, tensor(t.data, { dtype: dtypes[t.dtype], shape: t.shape })]));
}

function fixture(name: string) {
  const tensors = name.endsWith('.tiny')
    ? readJsonTwin(join(dir, `${name}.json`))
    : parseSafetensors(new Uint8Array(readFileSync(join(dir, `${name}.safetensors`)))).tensors;
  const weights = Object.fromEntries(Object.entries(tensors).filter(([n]) => !/^(input|output|grad|debug|fp32)\./.test(n)));
  return { tensors, weights, info: meta.fixtures[name] };
}

const config = (name: string) => JSON.parse(readFileSync(join(dir, meta.fixtures[name].config_file), 'utf8'));

/** Strip a prefix from weight names (a single layer loads `bert.encoder.layer.0.*` as its own names). */
const under = (weights: Record<string, Tensor>, prefix: string) => Object.fromEntries(Object.entries(weights).map(([n, t]) => [n.slice(prefix.length), t]));

/** Compare every parameter's gradient with grad.<prefix + name>, and the outputs. */
function compareAll(
  model: Module,
  tensors: Record<string, Tensor>,
  prefix: string,
  outputs: [string, Tensor][],
  extraGrads: [string, Tensor][],
  dtype: FloatDType,
) {
  const tol = dtype === 'float64' ? F64 : T32;
  for (const [name, actual] of outputs) assertClose(actual, tensors[name]!, tol, { ignoreDType: true, label: name });
  const grads: [string, Tensor][] = [...model.namedParameters().map(([n, p]): [string, Tensor] => [`grad.${prefix}${n}`, p.grad as Tensor]), ...extraGrads];
  const largest = Math.max(...grads.map(([n]) => maxAbs(tensors[n]!)));
  for (const [name, actual] of grads) {
    const expected = tensors[name];
    expect(expected, `fixture has ${name}`).toBeDefined();
    const bound = /key\.bias$/.test(name) ? { atol: (dtype === 'float64' ? 1e-10 : 1e-5) * largest, rtol: 0 } : tol;
    assertClose(actual, expected!, bound, { ignoreDType: true, label: name });
  }
}

const maxAbs = (t: Tensor) => Math.max(0, ...Array.from(t.toTypedArray() as ArrayLike<number>, Math.abs));
const weightedSum = (pairs: [Tensor, Tensor][]) => pairs.map(([out, g]) => out.mul(g.to(out.dtype)).sum()).reduce((a, b) => a.add(b));

describe.each(['float64', 'float32'] as const)('%s against PyTorch', (dtype) => {
  test.each(['bert-layer', 'bert-layer.tiny'])('BERT layer: %s', (name) => {
    const { tensors, weights, info } = fixture(name);
    const layer = new BertLayer(bertConfig({ ...info.config, vocab_size: 1 }), { dtype });
    loadWeights(layer, under(weights, 'bert.encoder.layer.0.'));
    const x = tensors['input.hidden_states']!.to(dtype).setRequiresGrad();
    const y = layer.forward(x, tensors['input.attention_mask']);
    weightedSum([[y, tensors['input.grad_output']!]]).backward();
    compareAll(layer, tensors, 'bert.encoder.layer.0.', [['output.hidden_states', y]], [['grad.input.hidden_states', x.grad as Tensor]], dtype);
  });

  test.each(['llama-layer', 'llama-layer.tiny'])('LLaMa layer: %s', (name) => {
    const { tensors, weights, info } = fixture(name);
    const layer = new LlamaDecoderLayer(llamaConfig({ ...info.config, vocab_size: 1, num_hidden_layers: 1 }), 0, { dtype });
    loadWeights(layer, under(weights, 'model.layers.0.'));
    const x = tensors['input.hidden_states']!.to(dtype).setRequiresGrad();
    const y = layer.forward(x, {});
    weightedSum([[y, tensors['input.grad_output']!]]).backward();
    compareAll(layer, tensors, 'model.layers.0.', [['output.hidden_states', y]], [['grad.input.hidden_states', x.grad as Tensor]], dtype);
  });

  test('BERT 2-layer classifier with padding', () => {
    const { tensors, weights } = fixture('bert-2layer-cls');
    const model = new BertForSequenceClassification(bertConfig(config('bert-2layer-cls')), { dtype }).eval();
    loadWeights(model, weights);
    const out = model.forward({
      inputIds: tensors['input.input_ids']!,
      attentionMask: tensors['input.attention_mask']!,
      tokenTypeIds: tensors['input.token_type_ids']!,
      positionIds: tensors['input.position_ids']!,
    });
    weightedSum([
      [out.logits, tensors['input.grad_output.logits']!],
      [out.lastHiddenState, tensors['input.grad_output.last_hidden_state']!],
    ]).backward();
    const hidden = out.hiddenStates.map((h, i): [string, Tensor] => [`output.hidden_states.${i}`, h]);
    compareAll(
      model,
      tensors,
      '',
      [['output.logits', out.logits], ['output.last_hidden_state', out.lastHiddenState], ['output.pooler_output', out.pooled!], ...hidden],
      [],
      dtype,
    );
  });

  test.each(['llama-2layer', 'llama-2layer-tied'])('LLaMa 2-layer causal LM with offset positions: %s', (name) => {
    const { tensors, weights } = fixture(name);
    const model = new LlamaForCausalLM(llamaConfig(config(name)), { dtype });
    loadWeights(model, weights);
    const out = model.forward({ inputIds: tensors['input.input_ids']!, positionIds: tensors['input.position_ids']! });
    weightedSum([[out.logits, tensors['input.grad_output.logits']!]]).backward();
    const hidden = out.hiddenStates.map((h, i): [string, Tensor] => [`output.hidden_states.${i}`, h]);
    compareAll(model, tensors, '', [['output.logits', out.logits], ['output.last_hidden_state', out.hiddenStates.at(-1)!], ...hidden], [], dtype);
  });
});
