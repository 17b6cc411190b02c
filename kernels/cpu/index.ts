/**
 * The fast CPU backend. It overrides the reference kernels where speed matters
 * (GEMM through WebAssembly SIMD on a pool of threads, a linear layer's forward with the
 * bias fused into the GEMM, elementwise maps and reductions as tight loops over
 * collapsed contiguous runs, a fused softmax, gather and scatterAdd) and keeps the
 * reference for the rest.
 * Every kernel here is property-tested against kernels/reference.
 */
import { allocate } from '../../base/dtype.ts';
import type { Backend } from '../backend.ts';
import { hostStorage } from '../storage.ts';
import { uninitializedStorage } from './uninitialized.ts';
import { batchedMatmul } from './matmul-plan.ts';
import { referenceBackend } from '../reference/index.ts';
import { gemmBatch } from './gemm.ts';
import { linear } from './linear.ts';
import { binary, copy, unary, unaryBackward, where } from './elementwise.ts';
import { reduce } from './reduce.ts';
import { softmax, softmaxBackward } from './softmax.ts';
import { combine, normAffine, normAffineBackward, normalize } from './normalize.ts';
import { gather, scatterAdd } from './indexing.ts';

export const cpuBackend: Backend = {
  ...referenceBackend,
  name: 'cpu',
  allocate: (dtype, length, uninitialized) => hostStorage((uninitialized && uninitializedStorage(dtype, length)) || allocate(dtype, length)),
  unary,
  unaryBackward,
  binary,
  where,
  copy,
  reduce,
  softmax,
  softmaxBackward,
  normalize,
  combine,
  normAffine,
  normAffineBackward,
  gather,
  scatterAdd,
  matmul(a, b, out) {
    batchedMatmul(gemmBatch, copy, a, b, out);
  },
  linear,
};
