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
 * Two file names that normalize to one parameter are refused (never "the last one wins"),
 * and names are compared as Map keys, so no file name can match an Object.prototype member.
 * `modelFromConfig` validates the config and bounds the model's size before allocating.
 */
import { FormatError, ValueError } from '../base/errors.ts';
import { formatShape, sameShape } from '../base/shape.ts';
import type { Tensor } from '../core/tensor.ts';
import type { Module } from '../nn/module.ts';
import { BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, BertModel } from './bert.ts';
import {
  bertConfig,
  checkModelSize,
  llamaConfig,
  REQUIRED_SIZES,
  required,
  type BertConfig,
  type ConfigLimits,
  type LlamaConfig,
  type PretrainedArchitecture,
} from './config.ts';
import { isRecord, show } from './json.ts';
import { LlamaForCausalLM } from './llama.ts';
import type { BuildOptions } from './bert.ts';

export type PretrainedModel = BertForSequenceClassification | BertForMaskedLM | BertForPreTraining | BertModel | LlamaForCausalLM;

/** Options of modelFromConfig: how to build, and the bounds a config must fit (checked before allocating). */
export type ModelOptions = BuildOptions & ConfigLimits;

/**
 * Which architecture a HF config names (its `architectures[0]`, else its model_type) and
 * its checked config: every field validated, the size bound checked, nothing allocated yet.
 */
export function resolveConfig(
  raw: Record<string, unknown>,
  limits: ConfigLimits = {},
): { architecture: PretrainedArchitecture; config: BertConfig | LlamaConfig; parameters: number } {
  if (!isRecord(raw)) throw new ValueError(`config.json must hold a JSON object, got ${show(raw)}`);
  const listed = raw.architectures;
  if (listed !== undefined && listed !== null && !(Array.isArray(listed) && listed.every((a) => typeof a === 'string'))) {
    throw new ValueError(`config.architectures must be an array of class names, got ${show(listed)}`);
  }
  const name = (listed as string[] | undefined | null)?.[0] ?? raw.model_type;
  const architecture = typeof name === 'string' && Object.hasOwn(ARCHITECTURES, name) ? ARCHITECTURES[name]! : undefined;
  if (!architecture) {
    throw new ValueError(
      `unsupported architecture ${show(name)}: expected BertForSequenceClassification, BertForMaskedLM, BertForPreTraining, BertModel or LlamaForCausalLM`,
    );
  }
  required(raw, REQUIRED_SIZES);
  const config = architecture === 'LlamaForCausalLM' ? llamaConfig(raw, limits) : bertConfig(raw, limits);
  return { architecture, config, parameters: checkModelSize(architecture, config, limits) };
}

/** Class names (and model_types) → the architecture built for them. */
const ARCHITECTURES: Record<string, PretrainedArchitecture> = Object.assign(Object.create(null), {
  BertForSequenceClassification: 'BertForSequenceClassification',
  BertForMaskedLM: 'BertForMaskedLM',
  BertForPreTraining: 'BertForPreTraining',
  BertModel: 'BertModel',
  bert: 'BertModel',
  LlamaForCausalLM: 'LlamaForCausalLM',
  llama: 'LlamaForCausalLM',
});

/**
 * Build the architecture a HF config names, with fresh weights. The config is validated
 * and the model's size checked against `maxParameters` before any tensor is allocated.
 */
export function modelFromConfig(raw: Record<string, unknown>, options: ModelOptions = {}): PretrainedModel {
  const { architecture, config } = resolveConfig(raw, options);
  const build = { dtype: options.dtype, generator: options.generator };
  switch (architecture) {
    case 'BertForSequenceClassification':
      return new BertForSequenceClassification(config as BertConfig, build);
    case 'BertForMaskedLM':
      return new BertForMaskedLM(config as BertConfig, build);
    case 'BertForPreTraining':
      return new BertForPreTraining(config as BertConfig, build);
    case 'BertModel':
      return new BertModel(config as BertConfig, build);
    case 'LlamaForCausalLM':
      return new LlamaForCausalLM(config as LlamaConfig, build);
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

/**
 * Rename checkpoint keys to the model's: legacy gamma/beta, and a base-model prefix added
 * or dropped. Two file names that land on one model name (`bert.x` and `x` in the same
 * file) are refused, naming both: loading either silently would load garbage half the time.
 * The result is a Map, so names such as `__proto__` or `constructor` are plain keys.
 */
function normalizeNames(tensors: Record<string, Tensor>, expected: ReadonlySet<string>, source: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const origin = new Map<string, string>();
  for (const raw of Object.keys(tensors)) {
    const name = raw.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    const candidates = [name, ...BASE_PREFIXES.map((p) => p + name), ...BASE_PREFIXES.filter((p) => name.startsWith(p)).map((p) => name.slice(p.length))];
    const key = candidates.find((c) => expected.has(c)) ?? name;
    const first = origin.get(key);
    if (first !== undefined) {
      throw new FormatError(`${source}: tensors '${first}' and '${raw}' both load into the model's '${key}'; a checkpoint must name each weight once`);
    }
    origin.set(key, raw);
    out.set(key, tensors[raw]!);
  }
  return out;
}

export interface LoadWeightsOptions {
  /** Missing or unexpected tensors are errors (default true); shape mismatches always are. */
  strict?: boolean;
  /** Names the weights in error messages (a file or folder); default "the weights". */
  source?: string;
}

/**
 * Load HF-named tensors into a model (dtype converted). Tied aliases may be absent.
 * With strict (default), any missing, unexpected or mis-shaped tensor is an error that
 * lists every problem; otherwise the names are returned. Names are compared as Map keys
 * and with Object.hasOwn, so a tensor called `constructor` or `toString` is unexpected,
 * never mistaken for a property every object has.
 */
export function loadWeights(model: Module, tensors: Record<string, Tensor>, options: LoadWeightsOptions = {}): { missing: string[]; unexpected: string[] } {
  const own = model.stateDict();
  const expected = new Set(Object.keys(own));
  const renamed = normalizeNames(tensors, expected, options.source ?? 'the weights');
  // A tied alias absent from the file is filled from its twin (same Parameter): not missing.
  for (const name of tiedAliases(model)) if (!renamed.has(name)) renamed.set(name, own[name]!);
  const unexpected = [...renamed.keys()].filter((name) => !expected.has(name));
  const missing = [...expected].filter((name) => !renamed.has(name));
  const strict = options.strict ?? true;
  if (strict && unexpected.length > 0) {
    // Refuse before anything is copied, listing every problem as loadStateDict would.
    const problems = [
      ...(missing.length > 0 ? [`Missing key(s) in state_dict: ${missing.map((k) => `"${k}"`).join(', ')}.`] : []),
      `Unexpected key(s) in state_dict: ${unexpected.map((k) => `"${k}"`).join(', ')}.`,
      ...[...expected]
        .filter((k) => renamed.has(k) && !sameShape(renamed.get(k)!.shape, own[k]!.shape))
        .map(
          (k) =>
            `size mismatch for ${k}: copying a param with shape ${formatShape(renamed.get(k)!.shape)} from checkpoint, the shape in current model is ${formatShape(own[k]!.shape)}.`,
        ),
    ];
    throw new ValueError(`Error(s) in loading state_dict for ${model.constructor.name}:\n\t${problems.join('\n\t')}`);
  }
  // Only expected names reach loadStateDict, in a null-prototype record; it reports
  // missing names and shape mismatches in torch's words.
  const known: Record<string, Tensor> = Object.create(null);
  for (const [name, t] of renamed) if (expected.has(name)) known[name] = t;
  model.loadStateDict(known, { strict });
  return { missing, unexpected };
}

/** HF-named tensors to save: every parameter and buffer, tied aliases once (as transformers writes them). */
export function exportWeights(model: Module): Record<string, Tensor> {
  const aliases = tiedAliases(model);
  return Object.fromEntries(
    Object.entries(model.stateDict())
      .filter(([name]) => !aliases.has(name))
      .map(([n, t]) => [n, t.contiguous()]),
  );
}

/** The HF config.json content for a model, so a saved folder loads back (here and in transformers). */
export function configJson(model: PretrainedModel): Record<string, unknown> {
  const arch = model.constructor.name;
  return { architectures: [arch], ...model.config };
}
