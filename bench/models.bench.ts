// BERT and LLaMa through the whole engine:
// - a BERT layer forward + backward on 128 tokens, at the fixture size (hidden 64) and at
//   BERT-base size (hidden 768, 12 heads, FFN 3072), cpu backend vs reference backend;
// - LLaMa generation tokens/s with and without the KV cache.
// Run with: npx tsx bench/models.bench.ts
import { measure } from 'mitata';
import { Generator, randn, withBackend } from '../index.ts';
import { BertLayer } from '../models/bert.ts';
import { bertConfig, llamaConfig } from '../models/config.ts';
import { generate } from '../models/generate.ts';
import { LlamaForCausalLM } from '../models/llama.ts';

const ms = (ns: number) => (ns / 1e6).toFixed(1);

function bertLayerStep(hidden: number, heads: number, ffn: number) {
  const g = new Generator(0);
  const layer = new BertLayer(
    bertConfig({
      vocab_size: 1,
      hidden_size: hidden,
      num_attention_heads: heads,
      intermediate_size: ffn,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
    }),
    { generator: g },
  );
  const x = randn([1, 128, hidden], { generator: g }).setRequiresGrad();
  const dy = randn([1, 128, hidden], { generator: g });
  return () => {
    layer.zeroGrad();
    layer.forward(x).backward(dy);
  };
}

console.log('BERT layer, forward + backward, 128 tokens, float32');
for (const [name, hidden, heads, ffn, refSamples] of [
  ['fixture size (h64)', 64, 4, 256, 5],
  ['BERT-base size (h768)', 768, 12, 3072, 1],
] as const) {
  const step = bertLayerStep(hidden, heads, ffn);
  const fast = (await measure(() => withBackend('cpu', step), { min_samples: 5 })).avg;
  const ref = (await measure(() => withBackend('reference', step), { min_samples: refSamples, min_cpu_time: 0 })).avg;
  console.log(`  ${name.padEnd(24)} cpu ${ms(fast).padStart(8)} ms   reference ${ms(ref).padStart(9)} ms   ${(ref / fast).toFixed(1)}×`);
}

const llama = new LlamaForCausalLM(
  llamaConfig({
    vocab_size: 32000,
    hidden_size: 256,
    intermediate_size: 688,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 512,
    tie_word_embeddings: true,
  }),
  { generator: new Generator(1) },
);
const prompt = Array.from({ length: 32 }, (_, i) => 100 + i);
console.log('\nLLaMa generation (hidden 256, 4 layers, vocab 32000), 32-token prompt, 64 new tokens, greedy');
for (const useCache of [true, false]) {
  const t0 = performance.now();
  generate(llama, prompt, { maxNewTokens: 64, temperature: 0, eosTokenId: null, useCache });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`  ${useCache ? 'with KV cache   ' : 'without KV cache'} ${(64 / seconds).toFixed(1).padStart(7)} tokens/s`);
}
