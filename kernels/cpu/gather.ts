/**
 * A strided float32 copy through WebAssembly (the kernel: kernels/cpu/gather-kernels.ts), for
 * large views read in short contiguous rows: attention's heads merged back into one tensor
 * ([batch, heads, seq, d] read as [batch, seq, heads, d]), in the forward pass and in the
 * gradients of q, k and v. JavaScript copies such a view at ≈ 3 ns an element (a row of 64
 * floats per `set(subarray)`, or a loop); here the span of source the view reads is copied
 * into the wasm memory in one piece, the rows are gathered there four lanes at a time, and
 * the result is copied out in one piece: three passes at memcpy speed. Exact: bits are moved,
 * never computed on (spec/gather-wasm.spec.ts).
 */
import { collapseAxes, forEachLastAxisRow, type View } from '../view.ts';
import { inMemory } from './wasm-map.ts';
import { wasmRuntime } from './wasm-runtime.ts';

/** Below this many elements the JavaScript copy costs about as much. */
const MIN_ELEMENTS = 1 << 14;
/** From this row length on, `set(subarray)` per row is already a memcpy. */
const MAX_ROW = 256;

/**
 * out = x's elements in row-major order, when x is a large float32 view whose innermost run is
 * contiguous and short; false (nothing done) otherwise, and where the runtime is missing.
 */
export function wasmGather(x: View, out: Float32Array): boolean {
  const wasm = wasmRuntime();
  const src = x.data;
  if (!wasm || !(src instanceof Float32Array) || out.length < MIN_ELEMENTS) return false;
  const { shape, strides: stridesList } = collapseAxes(x.shape, [x.strides]);
  const strides = stridesList[0]!;
  const rank = shape.length;
  const row = shape[rank - 1]!;
  if (rank < 2 || strides[rank - 1] !== 1 || row >= MAX_ROW || strides.some((s) => s < 0)) return false;
  // The elements from the view's first to its last, all of which are copied in: only worth it
  // when the view reads most of them (not a thin slice of a large tensor).
  const span = strides.reduce((last, s, i) => last + (shape[i]! - 1) * s, 0) + 1;
  if (span > 4 * out.length) return false;
  const rows = out.length / row;
  const done = inMemory([src.subarray(x.offset, x.offset + span)], [out], 0, 4 * rows, (at) => {
    const table = new Int32Array(wasm.memory.buffer, at.extra, rows); // each row's byte offset in the span
    forEachLastAxisRow([{ data: src, shape, strides, offset: 0 }], ([start], r) => {
      table[r] = 4 * start!;
    });
    wasm.pool.run(wasm.gather, 1, [at.inputs[0]!, at.outputs[0]!, at.extra, rows, 4 * row], Number.POSITIVE_INFINITY);
  });
  return done !== undefined;
}
