/**
 * SparseAdam with exactly torch.optim.SparseAdam's lazy semantics (`torch/optim/sparse_adam.py`
 * and `torch/optim/_functional.py: sparse_adam`; docs/METHOD.md §7):
 * - the step counter is global: the optimizer counts a step for every parameter that has
 *   a gradient, even an empty one, and the bias corrections use that count;
 * - only entries present in the gradient move: their m, v and p. Absent entries keep all
 *   three bitwise; nothing decays (docs/METHOD.md §11.5: a rarely chosen entry later takes a
 *   large step from stale moments);
 * - ε is added to the uncorrected √v, the correction is folded into the step size
 *   (`adamWHf`'s form, adam.ts); no weight decay, no amsgrad; a dense gradient is refused.
 * A present entry with value 0 still decays its m and v, as in torch.
 *
 * Option `sparseMoments` (beyond torch and the paper): m and v are kept only for the
 * indices ever touched, in a sorted `touched` index set plus compact moment arrays,
 * instead of two dense arrays. It costs 12 bytes per touched entry (float32) against 8 per
 * entry of the parameter, so it saves memory while fewer than 2/3 of the entries have
 * ever been chosen; the arithmetic per entry is the same `adamEntry`, so the parameter
 * trajectory is bitwise the dense-moment one.
 */
import { allocate, type FloatStorage } from '../../base/dtype.ts';
import type { Hyper, Rule, RuleState } from '../optimizer.ts';
import { adamAt, adamEntry, adamScalars, validateAdam } from './adam.ts';

export interface SparseAdamHyper extends Hyper {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  /** Store m, v only for the indices ever touched (fixed when the state is created). */
  sparseMoments: boolean;
}

/** Dense moments: `exp_avg`, `exp_avg_sq` indexed like the parameter. Sparse moments: also `touched`, and the moments indexed like it. */
export interface SparseAdamState extends RuleState {
  exp_avg: FloatStorage;
  exp_avg_sq: FloatStorage;
  touched?: Int32Array;
}

/**
 * torch's SparseAdam as a rule: only the entries present in a sparse gradient move (above).
 *
 * @example
 * ```ts
 * import { Optimizer, sparseAdam } from 'sparsegrad/optim';
 * import { tensor, topK, type Tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * w.registerHook((g) => topK(g as Tensor, 1)); // the gradient becomes a SparseCoo with one entry
 * const opt = new Optimizer([w], { rule: sparseAdam, lr: 0.1 });
 * w.mul(w).sum().backward();
 * opt.step();
 * w; // => [1, 1.9]
 * ```
 */
export const sparseAdam: Rule<SparseAdamHyper, SparseAdamState> = {
  name: 'sparse_adam',
  defaults: Object.freeze({ lr: 1e-3, betas: [0.9, 0.999] as const, eps: 1e-8, sparseMoments: false }),
  refusal: 'SparseAdam does not support dense gradients, please consider Adam instead',
  validate: (h) => validateAdam(h, true),
  init(size, dtype, h) {
    const n = h.sparseMoments ? 0 : size;
    const state: SparseAdamState = { exp_avg: allocate(dtype, n) as FloatStorage, exp_avg_sq: allocate(dtype, n) as FloatStorage };
    if (h.sparseMoments) state.touched = new Int32Array(0);
    return state;
  },
  sparse(p, indices, values, state, h, step) {
    const c = adamScalars(h, step, 'sparse_adam');
    if (state.touched === undefined) return adamAt(p, indices, values, state.exp_avg, state.exp_avg_sq, c);
    touch(state, indices);
    const { touched, exp_avg: m, exp_avg_sq: v } = state;
    // Both index lists are sorted, so one forward walk finds each entry's moment slot.
    for (let k = 0, j = 0; k < indices.length; k++) {
      const i = indices[k]!;
      while (touched![j]! < i) j++;
      adamEntry(p, i, m, v, j, values[k]!, c);
    }
  },
  checkState(state, size) {
    const { touched, exp_avg, exp_avg_sq } = state;
    if (touched === undefined) return [];
    if (exp_avg.length !== touched.length || exp_avg_sq.length !== touched.length) {
      return [
        `sparse moments need one exp_avg and exp_avg_sq per touched index (${touched.length} touched, ${exp_avg.length} and ${exp_avg_sq.length} moments)`,
      ];
    }
    const bad = touched.findIndex((t, k) => t < 0 || t >= size || (k > 0 && t <= touched[k - 1]!));
    return bad < 0 ? [] : [`touched indices must be strictly increasing in [0, ${size}) (index ${bad}: ${touched[bad]})`];
  },
};

/** Merge the gradient's indices into the touched set, new moments starting at 0. Allocates only when the set grows. */
function touch(state: SparseAdamState, indices: Int32Array): void {
  const old = state.touched!;
  let added = 0;
  for (let k = 0, j = 0; k < indices.length; k++) {
    while (j < old.length && old[j]! < indices[k]!) j++;
    if (j === old.length || old[j] !== indices[k]) added++;
  }
  if (added === 0) return;
  const n = old.length + added;
  const dtype = state.exp_avg instanceof Float64Array ? 'float64' : 'float32';
  const touched = new Int32Array(n);
  const m = allocate(dtype, n) as FloatStorage;
  const v = allocate(dtype, n) as FloatStorage;
  for (let a = 0, b = 0, out = 0; out < n; out++) {
    if (b === indices.length || (a < old.length && old[a]! <= indices[b]!)) {
      if (b < indices.length && old[a] === indices[b]) b++;
      touched[out] = old[a]!;
      m[out] = state.exp_avg[a]!;
      v[out] = state.exp_avg_sq[a++]!;
    } else touched[out] = indices[b++]!;
  }
  Object.assign(state, { touched, exp_avg: m, exp_avg_sq: v });
}
