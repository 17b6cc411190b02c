/**
 * SparseGrad's gradient concentration (`concentrationBatches`): how much of the MLP
 * gradients' energy their top entries hold, as they are and rotated into the bases the
 * preliminary phase found (cli/concentration.ts) — the paper's reason for the rotation.
 *
 * Why held-out batches: they are the batches right after the preliminary phase, taken
 * without an update and with the dropout stream restored, so training does not see them.
 */
import { type LayerConcentration, measureConcentration } from '../concentration.ts';
import { layerBudget, type Preliminary, targetGradients } from '../methods.ts';
import { startProgress } from '../progress.ts';
import type { RunContext } from './context.ts';
import { forwardBackward } from './step.ts';

/** Measure on the configured number of batches after the preliminary phase; returns the layers and the seconds it took. */
export function measureHeldOutConcentration(ctx: RunContext, bases: Preliminary['bases']): { layers: LayerConcentration[]; seconds: number } {
  const { config: c, model, generator } = ctx;
  const t0 = performance.now();
  const rng = generator.getState();
  const bar = startProgress('sparsegrad: gradient concentration', c.concentrationBatches, { unit: 'batches' });
  const slices = new Map<string, { shape: [number, number]; slices: Float64Array[] }>();
  for (let i = 0; i < c.concentrationBatches; i++) {
    forwardBackward(ctx, null, c.prelimSteps + i); // held-out batches: not training losses
    for (const [type, g] of targetGradients(model, c)) {
      const entry = slices.get(type) ?? { shape: g.shape, slices: [] };
      entry.slices.push(...g.slices);
      slices.set(type, entry);
    }
    model.zeroGrad();
    bar.tick();
  }
  generator.setState(rng);
  const layers = measureConcentration(slices, bases, { budget: layerBudget(model, c) });
  const seconds = (performance.now() - t0) / 1000;
  bar.done(
    layers
      .map((l) => `${l.layerType.split('.').slice(-2, -1)[0]}: top-1% ${(l.top1.untransformed * 100).toFixed(1)}% → ${(l.top1.consistent * 100).toFixed(1)}%`)
      .join(', '),
  );
  return { layers, seconds };
}
