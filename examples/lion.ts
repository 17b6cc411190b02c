/**
 * Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"; after
 * lucidrains/lion-pytorch) written as a sparsegrad update rule: an optimizer that is not
 * in the library, tested only through the public law kit (spec/optim/lion.spec.ts).
 *
 *   c ← β1·m + (1−β1)·g;  p ← p·(1 − lr·wd) − lr·sign(c);  m ← β2·m + (1−β2)·g
 *
 * It uses only the public API. It has a lazy sparse update too (only present entries move), so the kit's sparse laws
 * apply to it. Use it like any rule:
 *
 *   const opt = new Optimizer(model.parameters(), { rule: lion, lr: 1e-4, weightDecay: 0.1 });
 *
 *   npx tsx examples/lion.ts     # fits a tiny linear regression and prints the loss
 */
import { Generator, mseLoss, randn, ValueError } from '../index.ts';
import { Optimizer, pyFloat, type Hyper, type Rule, type RuleState } from '../optim/index.ts';

export interface LionHyper extends Hyper {
  lr: number;
  betas: readonly [number, number];
  weightDecay: number;
}
type FloatStorage = Float32Array | Float64Array;
export interface LionState extends RuleState {
  exp_avg: FloatStorage;
}

/** One entry: the only place Lion's arithmetic is written, shared by the dense and sparse loops. */
function lionEntry(p: FloatStorage, m: FloatStorage, i: number, g: number, h: LionHyper): void {
  const [beta1, beta2] = h.betas;
  const c = beta1 * m[i]! + (1 - beta1) * g;
  p[i] = p[i]! * (1 - h.lr * h.weightDecay) - h.lr * Math.sign(c);
  m[i] = beta2 * m[i]! + (1 - beta2) * g;
}

export const lion: Rule<LionHyper, LionState> = {
  name: 'lion',
  defaults: Object.freeze({ lr: 1e-4, betas: [0.9, 0.99] as const, weightDecay: 0 }),
  validate(h) {
    if (!(h.lr >= 0)) throw new ValueError(`Invalid learning rate: ${pyFloat(h.lr)}`);
    h.betas.forEach((b, i) => {
      if (!(b >= 0 && b <= 1)) throw new ValueError(`Invalid beta parameter at index ${i}: ${pyFloat(b)}`);
    });
  },
  init: (size, dtype) => ({ exp_avg: dtype === 'float64' ? new Float64Array(size) : new Float32Array(size) }),
  dense(p, grad, state, h) {
    for (let i = 0; i < p.length; i++) lionEntry(p, state.exp_avg, i, grad[i]!, h);
  },
  sparse(p, indices, values, state, h) {
    for (let k = 0; k < indices.length; k++) lionEntry(p, state.exp_avg, indices[k]!, values[k]!, h);
  },
};

// Run as a script: fit y = x·w on random data with Lion.
if (import.meta.url === `file://${process.argv[1]}`) {
  const g = new Generator(0);
  const x = randn([64, 4], { generator: g });
  const y = x.matmul(randn([4, 1], { generator: g }));
  const w = randn([4, 1], { generator: g }).setRequiresGrad();
  const opt = new Optimizer([w], { rule: lion, lr: 0.02 });
  for (let step = 0; step <= 200; step++) {
    opt.zeroGrad();
    const loss = mseLoss(x.matmul(w), y);
    loss.backward();
    opt.step();
    if (step % 50 === 0) console.log(`step ${step}  loss ${loss.item().toFixed(5)}`);
  }
}
