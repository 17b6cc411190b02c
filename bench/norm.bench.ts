// LayerNorm and RMSNorm, forward + backward through the engine (autograd included), on
// BERT-base's shape: 128 tokens × 768, float32, with weight (and bias), cpu backend.
//   y = layerNorm(x) · w + b,  loss = Σ y ⊙ g,  backward to x, w, b
// Run with: npx tsx bench/norm.bench.ts
//
// To compare with another checkout of the repository (the tree before a change, e.g.
// `git archive HEAD | tar -x -C /tmp/before`, with node_modules linked in), name it in
// BASE: `BASE=/tmp/before npx tsx bench/norm.bench.ts`. Both versions then run in this one
// process, interleaved round by round, and the best round of each is printed: on a
// machine shared with other jobs, load shifts between separate runs but hits both alike.
import { bench, run } from 'mitata';
import * as lib from '../index.ts';
import * as ops from '../core/ops/nn.ts';

const TOKENS = 128;
const HIDDEN = 768;
type Norm = 'LayerNorm' | 'RMSNorm';

/** One training step of `norm` built from `l` (a copy of index.ts) and `o` (of core/ops/nn.ts). */
function stepOf(l: typeof lib, o: typeof ops, norm: Norm): () => void {
  const g = new l.Generator(0);
  const leaf = (shape: number[]) => l.randn(shape, { generator: g }).setRequiresGrad();
  const [x, w, b] = [leaf([TOKENS, HIDDEN]), leaf([HIDDEN]), leaf([HIDDEN])];
  const gradOut = l.randn([TOKENS, HIDDEN], { generator: g });
  return () =>
    l.withBackend('cpu', () => {
      for (const p of [x, w, b]) p.zeroGrad();
      const y = norm === 'LayerNorm' ? o.layerNorm(x, [HIDDEN], w, b) : o.rmsNorm(x, w);
      y.mul(gradOut).sum().backward();
    });
}

const NORMS: Norm[] = ['LayerNorm', 'RMSNorm'];
const base = process.env.BASE;
if (base === undefined) {
  for (const norm of NORMS) bench(`${norm} fwd+bwd ${TOKENS}×${HIDDEN} (cpu)`, stepOf(lib, ops, norm));
  await run();
} else {
  const [baseLib, baseOps] = [await import(`${base}/index.ts`), await import(`${base}/core/ops/nn.ts`)];
  const ms = (f: () => void, n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return (performance.now() - t0) / n;
  };
  for (const norm of NORMS) {
    const steps = { base: stepOf(baseLib, baseOps, norm), this: stepOf(lib, ops, norm) };
    const best = { base: Infinity, this: Infinity };
    for (let round = 0; round < 30; round++) {
      for (const k of ['base', 'this'] as const) {
        ms(steps[k], 5); // warm-up
        best[k] = Math.min(best[k], ms(steps[k], 20));
      }
    }
    console.log(
      `${norm} fwd+bwd ${TOKENS}×${HIDDEN} float32 cpu: BASE ${best.base.toFixed(2)} ms, this tree ${best.this.toFixed(2)} ms (best of 30 interleaved rounds of 20 steps)`,
    );
  }
}
