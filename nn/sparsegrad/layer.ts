/**
 * SparseGradLinear — a Linear layer reparametrised in rotated bases so that its weight
 * gradient concentrates in few entries, which are then the only ones trained
 * (Chekalina et al., EMNLP 2024; docs/METHOD.md §4–§7). PyTorch layout throughout:
 *
 *   conversion:  W̃ = Vᵀ W A                (A = U, or Uᵀ under the reference convention)
 *   forward:     X̃ = X A,   Y = (X̃ W̃ᵀ) Vᵀ + b            = X Wᵀ + b  (A, V orthogonal)
 *   backward:    G̃ = G V,   dX = (G̃ W̃) Aᵀ,   dW̃ = G̃ᵀ X̃,   db = Σₜ G
 *   merge:       W = V W̃ Aᵀ
 *
 * The VJP returns the dense dW̃; a gradient hook on W̃ replaces it with its top-k entries
 * as a SparseCoo before accumulation (selection is a hook, not a special case in the
 * engine), which SparseAdam then applies lazily.
 *
 * Options beyond the plain method:
 * - rowCompaction: rows of G that are all zero (padded tokens, non-[CLS] rows of the
 *   last block) are skipped by gather/scatter — the paper's sparse-by-dense trick.
 * - materialized: keep W_eff = V W̃ Aᵀ (refreshed whenever W̃ changed, detected by its
 *   version counter) so the forward is a plain linear; dW̃ = Vᵀ (Gᵀ X) A.
 * - referenceBiasGrad: the reference code's rotated bias gradient (Σₜ G)·V (wrong: b
 *   lives in the output space) for reproducing it; the default is Σₜ G.
 */
import { customVjp } from '../../core/autograd.ts';
import { noGrad } from '../../core/autograd.ts';
import { ShapeError, ValueError } from '../../base/errors.ts';
import type { SparseCoo } from '../../core/sparse.ts';
import { topK, type TopKMode } from '../../core/topk.ts';
import { Tensor } from '../../core/tensor.ts';
import { Generator } from '../../core/random.ts';
import { Linear } from '../linear.ts';
import { Module, Parameter } from '../module.ts';

export type InputBasis = 'consistent' | 'reference';

export interface SparseGradLayerOptions {
  /** Entries kept per step (the top-k of |dW̃|). */
  k: number;
  selection?: TopKMode;
  inputBasis?: InputBasis;
  referenceBiasGrad?: boolean;
  rowCompaction?: boolean;
  materialized?: boolean;
  /**
   * Keep the original Linear (and so its W, out×in) alive for unload(). Default true; the
   * reference discards W after conversion, so memory comparisons with it turn this off.
   */
  keepOriginal?: boolean;
}

/**
 * A Linear trained in rotated bases, W̃ = Vᵀ W A, of which only the top-k gradient entries train (above).
 *
 * @example
 * ```ts
 * import { Linear, SparseGradLinear } from 'sparsegrad/nn';
 * import { eye, ones, type SparseCoo } from 'sparsegrad';
 * const base = new Linear(4, 3);
 * const layer = new SparseGradLinear(base, eye(4), eye(3), { k: 2, selection: 'exact' });
 * layer.forward(ones([1, 4])).sub(base.forward(ones([1, 4]))).abs().max().item(); // => 0
 * layer.forward(ones([1, 4])).sum().backward();
 * (layer.weight_tilde.grad as SparseCoo).nnz; // => 2
 * ```
 */
export class SparseGradLinear extends Module {
  /** W̃ = Vᵀ W A, the trained (sparsely updated) weight. Named apart from `weight` so it is never mistaken for W. */
  weight_tilde: Parameter;
  bias: Parameter | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly options: Required<SparseGradLayerOptions>;
  // ES private fields are not enumerable: the original Linear must not count as a child
  // (its W would otherwise be listed, and trained, as a parameter of this layer).
  readonly #original: Linear | null;
  #materialized: { version: number; weight: Tensor } | null = null;

  /** Convert `linear` with bases U (in×in) and V (out×out); the original is kept for unload(). */
  constructor(linear: Linear, U: Tensor, V: Tensor, options: SparseGradLayerOptions) {
    super();
    const [out, inF] = linear.weight.shape as [number, number];
    if (U.rank !== 2 || U.shape[0] !== inF || U.shape[1] !== inF)
      throw new ShapeError(`SparseGradLinear: U must be ${inF}×${inF} for a layer with ${inF} inputs, got [${U.shape}]`);
    if (V.rank !== 2 || V.shape[0] !== out || V.shape[1] !== out)
      throw new ShapeError(`SparseGradLinear: V must be ${out}×${out} for a layer with ${out} outputs, got [${V.shape}]`);
    if (!Number.isInteger(options.k) || options.k < 1) throw new ValueError(`SparseGradLinear: k must be a positive integer, got ${options.k}`);
    this.inFeatures = inF;
    this.outFeatures = out;
    this.options = {
      selection: 'threshold',
      inputBasis: 'consistent',
      referenceBiasGrad: false,
      rowCompaction: false,
      materialized: false,
      keepOriginal: true,
      // An option given as undefined keeps its default.
      ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<SparseGradLayerOptions>),
      k: options.k,
    };
    this.#original = this.options.keepOriginal ? linear : null;
    // `to` returns U itself when the dtype already matches: blocks given the same U share
    // its storage (applySparseGrad converts each layer type's pair once for all its blocks).
    this.registerBuffer('U', U.to(linear.weight.dtype));
    this.registerBuffer('V', V.to(linear.weight.dtype));
    this.weight_tilde = new Parameter(
      noGrad(() => this.V.transpose().matmul(linear.weight).matmul(this.A)),
      linear.weight.requiresGrad,
    );
    this.bias = linear.bias;
    this.weight_tilde.registerHook((g) => {
      if (!(g instanceof Tensor)) return g;
      const selected = topK(g, this.options.k, this.options.selection);
      this.lastSelection = selectionEnergy(g, selected);
      return selected;
    });
  }

  /** The gradient energy of the last top-k selection: Σ kept g² and Σ g² of the dense dW̃ (null before the first backward). */
  lastSelection: { kept: number; total: number } | null = null;

  get U(): Tensor {
    return this.buffer('U');
  }
  get V(): Tensor {
    return this.buffer('V');
  }
  /** The input-side rotation: U (HOSVD-consistent, default) or Uᵀ (the reference code's). */
  get A(): Tensor {
    return this.options.inputBasis === 'consistent' ? this.U : this.U.transpose();
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures)
      throw new ShapeError(`SparseGradLinear: expected input with last dimension ${this.inFeatures}, got [${x.shape}]`);
    const flat = x.reshape([-1, this.inFeatures]);
    const inputs = this.bias ? [flat, this.weight_tilde, this.bias] : [flat, this.weight_tilde];
    const y = (this.options.materialized ? this.materializedOp : this.factoredOp)(...inputs);
    return y.reshape([...x.shape.slice(0, -1), this.outFeatures]);
  }

  /** Y = ((X A) W̃ᵀ) Vᵀ + b, backward as in the header. */
  private readonly factoredOp = customVjp(
    'SparseGradLinearBackward',
    (x: Tensor, wt: Tensor, b?: Tensor) => {
      const xt = x.matmul(this.A);
      const y = xt.matmul(wt.transpose()).matmul(this.V.transpose());
      return { output: b ? y.add(b) : y, saved: { xt, wt, hasBias: b !== undefined } };
    },
    (g: Tensor, { xt, wt, hasBias }) => {
      const rows = this.options.rowCompaction ? nonZeroRows(g) : null;
      const gc = rows ? g.indexSelect(0, rows) : g;
      const gt = gc.matmul(this.V); // G̃ = G V
      const dxc = gt.matmul(wt).matmul(this.A.transpose()); // (G̃ W̃) Aᵀ
      const dx = rows ? scatterRows(dxc, rows, g.shape[0]!) : dxc;
      const dwt = gt.transpose().matmul(rows ? xt.indexSelect(0, rows) : xt); // G̃ᵀ X̃
      return [dx, dwt, ...(hasBias ? [this.biasGrad(g)] : [])];
    },
  );

  /** Y = X W_effᵀ + b with W_eff = V W̃ Aᵀ; dX = G W_eff, dW̃ = Vᵀ (Gᵀ X) A. */
  private readonly materializedOp = customVjp(
    'SparseGradLinearMaterializedBackward',
    (x: Tensor, _wt: Tensor, b?: Tensor) => {
      const w = this.effectiveWeight();
      const y = x.matmul(w.transpose());
      return { output: b ? y.add(b) : y, saved: { x, w, hasBias: b !== undefined } };
    },
    (g: Tensor, { x, w, hasBias }) => {
      const rows = this.options.rowCompaction ? nonZeroRows(g) : null;
      const gc = rows ? g.indexSelect(0, rows) : g;
      const dx = rows ? scatterRows(gc.matmul(w), rows, g.shape[0]!) : gc.matmul(w);
      const m = gc.transpose().matmul(rows ? x.indexSelect(0, rows) : x); // Gᵀ X
      const dwt = this.V.transpose().matmul(m).matmul(this.A);
      return [dx, dwt, ...(hasBias ? [this.biasGrad(g)] : [])];
    },
  );

  private biasGrad(g: Tensor): Tensor {
    const db = g.sum(0);
    return this.options.referenceBiasGrad ? db.matmul(this.V) : db;
  }

  /** V W̃ Aᵀ, recomputed only when W̃ changed since the last call (its storage version). */
  effectiveWeight(): Tensor {
    const version = this.weight_tilde.version;
    if (this.#materialized?.version !== version) {
      const weight = noGrad(() => this.V.matmul(this.weight_tilde).matmul(this.A.transpose()));
      this.#materialized = { version, weight };
    }
    return this.#materialized.weight;
  }

  /** A plain Linear with W = V W̃ Aᵀ and the same bias (so a fine-tuned model exports with HF names). */
  merge(): Linear {
    // A fixed generator: building the shell must not advance the user's random stream.
    const merged = new Linear(this.inFeatures, this.outFeatures, {
      bias: false,
      dtype: this.weight_tilde.dtype as 'float32' | 'float64',
      generator: new Generator(0),
    });
    merged.weight = new Parameter(
      noGrad(() => this.V.matmul(this.weight_tilde).matmul(this.A.transpose())),
      this.weight_tilde.requiresGrad,
    );
    merged.bias = this.bias;
    return merged;
  }

  /** The Linear this layer was converted from, untouched by training (W̃'s updates are dropped). */
  unload(): Linear {
    if (!this.#original) throw new ValueError('SparseGradLinear.unload(): the original layer was not kept (keepOriginal: false); use merge() instead');
    return this.#original;
  }

  protected override describe(): string {
    const o = this.options;
    return `SparseGradLinear(in=${this.inFeatures}, out=${this.outFeatures}, k=${o.k}, ${o.selection}, ${o.inputBasis}${o.rowCompaction ? ', compacted' : ''}${o.materialized ? ', materialized' : ''})`;
  }
}

/**
 * How much of a gradient's energy a selection keeps: Σ of the kept values² and Σ g² over
 * the dense gradient, both in float64 (read by the comparison: the share of ‖dW̃‖² that
 * SparseGrad's top-k keeps, against MeProp's share of ‖dW‖²).
 *
 * @example
 * ```ts
 * import { selectionEnergy } from 'sparsegrad/nn';
 * import { tensor, topK } from 'sparsegrad';
 * const g = tensor([3, 4, 0]);
 * selectionEnergy(g, topK(g, 1)); // => { kept: 16, total: 25 }
 * ```
 */
export function selectionEnergy(dense: Tensor, selected: SparseCoo): { kept: number; total: number } {
  const g = dense.contiguous().data;
  let total = 0;
  for (let i = 0; i < g.length; i++) total += g[i]! * g[i]!;
  let kept = 0;
  for (let i = 0; i < selected.values.length; i++) kept += selected.values[i]! * selected.values[i]!;
  return { kept, total };
}

/**
 * Indices (int32) of the rows of g [T, out] that hold any non-zero value (NaN counts), or
 * null when every row does: then there is nothing to skip, and gathering the rows into a
 * copy and scattering the result back would only cost two passes.
 */
function nonZeroRows(g: Tensor): Tensor | null {
  const [rows, cols] = g.shape as [number, number];
  const data = g.contiguous().data;
  const kept: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let j = r * cols, end = j + cols; j < end; j++) {
      if (data[j] !== 0) {
        kept.push(r);
        break; // one non-zero decides the row: a dense row costs one read
      }
    }
  }
  return kept.length === rows ? null : Tensor.fromStorage(Int32Array.from(kept), [kept.length]);
}

/** A [total, cols] tensor with `values`' rows at `rows` and zeros elsewhere (scatter, never an identity matmul). */
function scatterRows(values: Tensor, rows: Tensor, total: number): Tensor {
  const cols = values.shape[1]!;
  const zeros = Tensor.fromStorage(new (values.data.constructor as Float32ArrayConstructor)(total * cols), [total, cols]);
  return zeros.scatterAdd(0, rows.unsqueeze(1).expand([rows.shape[0]!, cols]).contiguous(), values);
}
