/** clipGradNorm on dense and sparse gradients, as torch.nn.utils.clip_grad_norm_. */
import { describe, expect, test } from 'vitest';
import { SparseCoo, type Tensor, tensor, ValueError } from '../../index.ts';
import { clipGradNorm } from '../../optim/index.ts';
import { assertClose } from '../kit/index.ts';

const withGrad = (grad: Tensor | SparseCoo) => {
  const p = tensor(new Array(grad.shape[0]).fill(0), { dtype: 'float64' }).setRequiresGrad();
  p.grad = grad;
  return p;
};
const dense = (values: number[]) => tensor(values, { dtype: 'float64' });
const sparse = (size: number, indices: number[], values: number[]) => new SparseCoo([size], Int32Array.from(indices), Float64Array.from(values));
const valuesOf = (p: Tensor) => Array.from(p.grad instanceof SparseCoo ? p.grad.toDense().data : (p.grad as Tensor).data);

describe('clipGradNorm', () => {
  test('returns the total norm and scales every gradient by maxNorm / (total + 1e-6)', () => {
    const a = withGrad(dense([3, 4]));
    const b = withGrad(dense([12]));
    const version = (a.grad as Tensor).version;
    expect(clipGradNorm([a, b], 6.5)).toBe(13);
    const coef = 6.5 / (13 + 1e-6);
    expect([...valuesOf(a), ...valuesOf(b)]).toEqual([3 * coef, 4 * coef, 12 * coef]);
    expect((a.grad as Tensor).version).toBe(version + 1);
  });

  test('a sparse gradient counts its values, and clips as its dense twin does, bitwise', () => {
    const s = withGrad(sparse(5, [1, 3], [3, -4]));
    const d = withGrad(dense([0, 3, 0, -4, 0]));
    const original = s.grad as SparseCoo;
    expect(clipGradNorm([s], 1)).toBe(5);
    expect(clipGradNorm([d], 1)).toBe(5);
    assertClose(valuesOf(s), valuesOf(d), 'bitwise');
    expect(Array.from(original.values)).toEqual([3, -4]); // the hook's value is replaced, not mutated
    expect((s.grad as SparseCoo).indices).toBe(original.indices);
  });

  test('norms of other orders; gradients below the limit are left alone', () => {
    const mk = () => [withGrad(dense([3, -4])), withGrad(sparse(3, [2], [-12]))];
    expect(clipGradNorm(mk(), 100, { normType: Infinity })).toBe(12);
    expect(clipGradNorm(mk(), 100, { normType: 1 })).toBe(19);
    const ps = mk();
    const grads = ps.map((p) => p.grad);
    expect(clipGradNorm(ps, 13 + 1e-3)).toBe(13);
    expect(ps.map((p) => p.grad)).toEqual(grads);
    expect(valuesOf(ps[0]!)).toEqual([3, -4]);
    expect(clipGradNorm(tensor([1]).setRequiresGrad(), 1)).toBe(0); // no gradient at all
  });

  test('a non-finite norm: torch’s error when asked, else gradients scaled by it as torch does', () => {
    expect(() => clipGradNorm([withGrad(dense([1, NaN]))], 1, { errorIfNonfinite: true })).toThrow(
      new ValueError(
        'The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped. ' +
          'To disable this error and scale the gradients by the non-finite norm anyway, set `errorIfNonfinite: false`',
      ),
    );
    expect(() => clipGradNorm([withGrad(dense([Infinity]))], 1, { normType: Infinity, errorIfNonfinite: true })).toThrow(/order inf/);
    const p = withGrad(dense([1, NaN]));
    expect(clipGradNorm([p], 1)).toBeNaN();
    expect(valuesOf(p)).toEqual([NaN, NaN]);
    const q = withGrad(dense([1, Infinity]));
    expect(clipGradNorm([q], 1)).toBe(Infinity);
    expect(valuesOf(q)).toEqual([0, NaN]);
    expect(() => clipGradNorm([q], 1, { normType: 0 })).toThrow(ValueError);
  });
});
