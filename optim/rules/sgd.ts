/**
 * SGD with momentum, dampening, Nesterov and L2 weight decay, as torch.optim.SGD
 * (`torch/optim/sgd.py`, `_single_tensor_sgd`):
 *   d ← g + wd·p
 *   b ← d at the first step, else μ·b + (1 − dampening)·d      (momentum μ ≠ 0 only)
 *   d ← d + μ·b (Nesterov) or b
 *   p ← p − lr·d
 * in float64 per entry, each buffer rounded once when stored. torch starts the buffer as
 * a copy of the first gradient (undampened); here that is "step 1", so momentum must be
 * fixed when a group starts. A sparse gradient is read as dense with zeros elsewhere
 * (so momentum and decay still move every entry), as torch's SGD reads it.
 */
import { allocate, type FloatStorage } from '../../base/dtype.ts';
import { ValueError } from '../../base/errors.ts';
import { check, pyFloat, type Hyper, type Rule, type RuleState } from '../optimizer.ts';

export interface SgdHyper extends Hyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/** No buffer without momentum (torch keeps none either). */
export interface SgdState extends RuleState {
  momentum_buffer?: FloatStorage;
}

/**
 * torch's SGD as a rule (above); defaults lr 1e-3, no momentum.
 *
 * @example
 * ```ts
 * import { Optimizer, sgd } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new Optimizer([w], { rule: sgd, lr: 0.1, momentum: 0.9 });
 * w.mul(w).sum().backward(); // gradient 2w = [2, 4]
 * opt.step();
 * w; // => [0.8, 1.6]
 * ```
 */
export const sgd: Rule<SgdHyper, SgdState> = {
  name: 'sgd',
  defaults: Object.freeze({ lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 }),
  // torch's checks and messages, plus finiteness (torch accepts lr = inf).
  validate(h) {
    check(Number.isFinite(h.lr) && h.lr >= 0, `Invalid learning rate: ${pyFloat(h.lr)}`);
    check(Number.isFinite(h.momentum) && h.momentum >= 0, `Invalid momentum value: ${pyFloat(h.momentum)}`);
    check(Number.isFinite(h.dampening), `Invalid dampening value: ${pyFloat(h.dampening)}`);
    check(Number.isFinite(h.weightDecay) && h.weightDecay >= 0, `Invalid weight_decay value: ${pyFloat(h.weightDecay)}`);
    check(!h.nesterov || (h.momentum > 0 && h.dampening === 0), 'Nesterov momentum requires a momentum and zero dampening');
  },
  init: (size, dtype, h) => (h.momentum === 0 ? {} : { momentum_buffer: allocate(dtype, size) as FloatStorage }),
  dense(p, grad, state, h, step) {
    const { lr, momentum, nesterov, weightDecay } = h;
    const keep = 1 - h.dampening;
    const buf = state.momentum_buffer;
    if ((momentum !== 0) !== (buf !== undefined)) throw new ValueError('SGD: momentum was switched on or off after the first step; start a new optimizer');
    for (let i = 0; i < p.length; i++) {
      let d = weightDecay === 0 ? grad[i]! : grad[i]! + weightDecay * p[i]!;
      if (buf !== undefined) {
        buf[i] = step === 1 ? d : momentum * buf[i]! + keep * d;
        d = nesterov ? d + momentum * buf[i]! : buf[i]!;
      }
      p[i] = p[i]! - lr * d;
    }
  },
};
