/**
 * Optimizer laws: fast-check properties that any update rule (optim/optimizer.ts `Rule`)
 * should satisfy (docs/TESTING.md §4, "SparseAdam / optimizer laws"). `optimizerLaws(rule,
 * options)` returns them by name; which apply follows from what the rule has (a dense
 * and/or a sparse update) and what the options claim. Property-testing a new optimizer:
 *
 *   const laws = optimizerLaws(lion, {
 *     hyper: fc.record({ lr: fc.double({ min: 1e-4, max: 1e-2 }), betas: fc.tuple(beta, beta), weightDecay: fc.constant(0.1) }),
 *     withoutDecay: (h) => ({ ...h, weightDecay: 0 }),
 *     scaleInvariant: {},
 *   });
 *   test.each(Object.entries(laws))('Lion: %s', (_, law) => fc.assert(law));
 *
 * Problems are small (1–8 entries, 1–6 steps). Values are multiples of 2⁻¹² in [−2, 2]:
 * exact in float32, far from subnormals, so scaling by a power of two is exact too and
 * "bitwise" claims can be tested as such.
 */
import type FC from 'fast-check';
import { fc } from './fast-check.ts';
import { allocate, type FloatDType, type FloatStorage } from '../../base/dtype.ts';
import { Generator, SparseCoo, Tensor } from '../../index.ts';
import { Optimizer, type AnyRule, type Hyper, type Rule, type RuleState } from '../../optim/index.ts';
import { assertClose, T64, type Tolerance } from './close.ts';

export interface OptimizerLawOptions<H extends Hyper> {
  /** Hyper-parameters to test under; default the rule's defaults. Keep lr > 0 and small (≲ 0.05) for the descent law. */
  hyper?: FC.Arbitrary<H>;
  /** Storage dtype of the parameter and state; default float64. */
  dtype?: FloatDType;
  /** The same hyper-parameters without weight decay, for "zero gradient ⇒ no change" and descent; default unchanged. */
  withoutDecay?: (hyper: H) => H;
  /** "Sparse with every index ≡ dense" within this tolerance; default T64, 'bitwise' when both share one op order. */
  sparseMatchesDense?: Tolerance;
  /** For a rule with only a sparse update: the dense rule (and its hyper-parameters) its every-index steps must equal. */
  denseTwin?: { rule: AnyRule; hyper: (hyper: H) => Hyper };
  /** The sparse update is lazy: absent entries never change. Default true when the rule has one. */
  lazy?: boolean;
  /**
   * Claim invariance to the gradient scale (Adam family, sign methods): g and s·g give the
   * same trajectory for powers of two s, under `hyper(h)` (e.g. ε = 0 for exactness),
   * within `tolerance` (default 'bitwise').
   */
  scaleInvariant?: { hyper?: (hyper: H) => H; tolerance?: Tolerance };
}

/** One step's gradient: dense values, or the values at the entries where `mask` is set. */
interface GradStep {
  values: number[];
  mask: boolean[];
}
interface Problem {
  param: number[];
  steps: GradStep[];
}

const arbValue = fc.integer({ min: -8192, max: 8192 }).map((k) => k / 4096);
const arbProblem: FC.Arbitrary<Problem> = fc.integer({ min: 1, max: 8 }).chain((n) =>
  fc.record({
    param: fc.array(arbValue, { minLength: n, maxLength: n }),
    steps: fc.array(fc.record({ values: fc.array(arbValue, { minLength: n, maxLength: n }), mask: fc.array(fc.boolean(), { minLength: n, maxLength: n }) }), {
      minLength: 1,
      maxLength: 6,
    }),
  }),
);

/** The laws that apply to `rule`, by name. Pass each to `fc.assert`. */
export function optimizerLaws<H extends Hyper, S extends RuleState>(
  rule: Rule<H, S>,
  options: OptimizerLawOptions<H> = {},
): Record<string, FC.IProperty<unknown>> {
  const { hyper = fc.constant(rule.defaults as H), dtype = 'float64', withoutDecay = (h: H) => h } = options;
  const runner = new Runner(rule as unknown as Rule<Hyper, RuleState>, dtype);
  const laws: Record<string, FC.IProperty<unknown>> = {};
  const law = <T>(name: string, arb: FC.Arbitrary<T>, body: (t: T) => void) => (laws[name] = fc.property(arb, body) as FC.IProperty<unknown>);

  law('a zero gradient leaves the parameter unchanged (without decay)', fc.tuple(arbProblem, hyper), ([{ param, steps }, h]) => {
    const zeros = steps.map(({ mask }) => ({ values: mask.map(() => 0), mask: mask.map(() => true) }));
    for (const kind of runner.kinds)
      assertClose(runner.run(withoutDecay(h), param, zeros, kind).param, runner.floats(param), 'bitwise', `zero gradient, ${kind}`);
  });

  const twin = rule.dense
    ? { runner, hyper: (h: H) => h as Hyper }
    : options.denseTwin && { runner: new Runner(options.denseTwin.rule, dtype), hyper: options.denseTwin.hyper };
  if (rule.sparse && twin) {
    law('a sparse gradient with every index present equals the dense gradient', fc.tuple(arbProblem, hyper), ([{ param, steps }, h]) => {
      const all = steps.map(({ values }) => ({ values, mask: values.map(() => true) }));
      const sparse = runner.run(h, param, all, 'sparse');
      const dense = twin.runner.run(twin.hyper(h), param, all, 'dense');
      const tol = options.sparseMatchesDense ?? T64;
      assertClose(sparse.param, dense.param, tol, 'parameter');
      for (const [key, buf] of Object.entries(sparse.state)) {
        const other = dense.state[key];
        if (buf && other && buf.length === other.length) assertClose(buf, other, tol, `state ${key}`);
      }
    });
  }

  if (rule.sparse && options.lazy !== false) {
    law('entries absent from every sparse gradient never change', fc.tuple(arbProblem, hyper), ([{ param, steps }, h]) => {
      const { param: p, state } = runner.run(h, param, steps, 'sparse');
      const fresh = rule.init(param.length, dtype, h) as RuleState;
      for (let i = 0; i < param.length; i++) {
        if (steps.some((s) => s.mask[i])) continue;
        assertClose(p[i]!, runner.floats(param)[i]!, 'bitwise', `parameter entry ${i}`);
        for (const [key, buf] of Object.entries(state))
          if (buf?.length === param.length) assertClose(buf[i]!, fresh[key]![i]!, 'bitwise', `state ${key} entry ${i}`);
      }
    });
  }

  law('a state dict round trip continues identically', fc.tuple(arbProblem, hyper, fc.nat()), ([{ param, steps }, h, cut]) => {
    const k = cut % (steps.length + 1);
    const a = runner.optimizer(h, param);
    steps.slice(0, k).forEach((s) => runner.step(a, s));
    const b = runner.optimizer(rule.defaults as H, Array.from(a.param.data));
    b.opt.loadStateDict(a.opt.stateDict());
    for (const s of steps.slice(k)) [a, b].forEach((o) => runner.step(o, s));
    assertClose(b.param, a.param, 'bitwise', 'parameter after resuming');
    const [sa, sb] = [a.opt.stateDict(), b.opt.stateDict()];
    if (JSON.stringify(Object.keys(sa.state)) !== JSON.stringify(Object.keys(sb.state))) throw new Error('resumed optimizer has state for other parameters');
    for (const [key, value] of Object.entries(sa.state['0'] ?? {})) {
      const other = sb.state['0']![key]!;
      if (value instanceof Tensor && other instanceof Tensor) assertClose(other, value, 'bitwise', `state ${key} after resuming`);
      else if (!Object.is(value, other)) throw new Error(`state ${key} after resuming: ${String(other)}, expected ${String(value)}`);
    }
  });

  law('the same seed gives the same trajectory', fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), hyper), ([seed, h]) => {
    const trajectory = () => {
      const g = new Generator(seed);
      const n = g.integer(1, 9);
      const steps = Array.from({ length: g.integer(1, 7) }, () => ({
        values: Array.from({ length: n }, () => g.normal()),
        mask: Array.from({ length: n }, () => g.uniform() < 0.5),
      }));
      return runner.run(
        h,
        Array.from({ length: n }, () => g.normal()),
        steps,
        runner.kinds.at(-1)!,
      ).param;
    };
    assertClose(trajectory(), trajectory(), 'bitwise', 'same seed');
  });

  law('it descends on random convex quadratics (without decay)', fc.tuple(quadratic(), hyper), ([q, h]) => {
    const x = runner.floats(q.start);
    const state = rule.init(x.length, dtype, withoutDecay(h)) as RuleState;
    for (let t = 1; t <= 20; t++) runner.apply(x, { values: q.grad(x), mask: q.start.map(() => true) }, state, withoutDecay(h), t, runner.kinds[0]!);
    if (!(q.f(x) < q.f(q.start))) throw new Error(`no descent in 20 steps: f went from ${q.f(q.start)} to ${q.f(x)}`);
  });

  if (options.scaleInvariant) {
    const { hyper: invariantHyper = (h: H) => h, tolerance = 'bitwise' } = options.scaleInvariant;
    law('it is invariant to the gradient scale', fc.tuple(arbProblem, hyper, fc.integer({ min: -4, max: 4 })), ([{ param, steps }, h, power]) => {
      const scaled = steps.map((s) => ({ ...s, values: s.values.map((v) => v * 2 ** power) }));
      const kind = runner.kinds[0]!;
      assertClose(
        runner.run(invariantHyper(h), param, scaled, kind).param,
        runner.run(invariantHyper(h), param, steps, kind).param,
        tolerance,
        `gradient scaled by 2^${power}`,
      );
    });
  }
  return laws;
}

type Kind = 'dense' | 'sparse';

/** Runs a rule directly (pure functions on typed arrays) or through an `Optimizer`. */
class Runner {
  /** The gradient kinds the rule takes. */
  readonly kinds: Kind[];
  constructor(
    readonly rule: Rule<Hyper, RuleState>,
    readonly dtype: FloatDType,
  ) {
    this.kinds = [...(rule.dense ? ['dense' as const] : []), ...(rule.sparse ? ['sparse' as const] : [])];
  }

  floats(values: readonly number[]): FloatStorage {
    const out = allocate(this.dtype, values.length) as FloatStorage;
    out.set(values);
    return out;
  }

  /** One step: dense values, or the masked entries as a sparse gradient. */
  apply(p: FloatStorage, { values, mask }: GradStep, state: RuleState, hyper: Hyper, step: number, kind: Kind): void {
    if (kind === 'dense') return this.rule.dense!(p, this.floats(values), state, hyper, step);
    const indices = Int32Array.from(mask.flatMap((on, i) => (on ? [i] : [])));
    this.rule.sparse!(p, indices, this.floats(Array.from(indices, (i) => values[i]!)), state, hyper, step);
  }

  run(hyper: Hyper, param: readonly number[], steps: readonly GradStep[], kind: Kind): { param: FloatStorage; state: RuleState } {
    const p = this.floats(param);
    const state = this.rule.init(p.length, this.dtype, hyper);
    steps.forEach((s, t) => this.apply(p, s, state, hyper, t + 1, kind));
    return { param: p, state };
  }

  /** A one-parameter optimizer over a fresh leaf tensor with these values. */
  optimizer(hyper: Hyper, values: readonly number[]): { opt: Optimizer; param: Tensor } {
    const param = Tensor.fromStorage(this.floats(values), [values.length]).setRequiresGrad();
    return { opt: new Optimizer([param], { ...hyper, rule: this.rule }), param };
  }

  /** Set the gradient (sparse when the rule has a sparse update) and step. */
  step({ opt, param }: { opt: Optimizer; param: Tensor }, s: GradStep): void {
    const dense = Tensor.fromStorage(this.floats(s.values), [s.values.length]);
    param.grad = this.rule.sparse
      ? SparseCoo.gather(dense.shape, dense.data as FloatStorage, Int32Array.from(s.mask.flatMap((on, i) => (on ? [i] : []))))
      : dense;
    opt.step();
  }
}

/** f(x) = ½Σ aᵢ(xᵢ − cᵢ)² + ½ρ(u·(x − c))², aᵢ ∈ [½, 2], ρ ∈ [0, 1]; the start is ½ to 1½ from c in every coordinate. */
function quadratic() {
  return fc.integer({ min: 1, max: 6 }).chain((n) => {
    const vec = <T>(arb: FC.Arbitrary<T>) => fc.array(arb, { minLength: n, maxLength: n });
    return fc
      .record({
        a: vec(fc.double({ min: 0.5, max: 2, noNaN: true })),
        c: vec(arbValue),
        u: vec(arbValue),
        rho: fc.double({ min: 0, max: 1, noNaN: true }),
        offset: vec(fc.integer({ min: 2048, max: 6144 })),
        sign: vec(fc.boolean()),
      })
      .map(({ a, c, u, rho, offset, sign }) => {
        const start = c.map((ci, i) => ci + ((sign[i] ? 1 : -1) * offset[i]!) / 4096);
        const norm = Math.hypot(...u) || 1;
        const unit = u.map((ui) => ui / norm);
        const along = (x: ArrayLike<number>) => unit.reduce((s, ui, i) => s + ui * (x[i]! - c[i]!), 0);
        return {
          start,
          f: (x: ArrayLike<number>) => 0.5 * a.reduce((s, ai, i) => s + ai * (x[i]! - c[i]!) ** 2, 0) + 0.5 * rho * along(x) ** 2,
          grad: (x: ArrayLike<number>) => a.map((ai, i) => ai * (x[i]! - c[i]!) + rho * unit[i]! * along(x)),
        };
      });
  });
}
