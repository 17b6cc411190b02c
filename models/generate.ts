/**
 * Text generation for causal LMs: the prompt runs once, then one token per step through
 * the KV cache (only the new token is projected; past keys/values are reused). Decoding
 * is greedy (temperature 0) or sampled with temperature, top-k and top-p from a seeded
 * generator, so the same seed gives the same text.
 */
import { noGrad } from '../core/autograd.ts';
import { tensor } from '../core/creation.ts';
import { ValueError } from '../base/errors.ts';
import { defaultGenerator, type Generator } from '../core/random.ts';
import type { Tensor } from '../core/tensor.ts';
import type { LlamaForCausalLM } from './llama.ts';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
  /** Stop after this token (default: the config's eos_token_id); it is included in the output. */
  eosTokenId?: number | null;
  generator?: Generator;
  /** Reuse past keys/values (default). Off: re-run the whole sequence each step (slower; same tokens). */
  useCache?: boolean;
}

/**
 * Generate continuation token ids for one prompt (batch size 1).
 *
 * @example
 * ```ts
 * import { generate, LlamaForCausalLM, llamaConfig } from 'sparsegrad/models';
 * const model = new LlamaForCausalLM(llamaConfig({ vocab_size: 32, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1 }));
 * const greedy = generate(model, [1, 5], { maxNewTokens: 3, temperature: 0, eosTokenId: null });
 * greedy.length; // => 3
 * ```
 */
export function generate(model: LlamaForCausalLM, prompt: readonly number[], options: GenerateOptions): number[] {
  const { maxNewTokens, temperature = 1, topK = 0, topP = 1, useCache = true } = options;
  if (prompt.length === 0) throw new ValueError('generate(): the prompt must contain at least one token (e.g. BOS)');
  if (!(temperature >= 0)) throw new ValueError(`generate(): temperature must be ≥ 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new ValueError(`generate(): topP must be in (0, 1], got ${topP}`);
  if (!Number.isInteger(topK) || topK < 0) throw new ValueError(`generate(): topK must be a non-negative integer, got ${topK}`);
  const eos = options.eosTokenId === undefined ? model.config.eos_token_id : options.eosTokenId;
  const generator = options.generator ?? defaultGenerator;
  const sequence = [...prompt];
  const cache = useCache ? model.newCache() : undefined;
  const out: number[] = [];
  return noGrad(() => {
    let next = [...prompt];
    while (out.length < maxNewTokens) {
      const ids = tensor(Int32Array.from(useCache ? next : sequence), { shape: [1, useCache ? next.length : sequence.length] });
      const logits = model.forward({ inputIds: ids, kvCache: cache }).logits;
      const token = pick(lastRow(logits), temperature, topK, topP, generator);
      out.push(token);
      sequence.push(token);
      next = [token];
      if (token === eos) break;
    }
    return out;
  });
}

function lastRow(logits: Tensor): Float64Array {
  const [, seq, vocab] = logits.shape as [number, number, number];
  return Float64Array.from(logits.slice(1, seq - 1, seq).toTypedArray() as ArrayLike<number>).subarray(0, vocab);
}

/** Choose the next token from one row of logits. */
export function pick(logits: Float64Array, temperature: number, topK: number, topP: number, generator: Generator): number {
  if (temperature === 0) return argmax(logits);
  // Candidates by descending logit; ties keep the lower id first, so results are deterministic.
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (topK > 0) order = order.slice(0, topK);
  const max = logits[order[0]!]!;
  let probs = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = probs.reduce((s, p) => s + p, 0);
  probs = probs.map((p) => p / total);
  if (topP < 1) {
    let cumulative = 0;
    const keep = probs.findIndex((p) => (cumulative += p) >= topP) + 1;
    order = order.slice(0, keep || order.length);
    probs = probs.slice(0, order.length);
  }
  let u = generator.uniform() * probs.reduce((s, p) => s + p, 0);
  for (let i = 0; i < order.length; i++) {
    u -= probs[i]!;
    if (u < 0) return order[i]!;
  }
  return order[order.length - 1]!;
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
