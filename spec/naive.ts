/**
 * Naive forward references for the op table, written independently of the engine's
 * kernels: plain index arithmetic over row-major float64 values. Slow and obvious.
 */
import type { Tensor } from '../index.ts';

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
  return at(
    d,
    d.shape.map((s, a) => (s === 1 ? 0 : idx[a + lead]!)),
  );
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

// ---- movement, indexing and the nn ops: the same index arithmetic, written out --------

/** The values of `d` at each index of `shape`, read through `source` (a multi-index of d, or null for `fill`). */
function remap(d: Dense, shape: readonly number[], source: (idx: number[]) => number[] | null, fill = 0): Dense {
  return {
    shape: [...shape],
    values: indices(shape).map((i) => {
      const j = source(i);
      return j === null ? fill : at(d, j);
    }),
  };
}

/** out[i] = x[i with the axes permuted back]: output axis k is input axis order[k]. */
export function permute(d: Dense, order: readonly number[]): Dense {
  return remap(
    d,
    order.map((a) => d.shape[a]!),
    (i) => {
      const j = new Array<number>(order.length);
      order.forEach((a, k) => (j[a] = i[k]!));
      return j;
    },
  );
}

export function transpose(d: Dense, a: number, b: number): Dense {
  const order = d.shape.map((_, i) => i);
  const [i, j] = [axisOf(a, d.shape.length), axisOf(b, d.shape.length)];
  [order[i], order[j]] = [order[j]!, order[i]!];
  return permute(d, order);
}

export function expand(d: Dense, shape: readonly number[]): Dense {
  return { shape: [...shape], values: indices(shape).map((i) => atBroadcast(d, i)) };
}

/** A reshape that keeps the row-major values: squeeze, unsqueeze, flatten. */
export const withShape = (d: Dense, shape: readonly number[]): Dense => ({ shape: [...shape], values: d.values });

/** Python's slice start:end:step (step ≥ 1) along `axis`, ends wrapped and clamped. */
export function slice(d: Dense, axis: number, start: number, end: number, step: number): Dense {
  const a = axisOf(axis, d.shape.length);
  const n = d.shape[a]!;
  const wrap = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const picked: number[] = [];
  for (let i = wrap(start); i < wrap(end); i += step) picked.push(i);
  return indexSelect(d, a, picked);
}

/** The entries `ids` along `axis` (any order, repeats allowed). */
export function indexSelect(d: Dense, axis: number, ids: readonly number[]): Dense {
  const a = axisOf(axis, d.shape.length);
  return remap(
    d,
    d.shape.map((s, i) => (i === a ? ids.length : s)),
    (i) => i.map((v, k) => (k === a ? ids[v]! : v)),
  );
}

/** Tensors joined along an existing axis. */
export function cat(ds: readonly Dense[], axis: number): Dense {
  const a = axisOf(axis, ds[0]!.shape.length);
  const shape = ds[0]!.shape.map((s, i) => (i === a ? ds.reduce((n, d) => n + d.shape[a]!, 0) : s));
  return {
    shape,
    values: indices(shape).map((i) => {
      let p = i[a]!;
      for (const d of ds) {
        if (p < d.shape[a]!)
          return at(
            d,
            i.map((v, k) => (k === a ? p : v)),
          );
        p -= d.shape[a]!;
      }
      throw new Error('naive cat: index past the end');
    }),
  };
}

/** Tensors of one shape joined along a new axis. */
export function stack(ds: readonly Dense[], axis: number): Dense {
  const rank = ds[0]!.shape.length + 1;
  const a = axis < 0 ? axis + rank : axis;
  const shape = [...ds[0]!.shape.slice(0, a), ds.length, ...ds[0]!.shape.slice(a)];
  return { shape, values: indices(shape).map((i) => at(ds[i[a]!]!, [...i.slice(0, a), ...i.slice(a + 1)])) };
}

/** out[i] = x[i with axis replaced by index[i]] (index has the output's shape). */
export function gather(d: Dense, axis: number, index: Dense): Dense {
  const a = axisOf(axis, d.shape.length);
  return remap(d, index.shape, (i) => i.map((v, k) => (k === a ? at(index, i) : v)));
}

/** out = x, then out[i with axis replaced by index[i]] += src[i] for every i of index's shape. */
export function scatterAdd(d: Dense, axis: number, index: Dense, src: Dense): Dense {
  const a = axisOf(axis, d.shape.length);
  const out = [...d.values];
  const flat = (j: number[]) => j.reduce((f, v, k) => f * d.shape[k]! + v, 0);
  for (const i of indices(index.shape)) out[flat(i.map((v, k) => (k === a ? at(index, i) : v)))]! += at(src, i);
  return { shape: d.shape, values: out };
}

/** `value` where the (broadcast) mask is true. */
export function maskedFill(d: Dense, mask: Dense, value: number): Dense {
  return { shape: d.shape, values: indices(d.shape).map((i) => (atBroadcast(mask, i) ? value : at(d, i))) };
}

/** Keep entries (…, r, c) with c − r ≤ k (lower) or ≥ k (upper); zero elsewhere. */
export function triangle(d: Dense, k: number, lower: boolean): Dense {
  return {
    shape: d.shape,
    values: indices(d.shape).map((i) => {
      const diff = i.at(-1)! - i.at(-2)!;
      return (lower ? diff <= k : diff >= k) ? at(d, i) : 0;
    }),
  };
}

/** Apply `f` to every line of `d` along `axis` (a list of values in, a list of the same length out). */
export function alongAxis(d: Dense, axis: number, f: (line: number[]) => number[]): Dense {
  const a = axisOf(axis, d.shape.length);
  const values = new Array<number>(d.values.length);
  const flat = (j: readonly number[]) => j.reduce((p, v, k) => p * d.shape[k]! + v, 0);
  if (d.shape.length === 0) return { shape: [], values: f([d.values[0]!]) };
  for (const i of indices(d.shape)) {
    if (i[a] !== 0) continue; // one visit per line, at its first element
    const line = Array.from({ length: d.shape[a]! }, (_, p) =>
      at(
        d,
        i.map((v, k) => (k === a ? p : v)),
      ),
    );
    f(line).forEach((v, p) => (values[flat(i.map((u, k) => (k === a ? p : u)))] = v));
  }
  return { shape: d.shape, values };
}

const lineMax = (xs: number[]) => Math.max(...xs);

/** exp(x − max) / Σ exp(x − max) along the axis. */
export const softmax = (d: Dense, axis: number) =>
  alongAxis(d, axis, (xs) => {
    const m = lineMax(xs);
    const e = xs.map((x) => Math.exp(x - m));
    const s = e.reduce((p, v) => p + v, 0);
    return e.map((v) => v / s);
  });

/** x − max − log Σ exp(x − max) along the axis. */
export const logSoftmax = (d: Dense, axis: number) =>
  alongAxis(d, axis, (xs) => {
    const m = lineMax(xs);
    const lse = m + Math.log(xs.reduce((p, x) => p + Math.exp(x - m), 0));
    return xs.map((x) => x - lse);
  });

/** Over the last axis: (x − mean) / √(biased var + eps) · w + b (b absent: RMSNorm's x / √(mean x² + eps) · w). */
export function normalizeLast(d: Dense, w: Dense, b: Dense | null, eps: number): Dense {
  const rms = b === null;
  return alongAxis(d, -1, (xs) => {
    const mean = rms ? 0 : xs.reduce((p, x) => p + x, 0) / xs.length;
    const second = xs.reduce((p, x) => p + (x - mean) ** 2, 0) / xs.length;
    const r = 1 / Math.sqrt(second + eps);
    return xs.map((x, j) => (x - mean) * r * w.values[j]! + (b ? b.values[j]! : 0));
  });
}

/** Rows of `w` picked by `ids`: shape [...ids.shape, dim]. */
export function embedding(w: Dense, ids: Dense): Dense {
  const dim = w.shape[1]!;
  return { shape: [...ids.shape, dim], values: ids.values.flatMap((id) => w.values.slice(id * dim, (id + 1) * dim)) };
}

export type Reduction = 'mean' | 'sum' | 'none';

/** torch's cross_entropy over rows of [n, c] logits; target −100 is ignored (0 in 'none', left out of the mean). */
export function crossEntropy(logits: Dense, target: Dense, reduction: Reduction): Dense {
  const [n, c] = logits.shape as [number, number];
  const losses = Array.from({ length: n }, (_, r) => {
    const t = target.values[r]!;
    if (t === -100) return null;
    const row = logits.values.slice(r * c, (r + 1) * c);
    const m = lineMax(row);
    return m + Math.log(row.reduce((p, x) => p + Math.exp(x - m), 0)) - row[t]!;
  });
  if (reduction === 'none') return { shape: [n], values: losses.map((l) => l ?? 0) };
  const kept = losses.filter((l): l is number => l !== null);
  const total = kept.reduce((p, l) => p + l, 0);
  return { shape: [], values: [reduction === 'sum' ? total : total / kept.length] };
}

/** (a − b)², mean / sum / none. */
export function mseLoss(a: Dense, b: Dense, reduction: Reduction): Dense {
  const sq = zip(a, b, (x, y) => (x - y) ** 2);
  if (reduction === 'none') return sq;
  const total = sq.values.reduce((p, v) => p + v, 0);
  return { shape: [], values: [reduction === 'sum' ? total : total / sq.values.length] };
}
