/**
 * `sparsegrad/models`: BERT and LLaMa with Hugging Face's module trees and names, their
 * configs, and everything that turns a HF folder's bytes into a model — config checks,
 * safetensors, sharded weights, tokenizers — without a file system, so it runs in a
 * browser or a worker as well as in Node (`sparsegrad/node` adds the folder readers).
 * Tokenizers alone are `sparsegrad/tokenizers`. What each loader validates, and the error
 * class of each failure, is in docs/LOADING.md.
 */

// Architectures.
export {
  BertModel,
  BertForSequenceClassification,
  BertForMaskedLM,
  BertForPreTraining,
  BertEmbeddings,
  BertEncoder,
  BertLayer,
  BertAttention,
  BertPooler,
  type BertInputs,
  type BertOutputs,
  type BuildOptions,
  type ClassifierOutputs,
  type MaskedLMOutputs,
  type PreTrainingOutputs,
} from './bert.ts';
export { LlamaModel, LlamaForCausalLM, LlamaDecoderLayer, type CausalLMOutputs, type LlamaInputs } from './llama.ts';
export { generate, pick, type GenerateOptions } from './generate.ts';

// Configs: parsing, validation, size bounds.
export {
  bertConfig,
  llamaConfig,
  parameterCount,
  checkModelSize,
  DEFAULT_MAX_LAYERS,
  DEFAULT_MAX_PARAMETERS,
  REQUIRED_SIZES,
  type BertConfig,
  type LlamaConfig,
  type ConfigLimits,
  type PretrainedArchitecture,
} from './config.ts';

// Weights by name, and whole folders from bytes.
export {
  modelFromConfig,
  resolveConfig,
  loadWeights,
  exportWeights,
  configJson,
  type ModelOptions,
  type LoadWeightsOptions,
  type PretrainedModel,
} from './weights.ts';
export {
  loadPretrainedFromBytes,
  checkPretrainedConfig,
  weightsFromBytes,
  tokenizerFromFiles,
  parseShardIndex,
  checkShardName,
  CONFIG_FILE,
  WEIGHTS_FILE,
  INDEX_FILE,
  type Pretrained,
  type PretrainedFiles,
  type LoadOptions,
  type ShardIndex,
  type Bytes,
  type TextOrBytes,
  type AnyTokenizer,
} from './pretrained.ts';

// File formats on bytes.
export {
  parseSafetensors,
  serializeSafetensors,
  halfToFloat,
  floatToHalf,
  bfloat16ToFloat,
  floatToBfloat16,
  type SafetensorsDType,
  type SafetensorsFile,
  type SerializeOptions,
} from './safetensors.ts';
export {
  encodeCheckpoint,
  decodeCheckpoint,
  sealTrainerState,
  MODEL_FILE,
  OPTIMIZER_FILE,
  TRAINER_STATE_FILE,
  type Checkpoint,
  type DecodeOptions,
  type OptimizerStateDict,
} from './checkpoint.ts';
export { parseJson, MAX_JSON_DEPTH } from './json.ts';
