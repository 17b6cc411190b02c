/**
 * Neural-network ops: softmax family (one fused kernel forward, its VJP here), the
 * normalisations (one fused kernel forward, their shared VJP here), dropout, embedding
 * lookup and the losses (compositions of differentiable ops: autograd derives their VJP).
 */
import { record } from '../autograd.ts';
import { assertFloat, type FloatStorage } from '../../base/dtype.ts';
import { DTypeError, IndexError, ShapeError, ValueError } from '../../base/errors.ts';
import { defaultGenerator, type Generator } from '../random.ts';
import { formatShape, normalizeAxis, numel, sameShape } from '../../base/shape.ts';
import type { Tensor } from '../tensor.ts';
import { dropoutMask } from '../creation.ts';
import { type Backend, getBackend } from '../../kernels/backend.ts';
import { assertTensor, broadcastView, compute, empty, scalarLike, viewOf } from './util.ts';
import { where } from './elementwise.ts';

/** Softmax along `axis`: the kernel works on the last axis, so other axes are moved there (a view). */
function softmaxFamily(x: Tensor, axis: number, log: boolean): Tensor {
  assertTensor(log ? 'logSoftmax' : 'softmax', 'input', x);
  assertFloat(log ? 'logSoftmax' : 'softmax', 'input', x.dtype);
  if (x.rank === 0) return softmaxFamily(x.reshape([1]), 0, log).reshape([]);
  const a = normalizeAxis(axis, x.rank, 'softmax');
  const moved = x.transpose(a, -1);
  const y = compute(x.dtype, moved.shape, (out, be) => be.softmax(viewOf<FloatStorage>(moved), out as FloatStorage, log)).transpose(a, -1);
  return record(log ? 'LogSoftmaxBackward' : 'SoftmaxBackward', y, [x], (g) => [softmaxVjp(y, g, a, log)]);
}

/** softmax: y ⊙ (g − Σ g⊙y);  log-softmax: g − softmax ⊙ Σ g — one kernel where the backend has it. */
function softmaxVjp(y: Tensor, g: Tensor, a: number, log: boolean): Tensor {
  const be = getBackend();
  if (!be.softmaxBackward || g.dtype !== y.dtype) return log ? g.sub(y.exp().mul(g.sum(a, true))) : y.mul(g.sub(g.mul(y).sum(a, true)));
  const [ym, gm] = [y.transpose(a, -1), g.transpose(a, -1)];
  const dxMoved = compute(y.dtype, ym.shape, (out) => be.softmaxBackward!(viewOf<FloatStorage>(ym), viewOf<FloatStorage>(gm), out as FloatStorage, log));
  return dxMoved.transpose(a, -1);
}
/**
 * Softmax along `axis` (default the last); its VJP is y·(g − Σ g·y).
 *
 * @example
 * ```ts
 * import { softmax, tensor } from 'sparsegrad';
 * softmax(tensor([[0, 0], [0, Math.log(3)]])); // => [[0.5, 0.5], [0.25, 0.75]]
 * ```
 */
export const softmax = (x: Tensor, axis = -1) => softmaxFamily(x, axis, false);
/**
 * log(softmax(x)) computed stably along `axis`.
 *
 * @example
 * ```ts
 * import { logSoftmax, tensor } from 'sparsegrad';
 * logSoftmax(tensor([0, 0])); // => [-0.6931, -0.6931]
 * ```
 */
export const logSoftmax = (x: Tensor, axis = -1) => softmaxFamily(x, axis, true);

/** The trailing axes a normalisation covers, checked against x's shape. */
function normAxes(op: string, x: Tensor, normalizedShape: readonly number[]): number[] {
  const k = normalizedShape.length;
  if (k === 0 || k > x.rank || !sameShape(x.shape.slice(x.rank - k), normalizedShape)) {
    throw new ShapeError(
      `${op}: Given normalized_shape=${formatShape(normalizedShape)}, expected input with shape [*, ${normalizedShape.join(', ')}], but got input of size ${formatShape(x.shape)}`,
    );
  }
  return normalizedShape.map((_, i) => x.rank - k + i);
}

/**
 * LayerNorm's and RMSNorm's common body over rows of the trailing `width` elements:
 * normalizeOnly (below), then ·weight and +bias — fused into one op where the backend has
 * the kernels (normalizeAffine), else as the separate mul and add.
 */
function normalizeRows(x: Tensor, width: number, eps: number, centered: boolean, weight: Tensor | null = null, bias: Tensor | null = null): Tensor {
  const be = getBackend();
  // Fused only for the usual parameters: one value per column, x's dtype. Anything else
  // (a broadcast weight, another dtype) takes the unfused ops, their checks and messages.
  const oneValuePerColumn = (t: Tensor | null) =>
    t === null || (t.dtype === x.dtype && t.numel === width && sameShape(t.shape, x.shape.slice(x.rank - t.rank)));
  if ((weight || bias) && oneValuePerColumn(weight) && oneValuePerColumn(bias) && be.normAffine && be.normAffineBackward)
    return normalizeAffine(be, x, width, eps, centered, weight, bias);
  let y = normalizeOnly(x, width, eps, centered);
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/**
 * The normalisation over rows of the trailing `width` elements: x̂ = (x − μ)·r with
 * r = 1/√(mean((x − μ)²) + eps); μ is the row mean when `centered`, else 0. The forward is
 * one fused kernel (it writes x̂ and r); the VJP is written here, once for every backend:
 *   dx = r·(g − x̂·mean(g·x̂) − mean(g))    (no mean(g) term when not centered)
 * g − x̂·mean(g·x̂) removes g's component along x̂ (the scale r is blind to it); − mean(g)
 * removes its mean (the shift μ is blind to it); r undoes the division. Its last step,
 * r·g + (−r·mean(g·x̂))·x̂ + (−r·mean(g)), is one `combine` pass with per-row coefficients.
 */
function normalizeOnly(x: Tensor, width: number, eps: number, centered: boolean): Tensor {
  const rows = x.reshape([-1, width]);
  const rstd = empty(x.dtype, [rows.shape[0]!, 1]); // one r per row, shaped to broadcast along it
  const xhat = compute(x.dtype, rows.shape, (out, be) =>
    be.normalize(viewOf<FloatStorage>(rows), eps, centered, out as FloatStorage, rstd.storage.data as FloatStorage),
  );
  const y = record(
    centered ? 'LayerNormBackward' : 'RmsNormBackward',
    xhat,
    [rows],
    (g) => {
      const alongXhat = rstd.mul(g.mul(xhat).mean(-1, true)).neg();
      const mean = centered ? rstd.mul(g.mean(-1, true)).neg() : scalarLike('normalize', 0, g);
      return [combine(g, xhat, rstd, alongXhat, mean)];
    },
    [xhat],
  );
  return y.reshape(x.shape);
}

/**
 * normalizeRows with the affine step fused, where the backend has the kernels
 * (Backend.normAffine): the forward writes x̂ and x̂·weight + bias in one call, the VJP
 * gives dx, dweight and dbias in two passes over each row instead of the eight of the
 * unfused ops (the mul's and add's VJPs, the sums over rows, then the rows' own VJP
 * above) — bitwise the same results (spec/norm-affine.spec.ts).
 */
function normalizeAffine(be: Backend, x: Tensor, width: number, eps: number, centered: boolean, weight: Tensor | null, bias: Tensor | null): Tensor {
  const rows = x.reshape([-1, width]);
  const rstd = empty(x.dtype, [rows.shape[0]!, 1]);
  const xhat = empty(x.dtype, rows.shape);
  // One value per column; the backward reads the same weight view (saved: its version is checked).
  const perColumn = (t: Tensor | null) => (t ? viewOf<FloatStorage>(t.contiguous().reshape([width])) : null);
  const [weightView, biasView] = [perColumn(weight), perColumn(bias)];
  const y = compute(x.dtype, rows.shape, (out) =>
    be.normAffine!(
      viewOf<FloatStorage>(rows),
      eps,
      centered,
      weightView,
      biasView,
      xhat.storage.data as FloatStorage,
      rstd.storage.data as FloatStorage,
      out as FloatStorage,
    ),
  );
  const inputs = [rows, weight, bias].filter((t): t is Tensor => t !== null);
  const out = record(
    centered ? 'LayerNormBackward' : 'RmsNormBackward',
    y,
    inputs,
    (g) => {
      const grad = (t: Tensor | null) => (t?.requiresGrad ? empty(t.dtype, t.shape) : null);
      const [dx, dWeight, dBias] = [grad(rows), grad(weight), grad(bias)];
      const data = (t: Tensor | null) => (t ? (t.storage.data as FloatStorage) : null);
      be.normAffineBackward!(
        viewOf<FloatStorage>(g.contiguous()),
        xhat.storage.data as FloatStorage,
        rstd.storage.data as FloatStorage,
        weightView,
        centered,
        data(dx),
        data(dWeight),
        data(dBias),
      );
      return [dx, ...(weight ? [dWeight] : []), ...(bias ? [dBias] : [])];
    },
    weight ? [weight] : [],
  );
  return out.reshape(x.shape);
}

/** a·x + b·y + c in one kernel pass, all broadcast to x's shape. Not recorded: VJPs run it under noGrad. */
function combine(x: Tensor, y: Tensor, a: Tensor, b: Tensor, c: Tensor): Tensor {
  const v = (t: Tensor) => broadcastView<FloatStorage>(t, x.shape);
  return compute(x.dtype, x.shape, (out, be) => be.combine(v(x), v(y), v(a), v(b), v(c), out as FloatStorage));
}

/**
 * LayerNorm: (x − mean) / √(var + eps) · weight + bias over the trailing `normalizedShape` axes (biased variance).
 *
 * @example
 * ```ts
 * import { layerNorm, tensor } from 'sparsegrad';
 * layerNorm(tensor([[1, 3], [0, 10]]), [2]); // => [[-1, 1], [-1, 1]]
 * ```
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  assertFloat('layerNorm', 'input', x.dtype);
  normAxes('layerNorm', x, normalizedShape);
  return normalizeRows(x, numel(normalizedShape), eps, true, weight ?? null, bias ?? null);
}

/**
 * RMSNorm (LLaMa): x / √(mean(x²) + eps) · weight over the last axis.
 *
 * @example
 * ```ts
 * import { rmsNorm, tensor } from 'sparsegrad';
 * rmsNorm(tensor([[3, 4]]), tensor([1, 2])); // => [[0.8485, 2.2627]]
 * ```
 */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  assertFloat('rmsNorm', 'input', x.dtype);
  if (x.rank === 0) throw new ShapeError('rmsNorm: input must have at least 1 dimension');
  return normalizeRows(x, x.shape[x.rank - 1]!, eps, false, weight ?? null);
}

/**
 * Dropout: in training, zero each element with probability p (drawn from a seeded
 * generator) and scale the rest by 1/(1 − p), so the expectation is unchanged.
 *
 * @example
 * ```ts
 * import { dropout, ones } from 'sparsegrad';
 * const y = dropout(ones([1000]), 0.5);
 * y.max().item(); // => 2
 * dropout(ones([3]), 0.5, { training: false }); // => [1, 1, 1]
 * ```
 */
export function dropout(x: Tensor, p = 0.5, options: { training?: boolean; generator?: Generator } = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`dropout probability has to be between 0 and 1, but got ${p}`);
  if (!(options.training ?? true) || p === 0) return x;
  if (p === 1) return x.mul(0);
  // One mask (1/(1 − p) where kept, 0 where dropped) and one product: the backward is g · mask,
  // and the mask needs no gradient (rand ≥ p, then where(), cost four passes each way).
  return x.mul(dropoutMask(x.shape, p, { dtype: x.dtype as 'float32' | 'float64', generator: options.generator ?? defaultGenerator }));
}

/**
 * Rows of `weight` picked by integer ids of any shape: output [...ids.shape, dim].
 *
 * @example
 * ```ts
 * import { embedding, tensor } from 'sparsegrad';
 * const weight = tensor([[0, 0], [1, 1], [2, 2]]);
 * embedding(weight, tensor([[2, 1]], { dtype: 'int32' })); // => [[[2, 2], [1, 1]]]
 * ```
 */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  assertTensor('embedding', 'ids', ids);
  if (ids.dtype !== 'int32') throw new DTypeError(`embedding(): Expected ids of dtype int32, got ${ids.dtype}`);
  const vocab = weight.shape[0]!;
  for (const id of ids.toTypedArray()) {
    if (id < 0 || id >= vocab) throw new IndexError(`embedding(): index out of range in self (id ${id}, vocabulary size ${vocab})`);
  }
  return weight.indexSelect(0, ids.reshape([-1])).reshape([...ids.shape, ...weight.shape.slice(1)]);
}

export type Reduction = 'mean' | 'sum' | 'none';

/**
 * Cross-entropy of logits [N, C] against class ids [N] (int32). Targets equal to
 * `ignoreIndex` contribute nothing; 'mean' divides by the number of the others
 * (NaN when every target is ignored, as torch).
 *
 * @example
 * ```ts
 * import { crossEntropy, tensor } from 'sparsegrad';
 * const logits = tensor([[0, 0], [0, 0]]);
 * crossEntropy(logits, tensor([0, 1], { dtype: 'int32' })).item(); // => 0.6931
 * crossEntropy(logits, tensor([0, -100], { dtype: 'int32' }), { reduction: 'sum' }).item(); // => 0.6931
 * ```
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: { ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  assertTensor('crossEntropy', 'input', logits);
  assertTensor('crossEntropy', 'target', target);
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (logits.rank !== 2) throw new ShapeError(`crossEntropy(): expected logits of shape [N, C], got ${formatShape(logits.shape)}`);
  if (target.dtype !== 'int32') throw new DTypeError(`crossEntropy(): expected target of dtype int32, got ${target.dtype}`);
  if (!sameShape(target.shape, [logits.shape[0]!]))
    throw new ShapeError(`crossEntropy(): Expected target of shape [${logits.shape[0]}], got ${formatShape(target.shape)}`);
  const classes = logits.shape[1]!;
  for (const t of target.toTypedArray()) {
    if (t !== ignoreIndex && (t < 0 || t >= classes)) throw new IndexError(`Target ${t} is out of bounds.`);
  }
  const reduction = options.reduction ?? 'mean';
  const valid = target.ne(ignoreIndex);
  const index = where(valid, target, 0).unsqueeze(1);
  const count = valid.to(logits.dtype).sum();
  // Forward off the tape (logits detached): log-probabilities, the targets' ones, the reduction.
  const logp = logSoftmax(logits.detach(), 1);
  const output = reduce(where(valid, logp.gather(1, index).squeeze(1).neg(), 0), reduction, count);
  // One recorded op. Its VJP, w_i · (softmax(logits)_i − onehot(t_i)) with w_i the row's share of
  // the output gradient (0 where ignored), is one exp pass and one scatter into it; as a chain of
  // recorded ops (gather, log-softmax) the backward made ≈ 6 passes over [N, C] and as many
  // [N, C] temporaries — with a 32k-token vocabulary, ≈ 10 % of a LLaMa fine-tuning step.
  return record('CrossEntropyBackward', output, [logits], (g) => {
    const share = reduction === 'mean' ? g.div(count) : g;
    const w = where(valid, share, 0).unsqueeze(1); // [N, 1]
    // softmax · w, multiplied into the exponentials' own fresh buffer (the same rounding as
    // .mul(w)): one [N, C] buffer instead of two, a vocabulary's worth of memory per row.
    // (A device backend's exponentials stay on the device for an ordinary product.)
    const backend = getBackend();
    let d = logp.exp();
    if (backend.isResident?.(d.storage)) d = d.mul(w);
    else backend.binary('mul', viewOf(d), broadcastView(w, d.shape), d.storage.data);
    backend.scatterAdd(d.data as FloatStorage, d.shape, 1, viewOf(index), viewOf(w.neg()));
    return [d];
  });
}

/**
 * Mean squared error between two tensors of the same shape.
 *
 * @example
 * ```ts
 * import { mseLoss, tensor } from 'sparsegrad';
 * mseLoss(tensor([1, 2]), tensor([1, 4])).item(); // => 2
 * mseLoss(tensor([1, 2]), tensor([1, 4]), { reduction: 'none' }); // => [0, 4]
 * ```
 */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  assertTensor('mseLoss', 'input', input);
  assertTensor('mseLoss', 'target', target);
  if (!sameShape(input.shape, target.shape))
    throw new ShapeError(`mseLoss(): input ${formatShape(input.shape)} and target ${formatShape(target.shape)} must have the same shape`);
  const d = input.sub(target);
  return reduce(d.mul(d), options.reduction ?? 'mean', input.numel);
}

function reduce(losses: Tensor, reduction: Reduction, count: Tensor | number): Tensor {
  if (reduction === 'none') return losses;
  if (reduction === 'sum') return losses.sum();
  if (reduction === 'mean') return losses.sum().div(count);
  throw new ValueError(`${String(reduction)} is not a valid value for reduction`);
}
