/**
 * A View is how every kernel sees a tensor: storage plus the arithmetic that maps an
 * index (i, j, …) to a storage position: offset + i·strides[0] + j·strides[1] + ….
 * Kernels take views, never Tensors, so backends stay independent of autograd.
 */
import type { Storage } from '../base/dtype.ts';
import type { Shape } from '../base/shape.ts';
import type { TensorStorage } from './storage.ts';

export interface View<S extends Storage = Storage> {
  readonly data: S;
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
  /**
   * The tensor storage behind `data`, set by a device backend's Backend.view: it finds
   * values that live on its device there without reading `data`, which for such storage is
   * a getter that downloads. CPU kernels ignore it.
   */
  readonly storage?: TensorStorage;
}

/**
 * Visit every index of `shape` in row-major order, passing the storage position of
 * that element in each of `views` (an odometer: bump the last axis, carry leftwards).
 * This is the readable form used by the reference kernels.
 */
export function forEachOffset(shape: Shape, views: readonly View[], visit: (offsets: number[]) => void): void {
  const rank = shape.length;
  if (shape.some((d) => d === 0)) return;
  const offsets = views.map((v) => v.offset);
  const index = new Array<number>(rank).fill(0);
  for (;;) {
    visit(offsets);
    let axis = rank - 1;
    for (; axis >= 0; axis--) {
      index[axis]!++;
      for (let v = 0; v < views.length; v++) offsets[v]! += views[v]!.strides[axis]!;
      if (index[axis]! < shape[axis]!) break;
      for (let v = 0; v < views.length; v++) offsets[v]! -= views[v]!.strides[axis]! * shape[axis]!;
      index[axis] = 0;
    }
    if (axis < 0) return;
  }
}

/**
 * Merge neighbouring axes that every view walks contiguously (stride[i] = stride[i+1]·shape[i+1]),
 * and drop size-1 axes. A contiguous tensor of any rank becomes one long axis, which is
 * what lets the fast kernels run a single tight loop.
 */
export function collapseAxes(shape: Shape, stridesList: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const d = shape[axis]!;
    if (d === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && stridesList.every((s, v) => outStrides[v]![last] === s[axis]! * d);
    if (mergeable) {
      outShape[last]! *= d;
      stridesList.forEach((s, v) => (outStrides[v]![last] = s[axis]!));
    } else {
      outShape.push(d);
      stridesList.forEach((s, v) => outStrides[v]!.push(s[axis]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Visit every row along the last axis of `views` (all of one shape): `visit(starts, row)` with
 * each view's storage position of the row's first element and the row's number in row-major
 * order (its elements follow at each view's last stride). Softmax and the norms go row by row.
 */
export function forEachLastAxisRow(views: readonly View[], visit: (starts: number[], row: number) => void): void {
  const leadingShape = views[0]!.shape.slice(0, -1);
  const leading = views.map((v) => ({ data: v.data, shape: leadingShape, strides: v.strides.slice(0, -1), offset: v.offset }));
  let row = 0;
  forEachOffset(leadingShape, leading, (starts) => visit(starts, row++));
}

/**
 * Visit every innermost row: `visit(offsets, length, innerStrides)` once per position of
 * the outer axes, after collapsing. The fast kernels put their tight loop inside `visit`.
 */
export function forEachRow(shape: Shape, views: readonly View[], visit: (offsets: number[], length: number, innerStrides: number[]) => void): void {
  if (shape.some((d) => d === 0)) return;
  const c = collapseAxes(
    shape,
    views.map((v) => v.strides),
  );
  if (c.shape.length === 0) {
    visit(
      views.map((v) => v.offset),
      1,
      views.map(() => 0),
    );
    return;
  }
  const inner = c.shape.length - 1;
  const outer = { shape: c.shape.slice(0, inner) };
  const outerViews = views.map((v, i) => ({ data: v.data, shape: outer.shape, strides: c.strides[i]!.slice(0, inner), offset: v.offset }));
  const innerStrides = c.strides.map((s) => s[inner]!);
  forEachOffset(outer.shape, outerViews, (offsets) => visit(offsets, c.shape[inner]!, innerStrides));
}
