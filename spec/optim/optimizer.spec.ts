/**
 * The Optimizer shell: groups with their own rule and hyper-parameters, dispatch on the
 * gradient's kind, step counting, zeroGrad, the state-dict contract and its checks, and
 * the hyper-parameter messages (docs/TESTING.md §5, torch's wording).
 */
import { describe, expect, test } from 'vitest';
import { DTypeError, Generator, randn, ShapeError, SparseCoo, Tensor, tensor, ValueError } from '../../index.ts';
import { Linear } from '../../nn/linear.ts';
import {
  Adam,
  adamW,
  AdamW,
  adamWHf,
  NonFiniteGradError,
  Optimizer,
  pyFloat,
  sgd,
  SGD,
  SparseAdam,
  sparseAdam,
  type OptimizerStateDict,
} from '../../optim/index.ts';
import { assertClose } from '../kit/index.ts';

const leaf = (values: number[], shape = [values.length]) => tensor(values, { dtype: 'float64' }).reshape(shape).contiguous().setRequiresGrad();
const coo = (shape: number[], indices: number[], values: number[]) => new SparseCoo(shape, Int32Array.from(indices), Float64Array.from(values));

/** A SparseAdam group and an AdamW group in one optimizer, as SparseGrad fine-tuning uses it. */
function mixed() {
  const w = leaf([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = leaf([0.5, -0.5]);
  const frozen = leaf([9]);
  const opt = new Optimizer(
    [
      { params: [w], rule: sparseAdam, lr: 0.01 },
      { params: [b, frozen], rule: adamWHf, lr: 0.1, weightDecay: 0.01 },
    ],
    { rule: adamW },
  );
  /** A fresh random sparsity pattern for w (possibly empty), a dense gradient for b. */
  const grads = (g: Generator) => {
    const indices = [0, 1, 2, 3, 4, 5].filter(() => g.uniform() < 0.5);
    w.grad = coo(
      [2, 3],
      indices,
      indices.map(() => g.normal()),
    );
    b.grad = tensor([g.normal(), g.normal()], { dtype: 'float64' });
  };
  return { w, b, frozen, opt, grads };
}

describe('groups and dispatch', () => {
  test('each group runs its own rule and hyper-parameters; a parameter without a gradient is not touched', () => {
    const { w, b, frozen, opt } = mixed();
    w.grad = coo([2, 3], [1, 4], [1, -1]);
    b.grad = tensor([1, -1], { dtype: 'float64' });
    const versions = [w.version, b.version, frozen.version];
    opt.step();
    expect(Array.from(w.data).map((x, i) => x - [1, 2, 3, 4, 5, 6][i]!)).toEqual([0, expect.closeTo(-0.01, 6), 0, 0, expect.closeTo(0.01, 6), 0]);
    expect(Array.from(b.data)).toEqual([expect.closeTo((0.5 - 0.1) * (1 - 0.001), 5), expect.closeTo((-0.5 + 0.1) * (1 - 0.001), 5)]);
    expect([w.version, b.version, frozen.version]).toEqual([versions[0]! + 1, versions[1]! + 1, versions[2]]);
    expect(Object.keys(opt.stateDict().state)).toEqual(['0', '1']);
  });

  test('SGD reads a sparse gradient as dense with zeros elsewhere (momentum keeps moving every entry)', () => {
    const [a, b] = [leaf([1, 2, 3]), leaf([1, 2, 3])];
    const [oa, ob] = [new SGD([a], { lr: 0.1, momentum: 0.9 }), new SGD([b], { lr: 0.1, momentum: 0.9 })];
    for (const g of [
      [0, 1, 0],
      [0, 0, 2],
    ]) {
      a.grad = SparseCoo.fromDense(tensor(g, { dtype: 'float64' }));
      b.grad = tensor(g, { dtype: 'float64' });
      oa.step();
      ob.step();
    }
    assertClose(a, b, 'bitwise');
  });

  test('Adam refuses a sparse gradient; shape and dtype mismatches are refused', () => {
    const p = leaf([1, 2]);
    const opt = new Adam([p]);
    p.grad = coo([2], [0], [1]);
    expect(() => opt.step()).toThrow(new ValueError('Adam does not support sparse gradients, please consider SparseAdam instead'));
    p.grad = tensor([1, 2, 3], { dtype: 'float64' });
    expect(() => opt.step()).toThrow(ShapeError);
    p.grad = tensor([1, 2], { dtype: 'float32' });
    expect(() => opt.step()).toThrow(DTypeError);
  });

  test('zeroGrad sets gradients to null, or dense ones to zeros with setToNone false', () => {
    const { w, b, opt } = mixed();
    w.grad = coo([2, 3], [1], [1]);
    b.grad = tensor([1, 2], { dtype: 'float64' });
    opt.zeroGrad({ setToNone: false });
    expect([w.grad, Array.from((b.grad as Tensor).data)]).toEqual([null, [0, 0]]);
    opt.zeroGrad();
    expect(b.grad).toBe(null);
  });

  test('trains a real module (Linear parameters are contiguous Parameters)', () => {
    const layer = new Linear(3, 2, { dtype: 'float64', generator: new Generator(1) });
    const x = randn([8, 3], { dtype: 'float64', generator: new Generator(2) });
    const opt = new AdamW(layer.parameters(), { lr: 0.05 });
    const loss = () => layer.forward(x).pow(2).mean();
    const first = loss().item();
    for (let i = 0; i < 30; i++) {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    }
    expect(loss().item()).toBeLessThan(first / 2);
  });
});

describe('state dict', () => {
  /** Train `steps` mixed steps from a seeded gradient stream. */
  const trainMixed = (m: ReturnType<typeof mixed>, g: Generator, steps: number) => {
    for (let i = 0; i < steps; i++) {
      m.grads(g);
      m.opt.step();
    }
  };

  test('has the contract’s shape: state by parameter index across groups, hyper-parameters, the rule, parameter indices', () => {
    const m = mixed();
    trainMixed(m, new Generator(3), 2);
    const sd = m.opt.stateDict();
    expect(sd.paramGroups).toEqual([
      { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, sparseMoments: false, rule: 'sparse_adam', params: [0] },
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0.01, rule: 'adamw_hf', params: [1, 2] },
    ]);
    expect(Object.keys(sd.state)).toEqual(['0', '1']);
    expect(sd.state['0']!.step).toBe(2);
    expect((sd.state['0']!.exp_avg as Tensor).shape).toEqual([2, 3]);
    expect(Object.keys(sd.state['1']!)).toEqual(['step', 'exp_avg', 'exp_avg_sq']);
  });

  test('a round trip mid-training continues bitwise', () => {
    const a = mixed();
    const ga = new Generator(5);
    trainMixed(a, ga, 4);
    const b = mixed();
    [b.w, b.b].forEach((p, i) => p.storage.data.set([a.w, a.b][i]!.data));
    b.opt.loadStateDict(a.opt.stateDict());
    const gb = new Generator(0).setState(ga.getState());
    trainMixed(a, ga, 5);
    trainMixed(b, gb, 5);
    assertClose(b.w, a.w, 'bitwise');
    assertClose(b.b, a.b, 'bitwise');
    const [sa, sb] = [a.opt.stateDict(), b.opt.stateDict()];
    expect(sb.paramGroups).toEqual(sa.paramGroups);
    for (const key of ['0', '1']) {
      expect(sb.state[key]!.step).toBe(sa.state[key]!.step);
      for (const buf of ['exp_avg', 'exp_avg_sq']) assertClose(sb.state[key]![buf] as Tensor, sa.state[key]![buf] as Tensor, 'bitwise');
    }
  });

  test('loading copies: the loaded optimizer does not share buffers with the dict', () => {
    const a = mixed();
    trainMixed(a, new Generator(6), 1);
    const sd = a.opt.stateDict();
    const b = mixed();
    b.opt.loadStateDict(sd);
    trainMixed(a, new Generator(7), 1);
    expect(b.opt.stateDict().state['0']!.step).toBe(1);
    expect((b.opt.stateDict().state['0']!.exp_avg as Tensor).data).not.toBe((sd.state['0']!.exp_avg as Tensor).data);
  });

  test('loading collects every problem into one ValueError and changes nothing', () => {
    const a = mixed();
    trainMixed(a, new Generator(8), 1);
    const sd = a.opt.stateDict();
    const bad: OptimizerStateDict = {
      paramGroups: [
        { ...sd.paramGroups[0]!, rule: 'adamw' },
        { ...sd.paramGroups[1]!, params: [1] },
      ],
      state: {
        '0': { ...sd.state['0']!, exp_avg: tensor([1, 2, 3, 4, 5, 6], { dtype: 'float64' }), extra: tensor([1]) },
        '1': { step: 1, exp_avg: sd.state['1']!.exp_avg! },
        '7': { step: 1 },
      },
    };
    const b = mixed();
    const before = b.opt.stateDict();
    let message = '';
    try {
      b.opt.loadStateDict(bad);
    } catch (e) {
      expect(e).toBeInstanceOf(ValueError);
      message = (e as Error).message;
    }
    expect(message.split('\n\t')).toEqual([
      'Error(s) in loading state_dict for Optimizer:',
      "group 0 was saved by rule 'adamw' but uses 'sparse_adam'",
      "loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group 1: 1 vs 2)",
      'Unexpected key(s) in state 0: "extra".',
      'size mismatch for state 0 "exp_avg": copying a buffer with shape [6] from checkpoint, the parameter\'s shape is [2, 3].',
      'Missing key(s) in state 1: "exp_avg_sq".',
      'Unexpected key(s) in state: "7" (the optimizer has 3 parameters)',
    ]);
    expect(b.opt.stateDict()).toEqual(before);
    expect(() => b.opt.loadStateDict({ state: {}, paramGroups: [sd.paramGroups[0]!] })).toThrow('loaded state dict has a different number of parameter groups');
  });
});

describe('hyper-parameter validation (torch’s messages)', () => {
  const p = () => [leaf([1])];
  test.each([
    [() => new Adam(p(), { lr: -0.1 }), 'Invalid learning rate: -0.1'],
    [() => new AdamW(p(), { betas: [1, 0.999] }), 'Invalid beta parameter at index 0: 1.0'],
    [() => new AdamW(p(), { betas: [0.9, -0.5] }), 'Invalid beta parameter at index 1: -0.5'],
    [() => new Adam(p(), { eps: -1e-8 }), 'Invalid epsilon value: -1e-08'],
    [() => new Adam(p(), { weightDecay: -1e-5 }), 'Invalid weight_decay value: -1e-05'],
    [() => new SparseAdam(p(), { lr: 0 }), 'Invalid learning rate: 0.0'],
    [() => new SparseAdam(p(), { eps: 0 }), 'Invalid epsilon value: 0.0'],
    [() => new SGD(p(), { lr: NaN }), 'Invalid learning rate: nan'],
    [() => new SGD(p(), { momentum: -0.9 }), 'Invalid momentum value: -0.9'],
    [() => new SGD(p(), { nesterov: true }), 'Nesterov momentum requires a momentum and zero dampening'],
    [() => new SGD(p(), { momentum: 0.9, dampening: 0.1, nesterov: true }), 'Nesterov momentum requires a momentum and zero dampening'],
    [() => new SGD([]), 'optimizer got an empty parameter list'],
    [
      () => new Optimizer(p(), { rule: sgd, weight_decay: 0.1 }),
      'unknown hyper-parameter(s) for sgd: weight_decay (known: lr, momentum, dampening, nesterov, weightDecay)',
    ],
    // Beyond torch (which takes lr = inf and turns every weight into ±inf or NaN): finite values only.
    [() => new Adam(p(), { lr: Infinity }), 'Invalid learning rate: inf'],
    [() => new AdamW(p(), { lr: NaN }), 'Invalid learning rate: nan'],
    [() => new SparseAdam(p(), { lr: Infinity }), 'Invalid learning rate: inf'],
    [() => new SGD(p(), { lr: Infinity }), 'Invalid learning rate: inf'],
    [() => new AdamW(p(), { weightDecay: Infinity }), 'Invalid weight_decay value: inf'],
    [() => new SGD(p(), { weightDecay: Infinity }), 'Invalid weight_decay value: inf'],
    [() => new Adam(p(), { eps: Infinity }), 'Invalid epsilon value: inf'],
    [() => new AdamW(p(), { betas: [NaN, 0.999] }), 'Invalid beta parameter at index 0: nan'],
    [() => new AdamW(p(), { betas: [0.9, Infinity] }), 'Invalid beta parameter at index 1: inf'],
    [() => new SGD(p(), { momentum: Infinity }), 'Invalid momentum value: inf'],
    [() => new SGD(p(), { momentum: 0.9, dampening: NaN }), 'Invalid dampening value: nan'],
    // Finite in float64 but not in float32: the first step would write ±Inf into float32 weights.
    [
      () => new AdamW([leaf([1]).float().detach().setRequiresGrad()], { lr: 1e39 }),
      "Invalid learning rate: 1e+39 (overflows float32, the dtype of the group's parameters)",
    ],
    [
      () => new SGD([leaf([1]).float().detach().setRequiresGrad()], { weightDecay: 1e300 }),
      "Invalid weight_decay value: 1e+300 (overflows float32, the dtype of the group's parameters)",
    ],
    [() => new SGD(p(), { nonFiniteGrads: 'warn' as 'skip' }), "nonFiniteGrads must be 'ignore', 'error' or 'skip', got warn"],
  ])('%#: %s', (make, message) => {
    expect(make).toThrow(new ValueError(message as string));
  });

  test('lr = 1e39 is fine for float64 parameters (it is finite there)', () => {
    expect(() => new AdamW(p(), { lr: 1e39 })).not.toThrow();
  });

  test('a group overriding a hyper-parameter is validated too; parameters are checked', () => {
    expect(() => new Optimizer([{ params: p() }, { params: p(), lr: -1 }], { rule: adamW })).toThrow(new ValueError('Invalid learning rate: -1.0'));
    const shared = leaf([1]);
    expect(() => new Optimizer([{ params: [shared] }, { params: [shared] }], { rule: adamW })).toThrow(
      'some parameters appear in more than one parameter group',
    );
    expect(() => new SGD([shared.mul(2)])).toThrow("can't optimize a non-leaf Tensor");
    expect(() => new SGD([leaf([1, 2, 3, 4]).detach().slice(0, 1, 3)])).toThrow(/own their contiguous storage/);
  });

  test.each([
    [1, '1.0'],
    [-0.1, '-0.1'],
    [0.999, '0.999'],
    [1e-8, '1e-08'],
    [1e-4, '0.0001'],
    [1e-5, '1e-05'],
    [123.25, '123.25'],
    [1e16, '1e+16'],
    [1e15, '1000000000000000.0'],
    [2.5e-7, '2.5e-07'],
    [-0, '-0.0'],
    [Infinity, 'inf'],
    [NaN, 'nan'],
  ])('pyFloat(%s) is Python’s repr %s', (x, repr) => {
    expect(pyFloat(x)).toBe(repr);
  });
});

test('shared hyper-parameters go to the groups whose rule knows them', () => {
  const opt = new Optimizer([{ params: [leaf([1])], rule: sparseAdam }, { params: [leaf([2])] }], { rule: adamWHf, lr: 0.5, weightDecay: 0.1 });
  expect(opt.paramGroups.map((g) => g.hyper)).toEqual([
    { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, sparseMoments: false },
    { lr: 0.5, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0.1 },
  ]);
  expect(() => new Optimizer([{ params: [leaf([1])], rule: sparseAdam }, { params: [leaf([2])] }], { rule: adamWHf, momentum: 0.9 })).toThrow(
    new ValueError('unknown hyper-parameter(s) for sparse_adam/adamw_hf: momentum (known: lr, betas, eps, sparseMoments, weightDecay)'),
  );
  expect(() => new Optimizer([{ params: [leaf([1])], rule: sparseAdam, weightDecay: 0 }], { rule: adamWHf })).toThrow(
    /unknown hyper-parameter\(s\) for sparse_adam: weightDecay/,
  );
});

describe('non-finite gradients (opt-in check, one pass before anything moves)', () => {
  /** Two parameters with AdamW, stepped once on finite gradients so that the state is not fresh. */
  function trained(nonFiniteGrads: 'ignore' | 'error' | 'skip', names = false) {
    const w = leaf([1, 2, 3, 4], [2, 2]);
    const e = leaf([1, 2, 3, 4, 5]);
    const paramNames = names
      ? new Map([
          [w, 'layer.weight'],
          [e, 'embed.weight'],
        ])
      : undefined;
    const opt = new Optimizer([{ params: [w] }, { params: [e], rule: sparseAdam }], {
      rule: adamW,
      lr: 0.1,
      nonFiniteGrads,
      ...(paramNames ? { paramNames } : {}),
    });
    w.grad = tensor([0.5, -1, 2, 0.25], { dtype: 'float64' }).reshape([2, 2]);
    e.grad = coo([5], [1, 3], [1, -1]);
    opt.step();
    return { w, e, opt };
  }
  const snapshot = (t: ReturnType<typeof trained>) => ({
    w: Array.from(t.w.data),
    e: Array.from(t.e.data),
    state: JSON.stringify(t.opt.stateDict(), (_, v) => (v instanceof Tensor ? Array.from(v.data) : v)),
  });

  test("'skip' leaves parameters, moments and step counts exactly as they were, and counts the step", () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const t = trained('skip');
      const before = snapshot(t);
      t.w.grad = tensor([0.5, bad, 2, 0.25], { dtype: 'float64' }).reshape([2, 2]);
      t.e.grad = coo([5], [2], [1]);
      t.opt.step();
      expect(snapshot(t)).toEqual(before);
      expect(t.opt.skippedSteps).toBe(1);
      // A finite step afterwards proceeds as usual.
      t.w.grad = tensor([1, 1, 1, 1], { dtype: 'float64' }).reshape([2, 2]);
      t.e.grad = null;
      t.opt.step();
      expect(snapshot(t).w).not.toEqual(before.w);
      expect(t.opt.skippedSteps).toBe(1);
    }
  });

  test("'skip' also sees a non-finite value inside a sparse gradient", () => {
    const t = trained('skip');
    const before = snapshot(t);
    t.w.grad = null;
    t.e.grad = coo([5], [0, 4], [1, NaN]);
    t.opt.step();
    expect(snapshot(t)).toEqual(before);
    expect(t.opt.skippedSteps).toBe(1);
  });

  test("'error' throws NonFiniteGradError naming the parameter, the entry and its value; nothing moves", () => {
    const t = trained('error', true);
    const before = snapshot(t);
    t.w.grad = tensor([0.5, 1, 2, 0.25], { dtype: 'float64' }).reshape([2, 2]);
    t.e.grad = coo([5], [0, 3, 4], [1, Infinity, NaN]);
    let caught: unknown;
    try {
      t.opt.step();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NonFiniteGradError);
    expect(caught).toBeInstanceOf(ValueError);
    const error = caught as NonFiniteGradError;
    expect(error.message).toBe(
      "non-finite gradient for parameter 'embed.weight' (group 1, parameter 0) of shape [5]: entry 3 is Infinity (2 non-finite values in its gradient); no parameter was updated. Lower the learning rate or check the loss; nonFiniteGrads: 'skip' skips such steps instead",
    );
    expect([error.param, error.index, error.value, error.count]).toEqual([t.e, 3, Infinity, 2]);
    expect(snapshot(t)).toEqual(before);
  });

  test("'error' without names calls a parameter by its index across groups", () => {
    const t = trained('error');
    t.w.grad = tensor([0.5, 1, NaN, 0.25], { dtype: 'float64' }).reshape([2, 2]);
    expect(() => t.opt.step()).toThrow(
      /^non-finite gradient for parameter 0 \(group 0, parameter 0\) of shape \[2, 2\]: entry 2 is NaN \(1 non-finite value in its gradient\)/,
    );
  });

  test("'ignore' (the default, torch's behaviour) lets the NaN into the weights", () => {
    const t = trained('ignore');
    t.w.grad = tensor([0.5, NaN, 2, 0.25], { dtype: 'float64' }).reshape([2, 2]);
    t.opt.step();
    expect(Number.isNaN(t.w.data[1])).toBe(true);
    expect(new AdamW([leaf([1])]).nonFiniteGrads).toBe('ignore');
  });
});
