/**
 * Shape arithmetic shared by every op and every backend: strides, broadcasting
 * (exactly NumPy's rule) and axis normalisation. Nothing here touches data.
 */
import { IndexError, ShapeError, ValueError } from './errors.ts';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides: the last axis moves fastest. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  if (shape.includes(0)) return true; // nothing to walk: any strides will do
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    // Size-1 axes may carry any stride: they are never stepped along.
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i]!;
  }
  return true;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * NumPy broadcasting: align from the right; each pair of sizes must be equal or
 * one of them 1. The message is torch's, so users recognise it.
 */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `The size of tensor a (${da}) must match the size of tensor b (${db}) at non-singleton dimension ${i}`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides that read `shape`'s data as if it had shape `target`: broadcast axes get
 * stride 0, so one element is seen many times without being copied.
 */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const lead = target.length - shape.length;
  return target.map((d, i) => {
    if (i < lead) return 0;
    const own = shape[i - lead]!;
    if (own === d) return strides[i - lead]!;
    if (own === 1) return 0;
    throw new ShapeError(`The expanded size of the tensor (${d}) must match the existing size (${own}) at non-singleton dimension ${i}.  Target sizes: ${formatShape(target)}.  Tensor sizes: ${formatShape(shape)}`);
  });
}

/** Accepts negative axes as Python does; the message is torch's. */
export function normalizeAxis(axis: number, rank: number, op = 'dim'): number {
  const lo = -Math.max(rank, 1);
  const hi = Math.max(rank, 1) - 1;
  if (!Number.isInteger(axis) || axis < lo || axis > hi) {
    throw new IndexError(`${op}: Dimension out of range (expected to be in range of [${lo}, ${hi}], but got ${axis})`);
  }
  return axis < 0 ? axis + Math.max(rank, 1) : axis;
}

/** Normalise a list of axes (undefined = all), sorted and de-duplicated checked. */
export function normalizeAxes(axes: number | readonly number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(a, rank, op));
  if (rank === 0) return [];
  if (new Set(out).size !== out.length) throw new ValueError(`${op}: dim ${out.join(', ')} appears multiple times in the list of dims`);
  return out.sort((x, y) => x - y);
}

/** Validate a user-given shape: non-negative integers, at most one -1 (inferred). */
export function resolveShape(op: string, shape: Shape, size: number): number[] {
  let infer = -1;
  let known = 1;
  shape.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw new ShapeError(`${op}: only one dimension can be inferred`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: invalid shape dimension ${d} in ${formatShape(shape)}`);
    } else known *= d;
  });
  const out = [...shape];
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) throw new ShapeError(`shape '${formatShape(shape)}' is invalid for input of size ${size}`);
    out[infer] = size / known;
  }
  if (numel(out) !== size) throw new ShapeError(`shape '${formatShape(shape)}' is invalid for input of size ${size}`);
  return out;
}
