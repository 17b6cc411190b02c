// A BERT layer built the way a browser app builds one: a config object and safetensors
// bytes (what `fetch(...).arrayBuffer()` returns), no file system. Runs forward and
// backward on seeded inputs and returns the output and every gradient as plain arrays.
// The packaging tests run it in Node and in headless Chromium and compare the two.
import { Generator, randn } from 'sparsegrad';
import { BertLayer, bertConfig, loadWeights, parseSafetensors } from 'sparsegrad/models';

export const LAYER_CONFIG = { hidden_size: 32, num_attention_heads: 4, intermediate_size: 64, num_hidden_layers: 1, vocab_size: 16 };

/** The weights of a randomly initialised layer as safetensors bytes (the fixture). */
export async function layerBytes() {
  const { serializeSafetensors } = await import('sparsegrad/models');
  const layer = new BertLayer(bertConfig(LAYER_CONFIG), { generator: new Generator(3) });
  return serializeSafetensors(Object.fromEntries(layer.namedParameters()));
}

export function runBertLayer(bytes) {
  const layer = new BertLayer(bertConfig(LAYER_CONFIG), {});
  const { missing, unexpected } = loadWeights(layer, parseSafetensors(new Uint8Array(bytes)).tensors, { strict: true });
  const generator = new Generator(11);
  const x = randn([2, 5, LAYER_CONFIG.hidden_size], { generator }).setRequiresGrad();
  const gOut = randn([2, 5, LAYER_CONFIG.hidden_size], { generator });
  const out = layer.forward(x);
  out.mul(gOut).sum().backward();
  const values = { output: Array.from(out.toTypedArray()), 'grad.input': Array.from(x.grad.toTypedArray()) };
  for (const [name, p] of layer.namedParameters()) values[`grad.${name}`] = Array.from(p.grad.toTypedArray());
  return { missing, unexpected, values };
}
