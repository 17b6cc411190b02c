// The WebAssembly code of a strided float32 copy (kernels/cpu/gather.ts runs it): rows of
// contiguous elements, each from its own place in the source, written one after another.
// That is what merging attention's heads back is ([batch, heads, seq, d] read as [batch, seq,
// heads, d]: rows of d elements), where JavaScript's per-row `set(subarray)` or element loop
// costs ≈ 3 ns an element. Loads and stores copy bits (no float arithmetic), so the copy is exact.

import { Func } from '../../base/wasm-assembler.ts';
import { float32Ops, fourThenOne } from './wasm-lanes.ts';

/**
 * gatherRows(task, src, dst, table, rows, rowBytes): for r < rows, the rowBytes bytes at
 * src + table[r] (an i32 table of byte offsets) go to dst + r·rowBytes. rows ≥ 1; one task.
 */
function gatherRowsFunc(): Func {
  const f = new Func(Array(6).fill('i32'));
  const [, src, dst, table, rows, rowBytes] = [0, 1, 2, 3, 4, 5];
  const [from, at] = [f.local('i32'), f.local('i32')];
  f.loop(() => {
    f.get(src).get(table).mem('i32.load').op('i32.add').set(from);
    fourThenOne(f, at, rowBytes, (width) => {
      const ops = float32Ops(width);
      f.get(dst).get(at).op('i32.add');
      f.get(from).get(at).op('i32.add').mem(ops.load);
      f.mem(ops.store);
    });
    f.get(dst).get(rowBytes).op('i32.add').set(dst);
    f.get(table).i32(4).op('i32.add').set(table);
    f.get(rows).i32(1).op('i32.sub').tee(rows).brIf(0);
  });
  return f;
}

/** Adds the kernel through `task(func, name)`; returns its index among the pool's names. */
export const addGatherKernel = (task: (func: Func, name: string) => number): number => task(gatherRowsFunc(), 'f32.gatherRows');
