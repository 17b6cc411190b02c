/**
 * Rotary position embeddings (RoPE, Su et al. 2021) in Hugging Face's layout.
 *
 * RoPE rotates pairs of a query/key vector's coordinates by angles proportional to the
 * token's position, so q·k depends only on the distance between the two tokens. Which
 * coordinates form a pair is a layout choice, and the two in use silently disagree:
 *  - HF ("rotate_half"): coordinate i pairs with i + d/2. This file implements this one,
 *    because HF checkpoints (and the test fixtures) are in it.
 *  - Meta / llama2.c ("interleaved"): coordinate 2i pairs with 2i + 1.
 * The layouts differ by a fixed permutation of each head's rows of W_q and W_k, so a
 * Meta checkpoint runs here after `metaToHfRope` on those two weights (q·k, and hence the
 * attention output, is unchanged by permuting q and k alike).
 */
import { tensor } from '../core/creation.ts';
import { allocate, type FloatDType } from '../base/dtype.ts';
import { ShapeError, ValueError } from '../base/errors.ts';
import { cat } from '../core/ops/movement.ts';
import { formatShape } from '../base/shape.ts';
import { Tensor } from '../core/tensor.ts';

export interface RopeTables {
  /** cos(position · inv_freq), shape [...positions.shape, headDim] (each frequency twice, HF's `cat(freqs, freqs)`). */
  cos: Tensor;
  sin: Tensor;
}

/**
 * HF's `inv_freq = 1 / theta^(arange(0, d, 2) / d)`, computed in float32 even for float64
 * models: every step is rounded to float32 here too, since the float32 values (≈1e-7 off
 * the exact ones) are what HF checkpoints were trained and are evaluated with.
 */
function inverseFrequencies(headDim: number, theta: number): Float64Array {
  const f = Math.fround;
  return Float64Array.from({ length: headDim / 2 }, (_, i) => f(1 / f(theta ** f(f(2 * i) / headDim))));
}

/**
 * The cos/sin tables for `positions` (any shape, any numeric dtype, or a plain array).
 *
 * @example
 * ```ts
 * import { ropeCache } from 'sparsegrad/nn';
 * const { cos, sin } = ropeCache(4, [0, 1, 2]);
 * cos.shape; // => [3, 4]
 * sin.slice(0, 0, 1); // => [[0, 0, 0, 0]]
 * ```
 */
export function ropeCache(headDim: number, positions: Tensor | readonly number[], theta = 10000, dtype: FloatDType = 'float32'): RopeTables {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0)
    throw new ValueError(`ropeCache(): headDim must be a positive even integer, got ${headDim}`);
  if (!(theta > 0 && Number.isFinite(theta))) throw new ValueError(`ropeCache(): theta must be a positive finite number, got ${theta}`);
  const pos = positions instanceof Tensor ? positions : tensor(positions, { dtype: 'float64' });
  const values = pos.toTypedArray();
  const invFreq = inverseFrequencies(headDim, theta);
  const half = headDim / 2;
  // In float32 the angle is rounded before cos/sin, as HF's float32 `inv_freq @ positions`.
  const round = dtype === 'float32' ? Math.fround : (x: number) => x;
  const cos = allocate(dtype, values.length * headDim);
  const sin = allocate(dtype, values.length * headDim);
  values.forEach((p, row) => {
    invFreq.forEach((w, i) => {
      const angle = round(p * w);
      const at = row * headDim + i;
      cos[at] = cos[at + half] = Math.cos(angle);
      sin[at] = sin[at + half] = Math.sin(angle);
    });
  });
  const shape = [...pos.shape, headDim];
  return { cos: Tensor.fromStorage(cos, shape), sin: Tensor.fromStorage(sin, shape) };
}

/**
 * HF's `x·cos + rotate_half(x)·sin` on the last axis, where rotate_half(x) = [−x₂, x₁]
 * for the halves x₁, x₂. cos/sin broadcast against x (e.g. [S, d] against [B, heads, S, d]).
 *
 * @example
 * ```ts
 * import { applyRope, ropeCache } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * const x = tensor([[1, 2, 3, 4], [1, 2, 3, 4]]); // [S=2, d=4]
 * const { cos, sin } = ropeCache(4, [0, 1]);
 * applyRope(x, cos, sin).slice(0, 0, 1); // => [[1, 2, 3, 4]]
 * ```
 */
export function applyRope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const d = x.shape[x.rank - 1]!;
  if (cos.shape[cos.rank - 1] !== d || sin.shape[sin.rank - 1] !== d || d % 2 !== 0) {
    throw new ShapeError(
      `applyRope(): x ${formatShape(x.shape)} needs an even last dimension equal to that of cos ${formatShape(cos.shape)} and sin ${formatShape(sin.shape)}`,
    );
  }
  const rotated = cat([x.slice(-1, d / 2).neg(), x.slice(-1, 0, d / 2)], -1);
  return x.mul(cos).add(rotated.mul(sin));
}

/**
 * A Meta/llama2.c q or k projection weight [heads·headDim, in] (or bias [heads·headDim])
 * in HF's rotate-half layout: within each head, rows 2i and 2i+1 move to i and i + d/2.
 * This is HF's `convert_llama_weights_to_hf` permutation,
 *   W_hf = W_meta.view(nh, hd/2, 2, in).transpose(1, 2).reshape(out, in),
 * with nh = the number of heads the weight projects to (numKvHeads for k).
 *
 * @example
 * ```ts
 * import { metaToHfRope } from 'sparsegrad/nn';
 * import { arange } from 'sparsegrad';
 * metaToHfRope(arange(4).reshape(4, 1), 1); // => [[0], [2], [1], [3]]
 * ```
 */
export function metaToHfRope(weight: Tensor, numHeads: number): Tensor {
  const rows = weight.shape[0] ?? 0;
  if (!Number.isInteger(numHeads) || numHeads <= 0 || rows % (2 * numHeads) !== 0) {
    throw new ShapeError(`metaToHfRope(): a weight with ${rows} rows cannot hold ${numHeads} heads of even size (shape ${formatShape(weight.shape)})`);
  }
  return weight
    .reshape([numHeads, rows / numHeads / 2, 2, ...weight.shape.slice(1)])
    .transpose(1, 2)
    .reshape(weight.shape);
}
