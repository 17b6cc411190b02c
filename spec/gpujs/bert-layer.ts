/**
 * A small BERT layer (word embeddings, attention with a padding mask, GELU MLP, post-LN
 * LayerNorms, eps 1e-12 as HF) and its seeded inputs, shared by the Node suite and the
 * browser page (spec/gpujs/browser-entry.ts): the seeded Generator draws the same numbers
 * in every engine, so both build identical weights and inputs.
 */
import { Generator, randint, randn, tensor, type Tensor } from '../../index.ts';
import { BERT_NAMES, DenseBlock, Embedding, GeluMlp, LayerNorm, Module, MultiHeadAttention } from '../../nn/index.ts';

export const HIDDEN = 16;

export class BertLayer extends Module {
  embeddings: Embedding;
  attention: MultiHeadAttention;
  attentionOutput: DenseBlock;
  attentionNorm: LayerNorm;
  mlp: GeluMlp;
  outputNorm: LayerNorm;
  constructor(seed: number) {
    super();
    const generator = new Generator(seed);
    this.embeddings = new Embedding(37, HIDDEN, { generator });
    this.attention = new MultiHeadAttention({ hidden: HIDDEN, numHeads: 4, names: BERT_NAMES, generator });
    this.attentionOutput = new DenseBlock(HIDDEN, HIDDEN, { generator });
    this.attentionNorm = new LayerNorm(HIDDEN, { eps: 1e-12 });
    this.mlp = new GeluMlp(HIDDEN, 4 * HIDDEN, { generator });
    this.outputNorm = new LayerNorm(HIDDEN, { eps: 1e-12 });
  }
  forward(ids: Tensor, x: Tensor, mask: Tensor): Tensor {
    const input = this.embeddings.forward(ids).add(x);
    const a = this.attention.forward(input, { attentionMask: mask });
    const h = this.attentionNorm.forward(this.attentionOutput.dense.forward(a).add(input));
    return this.outputNorm.forward(this.mlp.forward(h).add(h));
  }
}

/** Token ids [2, 5], an added hidden state x [2, 5, 16] (requires grad), a padding mask, and gradOutput. */
export function bertCase(): { ids: Tensor; x: Tensor; mask: Tensor; gOut: Tensor } {
  const g = new Generator(7);
  const ids = randint(0, 37, [2, 5], { generator: g });
  const x = randn([2, 5, HIDDEN], { generator: g }).mul(0.5).setRequiresGrad();
  const mask = tensor(
    [
      [1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0],
    ],
    { dtype: 'int32' },
  );
  const gOut = randn([2, 5, HIDDEN], { generator: g });
  return { ids, x, mask, gOut };
}

/** Forward, backward of Σ y ⊙ gOut; the output and every gradient (x's and each parameter's), as plain arrays. */
export function bertStep(model: BertLayer, c: { ids: Tensor; x: Tensor; mask: Tensor; gOut: Tensor }): Record<string, number[]> {
  model.zeroGrad();
  const y = model.forward(c.ids, c.x, c.mask);
  y.mul(c.gOut).sum().backward();
  const out: Record<string, number[]> = { output: Array.from(y.toTypedArray()), 'grad x': Array.from((c.x.grad as Tensor).toTypedArray()) };
  for (const [name, p] of model.namedParameters()) out[`grad ${name}`] = Array.from((p.grad as Tensor).toTypedArray());
  return out;
}
