/**
 * Shape arithmetic shared by every op and every backend: strides, broadcasting
 * (exactly NumPy's rule) and axis normalisation. Nothing here touches data.
 */
import { IndexError, ShapeError, ValueError } from './errors.ts';

export type Shape = readonly number[];

/**
 * The most elements one tensor may have (public, so callers can check first): 2^31 − 1, so
 * that every element has an int32 flat index (argmax, gather, sparse gradients store
 * int32 indices). Checked before anything is allocated, and on views too: a stride-0
 * `expand([2 ** 40])` allocates nothing, but a kernel reading it would loop for hours.
 */
export const MAX_NUMEL = 2 ** 31 - 1;

/**
 * Validate a user-given shape: an array of non-negative safe integers whose product is
 * at most MAX_NUMEL. Throws a ShapeError naming the op, the shape and the bad dimension.
 */
export function checkShape(op: string, shape: unknown, bytesPerElement?: number): asserts shape is Shape {
  if (!Array.isArray(shape)) throw new ShapeError(`${op}(): shape must be an array of non-negative integers, got ${describe(shape)}`);
  shape.forEach((d: unknown, i) => {
    // torch's wording for the common case, so its answers are found.
    if (typeof d === 'number' && Number.isSafeInteger(d) && d < 0)
      throw new ShapeError(`${op}(): Trying to create tensor with negative dimension ${d}: ${describe(shape)}`);
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new ShapeError(
        `${op}(): invalid shape ${describe(shape)}: dimension ${i} is ${describe(d)} (dimensions must be non-negative integers, at most 2^53 − 1)`,
      );
    }
  });
  checkNumel(op, shape as Shape, bytesPerElement);
}

/**
 * The element-count bound alone (for shapes already known to hold non-negative integers);
 * given the element size, the message also says how many bytes were asked for.
 */
export function checkNumel(op: string, shape: Shape, bytesPerElement?: number): void {
  const n = numel(shape);
  if (n > MAX_NUMEL) {
    const bytes =
      bytesPerElement === undefined ? '' : ` (${(n * bytesPerElement).toLocaleString('en-US')} bytes = ${((n * bytesPerElement) / 2 ** 30).toFixed(1)} GiB)`;
    throw new ShapeError(
      `${op}(): shape ${formatShape(shape)} has ${n} elements${bytes}, over the limit of ${MAX_NUMEL} elements per tensor (2^31 − 1: every element needs an int32 index)`,
    );
  }
}

/** A value as a message shows it: JSON where that is faithful, else String (NaN, -0, functions). */
function describe(x: unknown): string {
  if (typeof x === 'number') return Object.is(x, -0) ? '-0' : String(x);
  try {
    return JSON.stringify(x, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) ?? String(x);
  } catch {
    return String(x);
  }
}

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
 *
 * @example
 * ```ts
 * import { broadcastShapes } from 'sparsegrad';
 * broadcastShapes([2, 1, 3], [4, 1]); // => [2, 4, 3]
 * ```
 */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`The size of tensor a (${da}) must match the size of tensor b (${db}) at non-singleton dimension ${i}`);
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
    throw new ShapeError(
      `The expanded size of the tensor (${d}) must match the existing size (${own}) at non-singleton dimension ${i}.  Target sizes: ${formatShape(target)}.  Tensor sizes: ${formatShape(shape)}`,
    );
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
    } else if (!Number.isSafeInteger(d) || d < 0) {
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
