/**
 * config.json is untrusted input that drives allocation (issue 13, finding 5): every field
 * is checked for type and range, the tensor sizes are required (no silent LLaMa-7B
 * defaults), and the model's size is computed from the config and bounded before
 * anything is allocated. The computed size must be exact, or the bound would be a guess:
 * it is compared with the values a built model actually stores.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ValueError } from '../../index.ts';
import {
  bertConfig,
  checkPretrainedConfig,
  DEFAULT_MAX_LAYERS,
  DEFAULT_MAX_PARAMETERS,
  exportWeights,
  llamaConfig,
  modelFromConfig,
  parameterCount,
  resolveConfig,
  type PretrainedArchitecture,
} from '../../models/index.ts';

const BERT = {
  architectures: ['BertForSequenceClassification'],
  vocab_size: 12,
  hidden_size: 8,
  intermediate_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  max_position_embeddings: 8,
};
const LLAMA = { architectures: ['LlamaForCausalLM'], vocab_size: 12, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2 };

const stored = (architecture: PretrainedArchitecture, raw: Record<string, unknown>) =>
  Object.values(exportWeights(modelFromConfig({ ...raw, architectures: [architecture] }))).reduce((n, t) => n + t.numel, 0);

describe('the size computed from a config is exactly what the model stores', () => {
  test('BERT (model, classifier, masked LM) and LLaMa (tied or not, GQA, head_dim, attention bias), any small sizes', () => {
    const size = fc.integer({ min: 1, max: 5 });
    fc.assert(
      fc.property(size, size, size, size, size, size, fc.boolean(), fc.boolean(), (heads, perHead, ffn, layers, vocab, extra, tied, bias) => {
        const hidden = heads * perHead * 2;
        const bert = {
          vocab_size: vocab + 4,
          hidden_size: hidden,
          num_attention_heads: heads,
          intermediate_size: ffn,
          num_hidden_layers: layers,
          max_position_embeddings: extra,
          type_vocab_size: extra,
          num_labels: extra,
        };
        for (const arch of ['BertModel', 'BertForSequenceClassification', 'BertForMaskedLM', 'BertForPreTraining'] as const) {
          expect(parameterCount(arch, bertConfig(bert)), arch).toBe(stored(arch, bert));
        }
        const kv = heads % 2 === 0 && tied ? heads / 2 : heads;
        const llama = {
          vocab_size: vocab + 4,
          hidden_size: hidden,
          num_attention_heads: heads,
          num_key_value_heads: kv,
          head_dim: 2 * extra,
          intermediate_size: ffn,
          num_hidden_layers: layers,
          tie_word_embeddings: tied,
          attention_bias: bias,
        };
        expect(parameterCount('LlamaForCausalLM', llamaConfig(llama))).toBe(stored('LlamaForCausalLM', llama));
      }),
      { numRuns: 40, seed: 13 },
    );
  });
});

describe('bad configs are ValueErrors naming the field, before anything is allocated', () => {
  const refuse = (raw: Record<string, unknown>, message: RegExp | string) => expect(() => resolveConfig(raw)).toThrow(message);

  test('the tensor sizes are required: a LLaMa config without hidden_size no longer falls back to 4096', () => {
    const { hidden_size: _h, ...noHidden } = LLAMA;
    refuse(noHidden, /config\.json must give 'hidden_size': the weights' shapes depend on it/);
    const { num_hidden_layers: _l, intermediate_size: _i, ...two } = BERT;
    refuse(two, /must give 'num_hidden_layers', 'intermediate_size'/);
    expect(() => llamaConfig({ vocab_size: 4 })).toThrow(/'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'/);
  });

  test('sizes are positive safe integers ≤ 2^31 − 1: fractions, strings, booleans, 2^31 refused', () => {
    // biome-ignore lint/correctness/noPrecisionLoss: 1e999 is how a JSON file spells an overflowing number; it parses to Infinity
    for (const v of [8.5, '8', true, 0, -8, 2 ** 31, 1e999, null, [8]]) {
      refuse(
        { ...LLAMA, intermediate_size: v },
        v === null ? /must give 'intermediate_size'/ : /config\.intermediate_size must be a positive integer ≤ 2147483647/,
      );
    }
  });

  test('the size bound: computed before allocating, named with the computed size, and raised by maxParameters', () => {
    refuse(
      { ...BERT, intermediate_size: 2 ** 30 },
      new RegExp(
        `BertForSequenceClassification of 1\\.825e\\+10 values .* more than the limit of ${DEFAULT_MAX_PARAMETERS} \\(raise it with the maxParameters option\\)`,
      ),
    );
    const small = resolveConfig(BERT).parameters;
    expect(() => modelFromConfig(BERT, { maxParameters: small - 1 })).toThrow(`of ${small.toExponential(3)} values`);
    expect(Object.values(exportWeights(modelFromConfig(BERT, { maxParameters: small }))).reduce((n, t) => n + t.numel, 0)).toBe(small);
  });

  test('num_hidden_layers is bounded (1e5 layers of width 8 would take minutes to build), and the bound can be raised', () => {
    refuse(
      { ...BERT, num_hidden_layers: 100_000 },
      `config.num_hidden_layers is 100000, more than the limit of ${DEFAULT_MAX_LAYERS} (raise it with the maxLayers option)`,
    );
    expect(() => resolveConfig({ ...BERT, num_hidden_layers: 3 }, { maxLayers: 2 })).toThrow(/limit of 2/);
  });

  test('numbers: rope_theta and eps finite and positive, probabilities in [0, 1), booleans boolean, token ids inside the vocabulary', () => {
    refuse({ ...LLAMA, rope_theta: JSON.parse('1e999') }, /config\.rope_theta must be a finite positive number, got null/); // Infinity prints as null in JSON
    refuse({ ...LLAMA, rope_theta: 0 }, /rope_theta/);
    refuse({ ...LLAMA, rms_norm_eps: '1e-6' }, /config\.rms_norm_eps must be a finite positive number, got "1e-6"/);
    refuse({ ...BERT, hidden_dropout_prob: 1 }, /config\.hidden_dropout_prob must be a probability in \[0, 1\)/);
    refuse({ ...LLAMA, tie_word_embeddings: 'yes' }, /config\.tie_word_embeddings must be true or false/);
    refuse({ ...LLAMA, eos_token_id: 12 }, /config\.eos_token_id must be null or a token id in \[0, vocab_size = 12\)/);
    refuse({ ...BERT, pad_token_id: -1 }, /config\.pad_token_id/);
    refuse({ ...BERT, hidden_act: 'relu' }, /config\.hidden_act must be one of/);
    refuse({ ...BERT, position_embedding_type: 'relative_key' }, /position_embedding_type "relative_key" is not supported/);
    refuse({ ...LLAMA, rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling is not supported/);
    refuse({ ...LLAMA, architectures: 'LlamaForCausalLM' }, /config\.architectures must be an array of class names/);
    refuse({ ...LLAMA, architectures: ['GPT2LMHeadModel'] }, /unsupported architecture "GPT2LMHeadModel"/);
    refuse({ ...LLAMA, architectures: ['toString'] }, /unsupported architecture "toString"/);
  });

  test('what is valid still loads: pad_token_id null, eos lists, HF defaults for the rest; errors name the file with a source', () => {
    expect(resolveConfig({ ...BERT, pad_token_id: null }).config).toMatchObject({ pad_token_id: null, hidden_act: 'gelu', layer_norm_eps: 1e-12 });
    expect(resolveConfig({ ...LLAMA, eos_token_id: [2, 3] }).config).toMatchObject({ eos_token_id: 2, bos_token_id: 1, rope_theta: 10000 });
    expect(() => checkPretrainedConfig(JSON.stringify({ ...BERT, vocab_size: 0 }), { source: 'models/x' })).toThrow(
      /^models\/x\/config\.json: config\.vocab_size must be a positive integer/,
    );
    expect(() => checkPretrainedConfig(new TextEncoder().encode('{"a": "\\ud800"}'))).toThrow(
      /config\.json: the escape \\ud800 at character 7 is half of a surrogate pair/,
    );
  });

  test('every refusal is a ValueError or FormatError, for any JSON value in any field', () => {
    const fields = [
      'vocab_size',
      'hidden_size',
      'num_hidden_layers',
      'num_attention_heads',
      'intermediate_size',
      'num_key_value_heads',
      'head_dim',
      'rope_theta',
      'rms_norm_eps',
      'tie_word_embeddings',
      'eos_token_id',
      'architectures',
      'model_type',
      'max_position_embeddings',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 2 }), fc.boolean(), (field, value, llama) => {
        try {
          resolveConfig({ ...(llama ? LLAMA : BERT), [field]: value }, { maxParameters: 1e5 });
        } catch (e) {
          expect(e, `${field} = ${JSON.stringify(value)}`).toBeInstanceOf(ValueError);
        }
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});
