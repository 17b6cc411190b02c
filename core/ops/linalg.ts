/**
 * Matrix multiplication with NumPy/torch semantics: 1-D operands are promoted to
 * matrices and the extra axis removed afterwards; leading (batch) axes broadcast.
 * The VJPs are matmuls against transposed *views* — A·Bᵀ and Aᵀ·B never materialise
 * a transpose, the GEMM reads the strides.
 */
import { record } from '../autograd.ts';
import { assertFloat, assertSameDType, type FloatStorage } from '../../base/dtype.ts';
import { ShapeError } from '../../base/errors.ts';
import { broadcastShapes } from '../../base/shape.ts';
import type { Tensor } from '../tensor.ts';
import { getBackend } from '../../kernels/backend.ts';
import { assertTensor, broadcastView, empty, sumToShape } from './util.ts';

/**
 * a · b with torch's semantics (above): 1-D operands promoted, batch axes broadcast.
 *
 * @example
 * ```ts
 * import { matmul, tensor, zeros } from 'sparsegrad';
 * matmul(tensor([[1, 2], [3, 4]]), tensor([[5], [6]])); // => [[17], [39]]
 * matmul(zeros([8, 2, 3]), zeros([3, 4])).shape; // => [8, 2, 4]
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor('matmul', 'a', a);
  assertTensor('matmul', 'b', b);
  assertFloat('matmul', 'a', a.dtype);
  assertSameDType('matmul', a.dtype, b.dtype);
  if (a.rank === 0 || b.rank === 0) throw new ShapeError(`matmul(): both arguments need at least 1 dimension, but got ${a.rank}D and ${b.rank}D tensors`);
  // Promote vectors: a (k) → (1, k); b (k) → (k, 1). The added axis is squeezed at the end.
  const a2 = a.rank === 1 ? a.unsqueeze(0) : a;
  const b2 = b.rank === 1 ? b.unsqueeze(1) : b;
  const y = matmul2(a2, b2);
  if (a.rank === 1 && b.rank === 1) return y.reshape([]);
  if (a.rank === 1) return y.squeeze(-2);
  if (b.rank === 1) return y.squeeze(-1);
  return y;
}

function matmul2(a: Tensor, b: Tensor): Tensor {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) {
    throw new ShapeError(
      `mat1 and mat2 shapes cannot be multiplied (${m}x${k} and ${k2}x${n})${a.rank > 2 || b.rank > 2 ? ` (full shapes [${a.shape}] and [${b.shape}])` : ''}`,
    );
  }
  let batch: number[];
  try {
    batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new ShapeError(`matmul(): batch dimensions [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] cannot be broadcast`);
  }
  // One call to the backend: it multiplies the strided views (batch axes broadcast by stride 0).
  const y = empty(a.dtype, [...batch, m, n]);
  getBackend().matmul(broadcastView<FloatStorage>(a, [...batch, m, k]), broadcastView<FloatStorage>(b, [...batch, k, n]), y.storage.data as FloatStorage);
  const t = (x: Tensor) => x.transpose(-2, -1);
  return record(
    'MatmulBackward',
    y,
    [a, b],
    // An operand that is a transposed view (Kᵀ in attention) gets its gradient computed
    // transposed, (b·gᵀ)ᵀ = g·bᵀ and (gᵀ·a)ᵀ = aᵀ·g, so that it comes out in the operand's
    // own layout and reaches the untransposed tensor contiguous, without a transposing copy
    // (as PyTorch does). Same products, same sums: the GEMM reads either layout.
    (g) => [
      a.requiresGrad ? sumToShape(columnMajor(a) ? t(matmul2(b, t(g))) : matmul2(g, t(b)), a.shape) : null,
      b.requiresGrad ? sumToShape(columnMajor(b) ? t(matmul2(t(g), a)) : matmul2(t(a), g), b.shape) : null,
    ],
    [a, b],
  );
}

/** Whether x's matrices are stored column by column (a transposed view of row-major ones). */
function columnMajor(x: Tensor): boolean {
  const r = x.rank;
  return x.shape[r - 2]! > 1 && x.shape[r - 1]! > 1 && x.strides[r - 2] === 1 && x.strides[r - 1] !== 1;
}
