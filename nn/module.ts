/**
 * Module: a tree of layers holding parameters, in PyTorch's shape.
 *
 * Children and parameters are found by looking at a module's own fields, in the order
 * they were assigned: a field holding a Module is a child, an array of Modules a list of
 * children named 0, 1, …, and a Parameter a parameter. So
 *   class Block extends Module { attention = new Attention(); output = new Linear(4, 4); }
 * has parameters `attention.query.weight`, …, `output.weight`, `output.bias` — the
 * dotted names Hugging Face checkpoints use. Buffers (state that is saved but not
 * trained, such as SparseGrad's bases) are registered explicitly.
 */
import { noGrad } from '../core/autograd.ts';
import { ValueError } from '../base/errors.ts';
import { formatShape, sameShape } from '../base/shape.ts';
import { Tensor } from '../core/tensor.ts';

/**
 * A trainable tensor: a leaf that requires grad (set requiresGrad false to freeze it).
 *
 * @example
 * ```ts
 * import { Parameter } from 'sparsegrad/nn';
 * import { zeros } from 'sparsegrad';
 * const p = new Parameter(zeros([2]));
 * p.requiresGrad; // => true
 * new Parameter(zeros([2]), false).requiresGrad; // => false
 * ```
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    const t = data.contiguous();
    super(t.storage, t.shape, t.strides, t.offset);
    this.requiresGrad = requiresGrad;
  }
}

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * The base of every layer: children, parameters and buffers found from its fields (above).
 *
 * @example
 * ```ts
 * import { Linear, Module } from 'sparsegrad/nn';
 * import type { Tensor } from 'sparsegrad';
 * class Mlp extends Module {
 *   layers = [new Linear(4, 8), new Linear(8, 2)];
 *   forward(x: Tensor) { return this.layers[1]!.forward(this.layers[0]!.forward(x).relu()); }
 * }
 * new Mlp().namedParameters().map(([name]) => name); // => ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']
 * ```
 */
export abstract class Module {
  training = true;
  private readonly buffers = new Map<string, { tensor: Tensor; persistent: boolean }>();

  /** Register state that is saved in the state dict but never trained. */
  protected registerBuffer(name: string, tensor: Tensor, persistent = true): void {
    this.buffers.set(name, { tensor, persistent });
  }

  /** Read a registered buffer. */
  buffer(name: string): Tensor {
    const b = this.buffers.get(name);
    if (!b) throw new ValueError(`${this.constructor.name} has no buffer '${name}'`);
    return b.tensor;
  }

  /** Replace a buffer's tensor (e.g. after loading), keeping its persistence. */
  setBuffer(name: string, tensor: Tensor): void {
    const b = this.buffers.get(name);
    if (!b) throw new ValueError(`${this.constructor.name} has no buffer '${name}'`);
    b.tensor = tensor;
  }

  /** Direct children, in field order; arrays of modules are expanded as name.0, name.1, … */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Module)) {
        value.forEach((m: Module, i) => out.push([`${key}.${i}`, m]));
      }
    }
    return out;
  }

  /** This module ('' or `prefix`) and every descendant, depth first, each once. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const stack: [string, Module][] = [[prefix, this]];
    while (stack.length > 0) {
      const [name, m] = stack.pop()!;
      if (seen.has(m)) continue;
      seen.add(m);
      out.push([name, m]);
      const children = m.namedChildren().map(([k, c]): [string, Module] => [name ? `${name}.${k}` : k, c]);
      stack.push(...children.reverse());
    }
    return out;
  }

  /** Parameters declared directly on this module (not on children). */
  ownParameters(): [string, Parameter][] {
    return Object.entries(this).filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
  }

  /** Every parameter with its dotted name; a parameter shared by two modules (tied weights) is listed once. */
  namedParameters(): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [name, m] of this.namedModules()) {
      for (const [key, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([name ? `${name}.${key}` : key, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer with its dotted name (persistent ones only unless asked). */
  namedBuffers(includeTransient = false): [string, Tensor][] {
    return this.namedModules().flatMap(([name, m]) =>
      [...m.buffers].filter(([, b]) => b.persistent || includeTransient).map(([key, b]): [string, Tensor] => [name ? `${name}.${key}` : key, b.tensor]),
    );
  }

  getSubmodule(path: string): Module {
    if (path === '') return this;
    const found = this.namedModules().find(([name]) => name === path);
    if (!found) throw new ValueError(`${this.constructor.name} has no submodule '${path}'`);
    return found[1];
  }

  /** Put `replacement` where `path` is (its parent's field or list slot); returns the old module. */
  replaceModule(path: string, replacement: Module): Module {
    const cut = path.lastIndexOf('.');
    const parentPath = cut < 0 ? '' : path.slice(0, cut);
    const key = path.slice(cut + 1);
    const old = this.getSubmodule(path);
    // A list slot "layers.3" has parent "layers" only as a field path: walk the real object.
    const holder = resolveHolder(this.getSubmoduleOrList(parentPath), key);
    holder.container[holder.key] = replacement;
    return old;
  }

  private getSubmoduleOrList(path: string): object {
    if (path === '') return this;
    const cut = path.lastIndexOf('.');
    const parent = this.getSubmoduleOrList(cut < 0 ? '' : path.slice(0, cut));
    const value = (parent as Record<string, unknown>)[path.slice(cut + 1)];
    if (typeof value !== 'object' || value === null) throw new ValueError(`${this.constructor.name} has no submodule '${path}'`);
    return value;
  }

  /** Reset every parameter's gradient (torch's module.zero_grad): to null by default. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) p.zeroGrad(setToNone);
  }

  /** Training mode (dropout active) for this module and all descendants. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Call fn on every module once, in torch's order: each child's subtree, in field order, then the parent. */
  apply(fn: (m: Module) => void): this {
    const seen = new Set<Module>();
    const visit = (m: Module): void => {
      if (seen.has(m)) return;
      seen.add(m);
      for (const [, child] of m.namedChildren()) visit(child);
      fn(m);
    };
    visit(this);
    return this;
  }

  /** Every parameter and persistent buffer by dotted name; tied weights appear under each name. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, m] of this.namedModules()) {
      const at = (key: string) => (name ? `${name}.${key}` : key);
      for (const [key, p] of m.ownParameters()) out[at(key)] = p;
      for (const [key, b] of m.buffers) if (b.persistent) out[at(key)] = b.tensor;
    }
    return out;
  }

  /**
   * Copy values from `state` into this module's parameters and buffers, converting dtype.
   * Every problem is collected and reported at once (torch's wording); with strict false,
   * missing and unexpected keys are returned instead of thrown (shape mismatches always throw).
   */
  loadStateDict(state: StateDict, options: { strict?: boolean } = {}): LoadResult {
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in state));
    const unexpectedKeys = Object.keys(state).filter((k) => !(k in own));
    const mismatches = Object.keys(own)
      .filter((k) => k in state && !sameShape(state[k]!.shape, own[k]!.shape))
      .map(
        (k) =>
          `size mismatch for ${k}: copying a param with shape ${formatShape(state[k]!.shape)} from checkpoint, the shape in current model is ${formatShape(own[k]!.shape)}.`,
      );
    const strict = options.strict ?? true;
    const problems = [
      ...(strict && missingKeys.length ? [`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`] : []),
      ...(strict && unexpectedKeys.length ? [`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`] : []),
      ...mismatches,
    ];
    if (problems.length > 0) {
      throw new ValueError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${problems.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [k, target] of Object.entries(own)) if (k in state) target.copy_(state[k]!.to(target.dtype));
    });
    return { missingKeys, unexpectedKeys };
  }

  /** A one-line-per-module description, like torch's repr. */
  toString(): string {
    const lines = this.namedModules().map(([name, m]) => `${'  '.repeat(name ? name.split('.').length : 0)}${name || '(root)'}: ${m.describe()}`);
    return lines.join('\n');
  }

  /** Subclasses describe their configuration (e.g. "Linear(in=768, out=3072, bias)"). */
  protected describe(): string {
    return this.constructor.name;
  }
}

function resolveHolder(container: object, key: string): { container: Record<string, unknown>; key: string } {
  const record = container as Record<string, unknown>;
  if (!(key in record) || !(record[key] instanceof Module)) throw new ValueError(`cannot replace '${key}': not a submodule`);
  return { container: record, key };
}
