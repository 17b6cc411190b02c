/**
 * Closeness assertions: is a computed tensor close enough to its reference?
 *
 * The rules are docs/TESTING.md §1. Shape is checked first, then dtype, then elements.
 * Non-finite values compare by identity only — NaN matches NaN, +Inf matches +Inf,
 * −Inf matches −Inf, nothing else — because a tolerance that lets NaN "equal" Inf
 * (as tfjs's `areClose` does) hides exactly the bugs we look for. −0 equals +0
 * except in bitwise mode.
 */
import { Tensor, type DType } from '../../index.ts';

/**
 * An elementwise bound `|a − r| ≤ atol' + rtol·|r|`, where `atol' = atol`, or
 * `atol · max|r|` over the finite expected values when `atolRelativeToMax` is set
 * (T32's per-tensor rule: float32 error scales with the tensor's magnitude).
 */
export interface Bound {
  readonly atol: number;
  readonly rtol: number;
  readonly atolRelativeToMax?: boolean;
  /** Shown in failure messages; custom bounds may leave it out. */
  readonly name?: string;
}

/** A bound, or `'bitwise'`: `Object.is` per element (so −0 ≠ +0, NaN = NaN). */
export type Tolerance = Bound | 'bitwise';

/** For float64 paths and gradcheck (torch's gradcheck defaults): `|a − r| ≤ 1e-5 + 1e-3·|r|`. */
export const T64: Bound = Object.freeze({ name: 'T64', atol: 1e-5, rtol: 1e-3 });

/** For float32 results against a float64 reference: `|a − r| ≤ 1e-5·max|r| + 1e-4·|r|`. */
export const T32: Bound = Object.freeze({ name: 'T32', atol: 1e-5, rtol: 1e-4, atolRelativeToMax: true });

/**
 * What can be compared: a Tensor, or plain numbers — an array or typed array (shape
 * `[length]`) or a single number (shape `[]`).
 */
export type Comparable = Tensor | ArrayLike<number> | number;

/**
 * A comparable flattened to row-major float64 values. Only a Tensor has a dtype; plain
 * numbers have `dtype: null`, which skips the dtype check (they state no dtype).
 */
export interface Values {
  readonly shape: readonly number[];
  readonly dtype: DType | null;
  readonly values: Float64Array;
}

/**
 * Normalise any comparable to shape, dtype and row-major float64 values (a fresh copy).
 * A tensor whose `toTypedArray()` does not give `numel` values is an error, so that a
 * broken read can never make a comparison pass over missing elements.
 */
export function asValues(x: Comparable): Values {
  if (x instanceof Tensor) {
    const values = Float64Array.from(x.toTypedArray());
    if (values.length !== x.numel) {
      throw new Error(`asValues(): a tensor of shape ${formatShape(x.shape)} gave ${values.length} values from toTypedArray(), expected ${x.numel}`);
    }
    return { shape: x.shape, dtype: x.dtype, values };
  }
  if (typeof x === 'number') return { shape: [], dtype: null, values: Float64Array.of(x) };
  return { shape: [x.length], dtype: null, values: Float64Array.from(x) };
}

/** Options of `compare` and `assertClose`. */
export interface CloseOptions {
  /** Names the op or quantity in the message. */
  label?: string;
  /** Compare values only, e.g. a float32 result against a float64 reference. */
  ignoreDType?: boolean;
}

/**
 * Compare `actual` with `expected` under `tol`. Returns `ok` and, on failure, a message
 * naming the label, the first differing element (flat index and multi-index), both
 * values, the bound and how many elements differ; the message is `''` when ok.
 */
export function compare(actual: Comparable, expected: Comparable, tol: Tolerance, options: CloseOptions = {}): { ok: boolean; message: string } {
  const label = options.label ?? 'compare';
  const a = asValues(actual);
  const e = asValues(expected);
  if (!sameShape(a.shape, e.shape)) {
    return { ok: false, message: `${label}: shape mismatch: actual ${formatShape(a.shape)}, expected ${formatShape(e.shape)}` };
  }
  if (!options.ignoreDType && a.dtype !== null && e.dtype !== null && a.dtype !== e.dtype) {
    return { ok: false, message: `${label}: dtype mismatch: actual ${a.dtype}, expected ${e.dtype} (pass ignoreDType: true to compare values only)` };
  }
  const accept = elementTest(tol, e.values);
  let first = -1;
  let count = 0;
  for (let i = 0; i < e.values.length; i++) {
    if (accept(a.values[i]!, e.values[i]!)) continue;
    if (first < 0) first = i;
    count++;
  }
  if (first < 0) return { ok: true, message: '' };
  const av = a.values[first]!;
  const ev = e.values[first]!;
  return {
    ok: false,
    message:
      `${label}: element ${first} ${formatShape(unravel(first, e.shape))} differs: actual ${formatNumber(av)}, expected ${formatNumber(ev)}; ` +
      `${explain(tol, av, ev, e.values)}; ${count} of ${e.values.length} elements differ`,
  };
}

/** Throw an Error with `compare`'s message unless `actual` is close to `expected`. A string option is the label. */
export function assertClose(actual: Comparable, expected: Comparable, tol: Tolerance, options: string | CloseOptions = {}): void {
  const opts = typeof options === 'string' ? { label: options } : options;
  const { ok, message } = compare(actual, expected, tol, { label: 'assertClose', ...opts });
  if (!ok) throw new Error(message);
}

/** The per-element predicate of a tolerance, with T32's max|r| computed once per tensor. */
function elementTest(tol: Tolerance, expected: Float64Array): (a: number, r: number) => boolean {
  if (tol === 'bitwise') return Object.is;
  const atol = effectiveAtol(tol, expected);
  return (a, r) => (Number.isFinite(a) && Number.isFinite(r) ? Math.abs(a - r) <= atol + tol.rtol * Math.abs(r) : Object.is(a, r));
}

function effectiveAtol(tol: Bound, expected: Float64Array): number {
  if (!(tol.atol >= 0 && tol.rtol >= 0 && Number.isFinite(tol.atol) && Number.isFinite(tol.rtol))) {
    throw new RangeError(`tolerance: atol and rtol must be finite and non-negative, got atol ${tol.atol}, rtol ${tol.rtol}`);
  }
  if (!tol.atolRelativeToMax) return tol.atol;
  let max = 0;
  for (const r of expected) if (Number.isFinite(r)) max = Math.max(max, Math.abs(r));
  return tol.atol * max;
}

/** Why one element failed, with the bound it broke. */
function explain(tol: Tolerance, a: number, r: number, expected: Float64Array): string {
  if (tol === 'bitwise') return 'tolerance bitwise (Object.is per element)';
  const rule = `${tol.name ?? 'custom'}: |a − r| ≤ ${tol.atol}${tol.atolRelativeToMax ? '·max|r|' : ''} + ${tol.rtol}·|r|`;
  if (!Number.isFinite(a) || !Number.isFinite(r)) return `non-finite values must be identical (${rule})`;
  const bound = effectiveAtol(tol, expected) + tol.rtol * Math.abs(r);
  return `|a − r| = ${Math.abs(a - r)} > bound ${bound} (${rule})`;
}

/** Equal shapes (kit-internal, shared with gradcheck). */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `[2, 3]`, as in the engine's messages (kit-internal, shared with gradcheck). */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** −0 printed as such: the difference matters in bitwise mode. */
function formatNumber(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/** Row-major flat index → multi-index. */
function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = flat % shape[axis]!;
    flat = Math.floor(flat / shape[axis]!);
  }
  return index;
}
