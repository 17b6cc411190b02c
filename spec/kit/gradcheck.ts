/**
 * gradcheck: does an op's backward match its forward? (docs/TESTING.md §2, after torch's
 * `torch/autograd/gradcheck.py`.)
 *
 * The numeric Jacobian comes from central differences in float64; the analytic one from
 * the engine's VJPs (`grad` with one-hot gradOutputs). Full mode compares every entry;
 * fast mode compares one random projection `vᵀ J u`, which costs two forwards and one
 * backward whatever the sizes, for blocks too big for a full Jacobian.
 */
import { DTypeError, Generator, grad, noGrad, SparseCoo, Tensor } from '../../index.ts';
import { asValues, assertClose, formatShape, sameShape, T64, type Bound, type Tolerance } from './close.ts';

/** The function under test: float64 tensors in, one tensor out. */
export type GradcheckFn = (...inputs: Tensor[]) => Tensor;

export interface GradcheckOptions {
  /** `'full'` (default): every Jacobian entry. `'fast'`: one random projection `vᵀ J u`. */
  mode?: 'full' | 'fast';
  /** Finite-difference step; default 1e-6. */
  eps?: number;
  /** Entries must satisfy `|analytic − numeric| ≤ atol + rtol·|numeric|`; default T64 (1e-5, 1e-3). */
  atol?: number;
  /** See `atol`. */
  rtol?: number;
  /** Indices of inputs passed to `fn` unchanged and not differentiated (integer indices, masks, ...). */
  nondifferentiable?: readonly number[];
  /** Accept inputs the output does not depend on; their analytic gradient counts as zero. */
  allowUnused?: boolean;
  /** Seeds the random directions (fast mode) and the gradOutput of the extra checks; default 0. */
  seed?: number;
  /** Each analytic gradient has its input's shape and dtype float64. Default true. */
  checkGradShapes?: boolean;
  /** A second backward through the same graph gives bitwise-equal gradients. Default true. */
  checkReentrant?: boolean;
  /** A zero gradOutput gives exactly zero gradients. Default true. */
  checkZeroGradOutput?: boolean;
  /** grad(2·v) = 2·grad(v) within the tolerance. Default true. */
  checkLinearity?: boolean;
  /** Perturbed inputs give an output of the same shape. Default true. */
  checkOutputShape?: boolean;
}

/**
 * What full mode computed. Entry j is the Jacobian for input j, shape
 * `[output.numel, input_j.numel]` (row-major flat indices), or null for a
 * nondifferentiable input.
 */
export interface JacobianReport {
  numericJacobian: (Tensor | null)[];
  analyticJacobian: (Tensor | null)[];
}

/** What fast mode computed: `vᵀ(J u)` by central difference and `(Jᵀ v)·u` from one VJP. */
export interface DirectionalReport {
  numeric: number;
  analytic: number;
}

/**
 * Check `fn`'s gradients at `inputs` (float64 tensors; other dtypes are an error unless
 * listed in `nondifferentiable`). `fn` receives fresh leaves that require grad, sharing
 * the inputs' values and layout. Throws an Error naming the failed check; a Jacobian
 * mismatch reads "Jacobian mismatch for output 0 with respect to input j" with the
 * entry `[r, c]` (output element r, input element c) and both values. Returns what it
 * compared, so a test can inspect the Jacobians.
 */
export function gradcheck(fn: GradcheckFn, inputs: readonly Tensor[], options?: GradcheckOptions & { mode?: 'full' }): JacobianReport;
export function gradcheck(fn: GradcheckFn, inputs: readonly Tensor[], options: GradcheckOptions & { mode: 'fast' }): DirectionalReport;
export function gradcheck(fn: GradcheckFn, inputs: readonly Tensor[], options: GradcheckOptions = {}): JacobianReport | DirectionalReport {
  const problem = setUp(fn, inputs, options);
  runExtraChecks(problem, options);
  return options.mode === 'fast' ? fastCheck(problem) : fullCheck(problem);
}

/** Everything both modes share: the recorded output, a VJP and a perturbed forward. */
interface Problem {
  /** Indices of the differentiated inputs. */
  readonly wrt: readonly number[];
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly tol: Bound;
  readonly eps: number;
  readonly generator: Generator;
  /** Dense gradients of `vᵀ output` for each differentiated input (zeros where unused). */
  vjp(v: Tensor): Tensor[];
  /** `fn` without recording, the differentiated inputs replaced by these row-major values. */
  evaluate(values: readonly Float64Array[], what: string): Float64Array;
  /** Row-major values of the differentiated inputs (fresh copies). */
  baseValues(): Float64Array[];
}

function setUp(fn: GradcheckFn, inputs: readonly Tensor[], options: GradcheckOptions): Problem {
  const skip = new Set(options.nondifferentiable ?? []);
  const wrt = inputs.map((_, j) => j).filter((j) => !skip.has(j));
  for (const j of wrt) {
    if (inputs[j]!.dtype !== 'float64') {
      throw new DTypeError(
        `gradcheck(): input ${j} has dtype ${inputs[j]!.dtype}, but finite differences need float64; convert it with .double() or list it in nondifferentiable`,
      );
    }
  }
  const leaves = inputs.map((x, j) => (skip.has(j) ? x : x.detach().setRequiresGrad()));
  const output = fn(...leaves);
  if (!(output instanceof Tensor)) throw new TypeError('gradcheck(): fn must return one Tensor');
  if (output.dtype !== 'float64') throw new DTypeError(`gradcheck(): fn returned a ${output.dtype} output; compute in float64`);
  const wrtLeaves = wrt.map((j) => leaves[j]!);
  const checkShapes = options.checkGradShapes ?? true;
  const checkOutputShape = options.checkOutputShape ?? true;

  return {
    wrt,
    inputs,
    output,
    tol: options.atol === undefined && options.rtol === undefined ? T64 : { atol: options.atol ?? T64.atol, rtol: options.rtol ?? T64.rtol },
    eps: options.eps ?? 1e-6,
    generator: new Generator(options.seed ?? 0),
    vjp(v) {
      const grads = output.requiresGrad ? grad(output, wrtLeaves, { gradOutputs: [v], retainGraph: true, allowUnused: true }) : wrtLeaves.map(() => null);
      return grads.map((g, w) => {
        const j = wrt[w]!;
        const x = inputs[j]!;
        if (g === null) {
          if (!options.allowUnused) throw new Error(`gradcheck(): input ${j} was not used to compute the output; pass allowUnused: true if that is intended`);
          return Tensor.fromStorage(new Float64Array(x.numel), x.shape);
        }
        if (checkShapes && (!sameShape(g.shape, x.shape) || g.dtype !== 'float64')) {
          throw new Error(
            `gradcheck(): the gradient for input ${j} has shape ${formatShape(g.shape)} and dtype ${g.dtype}, but the input has shape ${formatShape(x.shape)} and dtype float64`,
          );
        }
        return g instanceof SparseCoo ? g.toDense() : g;
      });
    },
    evaluate(values, what) {
      const args = inputs.map((x) => x);
      wrt.forEach((j, w) => (args[j] = Tensor.fromStorage(values[w]!, inputs[j]!.shape)));
      const out = noGrad(() => fn(...args));
      if (checkOutputShape && !sameShape(out.shape, output.shape)) {
        throw new Error(`gradcheck(): the output shape changed from ${formatShape(output.shape)} to ${formatShape(out.shape)} when ${what}`);
      }
      return asValues(out).values;
    },
    baseValues: () => wrt.map((j) => asValues(inputs[j]!).values),
  };
}

/** Full mode: every entry of every Jacobian, numeric column by column, analytic row by row. */
function fullCheck(p: Problem): JacobianReport {
  const rows = p.output.numel;
  const base = p.baseValues();
  const numeric = base.map((x, w) => {
    const jac = new Float64Array(rows * x.length);
    for (let c = 0; c < x.length; c++) {
      const at = (delta: number) =>
        p.evaluate(
          base.map((b, k) => (k === w ? withEntry(b, c, b[c]! + delta) : b)),
          `input ${p.wrt[w]} element ${c} was perturbed`,
        );
      const plus = at(p.eps);
      const minus = at(-p.eps);
      for (let r = 0; r < rows; r++) jac[r * x.length + c] = (plus[r]! - minus[r]!) / (2 * p.eps);
    }
    return jac;
  });
  const analytic = base.map((x) => new Float64Array(rows * x.length));
  for (let r = 0; r < rows; r++) {
    const oneHot = new Float64Array(rows);
    oneHot[r] = 1;
    p.vjp(Tensor.fromStorage(oneHot, p.output.shape)).forEach((g, w) => analytic[w]!.set(asValues(g).values, r * base[w]!.length));
  }

  const report: JacobianReport = { numericJacobian: p.inputs.map(() => null), analyticJacobian: p.inputs.map(() => null) };
  p.wrt.forEach((j, w) => {
    const shape = [rows, base[w]!.length];
    const num = Tensor.fromStorage(numeric[w]!, shape);
    const ana = Tensor.fromStorage(analytic[w]!, shape);
    assertClose(
      ana,
      num,
      p.tol,
      `Jacobian mismatch for output 0 with respect to input ${j} (entry [r, c] is d output[r] / d input[c]; actual is analytic, expected numeric)`,
    );
    report.numericJacobian[j] = num;
    report.analyticJacobian[j] = ana;
  });
  return report;
}

/** Fast mode: `vᵀ(J u)` along one random unit direction u against `(Jᵀ v)·u`. */
function fastCheck(p: Problem): DirectionalReport {
  const base = p.baseValues();
  const u = unitNormal(
    p.generator,
    base.map((x) => x.length),
  );
  const v = unitNormal(p.generator, [p.output.numel])[0]!;
  const along = (t: number) =>
    p.evaluate(
      base.map((b, w) => b.map((x, i) => x + t * u[w]![i]!)),
      'the inputs were perturbed along u',
    );
  const plus = along(p.eps);
  const minus = along(-p.eps);
  const numeric = dot(
    v,
    plus.map((x, i) => (x - minus[i]!) / (2 * p.eps)),
  );
  const analytic = p.vjp(Tensor.fromStorage(v, p.output.shape)).reduce((s, g, w) => s + dot(asValues(g).values, u[w]!), 0);
  assertClose(
    analytic,
    numeric,
    p.tol,
    `Directional derivative mismatch in gradcheck fast mode (actual (Jᵀv)·u from the VJP, expected vᵀ(J u) by central difference; rerun with mode 'full' to locate the entry)`,
  );
  return { numeric, analytic };
}

/** Reentrancy, zero gradOutput and linearity, with one random gradOutput v. */
function runExtraChecks(p: Problem, options: GradcheckOptions): void {
  const n = p.output.numel;
  const v = unitNormal(p.generator, [n])[0]!;
  const first = p.vjp(Tensor.fromStorage(v, p.output.shape));
  const againstFirst = (grads: Tensor[], expect: (g: Tensor) => Tensor, tol: Tolerance, what: string) =>
    grads.forEach((g, w) => assertClose(g, expect(first[w]!), tol, { label: `gradcheck(): ${what} for input ${p.wrt[w]}`, ignoreDType: true }));

  if (options.checkReentrant ?? true) {
    againstFirst(
      p.vjp(Tensor.fromStorage(v, p.output.shape)),
      (g) => g,
      'bitwise',
      'a second backward through the same graph gave a different gradient (not reentrant)',
    );
  }
  if (options.checkZeroGradOutput ?? true) {
    const zero = (g: Tensor) => Tensor.fromStorage(new Float64Array(g.numel), g.shape);
    againstFirst(
      p.vjp(Tensor.fromStorage(new Float64Array(n), p.output.shape)),
      zero,
      { name: 'exact zero', atol: 0, rtol: 0 },
      'a zero gradOutput gave a non-zero gradient',
    );
  }
  if (options.checkLinearity ?? true) {
    const twice = (g: Tensor) =>
      Tensor.fromStorage(
        asValues(g).values.map((x) => 2 * x),
        g.shape,
      );
    againstFirst(
      p.vjp(
        Tensor.fromStorage(
          v.map((x) => 2 * x),
          p.output.shape,
        ),
      ),
      twice,
      p.tol,
      'grad(2·v) differs from 2·grad(v) (not linear in gradOutput)',
    );
  }
}

/** Standard normal values for blocks of these lengths, scaled jointly to unit length (all zeros when empty). */
function unitNormal(generator: Generator, lengths: readonly number[]): Float64Array[] {
  const blocks = lengths.map((n) => Float64Array.from({ length: n }, () => generator.normal()));
  const norm = Math.sqrt(blocks.reduce((s, b) => s + dot(b, b), 0));
  return norm > 0 ? blocks.map((b) => b.map((x) => x / norm)) : blocks;
}

function withEntry(values: Float64Array, i: number, x: number): Float64Array {
  const copy = values.slice();
  copy[i] = x;
  return copy;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
