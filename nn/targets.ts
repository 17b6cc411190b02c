/**
 * Which linears the fine-tuning methods (SparseGrad, LoRA, MeProp) adapt, by module name,
 * so they apply to any loaded Hugging Face BERT or LLaMa without touching model code:
 *
 * - BERT-like models: both MLP linears of every block, `intermediate.dense` and
 *   `output.dense` — but never `attention.output.dense`, which shares the suffix.
 * - LLaMa-like models: `mlp.up_proj` and `mlp.down_proj`, optionally only in every n-th
 *   block (the paper adapts blocks 0, 3, 6, … of LLaMa-2 7B: everyNthBlock 3).
 *
 * Layers are grouped by *type*: the name without its block index
 * (`bert.encoder.layer.3.intermediate.dense` → `bert.encoder.layer.*.intermediate.dense`),
 * because SparseGrad shares one pair of bases across all blocks of a type.
 */
import { ValueError } from '../base/errors.ts';
import { Linear } from './linear.ts';
import type { Module } from './module.ts';
import { findModules, type ModulePattern } from './surgery.ts';

export interface TargetOptions {
  /** A name suffix, RegExp or predicate; default: the architecture's MLP linears (above). */
  targets?: ModulePattern;
  /** LLaMa default targets only: adapt blocks whose index is a multiple of n. Default 1 (all). */
  everyNthBlock?: number;
}

const BERT_MLP = /(^|\.)(intermediate\.dense|output\.dense)$/;
const ATTENTION_OUTPUT = /(^|\.)attention\.output\.dense$/;
const LLAMA_MLP = /(^|\.)layers\.(\d+)\.mlp\.(up_proj|down_proj)$/;

/**
 * The default target predicate for a model, recognised by its module names.
 *
 * @example
 * ```ts
 * import { defaultTargets, Module, SwiGLU } from 'sparsegrad/nn';
 * class Block extends Module { mlp = new SwiGLU(4, 8); }
 * class Llama extends Module { layers = [new Block(), new Block()]; }
 * const isTarget = defaultTargets(new Llama(), 2);
 * [isTarget('layers.0.mlp.up_proj'), isTarget('layers.1.mlp.up_proj'), isTarget('layers.0.mlp.gate_proj')]; // => [true, false, false]
 * ```
 */
export function defaultTargets(model: Module, everyNthBlock = 1): (name: string) => boolean {
  const names = model.namedModules().map(([n]) => n);
  if (names.some((n) => LLAMA_MLP.test(n))) {
    return (n) => {
      const m = LLAMA_MLP.exec(n);
      return m !== null && Number(m[2]) % everyNthBlock === 0;
    };
  }
  if (names.some((n) => BERT_MLP.test(n))) return (n) => BERT_MLP.test(n) && !ATTENTION_OUTPUT.test(n);
  throw new ValueError(
    'no default targets: the model has neither BERT MLP linears (intermediate.dense, output.dense) nor LLaMa ones (mlp.up_proj, mlp.down_proj); pass `targets`',
  );
}

/**
 * The Linear modules a method adapts, by dotted name.
 *
 * @example
 * ```ts
 * import { findTargets, Module, SwiGLU } from 'sparsegrad/nn';
 * class Block extends Module { mlp = new SwiGLU(4, 8); }
 * class Llama extends Module { layers = [new Block(), new Block()]; }
 * findTargets(new Llama(), { everyNthBlock: 2 }).map(([name]) => name); // => ['layers.0.mlp.up_proj', 'layers.0.mlp.down_proj']
 * ```
 */
export function findTargets(model: Module, options: TargetOptions = {}): [string, Linear][] {
  if (options.everyNthBlock !== undefined && (!Number.isInteger(options.everyNthBlock) || options.everyNthBlock < 1)) {
    throw new ValueError(`everyNthBlock must be a positive integer, got ${options.everyNthBlock}`);
  }
  const pattern: ModulePattern = options.targets ?? defaultTargets(model, options.everyNthBlock);
  const found = findModules(model, pattern).filter((e): e is [string, Linear] => e[1] instanceof Linear);
  if (found.length === 0) throw new ValueError(`no Linear module matches the targets ${String(pattern)}`);
  return found;
}

/**
 * A layer's type: its name with block indices replaced by `*`.
 *
 * @example
 * ```ts
 * import { layerType } from 'sparsegrad/nn';
 * layerType('bert.encoder.layer.3.intermediate.dense'); // => 'bert.encoder.layer.*.intermediate.dense'
 * ```
 */
export function layerType(name: string): string {
  return name.replace(/\.\d+\./g, '.*.');
}
