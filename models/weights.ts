/**
 * Hugging Face weights ⇄ modules, by parameter name. Pure (no file access): the
 * Node entry reads files and calls these. What HF checkpoints do that a plain
 * state-dict load does not handle:
 *
 * - tied weights are stored once (`lm_head.weight` is absent when tied to
 *   `model.embed_tokens.weight`; BERT's decoder is tied to the word embeddings);
 * - a base-model checkpoint (keys `embeddings.…`) may be loaded into a model with a
 *   head (keys `bert.embeddings.…`), and the other way round;
 * - old BERT checkpoints name LayerNorm parameters `gamma`/`beta`.
 *
 * Missing or mis-shaped tensors are reported all at once, each with its name and both shapes.
 */
import { ValueError } from '../base/errors.ts';
import type { Tensor } from '../core/tensor.ts';
import type { Module } from '../nn/module.ts';
import { BertForMaskedLM, BertForSequenceClassification, BertModel } from './bert.ts';
import { bertConfig, llamaConfig } from './config.ts';
import { LlamaForCausalLM } from './llama.ts';
import type { BuildOptions } from './bert.ts';

export type PretrainedModel = BertForSequenceClassification | BertForMaskedLM | BertModel | LlamaForCausalLM;

/** Build the architecture a HF config names (its `architectures[0]`, else by model_type). */
export function modelFromConfig(raw: Record<string, unknown>, options: BuildOptions = {}): PretrainedModel {
  const arch = Array.isArray(raw.architectures) ? String(raw.architectures[0]) : undefined;
  switch (arch ?? raw.model_type) {
    case 'BertForSequenceClassification': return new BertForSequenceClassification(bertConfig(raw), options);
    case 'BertForMaskedLM': case 'BertForPreTraining': return new BertForMaskedLM(bertConfig(raw), options);
    case 'BertModel': case 'bert': return new BertModel(bertConfig(raw), options);
    case 'LlamaForCausalLM': case 'llama': return new LlamaForCausalLM(llamaConfig(raw), options);
    default:
      throw new ValueError(`unsupported architecture ${JSON.stringify(arch ?? raw.model_type)}: expected BertForSequenceClassification, BertForMaskedLM, BertModel or LlamaForCausalLM`);
  }
}

/** Names under which the model stores a parameter that HF stores under another (tied) name. */
function tiedAliases(model: Module): Set<string> {
  const sd = model.stateDict();
  const firstName = new Map<Tensor, string>();
  const aliases = new Set<string>();
  for (const [name, t] of Object.entries(sd)) {
    if (firstName.has(t)) aliases.add(name);
    else firstName.set(t, name);
  }
  return aliases;
}

const BASE_PREFIXES = ['bert.', 'model.'];

/** Rename checkpoint keys to the model's: legacy gamma/beta, and a base-model prefix added or dropped. */
function normalizeNames(tensors: Record<string, Tensor>, expected: Set<string>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [raw, t] of Object.entries(tensors)) {
    const name = raw.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    const candidates = [name, ...BASE_PREFIXES.map((p) => p + name), ...BASE_PREFIXES.filter((p) => name.startsWith(p)).map((p) => name.slice(p.length))];
    out[candidates.find((c) => expected.has(c)) ?? name] = t;
  }
  return out;
}

/**
 * Load HF-named tensors into a model (dtype converted). Tied aliases may be absent.
 * With strict (default), any missing, unexpected or mis-shaped tensor is an error that
 * lists every problem; otherwise the names are returned.
 */
export function loadWeights(model: Module, tensors: Record<string, Tensor>, options: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
  const aliases = tiedAliases(model);
  const expected = new Set(Object.keys(model.stateDict()));
  const renamed = normalizeNames(tensors, expected);
  const own = model.stateDict();
  // A tied alias absent from the file is filled from its twin (same Parameter): not missing.
  for (const name of aliases) if (!(name in renamed)) renamed[name] = own[name]!;
  const result = model.loadStateDict(renamed, { strict: options.strict ?? true });
  return { missing: result.missingKeys, unexpected: result.unexpectedKeys };
}

/** HF-named tensors to save: every parameter and buffer, tied aliases once (as transformers writes them). */
export function exportWeights(model: Module): Record<string, Tensor> {
  const aliases = tiedAliases(model);
  return Object.fromEntries(Object.entries(model.stateDict()).filter(([name]) => !aliases.has(name)).map(([n, t]) => [n, t.contiguous()]));
}

/** The HF config.json content for a model, so a saved folder loads back (here and in transformers). */
export function configJson(model: PretrainedModel): Record<string, unknown> {
  const arch = model.constructor.name;
  return { architectures: [arch], ...model.config };
}
