/**
 * The reference backend: every kernel as the plainest loop over indices. It is slow on
 * purpose — it is the oracle that the fast backends are property-tested against, so it
 * must be obviously right rather than quick.
 */
import { allocate, type FloatStorage, type Storage } from '../../base/dtype.ts';
import { contiguousStrides, type Shape } from '../../base/shape.ts';
import type { Backend } from '../backend.ts';
import { BINARY, REDUCE, UNARY } from '../scalar.ts';
import { hostStorage, hostView } from '../storage.ts';
import { forEachOffset, type View } from '../view.ts';

/** A view of contiguous storage `out` in `shape`, so outputs are indexed like inputs. */
function outView(out: Storage, shape: Shape): View {
  return { data: out, shape, strides: contiguousStrides(shape), offset: 0 };
}

/** The view with `axis` removed: iterating it visits every "row" along that axis once. */
function without(v: View, axis: number): View {
  return { ...v, shape: v.shape.filter((_, i) => i !== axis), strides: v.strides.filter((_, i) => i !== axis) };
}

function copy(x: View, out: Storage): void {
  let i = 0;
  forEachOffset(x.shape, [x], ([o]) => (out[i++] = x.data[o!]!));
}

export const referenceBackend: Backend = {
  name: 'reference',

  // Memory is the JS heap: outputs are plain typed arrays, views read them directly.
  allocate: (dtype, length) => hostStorage(allocate(dtype, length)),
  view: hostView,

  unary(op, x, out, p, q) {
    const f = UNARY[op].f;
    let i = 0;
    forEachOffset(x.shape, [x], ([o]) => (out[i++] = f(x.data[o!]!, p, q)));
  },

  unaryBackward(op, x, g, out, p, q) {
    const df = UNARY[op].df;
    let i = 0;
    forEachOffset(x.shape, [x, g], ([ox, og]) => (out[i++] = g.data[og!]! * df(x.data[ox!]!, p, q)));
  },

  binary(op, a, b, out) {
    const f = BINARY[op];
    let i = 0;
    forEachOffset(a.shape, [a, b], ([oa, ob]) => (out[i++] = f(a.data[oa!]!, b.data[ob!]!)));
  },

  where(cond, a, b, out) {
    let i = 0;
    forEachOffset(a.shape, [cond, a, b], ([oc, oa, ob]) => (out[i++] = cond.data[oc!] ? a.data[oa!]! : b.data[ob!]!));
  },

  reduce(op, x, axes, out) {
    const { init, combine } = REDUCE[op];
    const keptAxes = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const kept = { ...x, shape: keptAxes.map((i) => x.shape[i]!), strides: keptAxes.map((i) => x.strides[i]!) };
    const reduced = { ...x, shape: axes.map((i) => x.shape[i]!), strides: axes.map((i) => x.strides[i]!) };
    let i = 0;
    forEachOffset(kept.shape, [kept], ([start]) => {
      let acc = init;
      forEachOffset(reduced.shape, [{ ...reduced, offset: start! }], ([o]) => (acc = combine(acc, x.data[o!]!)));
      out[i++] = acc;
    });
  },

  argReduce(op, x, axis, values, indices) {
    const better = op === 'max' ? (v: number, best: number) => v > best : (v: number, best: number) => v < best;
    let i = 0;
    forEachOffset(without(x, axis).shape, [without(x, axis)], ([start]) => {
      let best = NaN;
      let bestIndex = 0;
      for (let j = 0; j < x.shape[axis]!; j++) {
        const v = x.data[start! + j * x.strides[axis]!]!;
        // biome-ignore lint/suspicious/noSelfCompare: the NaN test, spelled out in the oracle's loop
        if (v !== v) {
          best = v;
          bestIndex = j;
          break;
        } // NaN wins, as in torch
        if (j === 0 || better(v, best)) {
          best = v;
          bestIndex = j;
        }
      }
      values[i] = best;
      indices[i++] = bestIndex;
    });
  },

  /**
   * Batched matmul as the definition reads: for each batch position (an odometer over the
   * batch axes), out[i, j] = Σ_p a[i, p]·b[p, j], every element found through its strides,
   * summed in a double. No layout planning and no packing, so a fast backend's planner
   * (kernels/cpu/matmul-plan.ts) is checked against arithmetic that shares none of it.
   */
  matmul(a, b, out) {
    const r = a.shape.length;
    const [m, k, n] = [a.shape[r - 2]!, a.shape[r - 1]!, b.shape[r - 1]!];
    const [aRow, aCol, bRow, bCol] = [a.strides[r - 2]!, a.strides[r - 1]!, b.strides[r - 2]!, b.strides[r - 1]!];
    const batch = a.shape.slice(0, r - 2);
    const batchOf = (v: View): View => ({ ...v, shape: batch, strides: v.strides.slice(0, r - 2) });
    let c = 0;
    forEachOffset(batch, [batchOf(a), batchOf(b)], ([aStart, bStart]) => {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += a.data[aStart! + i * aRow + p * aCol]! * b.data[bStart! + p * bRow + j * bCol]!;
          out[c++] = sum;
        }
      }
    });
  },

  copy,

  gather(x, axis, index, out) {
    let i = 0;
    // Walk the index; the source position is the same except along `axis`, where the index value goes.
    forEachOffset(index.shape, [index, { ...x, shape: index.shape, strides: x.strides.map((s, d) => (d === axis ? 0 : s)) }], ([oi, ox]) => {
      out[i++] = x.data[ox! + index.data[oi!]! * x.strides[axis]!]!;
    });
  },

  scatterAdd(target, targetShape, axis, index, src) {
    const t = outView(target, targetShape);
    const tStrides = t.strides.map((s, d) => (d === axis ? 0 : s));
    forEachOffset(index.shape, [index, src, { ...t, shape: index.shape, strides: tStrides }], ([oi, os, ot]) => {
      target[ot! + index.data[oi!]! * t.strides[axis]!]! += src.data[os!]!;
    });
  },

  normalize(x, eps, centered, out, rstd) {
    const axis = x.shape.length - 1;
    const len = x.shape[axis]!;
    let row = 0;
    forEachOffset(without(x, axis).shape, [without(x, axis)], ([start]) => {
      const at = (j: number) => x.data[start! + j * x.strides[axis]!]!;
      let mean = 0;
      if (centered) for (let j = 0; j < len; j++) mean += at(j) / len;
      let meanSquare = 0;
      for (let j = 0; j < len; j++) meanSquare += (at(j) - mean) ** 2 / len;
      const r = 1 / Math.sqrt(meanSquare + eps);
      for (let j = 0; j < len; j++) out[row * len + j] = (at(j) - mean) * r;
      rstd[row++] = r;
    });
  },

  combine(x, y, a, b, c, out) {
    let i = 0;
    forEachOffset(x.shape, [x, y, a, b, c], ([ox, oy, oa, ob, oc]) => {
      out[i++] = a.data[oa!]! * x.data[ox!]! + b.data[ob!]! * y.data[oy!]! + c.data[oc!]!;
    });
  },

  softmax(x, out, log) {
    const axis = x.shape.length - 1;
    const len = x.shape[axis]!;
    const stride = x.strides[axis]!;
    let row = 0;
    forEachOffset(without(x, axis).shape, [without(x, axis)], ([start]) => {
      const at = (j: number) => x.data[start! + j * stride]!;
      let max = -Infinity;
      for (let j = 0; j < len; j++) max = Math.max(max, at(j));
      let total = 0;
      for (let j = 0; j < len; j++) total += Math.exp(at(j) - max);
      for (let j = 0; j < len; j++) {
        (out as FloatStorage)[row * len + j] = log ? at(j) - max - Math.log(total) : Math.exp(at(j) - max) / total;
      }
      row++;
    });
  },
};
