/**
 * Module (nn/module.ts): dotted names as Hugging Face checkpoints spell them, tied
 * weights, buffers, submodule access and replacement, train/eval, apply, and state
 * dicts — including torch's "every problem at once" load error (docs/TESTING.md §5).
 */
import { describe, expect, test } from 'vitest';
import { Generator, ones, tensor, Tensor, ValueError, zeros } from '../../index.ts';
import { Dropout, Embedding, LayerNorm, Linear, Module, Parameter } from '../../nn/index.ts';

const f64 = { dtype: 'float64', generator: new Generator(1) } as const;

class Attention extends Module {
  query = new Linear(4, 4, f64);
  key = new Linear(4, 4, f64);
}

class Layer extends Module {
  attention = new Attention();
  output = new Linear(4, 4, { ...f64, bias: false });
  dropout = new Dropout(0.1);
  constructor() {
    super();
    this.registerBuffer('positions', tensor([0, 1, 2], { dtype: 'int32' }));
    this.registerBuffer('cache', zeros([2]), false);
  }
}

/** An encoder with a list of layers and an LM head tied to the embedding. */
class Model extends Module {
  embeddings = new Embedding(5, 4, f64);
  layer = [new Layer(), new Layer()];
  norm = new LayerNorm(4, { dtype: 'float64' });
  head = new Linear(4, 5, { ...f64, bias: false });
  constructor() {
    super();
    this.head.weight = this.embeddings.weight;
  }
}

const names = (pairs: [string, unknown][]) => pairs.map(([n]) => n);

describe('names', () => {
  test('namedModules lists every module depth first, lists of modules as name.i', () => {
    expect(names(new Model().namedModules())).toEqual([
      '',
      'embeddings',
      'layer.0',
      'layer.0.attention',
      'layer.0.attention.query',
      'layer.0.attention.key',
      'layer.0.output',
      'layer.0.dropout',
      'layer.1',
      'layer.1.attention',
      'layer.1.attention.query',
      'layer.1.attention.key',
      'layer.1.output',
      'layer.1.dropout',
      'norm',
      'head',
    ]);
  });

  test('namedChildren: direct children only, in field order', () => {
    expect(names(new Model().namedChildren())).toEqual(['embeddings', 'layer.0', 'layer.1', 'norm', 'head']);
  });

  test('a tied weight is one parameter, listed once under its first name', () => {
    const m = new Model();
    const params = names(m.namedParameters());
    expect(params).toContain('embeddings.weight');
    expect(params).not.toContain('head.weight');
    expect(m.parameters().filter((p) => p === m.embeddings.weight)).toHaveLength(1);
    expect(params).toEqual([
      'embeddings.weight',
      ...[0, 1].flatMap((i) => [
        `layer.${i}.attention.query.weight`,
        `layer.${i}.attention.query.bias`,
        `layer.${i}.attention.key.weight`,
        `layer.${i}.attention.key.bias`,
        `layer.${i}.output.weight`,
      ]),
      'norm.weight',
      'norm.bias',
    ]);
  });

  test('the state dict holds a tied weight under both names (checkpoints store both)', () => {
    const state = new Model().stateDict();
    expect(state['head.weight']).toBe(state['embeddings.weight']);
  });

  test('a module with a null bias lists no bias', () => {
    expect(names(new Linear(2, 3, { bias: false }).namedParameters())).toEqual(['weight']);
  });
});

describe('buffers', () => {
  test('persistent buffers are saved, transient ones only listed on request', () => {
    const m = new Model();
    expect(names(m.namedBuffers())).toEqual(['layer.0.positions', 'layer.1.positions']);
    expect(names(m.namedBuffers(true))).toEqual(['layer.0.positions', 'layer.0.cache', 'layer.1.positions', 'layer.1.cache']);
    expect(Object.keys(m.stateDict())).toContain('layer.1.positions');
    expect(Object.keys(m.stateDict())).not.toContain('layer.1.cache');
  });

  test('buffer and setBuffer read and replace; an unknown name is a ValueError', () => {
    const layer = new Layer();
    const next = zeros([2]);
    layer.setBuffer('cache', next);
    expect(layer.buffer('cache')).toBe(next);
    expect(() => layer.buffer('nope')).toThrow(ValueError);
    expect(() => layer.setBuffer('nope', next)).toThrow(/Layer has no buffer 'nope'/);
  });
});

describe('submodules', () => {
  test('getSubmodule follows dotted names through lists; an unknown path is a ValueError', () => {
    const m = new Model();
    expect(m.getSubmodule('')).toBe(m);
    expect(m.getSubmodule('layer.1.attention.key')).toBe(m.layer[1]!.attention.key);
    expect(() => m.getSubmodule('layer.2')).toThrow(ValueError);
    expect(() => m.getSubmodule('layer.0.attention.value')).toThrow(/Model has no submodule 'layer.0.attention.value'/);
  });

  test('replaceModule swaps a field and returns the old module', () => {
    const m = new Model();
    const old = m.layer[0]!.attention.query;
    const fresh = new Linear(4, 4);
    expect(m.replaceModule('layer.0.attention.query', fresh)).toBe(old);
    expect(m.layer[0]!.attention.query).toBe(fresh);
    expect(m.getSubmodule('layer.0.attention.query')).toBe(fresh);
    expect(m.parameters()).toContain(fresh.weight);
    expect(m.parameters()).not.toContain(old.weight);
  });

  test('replaceModule swaps a list slot and a top-level field', () => {
    const m = new Model();
    const layer = new Layer();
    m.replaceModule('layer.1', layer);
    expect(m.layer[1]).toBe(layer);
    const norm = new LayerNorm(4);
    m.replaceModule('norm', norm);
    expect(m.norm).toBe(norm);
  });

  test('replaceModule of an unknown path or the root is a ValueError', () => {
    const m = new Model();
    expect(() => m.replaceModule('layer.0.nothing', new Linear(1, 1))).toThrow(ValueError);
    expect(() => m.replaceModule('', new Linear(1, 1))).toThrow(ValueError);
  });
});

describe('modes and traversal', () => {
  test('train and eval reach every descendant', () => {
    const m = new Model();
    expect(m.namedModules().every(([, x]) => x.training)).toBe(true);
    expect(m.eval()).toBe(m);
    expect(m.namedModules().every(([, x]) => !x.training)).toBe(true);
    m.layer[0]!.train();
    expect(m.training).toBe(false);
    expect(m.layer[0]!.namedModules().every(([, x]) => x.training)).toBe(true);
    expect(m.layer[1]!.training).toBe(false);
  });

  test('apply visits children before parents, in torch order (post-order), each module once', () => {
    const m = new Model();
    const byModule = new Map(m.namedModules().map(([n, x]) => [x, n]));
    const visited: string[] = [];
    m.apply((x) => visited.push(byModule.get(x)!));
    expect(visited).toEqual([
      'embeddings',
      'layer.0.attention.query',
      'layer.0.attention.key',
      'layer.0.attention',
      'layer.0.output',
      'layer.0.dropout',
      'layer.0',
      'layer.1.attention.query',
      'layer.1.attention.key',
      'layer.1.attention',
      'layer.1.output',
      'layer.1.dropout',
      'layer.1',
      'norm',
      'head',
      '',
    ]);
  });

  test('toString describes each module on its own line', () => {
    const text = new Model().toString();
    expect(text.split('\n')).toHaveLength(new Model().namedModules().length);
    expect(text).toContain('layer.0.attention.query: Linear(in=4, out=4, bias=true)');
    expect(text).toContain('embeddings: Embedding(5, 4)');
  });
});

describe('state dicts', () => {
  test('stateDict → loadStateDict round trip copies values bitwise, converting dtype', () => {
    const source = new Model();
    const target = new Model();
    expect(target.loadStateDict(source.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [k, t] of Object.entries(target.stateDict())) expect(Array.from(t.toTypedArray())).toEqual(Array.from(source.stateDict()[k]!.toTypedArray()));

    const f32 = Object.fromEntries(Object.entries(source.stateDict()).map(([k, t]) => [k, t.dtype === 'float64' ? t.float() : t]));
    const converted = new Model();
    converted.loadStateDict(f32);
    expect(converted.head.weight.dtype).toBe('float64');
    expect(Array.from(converted.head.weight.toTypedArray())).toEqual(Array.from(source.head.weight.toTypedArray(), Math.fround));
  });

  test('loading keeps the module’s own tensors (in-place copy) and their requiresGrad', () => {
    const m = new Linear(2, 2);
    const weight = m.weight;
    m.loadStateDict({ weight: ones([2, 2]), bias: zeros([2]) });
    expect(m.weight).toBe(weight);
    expect(weight.requiresGrad).toBe(true);
    expect(Array.from(weight.toTypedArray())).toEqual([1, 1, 1, 1]);
  });

  test('missing, unexpected and size-mismatched keys are reported together in one ValueError', () => {
    const m = new Linear(2, 3);
    let error: unknown;
    try {
      m.loadStateDict({ weight: zeros([3, 4]), extra: zeros([1]) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValueError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Error\(s\) in loading state_dict for Linear:/);
    expect(message).toMatch(/Missing key\(s\) in state_dict: "bias"\./);
    expect(message).toMatch(/Unexpected key\(s\) in state_dict: "extra"\./);
    expect(message).toMatch(/size mismatch for weight: copying a param with shape \[3, 4\] from checkpoint, the shape in current model is \[3, 2\]\./);
  });

  test('a failed load changes nothing', () => {
    const m = new Linear(2, 3);
    const before = Array.from(m.bias!.toTypedArray());
    expect(() => m.loadStateDict({ weight: zeros([3, 4]), bias: ones([3]) })).toThrow(ValueError);
    expect(Array.from(m.bias!.toTypedArray())).toEqual(before);
  });

  test('strict false returns missing and unexpected keys and loads the rest; size mismatches still throw', () => {
    const m = new Linear(2, 3);
    const result = m.loadStateDict({ bias: ones([3]), extra: zeros([1]) }, { strict: false });
    expect(result).toEqual({ missingKeys: ['weight'], unexpectedKeys: ['extra'] });
    expect(Array.from(m.bias!.toTypedArray())).toEqual([1, 1, 1]);
    expect(() => m.loadStateDict({ bias: ones([4]) }, { strict: false })).toThrow(/size mismatch for bias/);
  });
});

test('Parameter is a leaf that requires grad unless frozen, sharing a contiguous tensor’s storage', () => {
  const data = zeros([2, 3]);
  const p = new Parameter(data);
  expect(p).toBeInstanceOf(Tensor);
  expect(p.isLeaf && p.requiresGrad).toBe(true);
  expect(p.storage).toBe(data.storage);
  expect(new Parameter(data, false).requiresGrad).toBe(false);
  expect(new Parameter(data.transpose()).isContiguous()).toBe(true);
});
