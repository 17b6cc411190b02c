/**
 * Naive forward references for the op table, written independently of the engine's
 * kernels: plain index arithmetic over row-major float64 values. Slow and obvious.
 */
import { Tensor } from '../index.ts';

export interface Dense {
  shape: number[];
  values: number[];
}

export const dense = (t: Tensor): Dense => ({ shape: [...t.shape], values: Array.from(t.toTypedArray() as ArrayLike<number>) });

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** All multi-indices of a shape in row-major order. */
export function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const n = size(shape);
  for (let flat = 0; flat < n; flat++) {
    const idx: number[] = [];
    let rest = flat;
    for (let a = shape.length - 1; a >= 0; a--) {
      idx.unshift(rest % shape[a]!);
      rest = Math.floor(rest / shape[a]!);
    }
    out.push(idx);
  }
  return out;
}

export function at(d: Dense, idx: readonly number[]): number {
  let flat = 0;
  for (let a = 0; a < d.shape.length; a++) flat = flat * d.shape[a]! + idx[a]!;
  return d.values[flat]!;
}

/** NumPy broadcasting, restated: align right, sizes equal or 1. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    return x === 1 ? y : x;
  });
}

/** The element of `d` that a broadcast result index reads. */
export function atBroadcast(d: Dense, idx: readonly number[]): number {
  const lead = idx.length - d.shape.length;
  return at(d, d.shape.map((s, a) => (s === 1 ? 0 : idx[a + lead]!)));
}

export function map(d: Dense, f: (v: number) => number): Dense {
  return { shape: d.shape, values: d.values.map(f) };
}

export function zip(a: Dense, b: Dense, f: (x: number, y: number) => number): Dense {
  const shape = broadcastShape(a.shape, b.shape);
  return { shape, values: indices(shape).map((i) => f(atBroadcast(a, i), atBroadcast(b, i))) };
}

/** Reduce the listed axes (sorted, non-negative) with `f` over the list of values. */
export function reduce(d: Dense, axes: readonly number[], keepdim: boolean, f: (vs: number[]) => number): Dense {
  const outShape = d.shape.map((s, a) => (axes.includes(a) ? 1 : s));
  const groups = new Map<string, number[]>();
  for (const i of indices(d.shape)) {
    const key = i.map((v, a) => (axes.includes(a) ? 0 : v)).join(',');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(at(d, i));
  }
  const values = indices(outShape).map((i) => f(groups.get(i.join(',')) ?? []));
  return { shape: keepdim ? outShape : d.shape.filter((_, a) => !axes.includes(a)), values };
}

export function matmul(a: Dense, b: Dense): Dense {
  const va = a.shape.length === 1 ? { shape: [1, a.shape[0]!], values: a.values } : a;
  const vb = b.shape.length === 1 ? { shape: [b.shape[0]!, 1], values: b.values } : b;
  const [m, k] = va.shape.slice(-2) as [number, number];
  const n = vb.shape[vb.shape.length - 1]!;
  const batch = broadcastShape(va.shape.slice(0, -2), vb.shape.slice(0, -2));
  const shape = [...batch, m, n];
  const values = indices(shape).map((i) => {
    const bi = i.slice(0, -2);
    let s = 0;
    for (let p = 0; p < k; p++) s += atBroadcast(va, [...bi, i.at(-2)!, p]) * atBroadcast(vb, [...bi, p, i.at(-1)!]);
    return s;
  });
  let outShape = shape;
  if (a.shape.length === 1) outShape = outShape.filter((_, ax) => ax !== outShape.length - 2);
  if (b.shape.length === 1) outShape = outShape.slice(0, -1);
  return { shape: outShape, values };
}

/** Normalise possibly negative axes. */
export const axisOf = (a: number, rank: number) => (a < 0 ? a + Math.max(rank, 1) : a);
