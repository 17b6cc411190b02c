/**
 * MultiHeadAttention, rotary embeddings and the KV cache (docs/TESTING.md §4 "Models").
 *
 * The oracle is `naiveAttention` below: plain loops over numbers, written from the
 * formulas (scores q·k/√d, HF's finfo.min on masked keys, head h reading KV head
 * ⌊h/group⌋, RoPE in either layout with HF's float32 inverse frequencies), sharing no code with
 * nn/attention.ts. Everything else is a property of the module against itself.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { cat, Generator, grad, noGrad, randn, ShapeError, type Tensor, tensor, ValueError, withBackend, type FloatDType } from '../../index.ts';
import { assertClose, gradcheck, T32, T64, type Bound } from '../kit/index.ts';
import { BERT_NAMES, KVCache, LLAMA_NAMES, MultiHeadAttention, type AttentionNames } from '../../nn/attention.ts';
import { Linear } from '../../nn/linear.ts';
import type { Module } from '../../nn/module.ts';
import { applyRope, metaToHfRope, ropeCache } from '../../nn/rope.ts';

const EXACT = { name: 'exact', atol: 0, rtol: 0 };

// ---- configurations -------------------------------------------------------------------

interface Config {
  batch: number;
  seq: number;
  hidden: number;
  numKvHeads: number;
  group: number;
  headDim: number;
  bias: boolean;
  rope: boolean;
  theta: number;
  causal: boolean;
  names: AttentionNames;
  seed: number;
}

/** Batch 1–2, seq 1–6, heads 1–4 (1–2 KV heads × group 1–2), head dims 2 or 4. */
const arbConfig = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  seq: fc.integer({ min: 1, max: 6 }),
  hidden: fc.integer({ min: 2, max: 8 }),
  numKvHeads: fc.integer({ min: 1, max: 2 }),
  group: fc.integer({ min: 1, max: 2 }),
  headDim: fc.constantFrom(2, 4),
  bias: fc.boolean(),
  rope: fc.boolean(),
  theta: fc.constantFrom(10, 10000),
  causal: fc.boolean(),
  names: fc.constantFrom(LLAMA_NAMES, BERT_NAMES),
  seed: fc.nat(),
});

/** A module with N(0, 0.8²) weights (larger than Linear's init, so the softmax is far from uniform) and an input. */
function build(c: Config, dtype: FloatDType = 'float64', overrides: { numKvHeads?: number } = {}) {
  const generator = new Generator(c.seed);
  const module = new MultiHeadAttention({
    hidden: c.hidden,
    numHeads: c.numKvHeads * c.group,
    numKvHeads: overrides.numKvHeads ?? c.numKvHeads,
    headDim: c.headDim,
    bias: c.bias,
    causal: c.causal,
    names: c.names,
    dtype,
    ...(c.rope ? { rope: { theta: c.theta } } : {}),
  });
  noGrad(() => module.parameters().forEach((p) => p.copy_(randn(p.shape, { dtype, generator }).mul(0.8))));
  const x = randn([c.batch, c.seq, c.hidden], { dtype, generator });
  return { module, x, generator };
}

/** A [B, S] mask of random 1/0 (rows may be fully masked). */
function randomMask(c: Config, g: Generator): Tensor {
  return tensor(
    Array.from({ length: c.batch }, () => Array.from({ length: c.seq }, () => (g.uniform() < 0.7 ? 1 : 0))),
    { dtype: 'float64' },
  );
}

/** Right padding: row b has `lengths[b]` ≥ 1 real tokens, so no query ever sees only padding. */
function rightPadding(c: Config, lengths: readonly number[]): Tensor {
  return tensor(
    lengths.slice(0, c.batch).map((n) => Array.from({ length: c.seq }, (_, j) => (j < Math.min(n, c.seq) ? 1 : 0))),
    { dtype: 'float64' },
  );
}
const arbLengths = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 2 });

// ---- the naive oracle -------------------------------------------------------------------

type Layout = 'half' | 'interleaved';
type Matrix = number[][];
interface Weights {
  w: Matrix;
  b: number[] | null;
}

function weightsOf(m: Module, name: string | null): Weights | null {
  if (name === null) return null;
  const state = m.stateDict();
  return { w: state[`${name}.weight`]!.toArray() as Matrix, b: (state[`${name}.bias`]?.toArray() as number[] | undefined) ?? null };
}

const linear = ({ w, b }: Weights, x: number[]) => w.map((row, o) => row.reduce((s, wi, i) => s + wi * x[i]!, b ? b[o]! : 0));

/** Rotate each head's pairs by position·θ^(−2i/d); pairs are (i, i + d/2) or (2i, 2i + 1). */
function rotate(v: number[], headDim: number, position: number, theta: number, layout: Layout): number[] {
  const out = [...v];
  for (let h = 0; h < v.length / headDim; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      const [a, b] = layout === 'half' ? [h * headDim + i, h * headDim + i + headDim / 2] : [h * headDim + 2 * i, h * headDim + 2 * i + 1];
      // HF's inv_freq = 1 / theta^(arange(0, d, 2) / d), each step in float32 (the convention the
      // module follows: rope.ts); float64 frequencies would differ by ~1e-7 relative, far above rounding.
      const angle = position * Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
      out[a] = v[a]! * Math.cos(angle) - v[b]! * Math.sin(angle);
      out[b] = v[b]! * Math.cos(angle) + v[a]! * Math.sin(angle);
    }
  }
  return out;
}

function naiveAttention(m: MultiHeadAttention, c: Config, x: Tensor, mask: Tensor | null, offset: number, layout: Layout = 'half'): number[][][] {
  const [q, k, v] = (['q', 'k', 'v'] as const).map((r) => weightsOf(m, m.names[r])!) as [Weights, Weights, Weights];
  const o = weightsOf(m, m.names.o);
  const keep = mask?.toArray() as Matrix | undefined;
  const d = c.headDim;
  return (x.toArray() as number[][][]).map((tokens, b) => {
    const rope = (vec: number[], t: number) => (c.rope ? rotate(vec, d, offset + t, c.theta, layout) : vec);
    const Q = tokens.map((t, i) => rope(linear(q, t), i));
    const K = tokens.map((t, i) => rope(linear(k, t), i));
    const V = tokens.map((t) => linear(v, t));
    return tokens.map((_, i) => {
      const context: number[] = [];
      for (let h = 0; h < c.numKvHeads * c.group; h++) {
        const kv = Math.floor(h / c.group);
        const scores = K.map((kj, j) => {
          const masked = (keep && keep[b]![j] === 0) || (c.causal && j > i);
          let s = 0;
          for (let e = 0; e < d; e++) s += Q[i]![h * d + e]! * kj[kv * d + e]!;
          return masked ? -Number.MAX_VALUE : s / Math.sqrt(d);
        });
        const top = Math.max(...scores);
        const weights = scores.map((s) => Math.exp(s - top));
        const total = weights.reduce((p, w) => p + w, 0);
        for (let e = 0; e < d; e++) context.push(weights.reduce((p, w, j) => p + (w / total) * V[j]![kv * d + e]!, 0));
      }
      return o ? linear(o, context) : context;
    });
  });
}

// ---- helpers ------------------------------------------------------------------------------

/** The module's parameters as swappable inputs, so gradcheck can differentiate through them. */
function functional(m: Module) {
  const slots = m.namedModules().flatMap(([, owner]) => owner.ownParameters().map(([key, p]) => ({ owner, key, p })));
  const bind = (values: readonly Tensor[]) => slots.forEach((s, i) => ((s.owner as unknown as Record<string, Tensor>)[s.key] = values[i]!));
  return { params: slots.map((s) => s.p as Tensor), bind };
}

const tokens = (t: Tensor, start: number, end?: number) => t.slice(1, start, end);

/** Decode a prefix of `prefix` tokens in one call, then the rest one by one; the outputs joined. */
function decode(m: MultiHeadAttention, x: Tensor, prefix: number, mask?: Tensor): Tensor {
  const cache = new KVCache();
  const step = (start: number, end: number) => m.forward(tokens(x, start, end), { kvCache: cache, ...(mask ? { attentionMask: mask.slice(1, 0, end) } : {}) });
  const outputs = [step(0, prefix)];
  for (let i = prefix; i < x.shape[1]!; i++) outputs.push(step(i, i + 1));
  expect(cache.length(0)).toBe(x.shape[1]);
  return cat(outputs, 1);
}

/**
 * Two float64 evaluations of attention that differ only in order (naive loops, a KV cache,
 * one row at a time) differ by rounding alone: ≈ 1e-12 relative to the size of the terms
 * (docs/TESTING.md §1), not T64 (a finite-difference bound, 1e8 times looser). The terms
 * are bounded by products of the operands' sizes: (1 + max|x|)³ (the scores are quadratic
 * in x, the output linear in it) times, for each projection, 1 + its ∞-norm (the largest
 * row sum of |W|) + max|b|.
 */
function roundingBound(module: Module, x: Tensor): Bound {
  let scale = (1 + Math.max(0, ...Array.from(x.toTypedArray() as ArrayLike<number>, Math.abs))) ** 3;
  const linears = new Map<string, number>();
  for (const [name, p] of module.namedParameters()) {
    const owner = name.replace(/\.(weight|bias)$/, '');
    const values = Array.from(p.toTypedArray() as ArrayLike<number>, Math.abs);
    const size =
      p.rank === 2
        ? Math.max(0, ...Array.from({ length: p.shape[0]! }, (_, r) => values.slice(r * p.shape[1]!, (r + 1) * p.shape[1]!).reduce((a, v) => a + v, 0)))
        : Math.max(0, ...values);
    linears.set(owner, (linears.get(owner) ?? 1) + size);
  }
  for (const v of linears.values()) scale *= v;
  return { name: `rounding (terms ≤ ${scale.toPrecision(3)})`, atol: 1e-12 * scale, rtol: 1e-10 };
}

// ---- properties ---------------------------------------------------------------------------

describe('MultiHeadAttention forward', () => {
  test('equals the naive loops (any mask, RoPE offset, GQA, both layouts of names, both backends) up to rounding', () => {
    fc.assert(
      fc.property(arbConfig, fc.boolean(), fc.nat({ max: 5 }), fc.constantFrom('cpu', 'reference'), (c, masked, offset, backend) => {
        const { module, x, generator } = build(c);
        const mask = masked ? randomMask(c, generator) : null;
        const y = withBackend(backend, () => module.forward(x, { positionOffset: offset, ...(mask ? { attentionMask: mask } : {}) }));
        assertClose(y, tensor(naiveAttention(module, c, x, mask, offset), { dtype: 'float64' }), roundingBound(module, x), 'attention vs naive');
      }),
      { numRuns: 30 },
    );
  });

  test('causality: changing tokens after i leaves outputs 0..i bitwise unchanged', () => {
    fc.assert(
      fc.property(arbConfig, fc.nat(), (c0, at) => {
        const c = { ...c0, causal: true };
        const { module, x, generator } = build(c);
        const i = at % c.seq;
        const changed = cat([tokens(x, 0, i + 1), randn([c.batch, c.seq - i - 1, c.hidden], { dtype: 'float64', generator })], 1);
        assertClose(tokens(module.forward(changed), 0, i + 1), tokens(module.forward(x), 0, i + 1), 'bitwise', 'outputs up to i');
      }),
      { numRuns: 20 },
    );
  });

  test("padding invariance: changing padded tokens leaves the real tokens' outputs bitwise unchanged", () => {
    fc.assert(
      fc.property(arbConfig, arbLengths, (c, lengths) => {
        const { module, x, generator } = build(c);
        const mask = rightPadding(c, lengths);
        const changed = x.add(randn(x.shape, { dtype: 'float64', generator }).mul(mask.eq(0).to('float64').unsqueeze(2)));
        const [y, y2] = [x, changed].map((input) => module.forward(input, { attentionMask: mask }));
        for (let b = 0; b < c.batch; b++) {
          const real = (t: Tensor) => t.slice(0, b, b + 1).slice(1, 0, Math.min(lengths[b]!, c.seq));
          assertClose(real(y2!), real(y!), 'bitwise', `row ${b}, real tokens`);
        }
      }),
      { numRuns: 20 },
    );
  });

  test('per-row positions [B, S] equal running each row with its own offset', () => {
    fc.assert(
      fc.property(arbConfig, fc.nat({ max: 5 }), fc.nat({ max: 5 }), (c0, p0, p1) => {
        const c = { ...c0, rope: true, batch: 2 };
        const { module, x } = build(c);
        const offsets = [p0, p1];
        const positions = tensor(
          offsets.map((p) => Array.from({ length: c.seq }, (_, i) => p + i)),
          { dtype: 'int32' },
        );
        const rows = offsets.map((p, b) => module.forward(x.slice(0, b, b + 1), { positionOffset: p }));
        assertClose(module.forward(x, { positions }), cat(rows, 0), roundingBound(module, x), 'batched positions');
      }),
      { numRuns: 10 },
    );
  });

  test.each(['float32', 'float64'] as const)('a fully masked query row attends uniformly to every key, as HF (%s, no NaN)', (dtype) => {
    const c: Config = {
      batch: 2,
      seq: 4,
      hidden: 8,
      numKvHeads: 2,
      group: 1,
      headDim: 4,
      bias: true,
      rope: true,
      theta: 1e4,
      causal: true,
      names: BERT_NAMES,
      seed: 11,
    };
    const { module, x } = build(c, dtype);
    const attentionMask = tensor([
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ]);
    const values = (module.getSubmodule('value') as Linear).forward(x.slice(0, 0, 1));
    const y = module.forward(x, { attentionMask }).slice(0, 0, 1);
    assertClose(y, values.mean(1, true).expand(values.shape), T64, 'masked row vs mean of the values');
  });

  test('dropout acts in training mode only', () => {
    const c: Config = {
      batch: 2,
      seq: 5,
      hidden: 8,
      numKvHeads: 2,
      group: 1,
      headDim: 4,
      bias: true,
      rope: false,
      theta: 1e4,
      causal: false,
      names: BERT_NAMES,
      seed: 3,
    };
    const plain = build(c);
    const dropping = new MultiHeadAttention({ hidden: 8, numHeads: 2, names: BERT_NAMES, dropout: 0.5, dtype: 'float64', generator: new Generator(1) });
    dropping.loadStateDict(plain.module.stateDict());
    const expected = plain.module.forward(plain.x);
    assertClose(dropping.eval().forward(plain.x), expected, 'bitwise', 'eval');
    expect(() => assertClose(dropping.train().forward(plain.x), expected, T64)).toThrow();
  });

  test('projections are looked up by name: a replaced module is the one that runs', () => {
    const c: Config = {
      batch: 1,
      seq: 3,
      hidden: 4,
      numKvHeads: 1,
      group: 2,
      headDim: 2,
      bias: false,
      rope: true,
      theta: 1e4,
      causal: true,
      names: LLAMA_NAMES,
      seed: 5,
    };
    const { module, x } = build(c);
    const zero = new Linear(4, 2, { bias: false, dtype: 'float64' });
    noGrad(() => zero.weight.zero_());
    module.replaceModule('v_proj', zero);
    assertClose(module.forward(x), x.zerosLike(), EXACT, 'attention over zero values');
  });
});

describe('MultiHeadAttention gradients', () => {
  test('fast gradcheck of the whole block (input and every parameter) in float64', () => {
    fc.assert(
      fc.property(arbConfig, fc.boolean(), (c, masked) => {
        const { module, x, generator } = build(c);
        const mask = masked ? randomMask(c, generator) : undefined;
        const { params, bind } = functional(module);
        const fn = (input: Tensor, ...ps: Tensor[]) => (bind(ps), module.forward(input, { attentionMask: mask }));
        gradcheck(fn, [x, ...params], { mode: 'fast', seed: c.seed });
      }),
      { numRuns: 15 },
    );
  });

  test('full gradcheck at a tiny size (GQA, RoPE, causal, padding, biases)', () => {
    const c: Config = {
      batch: 1,
      seq: 3,
      hidden: 4,
      numKvHeads: 1,
      group: 2,
      headDim: 2,
      bias: true,
      rope: true,
      theta: 10,
      causal: true,
      names: LLAMA_NAMES,
      seed: 7,
    };
    const { module, x } = build(c);
    const { params, bind } = functional(module);
    const attentionMask = tensor([[1, 0, 1]], { dtype: 'float64' });
    gradcheck((input, ...ps) => (bind(ps), module.forward(input, { attentionMask })), [x, ...params]);
  });

  test('the key bias gets a zero gradient (softmax is shift-invariant per query)', () => {
    fc.assert(
      fc.property(arbConfig, (c0) => {
        // BERT: q·(k_j + b) shifts query i's scores by the same q·b for every key j. Under
        // RoPE the bias is rotated differently at each key, so there the property fails.
        const c = { ...c0, names: BERT_NAMES, bias: true, rope: false };
        const { module, x, generator } = build(c);
        const y = module.forward(x, { attentionMask: randomMask(c, generator) });
        const [gKey] = grad(y.mul(randn(y.shape, { dtype: 'float64', generator })).sum(), [module.stateDict()['key.bias']!]) as Tensor[];
        assertClose(gKey!, gKey!.zerosLike(), { name: 'absolute', atol: 1e-12, rtol: 0 }, 'key.bias grad');
      }),
      { numRuns: 20 },
    );
  });
});

describe('rotary embeddings', () => {
  const arbRows = fc.record({
    rows: fc.integer({ min: 1, max: 5 }),
    half: fc.integer({ min: 1, max: 4 }),
    seed: fc.nat(),
    theta: fc.constantFrom(10, 10000, 500000),
  });

  test('position 0 is the identity', () => {
    fc.assert(
      fc.property(arbRows, ({ rows, half, seed }) => {
        const x = randn([rows, 2 * half], { dtype: 'float64', generator: new Generator(seed) });
        const { cos, sin } = ropeCache(2 * half, new Array(rows).fill(0), 10000, 'float64');
        assertClose(applyRope(x, cos, sin), x, EXACT, 'rope at position 0');
      }),
      { numRuns: 20 },
    );
  });

  test('shifting all positions leaves the scores q·k unchanged (T64)', () => {
    fc.assert(
      fc.property(arbRows, fc.array(fc.nat({ max: 50 }), { minLength: 5, maxLength: 5 }), fc.nat({ max: 1000 }), ({ rows, half, seed, theta }, pos, shift) => {
        const g = new Generator(seed);
        const [q, k] = [0, 1].map(() => randn([rows, 2 * half], { dtype: 'float64', generator: g }));
        const scores = (offset: number) => {
          const { cos, sin } = ropeCache(
            2 * half,
            pos.slice(0, rows).map((p) => p + offset),
            theta,
            'float64',
          );
          return applyRope(q!, cos, sin).matmul(applyRope(k!, cos, sin).transpose());
        };
        assertClose(scores(shift), scores(0), T64, 'scores after a shift');
      }),
      { numRuns: 20 },
    );
  });

  test("inv_freq is HF's float32 value, also for float64 tables", () => {
    const { cos } = ropeCache(4, [1000], 10000, 'float64');
    expect(cos.toArray()).toEqual([[Math.cos(1000), Math.cos(1000 * Math.fround(0.01)), Math.cos(1000), Math.cos(1000 * Math.fround(0.01))]]);
  });

  test('Meta interleaved weights, permuted by metaToHfRope, equal HF rotate_half', () => {
    fc.assert(
      fc.property(arbConfig, fc.nat({ max: 5 }), (c0, offset) => {
        const c = { ...c0, rope: true };
        const { module, x } = build(c); // its weights play the Meta checkpoint
        const expected = naiveAttention(module, c, x, null, offset, 'interleaved');
        const heads = { q: c.numKvHeads * c.group, k: c.numKvHeads };
        noGrad(() => {
          for (const role of ['q', 'k'] as const) {
            for (const [, p] of module.getSubmodule(module.names[role]).ownParameters()) p.copy_(metaToHfRope(p.detach().clone(), heads[role]));
          }
        });
        assertClose(module.forward(x, { positionOffset: offset }), tensor(expected, { dtype: 'float64' }), T64, 'converted Meta weights');
      }),
      { numRuns: 20 },
    );
  });
});

describe('grouped-query attention', () => {
  test('numKvHeads = numHeads with each KV head repeated over its group equals GQA exactly', () => {
    fc.assert(
      fc.property(arbConfig, (c) => {
        const { module: gqa, x } = build(c);
        const { module: mha } = build(c, 'float64', { numKvHeads: c.numKvHeads * c.group });
        const state = gqa.stateDict();
        // Head h of the MHA gets KV head ⌊h / group⌋'s rows.
        const repeat = (t: Tensor) => {
          const rest = t.shape.slice(1);
          return t
            .reshape([c.numKvHeads, 1, c.headDim, ...rest])
            .expand([c.numKvHeads, c.group, c.headDim, ...rest])
            .reshape([t.shape[0]! * c.group, ...rest]);
        };
        const kv = new Set([c.names.k, c.names.v].flatMap((n) => [`${n}.weight`, `${n}.bias`]));
        mha.loadStateDict(Object.fromEntries(Object.entries(state).map(([name, t]) => [name, kv.has(name) ? repeat(t) : t])));
        assertClose(mha.forward(x), gqa.forward(x), 'bitwise', 'MHA with repeated K/V vs GQA');
      }),
      { numRuns: 20 },
    );
  });
});

describe('KV cache', () => {
  const arbDecode = fc.record({ c: arbConfig, prefix: fc.nat(), lengths: arbLengths, masked: fc.boolean() });
  const setUp = ({ c: c0, prefix, lengths, masked }: { c: Config; prefix: number; lengths: number[]; masked: boolean }) => {
    const c = { ...c0, causal: true };
    return { c, prefix: 1 + (prefix % c.seq), mask: masked ? rightPadding(c, lengths) : undefined };
  };

  test('a prompt prefix then single tokens equals the full causal forward (float64, up to rounding)', () => {
    fc.assert(
      fc.property(arbDecode, (draw) => {
        const { c, prefix, mask } = setUp(draw);
        const { module, x } = build(c);
        assertClose(decode(module, x, prefix, mask), module.forward(x, { attentionMask: mask }), roundingBound(module, x), 'incremental vs full');
      }),
      { numRuns: 20 },
    );
  });

  test('float32 decoding is within T32 of the float64 full forward', () => {
    fc.assert(
      fc.property(arbDecode, (draw) => {
        const { c, prefix, mask } = setUp(draw);
        const { module: m32, x: x32 } = build(c, 'float32');
        const { module: m64 } = build(c);
        m64.loadStateDict(m32.stateDict());
        const y64 = m64.forward(x32.double(), { attentionMask: mask });
        assertClose(decode(m32, x32, prefix, mask), y64, T32, { label: 'float32 incremental vs float64 full', ignoreDType: true });
      }),
      { numRuns: 20 },
    );
  });
});

describe('bad inputs', () => {
  const make = (options: Partial<ConstructorParameters<typeof MultiHeadAttention>[0]>) => () => new MultiHeadAttention({ hidden: 8, numHeads: 2, ...options });

  test('configuration errors are ValueErrors that name the numbers', () => {
    expect(make({ hidden: 10, numHeads: 3 })).toThrow(
      new ValueError('MultiHeadAttention: hidden (10) is not divisible by numHeads (3); pass headDim to choose the head size'),
    );
    expect(make({ numHeads: 4, numKvHeads: 3 })).toThrow(/numHeads \(4\) must be divisible by numKvHeads \(3\)/);
    expect(make({ numHeads: 0 })).toThrow(ValueError);
    expect(make({ headDim: 3, rope: { theta: 1e4 } })).toThrow(/even headDim, got 3/);
    expect(make({ names: { q: 'q', k: 'q', v: 'v', o: null } })).toThrow(/'q' is already taken/);
    expect(make({ names: { q: 'forward', k: 'k', v: 'v', o: null } })).toThrow(ValueError);
    expect(() => ropeCache(3, [0])).toThrow(ValueError);
    expect(() => metaToHfRope(randn([6, 4]), 2)).toThrow(ShapeError);
  });

  test('shape errors name the expected and actual shapes', () => {
    const m = new MultiHeadAttention({ hidden: 8, numHeads: 2, rope: { theta: 1e4 } });
    const x = randn([2, 3, 8]);
    expect(() => m.forward(randn([2, 3, 6]))).toThrow(new ShapeError('MultiHeadAttention: expected input [batch, seq, 8], got [2, 3, 6]'));
    expect(() => m.forward(x, { attentionMask: randn([2, 4]) })).toThrow(
      /attentionMask must have shape \[batch, keys\] = \[2, 3\] \(0 cached \+ 3 new tokens\), got \[2, 4\]/,
    );
    expect(() => m.forward(x, { attentionMask: randn([3]) })).toThrow(ShapeError);
    expect(() => m.forward(x, { positions: [0, 1] })).toThrow(/positions must have shape \[3\] or \[2, 3\], got \[2\]/);
  });
});
