/**
 * Reading a tensor's values for a test without going through the engine's own copy
 * kernels (which are under test): walk the view's strides from its offset, row-major.
 */
import type { Tensor } from '../core/tensor.ts';

/** Row-major values of any view, read through its strides and offset. */
export function read(t: Tensor): number[] {
  const out: number[] = [];
  const idx = new Array<number>(t.rank).fill(0);
  for (let k = 0; k < t.numel; k++) {
    let off = t.offset;
    for (let a = 0; a < t.rank; a++) off += idx[a]! * t.strides[a]!;
    out.push(t.data[off]!);
    for (let a = t.rank - 1; a >= 0; a--) {
      if (++idx[a]! < t.shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}
