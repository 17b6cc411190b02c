/**
 * SparseGrad's last update of the first W̃, entry by entry (`captureUpdate`): the report
 * draws it as a heatmap.
 *
 * Why only the last step of one layer: one snapshot is enough to see where in the
 * rotated basis the k updated entries sit, and it is taken once, so it costs nothing
 * on the other steps.
 */
import { SparseCoo } from '../../core/sparse.ts';
import type { Prepared } from '../methods.ts';

export interface UpdateSnapshot {
  layer: string;
  shape: [number, number];
  step: number;
  indices: number[];
  /** The applied change of W̃ at each index (new − old). */
  delta: number[];
}

/**
 * Call after the backward pass and before the optimizer step: keeps the first W̃'s values
 * where its sparse gradient has entries, and returns what reads the snapshot after the
 * step; null when the method has no W̃ with a sparse gradient.
 */
export function watchUpdate(prepared: Prepared): ((step: number) => UpdateSnapshot) | null {
  const first = prepared.sparse?.layers[0];
  const grad = first?.[1].weight_tilde.grad;
  if (!first || !(grad instanceof SparseCoo)) return null;
  const [layer, linear] = first;
  const was = linear.weight_tilde.data as Float32Array;
  const before = Float32Array.from(grad.indices, (i) => was[i]!);
  return (step) => {
    const w = linear.weight_tilde.data as Float32Array;
    return {
      layer,
      shape: linear.weight_tilde.shape as [number, number],
      step,
      indices: Array.from(grad.indices),
      delta: Array.from(grad.indices, (i, n) => w[i]! - before[n]!),
    };
  };
}
