/**
 * Model-based test (docs/TESTING.md §3): random sequences of set-gradient (with a new
 * sparsity pattern each time), step, zeroGrad, checkpoint and restore-into-a-fresh-
 * optimizer, run on a three-group Optimizer (SparseAdam, torch AdamW, SGD with Nesterov
 * momentum fed sparse and dense gradients) and on a simplified float64 model written from
 * the torch formulas. After every command both agree within ROUNDING (below).
 */
import fc from 'fast-check';
import { test } from 'vitest';
import { SparseCoo, Tensor, tensor } from '../../index.ts';
import { adamW, Optimizer, sgd, sparseAdam, type OptimizerStateDict } from '../../optim/index.ts';
import { assertClose, type Bound } from '../kit/index.ts';

const SIZES = [6, 3, 4];
const HYPER = {
  sparse: { lr: 0.05, betas: [0.9, 0.99] as const, eps: 1e-3 },
  adamw: { lr: 0.05, betas: [0.8, 0.9] as const, eps: 1e-6, weightDecay: 0.1 },
  sgd: { lr: 0.1, momentum: 0.9, nesterov: true },
};

/**
 * The model and the rules evaluate the same float64 formulas in other orders (bias
 * corrections folded into the step size or not, decay before or after), so they differ by
 * rounding only: a few ulps of the terms per step. The terms stay below ~10 here (gradients
 * in [−2, 2], at most 40 steps of lr ≤ 0.1), so after 40 steps the difference is below
 * 40 · 10 · 2⁻⁵² ≈ 1e-13: a bound of 1e-12 absolute plus 1e-12 relative, not T64 (a
 * finite-difference bound, 1e-5 + 1e-3·|r|, which would hide a wrong bias correction).
 */
const ROUNDING: Bound = { name: 'rounding (1e-12)', atol: 1e-12, rtol: 1e-12 };

type Grad = { dense: number[] } | { indices: number[]; values: number[] } | null;
interface ParamModel {
  p: number[];
  grad: Grad;
  step: number;
  m: number[];
  v: number[];
}
interface Model {
  params: ParamModel[];
  saved: ParamModel[] | null;
}
interface Real {
  params: Tensor[];
  opt: Optimizer;
  saved: { values: Float64Array[]; dict: OptimizerStateDict } | null;
}

function makeOptimizer(params: Tensor[], sparseMoments: boolean): Optimizer {
  return new Optimizer(
    [
      { params: [params[0]!], rule: sparseAdam, ...HYPER.sparse, sparseMoments },
      { params: [params[1]!], rule: adamW, ...HYPER.adamw },
      { params: [params[2]!], rule: sgd, ...HYPER.sgd },
    ],
    { rule: adamW },
  );
}

const dense = (g: Grad, n: number): number[] =>
  g === null
    ? new Array(n).fill(0)
    : 'dense' in g
      ? g.dense
      : Array.from({ length: n }, (_, i) => {
          const k = g.indices.indexOf(i);
          return k < 0 ? 0 : g.values[k]!;
        });

/** The float64 reference step, torch's formulas as written in their sources. */
function referenceStep(which: number, s: ParamModel): void {
  if (s.grad === null) return;
  s.step += 1;
  const t = s.step;
  if (which === 0) {
    const {
      lr,
      betas: [b1, b2],
      eps,
    } = HYPER.sparse;
    const g = s.grad as { indices: number[]; values: number[] };
    const size = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    g.indices.forEach((i, k) => {
      s.m[i] = b1 * s.m[i]! + (1 - b1) * g.values[k]!;
      s.v[i] = b2 * s.v[i]! + (1 - b2) * g.values[k]! ** 2;
      s.p[i] = s.p[i]! - (size * s.m[i]!) / (Math.sqrt(s.v[i]!) + eps);
    });
  } else if (which === 1) {
    const {
      lr,
      betas: [b1, b2],
      eps,
      weightDecay,
    } = HYPER.adamw;
    dense(s.grad, s.p.length).forEach((g, i) => {
      s.p[i] = s.p[i]! * (1 - lr * weightDecay);
      s.m[i] = b1 * s.m[i]! + (1 - b1) * g;
      s.v[i] = b2 * s.v[i]! + (1 - b2) * g * g;
      s.p[i] = s.p[i]! - ((lr / (1 - b1 ** t)) * s.m[i]!) / (Math.sqrt(s.v[i]! / (1 - b2 ** t)) + eps);
    });
  } else {
    const { lr, momentum } = HYPER.sgd;
    dense(s.grad, s.p.length).forEach((g, i) => {
      s.m[i] = t === 1 ? g : momentum * s.m[i]! + g; // the momentum buffer
      s.p[i] = s.p[i]! - lr * (g + momentum * s.m[i]!);
    });
  }
}

const copyModel = (ps: ParamModel[]): ParamModel[] => ps.map((s) => ({ ...s, p: [...s.p], m: [...s.m], v: [...s.v] }));

function agree(model: Model, real: Real): void {
  const dict = real.opt.stateDict();
  model.params.forEach((s, i) => {
    assertClose(real.params[i]!, s.p, ROUNDING, `parameter ${i}`);
    const st = dict.state[String(i)];
    if (s.step === 0) {
      if (st !== undefined) throw new Error(`parameter ${i} has state before its first step`);
      return;
    }
    if (st?.step !== s.step) throw new Error(`parameter ${i}: step ${st?.step}, expected ${s.step}`);
    const buffers: [string, number[]][] =
      i === 2
        ? [['momentum_buffer', s.m]]
        : [
            ['exp_avg', s.m],
            ['exp_avg_sq', s.v],
          ];
    for (const [key, expected] of buffers) {
      const t = st[key] as Tensor;
      const touched = st.touched as Tensor | undefined;
      const full = touched ? expected.filter((_, j) => touched.data.includes(j)) : expected;
      assertClose(Array.from(t.data), full, ROUNDING, `parameter ${i} ${key}`);
    }
  });
}

class SetGrad implements fc.Command<Model, Real> {
  constructor(
    readonly which: number,
    readonly values: number[],
    readonly mask: boolean[],
    readonly asSparse: boolean,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const sparse = this.which === 0 || (this.which === 2 && this.asSparse);
    const indices = this.mask.flatMap((on, i) => (on ? [i] : []));
    const grad: Grad = sparse ? { indices, values: indices.map((i) => this.values[i]!) } : { dense: this.values };
    model.params[this.which]!.grad = grad;
    const shape = [SIZES[this.which]!];
    real.params[this.which]!.grad =
      'dense' in grad ? tensor(grad.dense, { dtype: 'float64' }) : new SparseCoo(shape, Int32Array.from(grad.indices), Float64Array.from(grad.values));
    agree(model, real);
  }
  toString = () => `setGrad(${this.which}, [${this.values}], [${this.mask.map(Number)}], ${this.asSparse ? 'sparse' : 'dense'})`;
}

class Step implements fc.Command<Model, Real> {
  check = () => true;
  run(model: Model, real: Real): void {
    model.params.forEach((s, i) => referenceStep(i, s));
    real.opt.step();
    agree(model, real);
  }
  toString = () => 'step';
}

class ZeroGrad implements fc.Command<Model, Real> {
  constructor(readonly setToNone: boolean) {}
  check = () => true;
  run(model: Model, real: Real): void {
    for (const s of model.params) s.grad = this.setToNone || s.grad === null || !('dense' in s.grad) ? null : { dense: s.grad.dense.map(() => 0) };
    real.opt.zeroGrad({ setToNone: this.setToNone });
    agree(model, real);
  }
  toString = () => `zeroGrad(${this.setToNone})`;
}

class Checkpoint implements fc.Command<Model, Real> {
  check = () => true;
  run(model: Model, real: Real): void {
    model.saved = copyModel(model.params);
    const dict = real.opt.stateDict();
    // The dict aliases live buffers (torch's choice): a checkpoint clones them, as serializing would.
    const state = Object.fromEntries(
      Object.entries(dict.state).map(([k, e]) => [
        k,
        Object.fromEntries(Object.entries(e).map(([b, x]) => [b, x instanceof Tensor ? Tensor.fromStorage(x.data.slice(), x.shape) : x])),
      ]),
    );
    real.saved = { values: real.params.map((p) => (p.data as Float64Array).slice()), dict: { ...dict, state } as OptimizerStateDict };
  }
  toString = () => 'checkpoint';
}

class Restore implements fc.Command<Model, Real> {
  constructor(readonly sparseMoments: boolean) {}
  check = (model: Readonly<Model>) => model.saved !== null;
  run(model: Model, real: Real): void {
    const grads = model.params.map((s) => s.grad);
    model.params = copyModel(model.saved!).map((s, i) => ({ ...s, grad: grads[i]! }));
    real.params.forEach((p, i) => {
      (p.data as Float64Array).set(real.saved!.values[i]!);
      p.storage.version++;
    });
    // A fresh optimizer built with other settings: the dict brings back hyper-parameters and state.
    real.opt = makeOptimizer(real.params, this.sparseMoments);
    real.opt.loadStateDict(real.saved!.dict);
    agree(model, real);
  }
  toString = () => `restore(${this.sparseMoments})`;
}

const value = fc.double({ min: -2, max: 2, noNaN: true });
const commands = [
  fc
    .integer({ min: 0, max: 2 })
    .chain((which) =>
      fc
        .tuple(
          fc.array(value, { minLength: SIZES[which]!, maxLength: SIZES[which]! }),
          fc.array(fc.boolean(), { minLength: SIZES[which]!, maxLength: SIZES[which]! }),
          fc.boolean(),
        )
        .map(([v, m, s]) => new SetGrad(which, v, m, s)),
    ),
  fc.constant(new Step()),
  fc.boolean().map((b) => new ZeroGrad(b)),
  fc.constant(new Checkpoint()),
  fc.boolean().map((b) => new Restore(b)),
];

test('the optimizer follows the float64 model through steps, pattern changes, zeroGrad and checkpoint/restore', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.commands(commands, { maxCommands: 40 }), (sparseMoments, cmds) => {
      const values = SIZES.map((n, i) => Array.from({ length: n }, (_, j) => (j - i) / 4));
      const params = values.map((v) => tensor(v, { dtype: 'float64' }).setRequiresGrad());
      const model: Model = { params: values.map((p) => ({ p: [...p], grad: null, step: 0, m: p.map(() => 0), v: p.map(() => 0) })), saved: null };
      fc.modelRun(() => ({ model, real: { params, opt: makeOptimizer(params, sparseMoments), saved: null } }), cmds);
    }),
    { numRuns: 300 },
  );
});
