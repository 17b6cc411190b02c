/**
 * Derivatives at non-differentiable points follow torch's conventions (docs/TESTING.md §2):
 * relu′(0) = |x|′(0) = 0, a full max/min splits its gradient evenly among ties,
 * elementwise maximum/minimum split a tie in half, sqrt′(0) = +∞.
 */
import { expect, test } from 'vitest';
import { grad, maximum, minimum, type Tensor, tensor } from '../index.ts';

const g1 = (f: (x: Tensor) => Tensor, values: number[]) => {
  const x = tensor(values, { dtype: 'float64', requiresGrad: true });
  return Array.from((grad(f(x).sum(), [x])[0] as Tensor).toTypedArray());
};

test('relu and abs have derivative 0 at 0', () => {
  expect(g1((x) => x.relu(), [0, 1, -1])).toEqual([0, 1, 0]);
  expect(g1((x) => x.abs(), [0, 2, -2])).toEqual([0, 1, -1]);
});

test('full max and min split the gradient evenly among tied extremes', () => {
  expect(g1((x) => x.max(), [3, 1, 3, 3])).toEqual([1 / 3, 0, 1 / 3, 1 / 3]);
  expect(g1((x) => x.min(), [0, 0, 5])).toEqual([0.5, 0.5, 0]);
});

test('max along an axis sends the gradient to the first maximum only', () => {
  expect(g1((x) => x.reshape([1, 3]).max(1).values, [2, 2, 1])).toEqual([1, 0, 0]);
});

test('elementwise maximum and minimum split a tie in half', () => {
  for (const op of [maximum, minimum]) {
    const a = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const b = tensor([1, 3], { dtype: 'float64', requiresGrad: true });
    const [ga, gb] = grad(op(a, b).sum(), [a, b]) as Tensor[];
    expect(ga!.toArray()).toEqual(op === maximum ? [0.5, 0] : [0.5, 1]);
    expect(gb!.toArray()).toEqual(op === maximum ? [0.5, 1] : [0.5, 0]);
  }
});

test('sqrt has derivative +Infinity at 0', () => {
  expect(g1((x) => x.sqrt(), [0, 4])).toEqual([Infinity, 0.25]);
});
