/**
 * What `sparsegrad memory` builds from a config alone: the full BERT-base classifier and a
 * LLaMa-2-7B-shaped stack of SwiGLU MLP blocks (random weights), each with the linears a
 * method adapts (their shapes, how many, which layer type) and the tokens of one step.
 */
import { Generator } from '../../core/random.ts';
import type { Tensor } from '../../core/tensor.ts';
import { BertForSequenceClassification } from '../../models/bert.ts';
import { bertConfig, type BertConfig } from '../../models/config.ts';
import { SwiGLU } from '../../nn/mlp.ts';
import { Module } from '../../nn/module.ts';
import { isTaskHead, type TrainScope } from '../methods.ts';

export interface TargetSpec {
  /** Module name, e.g. bert.encoder.layer.0.intermediate.dense. */
  name: string;
  out: number;
  in: number;
  bias: boolean;
}

/** A model as the accounting needs it: every parameter (name, entries), the adapted linears, and what else trains. */
export interface ModelSpec {
  label: string;
  params: { name: string; numel: number }[];
  targets: TargetSpec[];
  /** Whether a parameter outside the targets trains under a scope. */
  trains(name: string, scope: TrainScope): boolean;
  /** Tokens through each adapted linear per step, for the activation estimate and the materialized rule. */
  tokens: number;
  /** Only blocks whose index is a multiple of this are adapted (LLaMa: 3, the paper's setting). */
  everyNthBlock?: number;
  /** Build it (random weights, float32). */
  build(): Module;
}

/** BERT for sequence classification (2 labels) from a config: every method trains everything in 'paper', the head in 'mlp-only'. */
export function bertSpec(config: BertConfig, tokens: number, label = 'BERT'): ModelSpec {
  const { hidden_size: H, intermediate_size: I, num_hidden_layers: L, vocab_size: V, max_position_embeddings: P, type_vocab_size: T, num_labels: C } = config;
  const params: ModelSpec['params'] = [];
  const add = (name: string, numel: number) => params.push({ name, numel });
  const dense = (name: string, inF: number, out: number) => (add(`${name}.weight`, out * inF), add(`${name}.bias`, out));
  const norm = (name: string) => (add(`${name}.weight`, H), add(`${name}.bias`, H));
  add('bert.embeddings.word_embeddings.weight', V * H);
  add('bert.embeddings.position_embeddings.weight', P * H);
  add('bert.embeddings.token_type_embeddings.weight', T * H);
  norm('bert.embeddings.LayerNorm');
  const targets: TargetSpec[] = [];
  for (let l = 0; l < L; l++) {
    const p = `bert.encoder.layer.${l}`;
    for (const proj of ['query', 'key', 'value']) dense(`${p}.attention.self.${proj}`, H, H);
    dense(`${p}.attention.output.dense`, H, H);
    norm(`${p}.attention.output.LayerNorm`);
    dense(`${p}.intermediate.dense`, H, I);
    dense(`${p}.output.dense`, I, H);
    norm(`${p}.output.LayerNorm`);
    targets.push({ name: `${p}.intermediate.dense`, out: I, in: H, bias: true }, { name: `${p}.output.dense`, out: H, in: I, bias: true });
  }
  dense('bert.pooler.dense', H, H);
  dense('classifier', H, C);
  return {
    label,
    params,
    targets,
    tokens,
    trains: (name, scope) => scope === 'paper' || isTaskHead(name),
    build: () => new BertForSequenceClassification(config, { generator: new Generator(0) }),
  };
}

/** BERT-base (bert-base-uncased's sizes) with a 2-label head. */
export function bertBaseSpec(tokens: number): ModelSpec {
  const base = {
    vocab_size: 30522,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    max_position_embeddings: 512,
    type_vocab_size: 2,
  };
  return bertSpec(bertConfig({ ...base, num_labels: 2 }), tokens, 'BERT-base (110 M parameters)');
}

/** A stack of LLaMa MLP blocks under HF's names (model.layers.N.mlp.*), so the default targets find up_proj/down_proj. */
class MlpStack extends Module {
  model: StackBody;
  constructor(blocks: number, hidden: number, intermediate: number) {
    super();
    this.model = new StackBody(blocks, hidden, intermediate);
  }
  forward(x: Tensor): Tensor {
    return this.model.layers.reduce((h, l) => h.add(l.mlp.forward(h)), x);
  }
}
class StackBody extends Module {
  layers: StackLayer[];
  constructor(blocks: number, hidden: number, intermediate: number) {
    super();
    const generator = new Generator(0);
    this.layers = Array.from({ length: blocks }, () => new StackLayer(hidden, intermediate, generator));
  }
}
class StackLayer extends Module {
  mlp: SwiGLU;
  constructor(hidden: number, intermediate: number, generator: Generator) {
    super();
    this.mlp = new SwiGLU(hidden, intermediate, { generator });
  }
}

/**
 * LLaMa MLP blocks (gate, up, down; no biases), adapted as in the paper's LLaMa-2 runs:
 * up_proj and down_proj of every `everyNth`-th block. What else trains: 'paper' =
 * gate_proj of the adapted blocks (densely, in every method; docs/METHOD.md, the LLaMa
 * setting); 'mlp-only' = nothing. Every other weight is frozen but held.
 */
export function llamaMlpSpec(blocks: number, hidden: number, intermediate: number, everyNth: number, tokens: number, label = 'LLaMa MLP stack'): ModelSpec {
  const params: ModelSpec['params'] = [];
  const targets: TargetSpec[] = [];
  for (let b = 0; b < blocks; b++) {
    const p = `model.layers.${b}.mlp`;
    params.push(
      { name: `${p}.gate_proj.weight`, numel: intermediate * hidden },
      { name: `${p}.up_proj.weight`, numel: intermediate * hidden },
      { name: `${p}.down_proj.weight`, numel: hidden * intermediate },
    );
    if (b % everyNth === 0)
      targets.push(
        { name: `${p}.up_proj`, out: intermediate, in: hidden, bias: false },
        { name: `${p}.down_proj`, out: hidden, in: intermediate, bias: false },
      );
  }
  const adapted = (name: string) => {
    const m = /^model\.layers\.(\d+)\.mlp\.gate_proj\./.exec(name);
    return m !== null && Number(m[1]) % everyNth === 0;
  };
  return {
    label,
    params,
    targets,
    tokens,
    everyNthBlock: everyNth,
    trains: (name, scope) => scope === 'paper' && adapted(name),
    build: () => new MlpStack(blocks, hidden, intermediate),
  };
}

/** LLaMa-2 7B's MLP sizes: 32 blocks of 4096 → 11008, blocks 0, 3, …, 30 adapted (11 of 32). */
export function llama7bMlpSpec(tokens: number): ModelSpec {
  return llamaMlpSpec(32, 4096, 11008, 3, tokens, 'LLaMa-2-7B MLP stack (32 × 4096 → 11008; blocks 0, 3, …, 30 adapted)');
}
