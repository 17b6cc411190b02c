/**
 * Module surgery (nn/surgery.ts): PEFT's target matching — a string matches a whole
 * dotted name or its last segments, a RegExp the whole name, a predicate whatever it
 * says — and replacement in place, returning what was replaced, with a ValueError that
 * helps when nothing matched.
 */
import { describe, expect, test } from 'vitest';
import { Generator, randn, type Tensor, ValueError } from '../../index.ts';
import { Embedding, findModules, GeluMlp, LayerNorm, Linear, Module, replaceModules } from '../../nn/index.ts';

class SelfAttention extends Module {
  query = new Linear(4, 4);
  key = new Linear(4, 4);
  value = new Linear(4, 4);
}

class Layer extends Module {
  attention = new SelfAttention();
  mlp = new GeluMlp(4, 8);
  LayerNorm = new LayerNorm(4);
}

class Encoder extends Module {
  embeddings = new Embedding(10, 4);
  layer = [new Layer(), new Layer()];
}

/** A wrapper as LoRA's: keeps the old layer as `base` (here it doubles the output, so the swap is visible). */
class Wrapped extends Module {
  constructor(readonly base: Linear) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.base.forward(x).mul(2);
  }
}

const names = (pairs: [string, Module][]) => pairs.map(([n]) => n);

describe('findModules', () => {
  test('a string matches the whole name or its trailing segments, never a substring', () => {
    const m = new Encoder();
    expect(names(findModules(m, 'query'))).toEqual(['layer.0.attention.query', 'layer.1.attention.query']);
    expect(names(findModules(m, 'intermediate.dense'))).toEqual(['layer.0.mlp.intermediate.dense', 'layer.1.mlp.intermediate.dense']);
    expect(names(findModules(m, 'layer.1.attention'))).toEqual(['layer.1.attention']);
    expect(names(findModules(m, 'embeddings'))).toEqual(['embeddings']);
    expect(findModules(m, 'uery')).toEqual([]);
    expect(findModules(m, 'ttention.query')).toEqual([]);
  });

  test('a RegExp must match the whole dotted name', () => {
    const m = new Encoder();
    expect(findModules(m, /query|value/)).toEqual([]);
    expect(names(findModules(m, /.*\.(query|value)/))).toEqual([
      'layer.0.attention.query',
      'layer.0.attention.value',
      'layer.1.attention.query',
      'layer.1.attention.value',
    ]);
    expect(names(findModules(m, /layer\.1\..*dense/))).toEqual(['layer.1.mlp.intermediate.dense', 'layer.1.mlp.output.dense']);
  });

  test('a global or sticky RegExp gives the same answer every time (its lastIndex is not used)', () => {
    const m = new Encoder();
    const pattern = /.*key/g;
    expect(names(findModules(m, pattern))).toEqual(['layer.0.attention.key', 'layer.1.attention.key']);
    expect(names(findModules(m, pattern))).toEqual(['layer.0.attention.key', 'layer.1.attention.key']);
    expect(names(findModules(m, /.*key/y))).toHaveLength(2);
  });

  test('a predicate sees the name and the module; the root is never a match', () => {
    const m = new Encoder();
    const linears = findModules(m, (_, x) => x instanceof Linear);
    expect(linears).toHaveLength(10);
    expect(linears.every(([name, x]) => m.getSubmodule(name) === x)).toBe(true);
    expect(findModules(m, () => true).some(([name]) => name === '')).toBe(false);
  });

  test('a pattern of another type is a TypeError', () => {
    expect(() => findModules(new Encoder(), 3 as never)).toThrow(TypeError);
  });
});

describe('replaceModules', () => {
  test('replaces every match in place, passing the old module, and returns the names', () => {
    const m = new Encoder();
    const olds = findModules(m, 'value');
    const seen: [string, Module][] = [];
    const replaced = replaceModules(m, 'value', (name, old) => {
      seen.push([name, old]);
      return new Wrapped(old as Linear);
    });
    expect(replaced).toEqual(['layer.0.attention.value', 'layer.1.attention.value']);
    expect(seen).toEqual(olds);
    for (const [name, old] of olds) {
      const now = m.getSubmodule(name);
      expect(now).toBeInstanceOf(Wrapped);
      expect((now as Wrapped).base).toBe(old);
    }
    // The old parameters are still in the tree, now under the wrapper's names.
    expect(m.namedParameters().map(([n]) => n)).toContain('layer.1.attention.value.base.weight');
    expect(m.layer[1]!.attention.value).toBeInstanceOf(Wrapped);
  });

  test("the parent's forward runs the replacement", () => {
    const mlp = new GeluMlp(4, 8, { dtype: 'float64', generator: new Generator(0) });
    const x = randn([3, 4], { dtype: 'float64', generator: new Generator(1) });
    const { intermediate, output } = mlp;
    const expected = output.dense.forward(intermediate.dense.forward(x).mul(2).gelu());
    replaceModules(mlp, 'intermediate.dense', (_, old) => new Wrapped(old as Linear));
    expect(Array.from(mlp.forward(x).toTypedArray())).toEqual(Array.from(expected.toTypedArray()));
  });

  test('list slots can be replaced', () => {
    const m = new Encoder();
    const fresh = new Layer();
    expect(replaceModules(m, 'layer.1', () => fresh)).toEqual(['layer.1']);
    expect(m.layer[1]).toBe(fresh);
  });

  test('a match inside an already replaced module is skipped (it left the tree)', () => {
    const m = new Encoder();
    const calls: string[] = [];
    const replaced = replaceModules(m, /layer\.0(\..*)?/, (name) => {
      calls.push(name);
      return new Layer();
    });
    expect(replaced).toEqual(['layer.0']);
    expect(calls).toEqual(['layer.0']);
  });

  test('nothing matched: a ValueError that names the pattern and some available modules', () => {
    const m = new Encoder();
    expect(() => replaceModules(m, 'q_proj', () => new Linear(1, 1))).toThrow(ValueError);
    expect(() => replaceModules(m, 'q_proj', () => new Linear(1, 1))).toThrow(
      /^Target modules 'q_proj' not found in Encoder; available modules include: embeddings \(Embedding\), layer\.0 \(Layer\), layer\.0\.attention \(SelfAttention\), layer\.0\.attention\.query \(Linear\), .*… \(\d+ in all\)$/,
    );
    expect(() => replaceModules(m, /q_proj/, () => new Linear(1, 1))).toThrow(/Target modules \/q_proj\/ not found/);
    expect(() =>
      replaceModules(
        m,
        () => false,
        () => new Linear(1, 1),
      ),
    ).toThrow(/Target modules the given predicate not found/);
    expect(() => replaceModules(new Linear(1, 1), 'x', () => new Linear(1, 1))).toThrow(/Linear has no submodules$/);
  });
});
