/**
 * Layers of nn/: every one gradchecked in float64 (inputs AND parameters) over generated
 * shapes, then the properties that pin its meaning (docs/TESTING.md §2, §4 "Norms"):
 * Linear is x·Wᵀ + b; Embedding's padding row gets no gradient; LayerNorm and RMSNorm
 * are scale invariant; dropout is seeded, off in eval and unbiased; the MLPs equal
 * their formulas computed by hand; the losses honour ignoreIndex.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Generator, IndexError, noGrad, randint, randn, ShapeError, type Tensor, tensor, ValueError, where } from '../../index.ts';
import {
  CrossEntropyLoss,
  Dropout,
  Embedding,
  GELU,
  GeluMlp,
  LayerNorm,
  Linear,
  MSELoss,
  ReLU,
  RMSNorm,
  SiLU,
  SwiGLU,
  Tanh,
  type Module,
} from '../../nn/index.ts';
import { arbSeed, arbShape, arbTensor, assertClose, gradcheck, T64, type Bound, type GradcheckOptions } from '../kit/index.ts';

const RUNS = 20;

// ---- helpers ------------------------------------------------------------------------

/**
 * Run `body` with the module's parameters replaced by `values` (in namedParameters
 * order), then put the originals back: torch.func.functional_call, so that gradcheck can
 * differentiate with respect to parameters it perturbs.
 */
function functionalCall(module: Module, values: readonly Tensor[], body: () => Tensor): Tensor {
  const slots = module.namedParameters().map(([name]) => {
    const cut = name.lastIndexOf('.');
    return { owner: module.getSubmodule(cut < 0 ? '' : name.slice(0, cut)) as unknown as Record<string, Tensor>, key: name.slice(cut + 1) };
  });
  const originals = slots.map(({ owner, key }) => owner[key]!);
  slots.forEach(({ owner, key }, i) => (owner[key] = values[i]!));
  try {
    return body();
  } finally {
    slots.forEach(({ owner, key }, i) => (owner[key] = originals[i]!));
  }
}

/** gradcheck of `forward(...inputs)` with respect to the inputs and every parameter of `module`. */
function gradcheckLayer(
  module: Module,
  inputs: readonly Tensor[],
  forward: (...inputs: Tensor[]) => Tensor,
  options: GradcheckOptions & { mode?: 'full' } = {},
): void {
  const n = inputs.length;
  gradcheck((...all) => functionalCall(module, all.slice(n), () => forward(...all.slice(0, n))), [...inputs, ...module.parameters()], options);
}

/** Random values for every parameter (norms start at ones/zeros, which would hide a swapped weight and bias). */
function randomizeParameters(module: Module, generator: Generator): void {
  noGrad(() => module.parameters().forEach((p) => p.copy_(randn(p.shape, { dtype: 'float64', generator }))));
}

const f64 = (seed: number) => ({ dtype: 'float64', generator: new Generator(seed) }) as const;

/** A float64 tensor of `shape` from row-major values. */
const fromValues = (values: readonly number[], shape: readonly number[]) => tensor(Float64Array.from(values), { shape });

/** The rows of the last axis as plain arrays. */
function rowsOf(t: Tensor): number[][] {
  const width = t.shape[t.rank - 1]!;
  const flat = Array.from(t.toTypedArray() as Float64Array);
  return Array.from({ length: width === 0 ? 0 : flat.length / width }, (_, r) => flat.slice(r * width, (r + 1) * width));
}

/** y = W·x + b for one row, by loops. */
/**
 * Same float64 formula in another order: equal up to rounding, ≈ 1e-12 relative to the
 * size of the terms (docs/TESTING.md §1), not T64 (a finite-difference bound).
 */
const rounding = (terms: number): Bound => ({ name: `rounding (Σ|terms| ≤ ${terms.toPrecision(3)})`, atol: 1e-12 * Math.max(1, terms), rtol: 1e-12 });

function naiveLinear(x: readonly number[], linear: Linear): number[] {
  const w = rowsOf(linear.weight);
  const b = linear.bias ? Array.from(linear.bias.toTypedArray()) : null;
  return w.map((wo, o) => wo.reduce((s, wi, i) => s + wi * x[i]!, b ? b[o]! : 0));
}

/** erf by its Maclaurin series (independent of kernels/erf.ts); exact to ~1e-12 for |x| < 4. */
function naiveErf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Leading (batch) shape, rank 0–2, dims 0–3, and a feature size 1–4. */
const arbBatch = arbShape({ maxRank: 2, maxDim: 3 });
const arbFeatures = fc.integer({ min: 1, max: 4 });

/** A float64 tensor of shape [...batch, features] with the batch drawn. */
const arbInput = (features: number) => arbBatch.chain((batch) => arbTensor({ shape: [...batch, features] }));

/** A feature size and an input of that width. */
const arbWidthAndInput = arbFeatures.chain((d) => fc.tuple(fc.constant(d), arbInput(d)));

const naiveGelu = (v: number) => 0.5 * v * (1 + naiveErf(v / Math.SQRT2));
const naiveSilu = (v: number) => v / (1 + Math.exp(-v));

/** An MLP built in float64 from a seed, with its formula for one row computed by loops. */
type MlpBuilder = (
  hidden: number,
  intermediate: number,
  seed: number,
) => { mlp: Module & { forward(x: Tensor): Tensor }; byHand: (row: readonly number[]) => number[] };

/** [name, formula, builder] for each MLP. */
const MLP_CASES: [string, string, MlpBuilder][] = [
  [
    'GeluMlp',
    'output.dense(gelu(intermediate.dense(x)))',
    (h, i, seed) => {
      const mlp = new GeluMlp(h, i, f64(seed));
      return { mlp, byHand: (row) => naiveLinear(naiveLinear(row, mlp.intermediate.dense).map(naiveGelu), mlp.output.dense) };
    },
  ],
  [
    'SwiGLU',
    'down_proj(silu(gate_proj(x)) ⊙ up_proj(x))',
    (h, i, seed) => {
      const mlp = new SwiGLU(h, i, f64(seed));
      const byHand = (row: readonly number[]) => {
        const up = naiveLinear(row, mlp.up_proj);
        return naiveLinear(
          naiveLinear(row, mlp.gate_proj).map((v, j) => naiveSilu(v) * up[j]!),
          mlp.down_proj,
        );
      };
      return { mlp, byHand };
    },
  ],
];

// ---- gradcheck of every layer ---------------------------------------------------------------

describe('gradcheck in float64 (inputs and parameters)', () => {
  test('Linear, with and without bias', () => {
    fc.assert(
      fc.property(arbWidthAndInput, arbFeatures, fc.boolean(), arbSeed(), ([inF, x], outF, bias, seed) => {
        const linear = new Linear(inF, outF, { ...f64(seed), bias });
        gradcheckLayer(linear, [x], (x) => linear.forward(x));
      }),
      { numRuns: RUNS },
    );
  });

  test('Embedding (with respect to the weight)', () => {
    fc.assert(
      fc.property(arbBatch, fc.integer({ min: 1, max: 5 }), arbFeatures, arbSeed(), (batch, vocab, dim, seed) => {
        const layer = new Embedding(vocab, dim, f64(seed));
        const ids = randint(0, vocab, batch, { generator: new Generator(seed) });
        gradcheckLayer(layer, [ids], (ids) => layer.forward(ids), { nondifferentiable: [0], allowUnused: true });
      }),
      { numRuns: RUNS },
    );
  });

  test('LayerNorm over one or two trailing axes, with every affine option', () => {
    const options = fc.constantFrom({}, { bias: false }, { elementwiseAffine: false });
    fc.assert(
      fc.property(arbBatch, fc.array(arbFeatures, { minLength: 1, maxLength: 2 }), options, arbSeed(), (batch, normalized, opts, seed) => {
        const norm = new LayerNorm(normalized, { ...opts, dtype: 'float64' });
        randomizeParameters(norm, new Generator(seed));
        const x = randn([...batch, ...normalized], { dtype: 'float64', generator: new Generator(seed + 1) });
        gradcheckLayer(norm, [x], (x) => norm.forward(x));
      }),
      { numRuns: RUNS },
    );
  });

  test('RMSNorm', () => {
    fc.assert(
      fc.property(arbWidthAndInput, arbSeed(), ([dim, x], seed) => {
        const norm = new RMSNorm(dim, { dtype: 'float64' });
        randomizeParameters(norm, new Generator(seed));
        gradcheckLayer(norm, [x], (x) => norm.forward(x));
      }),
      { numRuns: RUNS },
    );
  });

  test('Dropout in training (the same mask on every evaluation)', () => {
    fc.assert(
      fc.property(arbTensor({ shape: arbShape({ maxRank: 3, maxDim: 4 }) }), fc.double({ min: 0, max: 0.9, noNaN: true }), arbSeed(), (x, p, seed) => {
        gradcheck((x) => new Dropout(p, { generator: new Generator(seed) }).forward(x), [x]);
      }),
      { numRuns: RUNS },
    );
  });

  test.each([
    ['GELU', new GELU()],
    ['GELU tanh', new GELU({ approximate: 'tanh' })],
    ['SiLU', new SiLU()],
    ['Tanh', new Tanh()],
    ['ReLU', new ReLU()],
  ] as const)('%s', (_, activation) => {
    // ReLU's kink at 0 is tested apart (spec/kinks.spec.ts): keep values at least 0.1 away from it.
    const awayFromZero = (x: Tensor) => where(x.ge(0), x.add(0.1), x.sub(0.1));
    fc.assert(
      fc.property(arbTensor(), (x) => {
        gradcheck((x) => activation.forward(x), [awayFromZero(x)]);
      }),
      { numRuns: RUNS },
    );
  });

  test.each(MLP_CASES)('%s', (_, __, build) => {
    fc.assert(
      fc.property(arbWidthAndInput, arbFeatures, arbSeed(), ([hidden, x], intermediate, seed) => {
        const { mlp } = build(hidden, intermediate, seed);
        gradcheckLayer(mlp, [x], (x) => mlp.forward(x));
      }),
      { numRuns: RUNS },
    );
  });

  test('CrossEntropyLoss over [B, S, V] with ignored targets, every reduction', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom('mean', 'sum', 'none'),
        arbSeed(),
        (b, s, v, reduction, seed) => {
          const generator = new Generator(seed);
          const logits = randn([b, s, v], { dtype: 'float64', generator });
          // Target −100 (ignored) or a class; the first position always counts, so 'mean' is finite.
          const target = randint(-1, v, [b, s], { generator }).maximum(-1);
          const labels = where(target.lt(0), -100, target);
          noGrad(() => labels.narrow(0, 0, 1).narrow(1, 0, 1).copy_(0));
          const loss = new CrossEntropyLoss({ reduction });
          gradcheck((logits) => loss.forward(logits, labels), [logits]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('MSELoss, every reduction', () => {
    const pair = arbShape({ minRank: 1, maxRank: 3, minDim: 1, maxDim: 3 }).chain((shape) => fc.tuple(arbTensor({ shape }), arbTensor({ shape })));
    fc.assert(
      fc.property(pair, fc.constantFrom('mean', 'sum', 'none'), ([input, target], reduction) => {
        const loss = new MSELoss({ reduction });
        gradcheck((input, target) => loss.forward(input, target), [input, target]);
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- Linear and Embedding --------------------------------------------------------------------

describe('Linear', () => {
  test('equals x·Wᵀ + b computed by loops, for any leading shape', () => {
    fc.assert(
      fc.property(arbWidthAndInput, arbFeatures, fc.boolean(), arbSeed(), ([inF, x], outF, bias, seed) => {
        const linear = new Linear(inF, outF, { ...f64(seed), bias });
        const expected = rowsOf(x).flatMap((row) => naiveLinear(row, linear));
        // Σ|x_i·W_oi| + |b_o| ≤ max|x|·(largest row sum of |W|) + max|b|
        const abs = (t: Tensor | null) => (t ? Array.from(t.toTypedArray() as ArrayLike<number>, Math.abs) : [0]);
        const terms =
          Math.max(0, ...abs(x)) * Math.max(0, ...rowsOf(linear.weight).map((r) => r.reduce((s, w) => s + Math.abs(w), 0))) + Math.max(...abs(linear.bias));
        assertClose(linear.forward(x), fromValues(expected, [...x.shape.slice(0, -1), outF]), rounding(terms), 'Linear');
      }),
      { numRuns: RUNS },
    );
  });

  test('init: weight [out, in] and bias within ±1/√in; a wrong input width is a ShapeError', () => {
    const linear = new Linear(16, 3, { generator: new Generator(0) });
    expect(linear.weight.shape).toEqual([3, 16]);
    for (const v of [...linear.weight.toTypedArray(), ...linear.bias!.toTypedArray()]) expect(Math.abs(v)).toBeLessThanOrEqual(0.25);
    expect(() => linear.forward(randn([2, 15]))).toThrow(ShapeError);
  });
});

describe('Embedding', () => {
  test('init: weight ~ N(0, 1), padding row zero; lookup has shape [...ids, dim]', () => {
    const layer = new Embedding(1000, 8, { paddingIdx: 3, generator: new Generator(0), dtype: 'float64' });
    const values = Array.from(layer.weight.toTypedArray());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    expect(Array.from(layer.weight.narrow(0, 3, 1).toTypedArray())).toEqual(new Array(8).fill(0));
    expect(layer.forward(tensor([[1, 3, 5]], { dtype: 'int32' })).shape).toEqual([1, 3, 8]);
  });

  test('the padding row gets exactly zero gradient; every other row gets what it would without padding', () => {
    fc.assert(
      fc.property(arbBatch, fc.integer({ min: 1, max: 5 }), arbFeatures, arbSeed(), (batch, vocab, dim, seed) => {
        const generator = new Generator(seed);
        const pad = generator.integer(0, vocab);
        const ids = randint(0, vocab, batch, { generator });
        const g = randn([...batch, dim], { dtype: 'float64', generator });
        const gradWith = (layer: Embedding) => {
          layer.forward(ids).mul(g).sum().backward();
          return layer.weight.grad as Tensor;
        };
        const padded = new Embedding(vocab, dim, { ...f64(seed), paddingIdx: pad });
        const plain = new Embedding(vocab, dim, f64(seed));
        plain.loadStateDict(padded.stateDict());
        const expected = gradWith(plain);
        noGrad(() => expected.narrow(0, pad, 1).zero_());
        assertClose(gradWith(padded), expected, 'bitwise', 'padded embedding gradient');
        // The forward is unchanged by the mask.
        assertClose(padded.forward(ids), plain.forward(ids), 'bitwise', 'padded embedding forward');
      }),
      { numRuns: RUNS },
    );
  });

  test('a tied use of the weight elsewhere still trains the padding row (torch semantics)', () => {
    const layer = new Embedding(4, 2, { ...f64(0), paddingIdx: 0 });
    const ids = tensor([0, 0, 1], { dtype: 'int32' });
    layer.forward(ids).sum().add(layer.weight.sum()).backward();
    expect((layer.weight.grad as Tensor).toArray()).toEqual([
      [1, 1],
      [2, 2],
      [1, 1],
      [1, 1],
    ]);
  });

  test('negative paddingIdx counts from the end; out of range is a ValueError; ids out of range an IndexError', () => {
    expect(new Embedding(5, 2, { paddingIdx: -1 }).paddingIdx).toBe(4);
    expect(() => new Embedding(5, 2, { paddingIdx: 5 })).toThrow(/paddingIdx must be within num_embeddings \(5\), got 5/);
    expect(() => new Embedding(5, 2, { paddingIdx: -6 })).toThrow(ValueError);
    expect(() => new Embedding(5, 2).forward(tensor([5], { dtype: 'int32' }))).toThrow(IndexError);
  });
});

// ---- norms ---------------------------------------------------------------------------

/** A LayerNorm or RMSNorm over the last axis with random (positive-scale) parameters and the given eps. */
function norm(kind: 'layer' | 'rms', dim: number, eps: number, seed: number): LayerNorm | RMSNorm {
  const layer = kind === 'layer' ? new LayerNorm(dim, { eps, dtype: 'float64' }) : new RMSNorm(dim, { eps, dtype: 'float64' });
  randomizeParameters(layer, new Generator(seed));
  return layer;
}

const arbScale = fc.double({ min: 0.1, max: 10, noNaN: true });

describe('LayerNorm and RMSNorm', () => {
  // For a > 0: LN_eps(a·x + b) = LN_{eps/a²}(x) and RMS_eps(c·x) = RMS_{eps/c²}(x) exactly
  // (the eps term is the only thing scaling changes), so "equal up to eps" is tested
  // without any eps-sized slack.
  test('LayerNorm(a·x + b) = LayerNorm(x), for a > 0, up to eps', () => {
    fc.assert(
      fc.property(arbWidthAndInput, arbScale, fc.double({ min: -3, max: 3, noNaN: true }), arbSeed(), ([dim, x], a, b, seed) => {
        const shifted = norm('layer', dim, 1e-5, seed).forward(x.mul(a).add(b));
        assertClose(shifted, norm('layer', dim, 1e-5 / (a * a), seed).forward(x), T64, 'LayerNorm(a·x + b)');
      }),
      { numRuns: 100 },
    );
  });

  test('RMSNorm(c·x) = RMSNorm(x), for c > 0, up to eps', () => {
    fc.assert(
      fc.property(arbWidthAndInput, arbScale, arbSeed(), ([dim, x], c, seed) => {
        const scaled = norm('rms', dim, 1e-6, seed).forward(x.mul(c));
        assertClose(scaled, norm('rms', dim, 1e-6 / (c * c), seed).forward(x), T64, 'RMSNorm(c·x)');
      }),
      { numRuns: 100 },
    );
  });

  test('a constant row under LayerNorm gives its bias', () => {
    fc.assert(
      fc.property(arbBatch, arbFeatures, fc.double({ min: -100, max: 100, noNaN: true }), arbSeed(), (batch, dim, c, seed) => {
        const layer = norm('layer', dim, 1e-12, seed) as LayerNorm;
        const x = fromValues(new Array(batch.reduce((p, d) => p * d, dim)).fill(c), [...batch, dim]);
        assertClose(layer.forward(x), layer.bias!.expand([...batch, dim]), T64, 'LayerNorm(constant row)');
      }),
      { numRuns: RUNS },
    );
  });

  test('fresh norms: weight ones, bias zeros, so LayerNorm output rows have mean 0 and variance 1', () => {
    const layer = new LayerNorm([2, 3], { dtype: 'float64' });
    expect(layer.weight!.toArray()).toEqual([
      [1, 1, 1],
      [1, 1, 1],
    ]);
    expect(layer.bias!.toArray()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const y = layer.forward(randn([4, 2, 3], { dtype: 'float64', generator: new Generator(3) }));
    assertClose(y.mean([1, 2]), fromValues([0, 0, 0, 0], [4]), T64, 'row means');
    // var/(var + eps): 1 up to eps.
    assertClose(y.mul(y).mean([1, 2]), fromValues([1, 1, 1, 1], [4]), { atol: 1e-3, rtol: 0 }, 'row variances');
    expect(new RMSNorm(3).weight.toArray()).toEqual([1, 1, 1]);
  });

  test('defaults and options: eps 1e-5 / 1e-6, no parameters without affine, no bias with bias false', () => {
    expect(new LayerNorm(4).eps).toBe(1e-5);
    expect(new LayerNorm(4, { eps: 1e-12 }).eps).toBe(1e-12);
    expect(new RMSNorm(4).eps).toBe(1e-6);
    expect(new LayerNorm(4, { elementwiseAffine: false }).parameters()).toEqual([]);
    expect(new LayerNorm(4, { bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight']);
    expect(() => new LayerNorm(4).forward(randn([2, 3]))).toThrow(ShapeError);
  });
});

// ---- dropout -------------------------------------------------------------------------

describe('Dropout', () => {
  const x = randn([64], { dtype: 'float64', generator: new Generator(7) });

  test('the same seed gives bitwise the same mask; another seed another one', () => {
    fc.assert(
      fc.property(arbSeed(), (seed) => {
        const run = (s: number) => new Dropout(0.5, { generator: new Generator(s) }).forward(x);
        assertClose(run(seed), run(seed), 'bitwise', 'dropout replay');
        expect(Array.from(run(seed).toTypedArray())).not.toEqual(Array.from(run(seed + 1).toTypedArray()));
      }),
      { numRuns: RUNS },
    );
  });

  test('eval is the identity, also after train() / eval() round trips', () => {
    const layer = new Dropout(0.9);
    expect(layer.eval().forward(x)).toBe(x);
    expect(layer.train().training).toBe(true);
    expect(layer.train(false).forward(x)).toBe(x);
  });

  test('in training it keeps the mean: each element is 0 or x/(1 − p), about p of them 0', () => {
    const p = 0.3;
    const n = 100_000;
    const y = new Dropout(p, { generator: new Generator(11) }).forward(tensor(new Float64Array(n).fill(1)));
    const values = Array.from(y.toTypedArray());
    expect(values.every((v) => v === 0 || v === 1 / (1 - p))).toBe(true);
    // One element's variance is p/(1 − p) ≈ 0.43: the mean's standard deviation is 0.002 and
    // the zero fraction's 0.0015; the bounds are five of them.
    expect(Math.abs(values.reduce((s, v) => s + v, 0) / n - 1)).toBeLessThan(0.01);
    expect(Math.abs(values.filter((v) => v === 0).length / n - p)).toBeLessThan(0.0075);
  });

  test('p outside [0, 1] is a ValueError when the layer is built', () => {
    expect(() => new Dropout(1.5)).toThrow(/dropout probability has to be between 0 and 1, but got 1.5/);
    expect(() => new Dropout(Number.NaN)).toThrow(ValueError);
  });
});

// ---- activations and MLPs by hand ----------------------------------------------------------

describe('activations and MLPs equal their formulas', () => {
  test.each([
    ['GELU', new GELU(), naiveGelu],
    ['GELU tanh', new GELU({ approximate: 'tanh' }), (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))],
    ['SiLU', new SiLU(), naiveSilu],
    ['ReLU', new ReLU(), (v: number) => Math.max(v, 0)],
    ['Tanh', new Tanh(), Math.tanh],
  ] as const)('%s', (_, activation, formula) => {
    fc.assert(
      fc.property(arbTensor({ min: -4, max: 4 }), (x) => {
        assertClose(activation.forward(x), fromValues(Array.from(x.toTypedArray(), formula), x.shape), T64, activation.constructor.name);
      }),
      { numRuns: RUNS },
    );
  });

  test.each(MLP_CASES)('%s(x) = %s, computed by loops', (name, _, build) => {
    fc.assert(
      fc.property(arbWidthAndInput, arbFeatures, arbSeed(), ([hidden, x], intermediate, seed) => {
        const { mlp, byHand } = build(hidden, intermediate, seed);
        assertClose(mlp.forward(x), fromValues(rowsOf(x).flatMap(byHand), x.shape), T64, name);
      }),
      { numRuns: RUNS },
    );
  });

  test('the MLPs carry Hugging Face names: BERT with biases, LLaMa without', () => {
    expect(Object.keys(new GeluMlp(4, 16).stateDict())).toEqual([
      'intermediate.dense.weight',
      'intermediate.dense.bias',
      'output.dense.weight',
      'output.dense.bias',
    ]);
    expect(new GeluMlp(4, 16).output.dense.weight.shape).toEqual([4, 16]);
    expect(Object.keys(new SwiGLU(4, 11).stateDict())).toEqual(['gate_proj.weight', 'up_proj.weight', 'down_proj.weight']);
  });
});

// ---- losses ------------------------------------------------------------------------------

/** −log softmax(row)[t], by hand (max-shifted). */
function naiveNll(row: readonly number[], t: number): number {
  const m = Math.max(...row);
  return -(row[t]! - m - Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)));
}

describe('losses', () => {
  const logits = randn([2, 3, 5], { dtype: 'float64', generator: new Generator(5) });
  const target = tensor(
    [
      [1, -100, 4],
      [0, 2, -100],
    ],
    { dtype: 'int32' },
  );
  const rows = rowsOf(logits); // row b·3 + s

  test('CrossEntropyLoss over [B, S, V]: ignored positions add nothing, mean counts only the others', () => {
    const expected = [naiveNll(rows[0]!, 1), naiveNll(rows[2]!, 4), naiveNll(rows[3]!, 0), naiveNll(rows[4]!, 2)];
    const sum = expected.reduce((s, v) => s + v, 0);
    // Terms: the four losses (each a log-sum-exp of 5 logits of size ≲ 3) sum to less than 100.
    assertClose(new CrossEntropyLoss({ reduction: 'sum' }).forward(logits, target), sum, rounding(100), 'sum');
    assertClose(new CrossEntropyLoss().forward(logits, target), sum / 4, rounding(100), 'mean');
    const none = new CrossEntropyLoss({ reduction: 'none' }).forward(logits, target);
    assertClose(none, fromValues([expected[0]!, 0, expected[1]!, expected[2]!, expected[3]!, 0], [2, 3]), rounding(100), 'none');
  });

  test('ignored positions get zero gradient; a custom ignoreIndex works', () => {
    const x = logits.detach().setRequiresGrad();
    new CrossEntropyLoss().forward(x, target).backward();
    const g = rowsOf(x.grad as Tensor);
    expect(g[1]).toEqual([0, 0, 0, 0, 0]);
    expect(g[5]).toEqual([0, 0, 0, 0, 0]);
    expect(g[0]!.some((v) => v !== 0)).toBe(true);
    const zeroIgnored = new CrossEntropyLoss({ ignoreIndex: 0, reduction: 'sum' }).forward(
      logits,
      tensor([[1, 0, 4]], { dtype: 'int32' })
        .expand([2, 3])
        .contiguous(),
    );
    assertClose(zeroIgnored, naiveNll(rows[0]!, 1) + naiveNll(rows[2]!, 4) + naiveNll(rows[3]!, 1) + naiveNll(rows[5]!, 4), rounding(100), 'ignoreIndex 0');
  });

  test('every target ignored: mean is NaN (as torch), sum is 0', () => {
    const all = tensor(
      [
        [-100, -100, -100],
        [-100, -100, -100],
      ],
      { dtype: 'int32' },
    );
    expect(Number.isNaN(new CrossEntropyLoss().forward(logits, all).item())).toBe(true);
    expect(new CrossEntropyLoss({ reduction: 'sum' }).forward(logits, all).item()).toBe(0);
  });

  test('CrossEntropyLoss: rank 2 and unbatched [C] logits; bad targets are Shape/Index errors', () => {
    const flat = logits.reshape([6, 5]);
    assertClose(new CrossEntropyLoss().forward(flat, target.reshape([6])), new CrossEntropyLoss().forward(logits, target), rounding(100), 'rank 2');
    assertClose(
      new CrossEntropyLoss().forward(flat.narrow(0, 0, 1).squeeze(0), tensor(1, { dtype: 'int32' })),
      naiveNll(rows[0]!, 1),
      rounding(100),
      'unbatched',
    );
    expect(() => new CrossEntropyLoss().forward(logits, target.reshape([6]))).toThrow(
      /expected target of shape \[2, 3\] for logits of shape \[2, 3, 5\], got \[6\]/,
    );
    expect(() =>
      new CrossEntropyLoss().forward(
        logits,
        tensor(
          [
            [5, 0, 0],
            [0, 0, 0],
          ],
          { dtype: 'int32' },
        ),
      ),
    ).toThrow(/Target 5 is out of bounds/);
  });

  test('MSELoss equals the mean / sum / elementwise squared difference', () => {
    const a = fromValues([1, 2, 3, 4], [2, 2]);
    const b = fromValues([0, 2, 5, 1], [2, 2]);
    expect(new MSELoss().forward(a, b).item()).toBe((1 + 0 + 4 + 9) / 4);
    expect(new MSELoss({ reduction: 'sum' }).forward(a, b).item()).toBe(14);
    expect(new MSELoss({ reduction: 'none' }).forward(a, b).toArray()).toEqual([
      [1, 0],
      [4, 9],
    ]);
    expect(() => new MSELoss().forward(a, b.reshape([4]))).toThrow(ShapeError);
  });
});
