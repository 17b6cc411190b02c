/**
 * sparsegrad — the public entry point: everything a user needs is re-exported here.
 * The fast CPU backend is the default; the reference backend (the oracle) is one
 * `setBackend('reference')` away (kernels/backend.ts).
 */

export { Tensor, type GradHook, type HookHandle } from './core/tensor.ts';
export { tensor, zeros, ones, full, arange, linspace, eye, rand, randn, randint, uniform, type CreateOptions, type RandomOptions } from './core/creation.ts';
export { grad, noGrad, enableGrad, isGradEnabled, customVjp, record, type Vjp, type GradOptions, type Node } from './core/autograd.ts';
export { SparseCoo, addGrads, type Grad } from './core/sparse.ts';
export { topK, type TopKMode } from './core/topk.ts';
export { Generator, manualSeed, defaultGenerator } from './core/random.ts';
export { ShapeError, DTypeError, IndexError, ValueError, AutogradError, FormatError, SparsegradError } from './base/errors.ts';
export { DTYPES, type DType, type FloatDType, type Storage } from './base/dtype.ts';
export { broadcastShapes, MAX_NUMEL } from './base/shape.ts';
export {
  setBackend,
  getBackend,
  withBackend,
  backendNames,
  registerBackend,
  setRelaxedSimd,
  setThreads,
  threadInfo,
  threadsReady,
  type Backend,
} from './kernels/backend.ts';
export {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  where,
  neg,
  abs,
  sign,
  exp,
  log,
  sqrt,
  rsqrt,
  sin,
  cos,
  tanh,
  sigmoid,
  relu,
  gelu,
  silu,
  erf,
  clamp,
} from './core/ops/elementwise.ts';
export { sum, mean, variance as var_, logsumexp, argmax, argmin } from './core/ops/reduce.ts';
export { reshape, permute, transpose, expand, squeeze, unsqueeze, slice, narrow, cat, stack, split, chunk, flatten } from './core/ops/movement.ts';
export { matmul } from './core/ops/linalg.ts';
export { linear } from './core/ops/linear.ts';
export { gather, indexSelect, scatterAdd, maskedFill, tril, triu, oneHot } from './core/ops/indexing.ts';
export { softmax, logSoftmax, layerNorm, rmsNorm, dropout, embedding, crossEntropy, mseLoss, type Reduction } from './core/ops/nn.ts';
