/**
 * The bad-input catalogue of docs/TESTING.md §5, core-engine rows: every misuse throws a
 * distinct error class with a torch-like message naming the op, the argument and
 * the shapes or values.
 */
import { describe, expect, test } from 'vitest';
import {
  add,
  arange,
  AutogradError,
  broadcastShapes,
  crossEntropy,
  DTYPES,
  DTypeError,
  embedding,
  eye,
  full,
  grad,
  IndexError,
  linspace,
  matmul,
  MAX_NUMEL,
  mul,
  noGrad,
  ones,
  rand,
  randn,
  ShapeError,
  sum,
  Tensor,
  tensor,
  ValueError,
  where,
  zeros,
  type DType,
} from '../index.ts';

/** Assert that fn throws an instance of cls whose message matches re (both checked on one throw). */
function expectError(fn: () => unknown, cls: new (...args: never[]) => Error, re: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (caught === null) throw new Error(`expected ${cls.name} matching ${re}, but nothing was thrown`);
  if (!(caught instanceof cls)) throw new Error(`expected ${cls.name}, got ${(caught as Error).constructor?.name}: ${(caught as Error).message}`);
  expect((caught as Error).message).toMatch(re);
}

const f32 = (shape: number[]) => randn(shape);
const f64 = (shape: number[]) => randn(shape, { dtype: 'float64' });
const i32 = (values: number[]) => tensor(values, { dtype: 'int32' });

describe('shapes', () => {
  test('broadcast (2,3) + (4) is a ShapeError naming both sizes and the dimension', () => {
    const re = /The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1/;
    expectError(() => f32([2, 3]).add(f32([4])), ShapeError, re);
    expectError(() => add(f32([2, 3]), f32([4])), ShapeError, re);
    expectError(() => mul(f32([2, 3]), f32([4])), ShapeError, re);
    expectError(() => f32([2, 3]).sub(f32([4])), ShapeError, re);
    expectError(() => broadcastShapes([2, 3], [4]), ShapeError, re);
    expectError(() => f32([4]).add(f32([2, 3])), ShapeError, /The size of tensor a \(4\) must match the size of tensor b \(3\) at non-singleton dimension 1/);
  });

  test('matmul (2,3) @ (4,5) is a ShapeError with both matrix shapes', () => {
    expectError(() => f32([2, 3]).matmul(f32([4, 5])), ShapeError, /mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
    expectError(() => matmul(f32([7, 2, 3]), f32([7, 4, 5])), ShapeError, /mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
    expectError(() => f32([3]).matmul(f32([4])), ShapeError, /cannot be multiplied/);
  });

  test('matmul with batch dimensions that do not broadcast is a ShapeError naming them', () => {
    expectError(() => f32([2, 2, 3]).matmul(f32([3, 3, 5])), ShapeError, /batch dimensions \[2\] and \[3\] cannot be broadcast/);
    expectError(() => f32([4, 2, 2, 3]).matmul(f32([5, 1, 3, 5])), ShapeError, /batch dimensions \[4,2\] and \[5,1\] cannot be broadcast/);
  });

  test('reshape to a wrong numel is a ShapeError', () => {
    expectError(() => f32([2, 3]).reshape(4, 2), ShapeError, /shape '\[4, 2\]' is invalid for input of size 6/);
    expectError(() => f32([2, 3]).view(4, 2), ShapeError, /shape '\[4, 2\]' is invalid for input of size 6/);
    expectError(() => f32([2, 3]).reshape(-1, 4), ShapeError, /shape '\[-1, 4\]' is invalid for input of size 6/);
    expectError(() => f32([2, 3]).T.reshape(7), ShapeError, /shape '\[7\]' is invalid for input of size 6/);
  });
});

describe('axes and indices', () => {
  test('an axis out of range is an IndexError with the valid range', () => {
    const re = /Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/;
    const x = f32([2, 3]);
    expectError(() => x.sum(2), IndexError, re);
    expectError(() => sum(x, [0, 2]), IndexError, re);
    expectError(() => x.mean(2), IndexError, re);
    expectError(() => x.softmax(2), IndexError, re);
    expectError(() => x.max(2), IndexError, re);
    expectError(() => x.argmax(2), IndexError, re);
    expectError(() => x.transpose(0, 2), IndexError, re);
    expectError(() => x.slice(2, 0, 1), IndexError, re);
    expectError(() => x.softmax(-3), IndexError, /Dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)/);
    expectError(() => x.unsqueeze(3), IndexError, /expected to be in range of \[-3, 2\], but got 3/);
  });

  test('an embedding id outside [0, vocab) is an IndexError naming the id and the vocabulary size', () => {
    const weight = f32([4, 3]);
    expectError(() => embedding(weight, i32([0, 4])), IndexError, /index out of range in self.*\b4\b.*\b4\b/);
    expectError(() => embedding(weight, i32([-1])), IndexError, /index out of range in self.*-1.*\b4\b/);
    expect(embedding(weight, i32([0, 3])).shape).toEqual([2, 3]);
  });

  test('a crossEntropy target out of range is an IndexError; −100 is ignored', () => {
    const logits = f64([3, 3]);
    expectError(() => crossEntropy(logits, i32([0, 3, 1])), IndexError, /Target 3 is out of bounds\./);
    expectError(() => crossEntropy(logits, i32([0, -1, 1])), IndexError, /Target -1 is out of bounds\./);
    // −100 (the default ignoreIndex) is skipped, and the mean is over the other targets
    const withIgnored = crossEntropy(logits, i32([0, -100, 2]));
    const kept = crossEntropy(tensor(Float64Array.from([...row(logits, 0), ...row(logits, 2)]), { shape: [2, 3] }), i32([0, 2]));
    expect(Math.abs(withIgnored.item() - kept.item())).toBeLessThan(1e-12);
    // a custom ignoreIndex is skipped too, and −100 then counts as out of range
    expect(Number.isFinite(crossEntropy(logits, i32([0, 7, 2]), { ignoreIndex: 7 }).item())).toBe(true);
    expectError(() => crossEntropy(logits, i32([0, -100, 2]), { ignoreIndex: 7 }), IndexError, /Target -100 is out of bounds\./);
  });
});

function row(t: Tensor, i: number): number[] {
  return Array.from({ length: t.shape[1]! }, (_, j) => t.data[t.offset + i * t.strides[0]! + j * t.strides[1]!]!);
}

describe('dtypes', () => {
  test('float32 @ float64 is a DTypeError (no silent promotion)', () => {
    expectError(() => f32([2, 3]).matmul(f64([3, 2])), DTypeError, /expected scalar type Float but found Double/);
    expectError(() => f64([2, 3]).matmul(f32([3, 2])), DTypeError, /expected scalar type Double but found Float/);
    expectError(() => f32([2]).add(f64([2])), DTypeError, /expected scalar type Float but found Double/);
  });

  test('requiresGrad on an integer or bool tensor is a DTypeError', () => {
    const re = /only Tensors of floating point dtype can require gradients/;
    expectError(() => i32([1, 2]).setRequiresGrad(), DTypeError, re);
    expectError(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true }), DTypeError, re);
    expectError(() => zeros([2], { dtype: 'int32', requiresGrad: true }), DTypeError, re);
    expectError(() => tensor([true, false], { requiresGrad: true }), DTypeError, re);
  });
});

describe('autograd misuse', () => {
  test('backward on a non-scalar without a gradient is an AutogradError', () => {
    const x = f32([2, 3]).setRequiresGrad();
    const re = /grad can be implicitly created only for scalar outputs/;
    expectError(() => x.mul(2).backward(), AutogradError, re);
    expectError(() => grad(x.mul(2), [x]), AutogradError, re);
    expectError(() => x.mul(2).backward(ones([3])), AutogradError, /Mismatch in shape/);
  });

  test('a second backward through a freed graph is an AutogradError', () => {
    const x = f32([3]).setRequiresGrad();
    const y = x.exp().sum();
    y.backward();
    expectError(() => y.backward(), AutogradError, /Trying to backward through the graph a second time/);
  });

  test('a saved tensor changed in place is an AutogradError', () => {
    const w = f32([3]).setRequiresGrad();
    const a = f32([3]);
    const y = w.mul(a).sum();
    a.mul_(2);
    expectError(() => y.backward(), AutogradError, /one of the variables needed for gradient computation has been modified by an inplace operation/);
  });

  test('in-place on a leaf that requires grad is an AutogradError', () => {
    const x = f32([3]).setRequiresGrad();
    const re = /a leaf Variable that requires grad is being used in an in-place operation\./;
    expectError(() => x.add_(1), AutogradError, re);
    expectError(() => x.mul_(2), AutogradError, re);
    expectError(() => x.fill_(0), AutogradError, re);
    expectError(() => x.zero_(), AutogradError, re);
    expectError(() => x.copy_(f32([3])), AutogradError, re);
    expect(() => noGrad(() => x.add_(1))).not.toThrow();
  });

  test('nothing requires grad is an AutogradError', () => {
    const re = /element 0 of tensors does not require grad and does not have a grad_fn/;
    expectError(() => f32([3]).sum().backward(), AutogradError, re);
    expectError(() => grad(f32([3]).sum(), [f32([3])]), AutogradError, re);
    const x = f32([3]).setRequiresGrad();
    expectError(() => noGrad(() => x.mul(2).sum()).backward(), AutogradError, re);
  });
});

describe('domains', () => {
  test('max/min of an empty tensor is a ValueError', () => {
    expectError(() => zeros([0]).max(), ValueError, /max\(\): Expected reduction dim to be specified for input\.numel\(\) == 0/);
    expectError(() => zeros([2, 0]).min(), ValueError, /min\(\): Expected reduction dim to be specified for input\.numel\(\) == 0/);
  });

  test("a negative dimension size is a ShapeError in torch's words, naming the op and the shape", () => {
    expectError(() => zeros([-1]), ShapeError, /^zeros\(\): Trying to create tensor with negative dimension -1: \[-1\]$/);
    expectError(() => ones([2, -3]), ShapeError, /^ones\(\): Trying to create tensor with negative dimension -3: \[2,-3\]$/);
    expectError(() => randn([-1]), ShapeError, /randn\(\).*negative dimension -1/);
    expectError(() => tensor(new Float32Array(6), { shape: [-1, -6] }), ShapeError, /tensor\(\).*negative dimension -1: \[-1,-6\]/);
    expectError(() => tensor([1, 2, 3, 4, 5, 6], { shape: [-1, -6] }), ShapeError, /tensor\(\).*negative dimension/);
    expectError(() => Tensor.fromStorage(new Float32Array(6), [-1, -6]), ShapeError, /fromStorage\(\).*negative dimension -1/);
    expectError(() => eye(-2), ShapeError, /eye\(\).*negative dimension -2/);
  });

  test('fractional, non-finite and unsafe dimensions are ShapeErrors naming the dimension', () => {
    const re = (op: string, shape: string, i: number, d: string) =>
      new RegExp(`^${op}\\(\\): invalid shape ${shape.replace(/[[\]]/g, '\\$&')}: dimension ${i} is ${d} \\(dimensions must be non-negative integers`);
    expectError(() => tensor(new Float32Array(4), { shape: [0.5, 8] }), ShapeError, re('tensor', '[0.5,8]', 0, '0.5'));
    expectError(() => zeros([2, NaN]), ShapeError, re('zeros', '[2,"NaN"]', 1, 'NaN'));
    expectError(() => zeros([Infinity]), ShapeError, re('zeros', '["Infinity"]', 0, 'Infinity'));
    expectError(() => zeros([2 ** 53]), ShapeError, re('zeros', '[9007199254740992]', 0, '9007199254740992'));
    expectError(() => rand(['2'] as unknown as number[]), ShapeError, re('rand', '["2"]', 0, '"2"'));
    expectError(() => zeros(3 as unknown as number[]), ShapeError, /^zeros\(\): shape must be an array of non-negative integers, got 3$/);
    expectError(() => f32([4]).reshape([0.5, 8]), ShapeError, /reshape: invalid shape dimension 0\.5 in \[0\.5, 8\]/);
  });
});

describe('sizes: a bound before anything is allocated or walked', () => {
  test('MAX_NUMEL is 2^31 − 1: every element must have an int32 index', () => {
    expect(MAX_NUMEL).toBe(2147483647);
  });

  test('zeros([2 ** 31]) is a ShapeError with the element and byte counts, not an 8 GiB allocation', () => {
    expectError(
      () => zeros([2 ** 31]),
      ShapeError,
      /^zeros\(\): shape \[2147483648\] has 2147483648 elements \(8,589,934,592 bytes = 8\.0 GiB\), over the limit of 2147483647 elements per tensor/,
    );
    expectError(() => zeros([2 ** 31], { dtype: 'float64' }), ShapeError, /17,179,869,184 bytes = 16\.0 GiB/);
    expectError(() => ones([1e6, 1e6]), ShapeError, /ones\(\): shape \[1000000, 1000000\] has 1000000000000 elements/);
    expectError(() => randn([2 ** 16, 2 ** 16]), ShapeError, /randn\(\): shape \[65536, 65536\] has 4294967296 elements \(17,179,869,184 bytes/);
    expectError(() => arange(1e12), ShapeError, /arange\(\): cannot allocate 1000000000000 int32 elements \(4,000,000,000,000 bytes = 3725\.3 GiB\)/);
    expectError(() => linspace(0, 1, 2 ** 40), ShapeError, /linspace\(\): cannot allocate 1099511627776 float32 elements/);
    // A broadcast result is allocated, so it is bounded as well.
    expectError(() => ones([2 ** 16, 1]).add(ones([1, 2 ** 16])), ShapeError, /cannot allocate 4294967296 float32 elements/);
  });

  test('expand([2 ** 40]).sum() fails at once: a stride-0 view over the limit would be walked for hours', () => {
    expectError(() => ones([1]).expand([2 ** 40]), ShapeError, /^expand\(\): shape \[1099511627776\] has 1099511627776 elements, over the limit of 2147483647/);
    expectError(
      () =>
        ones([1, 1])
          .expand([2 ** 20, 2 ** 20])
          .sum(),
      ShapeError,
      /expand\(\).*1099511627776 elements/,
    );
    // At the limit a view is fine (it allocates nothing).
    expect(ones([1]).expand([MAX_NUMEL]).shape).toEqual([MAX_NUMEL]);
  });
});

describe('dtypes and values', () => {
  test('an unknown dtype is a DTypeError listing the supported ones', () => {
    const re = (op: string) => new RegExp(`^${op}\\(\\): unsupported dtype 'float16'; supported dtypes: float32, float64, int32, bool$`);
    const float16 = { dtype: 'float16' as DType };
    expectError(() => tensor([1], float16), DTypeError, re('tensor'));
    expectError(() => tensor(new Float32Array(2), float16), DTypeError, re('tensor'));
    expectError(() => zeros([2], float16), DTypeError, re('zeros'));
    expectError(() => full([2], 1, float16), DTypeError, re('full'));
    expectError(() => randn([2], float16), DTypeError, re('randn'));
    expectError(() => f32([2]).to('float16' as DType), DTypeError, re('to'));
    expectError(() => zeros([2], { dtype: 'int64' as DType }), DTypeError, /unsupported dtype 'int64'/);
    expect(DTYPES).toEqual(['float32', 'float64', 'int32', 'bool']);
  });

  test('int32 values out of range are a ValueError, not a silent wrap (3e9 → −1294967296)', () => {
    const re = /^tensor\(\): value 3000000000 at index 0 cannot be converted to type int32 without overflow \(range \[-2147483648, 2147483647\]\)$/;
    expectError(() => tensor([3e9], { dtype: 'int32' }), ValueError, re);
    expectError(() => tensor(Float64Array.of(3e9), { dtype: 'int32' }), ValueError, re);
    expectError(() => tensor([1, -2147483649], { dtype: 'int32' }), ValueError, /value -2147483649 at index 1/);
    expectError(() => tensor([NaN], { dtype: 'int32' }), ValueError, /value NaN at index 0/);
    expectError(() => tensor([Infinity], { dtype: 'int32' }), ValueError, /value Infinity at index 0/);
    expectError(() => full([2], 2 ** 31, { dtype: 'int32' }), ValueError, /full\(\): value 2147483648/);
    expectError(() => arange(2 ** 31 - 1, 2 ** 31 + 1), ValueError, /arange\(\): value 2147483648 at index 1/);
    // The edges of the range are kept exactly; fractions truncate toward zero, as torch's conversion.
    expect(tensor([2147483647, -2147483648, 2.7, -2.7], { dtype: 'int32' }).toArray()).toEqual([2147483647, -2147483648, 2, -2]);
  });

  test('bool storage holds 0 or 1 whatever number it is made from', () => {
    expect(Array.from(tensor([2, 0, -0.5, NaN], { dtype: 'bool' }).data)).toEqual([1, 0, 1, 1]);
    expect(Array.from(tensor(Float32Array.of(3, 0), { dtype: 'bool' }).data)).toEqual([1, 0]);
  });

  test('an index of the wrong dtype is a DTypeError (not a TypeError) naming the op', () => {
    const w = f32([4, 2]);
    expectError(() => embedding(w, tensor([1])), DTypeError, /^embedding\(\): Expected ids of dtype int32, got float32$/);
    expectError(() => w.gather(0, tensor([[1, 0]])), DTypeError, /^gather\(\): Expected dtype int32 for index, got float32$/);
    expectError(() => w.indexSelect(0, tensor([1])), DTypeError, /^indexSelect\(\): Expected dtype int32 for index, got float32$/);
    expectError(() => w.scatterAdd(0, tensor([[1, 0]]), f32([1, 2])), DTypeError, /scatterAdd\(\): Expected dtype int32 for index, got float32/);
    expectError(() => crossEntropy(f32([2, 3]), tensor([1, 0])), DTypeError, /^crossEntropy\(\): expected target of dtype int32, got float32$/);
    expectError(() => w.maskedFill(tensor([1, 0], { dtype: 'int32' }), 0), DTypeError, /^maskedFill\(\): expected a bool mask, got int32$/);
    expectError(() => where(tensor([1, 0]), f32([2]), f32([2])), DTypeError, /^where\(\): expected condition to be a bool tensor, but got float32$/);
  });
});

describe('non-tensor arguments', () => {
  test('a non-tensor argument is a TypeError naming the argument, the op and what was passed', () => {
    const x = f32([2, 2]);
    const junk = {} as unknown as Tensor;
    expectError(() => x.matmul(junk), TypeError, /Argument 'b' passed to 'matmul' must be a Tensor.*but got 'Object'/);
    expectError(() => matmul(junk, x), TypeError, /Argument 'a' passed to 'matmul' must be a Tensor.*but got 'Object'/);
    expectError(() => x.add('3' as unknown as Tensor), TypeError, /Argument 'b' passed to 'add' must be a Tensor.*but got 'string'/);
    expectError(() => x.mul(null as unknown as Tensor), TypeError, /passed to 'mul' must be a Tensor.*but got 'null'/);
    expectError(() => x.mul([1, 2] as unknown as Tensor), TypeError, /passed to 'mul' must be a Tensor.*but got 'Array'/);
    expectError(() => sum(junk), TypeError, /Argument 'input' passed to 'sum' must be a Tensor/);
    expectError(() => embedding(x, [0, 1] as unknown as Tensor), TypeError, /passed to 'embedding' must be a Tensor/);
  });
});
