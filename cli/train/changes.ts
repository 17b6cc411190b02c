/**
 * What each optimizer step changed in the MLP linears' trained matrices (`trackChanges`):
 * entries modified, gradient energy kept by a top-k selection, entries ever selected.
 *
 * Why count it: the methods differ in how much of W they may touch per step (all of it,
 * r·(in + out) adapter entries, k selected entries); these counts show what each really
 * touched, step by step, next to its loss.
 */
import { SparseCoo } from '../../core/sparse.ts';
import type { Tensor } from '../../core/tensor.ts';
import type { Prepared } from '../methods.ts';

/** What each step changed in the MLP linears' trained matrices (W; LoRA's A and B; SparseGrad's W̃). */
export interface StepChanges {
  layers: number;
  /** Entries of the trained matrices per layer (W: out·in; LoRA: r·(in + out)). */
  entriesPerLayer: number;
  /** The 1-based step numbers recorded (the main phase: after any preliminary steps). */
  steps: number[];
  /** Entries whose value the optimizer step changed, summed over layers. */
  modified: number[];
  /** Entries that have had a non-zero gradient at some recorded step so far, summed over layers (for SparseGrad: SparseAdam's touched set). */
  everSelected: number[];
  /** Set when the run was resumed: the step from which everSelected counts again (the union is not checkpointed). */
  everSelectedFrom?: number;
  /** Σ kept g² / Σ g² of the step's top-k selections over all layers (MeProp, SparseGrad); null for the others. */
  energyKept: number[] | null;
}

/**
 * Counts, around each optimizer step, what it changed in the tracked matrices: a copy
 * before, a comparison after (out·in per layer and step: small next to the step itself).
 * "Ever selected" is the union of non-zero gradient entries so far. The union is not in
 * the checkpoint: a resumed run starts it empty again and says from which step it counts
 * (`everSelectedFrom`).
 */
export class ChangeTracker {
  private readonly layers: Tensor[][];
  private copies: (Float32Array | Float64Array)[][] = [];
  private readonly ever: Uint8Array[][];
  private everCount = 0;
  private readonly record: StepChanges;

  constructor(
    private readonly prepared: Prepared,
    previous: StepChanges | null,
  ) {
    this.layers = prepared.tracked.map((l) => l.tensors);
    this.ever = this.layers.map((ts) => ts.map((t) => new Uint8Array(t.numel)));
    const hasSelection = prepared.tracked.some((l) => l.selection);
    this.record = previous ?? {
      layers: this.layers.length,
      entriesPerLayer: this.layers[0]?.reduce((n, t) => n + t.numel, 0) ?? 0,
      steps: [],
      modified: [],
      everSelected: [],
      energyKept: hasSelection ? [] : null,
    };
    if (previous) previous.everSelectedFrom = (previous.steps.at(-1) ?? 0) + 1;
  }

  before(): void {
    this.copies = this.layers.map((ts) => ts.map((t) => (t.data as Float32Array | Float64Array).slice()));
    this.layers.forEach((ts, l) =>
      ts.forEach((t, j) => {
        const mark = this.ever[l]![j]!;
        const g = t.grad;
        if (g instanceof SparseCoo) {
          for (let n = 0; n < g.indices.length; n++) if (g.values[n] !== 0 && !mark[g.indices[n]!]) (mark[g.indices[n]!] = 1), this.everCount++;
        } else if (g) {
          const d = g.contiguous().data;
          for (let i = 0; i < d.length; i++) if (d[i] !== 0 && !mark[i]) (mark[i] = 1), this.everCount++;
        }
      }),
    );
  }

  after(step: number): StepChanges {
    let modified = 0;
    this.layers.forEach((ts, l) =>
      ts.forEach((t, j) => {
        const now = t.data as Float32Array | Float64Array;
        const was = this.copies[l]![j]!;
        for (let i = 0; i < now.length; i++) if (now[i] !== was[i]) modified++;
      }),
    );
    const r = this.record;
    r.steps.push(step);
    r.modified.push(modified);
    r.everSelected.push(this.everCount);
    if (r.energyKept) {
      let kept = 0;
      let total = 0;
      for (const l of this.prepared.tracked) {
        const e = l.selection?.();
        if (e) (kept += e.kept), (total += e.total);
      }
      r.energyKept.push(total > 0 ? kept / total : NaN);
    }
    return r;
  }
}
