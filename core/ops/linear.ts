/**
 * linear(x, W, b) = x·Wᵀ + b, torch's F.linear, as one op with its own VJP, W stored
 * [out, in]. Against matmul(x, W.transpose()).add(b) it saves, per training step:
 * - the bias pass: backends with a fused kernel (Backend.linear: cpu adds the bias in
 *   the GEMM's epilogue) write the output once;
 * - a transposed gradient: dW = Gᵀ·X comes out in W's own [out, in] layout, where the
 *   composed form yields d(Wᵀ) and then a transposed view that accumulation must copy
 *   with a large stride.
 * Leading axes of x are flattened into rows, as F.linear does: one GEMM over all tokens.
 */
import { record } from '../autograd.ts';
import { assertFloat, assertSameDType, type FloatStorage } from '../../base/dtype.ts';
import { ShapeError } from '../../base/errors.ts';
import type { Tensor } from '../tensor.ts';
import { getBackend } from '../../kernels/backend.ts';
import { assertTensor, empty, viewOf } from './util.ts';

/**
 * x·Wᵀ + b (torch's F.linear): x [..., in], weight [out, in], bias [out] or null → [..., out].
 *
 * @example
 * ```ts
 * import { linear, tensor } from 'sparsegrad';
 * const weight = tensor([[1, 0], [0, 1], [1, 1]]); // [out=3, in=2]
 * linear(tensor([[1, 2]]), weight, tensor([0, 0, 10])); // => [[1, 2, 13]]
 * linear(tensor([[1, 2]]), weight).shape; // => [1, 3]
 * ```
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  assertTensor('linear', 'x', x);
  assertTensor('linear', 'weight', weight);
  assertFloat('linear', 'x', x.dtype);
  assertSameDType('linear', x.dtype, weight.dtype);
  if (weight.rank !== 2) throw new ShapeError(`linear(): weight must be 2-D [out, in], got shape [${weight.shape.join(', ')}]`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.rank === 0 || x.shape[x.rank - 1] !== inF) {
    throw new ShapeError(`linear(): input shape [${x.shape.join(', ')}] does not end in the weight's in_features ${inF} (weight [${outF}, ${inF}])`);
  }
  if (bias !== null) {
    assertTensor('linear', 'bias', bias);
    assertSameDType('linear', x.dtype, bias.dtype);
    if (bias.rank !== 1 || bias.shape[0] !== outF) throw new ShapeError(`linear(): bias must have shape [${outF}], got [${bias.shape.join(', ')}]`);
  }
  const rows = x.reshape([-1, inF]);
  return linear2(rows, weight, bias).reshape([...x.shape.slice(0, -1), outF]);
}

function linear2(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const be = getBackend();
  let y: Tensor;
  if (be.linear) {
    y = empty(x.dtype, [x.shape[0]!, weight.shape[0]!]);
    be.linear(viewOf<FloatStorage>(x), viewOf<FloatStorage>(weight), bias ? viewOf<FloatStorage>(bias) : null, y.storage.data as FloatStorage);
  } else {
    // The composed form, recorded nowhere: the VJP below covers the whole op.
    const xw = x.detach().matmul(weight.detach().transpose());
    y = bias ? xw.add(bias.detach()) : xw;
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(
    'LinearBackward',
    y,
    inputs,
    (g) => [
      x.requiresGrad ? g.matmul(weight) : null, // dX = G·W
      weight.requiresGrad ? g.transpose().matmul(x) : null, // dW = Gᵀ·X, already [out, in]
      ...(bias ? [bias.requiresGrad ? g.sum(0) : null] : []), // db = Σ over rows of G
    ],
    inputs,
  );
}
