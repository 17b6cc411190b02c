/**
 * Gradient ownership (core/ownership.ts): backward() hands a leaf a gradient without a copy
 * only when nothing else can hold that gradient's storage. Proven here on a catalogue of
 * graphs where something else could — a gradient passed through to two leaves, a reshape
 * between a retained non-leaf and its leaf, hooks that keep what they see, a gradient the
 * user gave — by checking that no leaf's `.grad` shares storage with anything the test can
 * reach; and that the copy is really skipped where it may be (else the rule would be moot).
 * The same for summing in place a tensor's gradient parts (a tied table, a residual).
 */
import { describe, expect, test } from 'vitest';
import { Generator, grad, linear, randn, SparseCoo, tensor, type Tensor, type Grad } from '../index.ts';
import { type Backend, getBackend } from '../kernels/backend.ts';
import { read } from './read.ts';

interface Built {
  /** The leaves whose `.grad` must be their own. */
  leaves: Tensor[];
  /** Everything else the user could still reach after backward (forward tensors, hook stashes, given gradients). */
  reachable: Tensor[];
}

const gen = new Generator(5);
const leaf = (shape: number[]) => randn(shape, { generator: gen }).setRequiresGrad();

/** Each builder makes a graph and runs backward() on it. */
const CATALOGUE: Record<string, () => Built> = {
  'x + y: add passes one gradient to both': () => {
    const [x, y] = [leaf([3, 4]), leaf([3, 4])];
    const s = x.add(y);
    s.backward(randn([3, 4], { generator: gen }).mul(1)); // a fresh gradient, made before backward
    return { leaves: [x, y], reachable: [s] };
  },
  '(x + y)·2: add passes one fresh gradient to both': () => {
    const [x, y] = [leaf([3, 4]), leaf([3, 4])];
    const s = x.add(y).mul(2);
    s.sum().backward();
    return { leaves: [x, y], reachable: [s] };
  },
  'x + x: one leaf, two uses': () => {
    const x = leaf([5]);
    const s = x.add(x).mul(2).sum();
    s.backward();
    return { leaves: [x], reachable: [s] };
  },
  'x · x': () => {
    const x = leaf([2, 3]);
    const s = x.mul(x).sum();
    s.backward();
    return { leaves: [x], reachable: [s] };
  },
  'reshape of a leaf beside another leaf (pass-through twice)': () => {
    const [x, y] = [leaf([2, 6]), leaf([3, 4])];
    const s = x.reshape([3, 4]).add(y).mul(3);
    s.sum().backward();
    return { leaves: [x, y], reachable: [s] };
  },
  'a retained non-leaf reshaped from a leaf': () => {
    const x = leaf([4, 2]);
    const r = x.reshape([8]);
    r.retainGrad();
    const s = r.mul(r).sum();
    s.backward();
    return { leaves: [x], reachable: [r, r.grad as Tensor, s] };
  },
  'a hook that keeps the gradient it sees': () => {
    const [x, w] = [leaf([3, 2]), leaf([2, 4])];
    const kept: Tensor[] = [];
    x.registerHook((g) => {
      kept.push(g as Tensor);
    });
    const h = x.matmul(w);
    h.registerHook((g) => {
      kept.push(g as Tensor);
    });
    h.sum().backward();
    return { leaves: [x, w], reachable: [h, ...kept] };
  },
  'a hook that returns a tensor it keeps': () => {
    const [x, w] = [leaf([3, 2]), leaf([2, 4])];
    const kept: Tensor[] = [];
    w.registerHook((g) => {
      const mine = (g as Tensor).mul(1);
      kept.push(mine);
      return mine;
    });
    x.matmul(w).sum().backward();
    return { leaves: [x, w], reachable: kept };
  },
  'a gradient the user gives, passed through to the leaf': () => {
    const x = leaf([2, 3]);
    const given = randn([6], { generator: gen });
    const y = x.reshape([6]);
    y.backward(given);
    return { leaves: [x], reachable: [given, y] };
  },
  'linear with a bias broadcast over rows': () => {
    const [x, w, b] = [leaf([2, 5, 3]), leaf([4, 3]), leaf([4])];
    const y = linear(x, w, b);
    y.mul(y).sum().backward();
    return { leaves: [x, w, b], reachable: [y] };
  },
  'a leaf broadcast against a larger one': () => {
    const [x, y] = [leaf([3]), leaf([4, 3])];
    const s = x.add(y).sum();
    s.backward();
    return { leaves: [x, y], reachable: [s] };
  },
  'a tied table: looked up, then its transpose as the output head (summed in place)': () => {
    const table = leaf([6, 3]);
    const hidden = table.indexSelect(0, tensor([4, 1, 4], { dtype: 'int32' }));
    const logits = hidden.matmul(table.transpose(0, 1));
    logits.mul(logits).sum().backward();
    return { leaves: [table], reachable: [hidden, logits] };
  },
  'a residual: x feeds a branch and the sum (summed in place)': () => {
    const [x, w] = [leaf([4, 3]), leaf([3, 3])];
    const h = x.matmul(w).tanh().add(x);
    h.mul(h).sum().backward();
    return { leaves: [x, w], reachable: [h] };
  },
  'an embedding looked up twice (indexSelect: gradients scattered onto fresh zeros)': () => {
    const table = leaf([6, 3]);
    const ids = tensor([4, 1, 4], { dtype: 'int32' });
    const s = table.indexSelect(0, ids).add(table.indexSelect(0, tensor([0, 4], { dtype: 'int32' })).sum(0));
    s.mul(s).sum().backward();
    return { leaves: [table], reachable: [s] };
  },
};

/** The arguments of every call of the backend's `method` during f. */
function callsDuring<K extends 'copy' | 'allocate'>(method: K, f: () => void): Parameters<Backend[K]>[] {
  const backend = getBackend();
  const original = backend[method];
  const calls: Parameters<Backend[K]>[] = [];
  backend[method] = ((...args: Parameters<Backend[K]>) => {
    calls.push(args);
    return (original as (...a: Parameters<Backend[K]>) => unknown).apply(backend, args);
  }) as Backend[K];
  try {
    f();
  } finally {
    backend[method] = original;
  }
  return calls;
}

/** How many times the backend's copy kernel runs during f. */
const copiesDuring = (f: () => void): number => callsDuring('copy', f).length;

/** The lengths of the storages the backend allocates during f. */
const allocationsDuring = (f: () => void): number[] => callsDuring('allocate', f).map((args) => args[1]);

const storageOf = (g: Grad | null): unknown => (g instanceof SparseCoo ? g : (g?.storage ?? null));

describe('gradient ownership', () => {
  for (const [name, build] of Object.entries(CATALOGUE)) {
    test(`${name}: every leaf's .grad is its own`, () => {
      const { leaves, reachable } = build();
      for (const [i, l] of leaves.entries()) {
        expect(l.grad, `leaf ${i} has a gradient`).not.toBeNull();
        const others = [...leaves, ...reachable, ...leaves.filter((_, j) => j !== i).map((o) => o.grad as Tensor)];
        for (const other of others) expect(storageOf(l.grad) === other.storage, `leaf ${i}'s .grad shares storage`).toBe(false);
      }
    });
  }

  test('editing one leaf’s .grad in place changes nothing else (x + y)', () => {
    const { leaves, reachable } = CATALOGUE['x + y: add passes one gradient to both']!();
    const [x, y] = leaves as [Tensor, Tensor];
    const before = [y.grad as Tensor, ...reachable].map((t) => read(t));
    (x.grad as Tensor).fill_(Number.NaN);
    expect([y.grad as Tensor, ...reachable].map((t) => read(t))).toEqual(before);
  });

  test('a second backward adds into a new tensor and leaves the first gradient alone', () => {
    const [x, w] = [leaf([3, 2]), leaf([2, 4])];
    x.matmul(w).sum().backward();
    const first = w.grad as Tensor;
    const firstValues = read(first);
    x.matmul(w).sum().backward();
    expect(w.grad).not.toBe(first);
    expect(read(first)).toEqual(firstValues);
    expect(read(w.grad as Tensor)).toEqual(firstValues.map((v) => v + v));
  });

  test('grad() of a tensor whose gradient also flows on: the result is not summed into later', () => {
    // h's gradient is returned, and reshape's VJP passes that same storage on to a, which
    // then gets a second part (from a.sum()): summed in place, it would change h's result.
    const x = leaf([2, 3]);
    const a = x.mul(3);
    const h = a.reshape([6]);
    const out = h
      .mul(tensor([1, 2, 3, 4, 5, 6]))
      .sum()
      .add(a.sum());
    const [gh, gx] = grad([out], [h, x]) as [Tensor, Tensor];
    expect(read(gh)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(read(gx)).toEqual([6, 9, 12, 15, 18, 21]);
  });

  test('a tied table’s two gradient parts are summed into the first, not into a third buffer', () => {
    // The output head's dW (a fresh GEMM output) arrives first, the lookup's scatter second;
    // adding one into the other in place saves a table-sized buffer (30522 × 256 for BERT's).
    const table = leaf([50, 4]);
    const ids = tensor([7, 3, 7], { dtype: 'int32' });
    // Each part on its own (the other use of the table held constant), then their sum.
    const fixed = table.detach();
    const [lookup, head] = [fixed.clone().setRequiresGrad(), fixed.clone().setRequiresGrad()];
    const [lookupPart] = grad([lookup.indexSelect(0, ids).matmul(fixed.transpose(0, 1)).sum()], [lookup]) as [Tensor];
    const [headPart] = grad([fixed.indexSelect(0, ids).matmul(head.transpose(0, 1)).sum()], [head]) as [Tensor];
    const expected = read(lookupPart.add(headPart));
    const loss = table.indexSelect(0, ids).matmul(table.transpose(0, 1)).sum();
    const sizes = allocationsDuring(() => loss.backward());
    expect(sizes.filter((n) => n === table.numel)).toHaveLength(2);
    expect(read(table.grad as Tensor)).toEqual(expected);
  });

  test('fresh gradients are taken without a copy', () => {
    // x·W's gradients are fresh GEMM outputs that only their leaf holds: no copy kernel runs.
    // Before ownership, accumulation copied each (two calls here).
    const [x, w] = [leaf([4, 3]), leaf([3, 5])];
    const loss = x.matmul(w).sum();
    expect(copiesDuring(() => loss.backward())).toBe(0);
    expect(x.grad).not.toBeNull();
    expect(w.grad).not.toBeNull();
  });

  test('an embedding table’s gradient is scattered once and taken without a copy', () => {
    // indexSelect's VJP scatters onto zeros it makes itself; it used to clone those zeros
    // (a copy as large as the table: 30522 × 256 for BERT's word embeddings) and the
    // result was copied again into .grad.
    const table = leaf([7, 2]);
    const ids = tensor([3, 0, 3], { dtype: 'int32' });
    const loss = table
      .indexSelect(0, ids)
      .mul(
        tensor([
          [1, 2],
          [3, 4],
          [5, 6],
        ]),
      )
      .sum();
    expect(copiesDuring(() => loss.backward())).toBe(0);
    expect(read(table.grad as Tensor)).toEqual([3, 4, 0, 0, 0, 0, 6, 8, 0, 0, 0, 0, 0, 0]);
  });
});
