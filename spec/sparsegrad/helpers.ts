/** Test helpers for SparseGrad: random orthogonal bases and small linears, all seeded. */
import { Generator, randn, Tensor } from '../../index.ts';
import { Linear } from '../../nn/linear.ts';
import { symmetricEigen } from '../../nn/sparsegrad/eigen.ts';

/** A random n×n orthogonal matrix: the eigenvectors of a random symmetric one (float64). */
export function randomOrthogonal(n: number, seed: number): Tensor {
  const m = randn([n, n], { dtype: 'float64', generator: new Generator(seed) });
  const sym = m.add(m.transpose()).contiguous();
  return Tensor.fromStorage(symmetricEigen(sym.data as Float64Array, n).vectors, [n, n]);
}

export function linear(inF: number, outF: number, seed: number, dtype: 'float32' | 'float64' = 'float64', bias = true): Linear {
  return new Linear(inF, outF, { dtype, bias, generator: new Generator(seed) });
}
