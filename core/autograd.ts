/**
 * Reverse-mode automatic differentiation, eager and define-by-run.
 *
 * Every op that sees an input requiring grad records one Node on its output:
 * the inputs, the tensors it saved, and a VJP — a function from the gradient of the
 * output to the gradients of the inputs. `grad()` walks those nodes from the outputs
 * back (iteratively: BERT graphs are thousands of nodes deep), runs each tensor's
 * hooks once its gradient is complete, and calls each VJP. `backward()` is the same
 * walk, accumulating the results into the leaves' `.grad`.
 */
import { AutogradError } from '../base/errors.ts';
import { formatShape, sameShape } from '../base/shape.ts';
import type { TensorStorage } from '../kernels/storage.ts';
import { madeMark, madeSince } from './ownership.ts';
import { addGradInto, addGrads, type Grad, SparseCoo } from './sparse.ts';
import type { Tensor } from './tensor.ts';

/** A VJP: gradient of the output in, one gradient (or null: no contribution) per input out. */
export type Vjp = (gradOutput: Tensor) => readonly (Grad | null)[];

export interface Node {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Null once the graph has been freed by a backward without retainGraph. */
  vjp: Vjp | null;
  /** Tensors the VJP reads, with their storage version when saved: in-place changes are caught. */
  readonly saved: readonly { tensor: Tensor; version: number }[];
}

let gradEnabled = true;

/**
 * Whether ops record the graph now (false inside `noGrad`).
 *
 * @example
 * ```ts
 * import { isGradEnabled, noGrad } from 'sparsegrad';
 * isGradEnabled(); // => true
 * noGrad(() => isGradEnabled()); // => false
 * ```
 */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Run fn without recording anything (inference, optimizer updates, VJPs themselves).
 *
 * @example
 * ```ts
 * import { noGrad, tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * noGrad(() => w.mul(2)).requiresGrad; // => false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/**
 * Re-enable recording inside a noGrad region.
 *
 * @example
 * ```ts
 * import { enableGrad, noGrad, tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * noGrad(() => enableGrad(() => w.mul(2))).requiresGrad; // => true
 * ```
 */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/**
 * Attach a node to `output` if grad mode is on and any input requires grad.
 * Ops call this right after computing their forward; the VJP sits beside it.
 *
 * @example
 * ```ts
 * import { record, tensor } from 'sparsegrad';
 * const x = tensor([1, 2], { requiresGrad: true });
 * const y = record('TwiceBackward', x.detach().mul(2), [x], (g) => [g.mul(2)]);
 * y.sum().backward();
 * x.grad; // => [2, 2]
 * ```
 */
export function record(name: string, output: Tensor, inputs: readonly Tensor[], vjp: Vjp, saved: readonly Tensor[] = []): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return output;
  // An op that returns one of its inputs (a custom identity, say) gets a fresh view as
  // its output: attaching the node to the input itself would make the input its own child.
  if (inputs.includes(output)) output = output.detach();
  output.requiresGrad = true;
  output.gradFn = { name, inputs, vjp, saved: saved.map((tensor) => ({ tensor, version: tensor.version })) };
  return output;
}

/**
 * The public custom-VJP API: a layer defines its own forward and backward (SparseGrad,
 * MeProp and LoRA do). `forward` runs without recording; `backward` receives the output
 * gradient and returns one gradient per input — dense, a SparseCoo value, or null.
 *
 * @example
 * ```ts
 * import { customVjp, tensor } from 'sparsegrad';
 * const square = customVjp('Square', (a) => ({ output: a.mul(a), saved: a }), (g, a) => [g.mul(a).mul(2)]);
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * square(x).sum().backward();
 * x.grad; // => [2, 4, 6]
 * ```
 */
export function customVjp<Saved>(
  name: string,
  forward: (...inputs: Tensor[]) => { output: Tensor; saved: Saved },
  backward: (gradOutput: Tensor, saved: Saved) => readonly (Grad | null)[],
): (...inputs: Tensor[]) => Tensor {
  return (...inputs: Tensor[]) => {
    const { output, saved } = noGrad(() => forward(...inputs));
    return record(name, output, inputs, (g) => backward(g, saved));
  };
}

export interface GradOptions {
  /** Gradients of the outputs; required for non-scalar outputs. */
  gradOutputs?: readonly (Tensor | null)[];
  /** Return null for an input the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
  /** Keep the graph so that it can be walked again. */
  retainGraph?: boolean;
}

/**
 * Functional gradients: d(outputs)/d(inputs), as values; `.grad` is not touched.
 *
 * @example
 * ```ts
 * import { grad, tensor } from 'sparsegrad';
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * const [gx] = grad(x.mul(x).sum(), [x]);
 * gx; // => [2, 4, 6]
 * x.grad; // => null
 * ```
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], options: GradOptions = {}): (Grad | null)[] {
  const outs = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  const found = runBackward(outs, rootGrads(outs, options.gradOutputs), { targets: inputs, accumulate: false, retainGraph: options.retainGraph ?? false });
  return inputs.map((t, i) => {
    const g = found.get(t);
    if (g !== undefined) return g;
    if (!t.requiresGrad) throw new AutogradError(`grad(): input ${i} does not require grad`);
    if (options.allowUnused) return null;
    throw new AutogradError(`grad(): input ${i} appears to not have been used in the graph. Set allowUnused: true if this is the desired behavior.`);
  });
}

/** `tensor.backward()`: accumulate d(output)/d(leaf) into every leaf's `.grad`. */
export function backward(output: Tensor, gradOutput?: Tensor, options: { retainGraph?: boolean } = {}): void {
  runBackward([output], rootGrads([output], gradOutput ? [gradOutput] : undefined), { accumulate: true, retainGraph: options.retainGraph ?? false });
}

function rootGrads(outputs: readonly Tensor[], given: readonly (Tensor | null)[] | undefined): Tensor[] {
  return outputs.map((out, i) => {
    if (!out.requiresGrad) {
      throw new AutogradError(`element ${i} of tensors does not require grad and does not have a grad_fn`);
    }
    const g = given?.[i];
    if (g) {
      if (!sameShape(g.shape, out.shape)) {
        throw new AutogradError(
          `Mismatch in shape: grad_output[${i}] has a shape of ${formatShape(g.shape)} and output[${i}] has a shape of ${formatShape(out.shape)}.`,
        );
      }
      return g;
    }
    if (out.numel !== 1) throw new AutogradError('grad can be implicitly created only for scalar outputs');
    return out.onesLike();
  });
}

interface WalkOptions {
  targets?: readonly Tensor[];
  accumulate: boolean;
  retainGraph: boolean;
}

/** Depth-first post-order without recursion: every tensor after all of its inputs. */
function postOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: { tensor: Tensor; expanded: boolean }[] = roots.map((tensor) => ({ tensor, expanded: false }));
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.tensor);
      continue;
    }
    if (seen.has(top.tensor)) continue;
    seen.add(top.tensor);
    stack.push({ tensor: top.tensor, expanded: true });
    for (const input of top.tensor.gradFn?.inputs ?? []) {
      if (input.requiresGrad && !seen.has(input)) stack.push({ tensor: input, expanded: false });
    }
  }
  return order;
}

function runBackward(roots: readonly Tensor[], seeds: readonly Tensor[], options: WalkOptions): Map<Tensor, Grad> {
  const order = postOrder(roots);
  // With explicit targets, only walk nodes that lead to one of them (tape pruning).
  const targets = options.targets ? new Set(options.targets) : null;
  const needed = new Set<Tensor>();
  for (const t of order) {
    if (!targets || targets.has(t) || t.gradFn?.inputs.some((i) => needed.has(i))) needed.add(t);
  }

  const pending = new Map<Tensor, Grad>();
  // Gradient ownership (core/ownership.ts). `holders` counts, per storage, the gradients that
  // hold it now: those waiting in `pending` and those a leaf took without a copy. A gradient
  // the engine has finished with (passed to its VJP, or copied into a .grad) lets go of it.
  // A leaf takes its gradient without a copy only when that gradient is its storage's only
  // holder, the storage was made during this pass, and no hook saw it; by the same proof a
  // second gradient for one tensor is added into its first in place (route).
  const mark = madeMark();
  // Neither may keep a storage alive that the walk has let go of (its gradients would then all
  // live until the walk ends): a count that drops to 0 is deleted, and hooks' storages are weak.
  const holders = new Map<TensorStorage, number>();
  const seenByHook = new WeakSet<TensorStorage>();
  const seen = (g: Grad) => {
    if (!(g instanceof SparseCoo)) seenByHook.add(g.storage);
  };
  const hold = (g: Grad, by: 1 | -1) => {
    if (g instanceof SparseCoo) return;
    const n = (holders.get(g.storage) ?? 0) + by;
    if (n > 0) holders.set(g.storage, n);
    else holders.delete(g.storage);
  };
  const route = (target: Tensor, g: Grad) => {
    const previous = pending.get(target);
    // A second gradient for the same tensor is added into the first where the walk owns it:
    // the same values as a new sum, without a buffer of the tensor's size per extra consumer.
    if (previous !== undefined && ownedByWalk(previous) && addGradInto(previous, g)) return;
    if (previous !== undefined) hold(previous, -1);
    const sum = previous === undefined ? g : addGrads(previous, g); // a new tensor: g is only read
    hold(sum, 1);
    pending.set(target, sum);
  };
  const ownedByWalk = (g: Grad): g is Tensor =>
    !(g instanceof SparseCoo) &&
    holders.get(g.storage) === 1 &&
    !seenByHook.has(g.storage) &&
    madeSince(g.storage, mark) &&
    g.offset === 0 &&
    g.numel === g.storage.length &&
    g.isContiguous();
  const ownedBy = (t: Tensor, g: Grad): boolean => t.isLeaf && ownedByWalk(g);

  roots.forEach((r, i) => route(r, seeds[i]!));
  const results = new Map<Tensor, Grad>();

  return withGradMode(false, () => {
    // Reverse post-order visits each tensor after all of its consumers: its gradient is complete.
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      let g = pending.get(t);
      if (g === undefined || !needed.has(t)) continue;
      pending.delete(t);
      const routed = g;
      for (const hook of [...t.hooks]) {
        // A hook may keep what it sees, or return a tensor it keeps: neither is taken without a copy.
        seen(g);
        g = hook(g) ?? g;
        if (!sameShape(g.shape, t.shape)) {
          throw new AutogradError(`hook has changed the size of value: expected ${formatShape(t.shape)}, got ${formatShape(g.shape)}`);
        }
        seen(g);
      }
      if (targets?.has(t)) results.set(t, g);
      const owned = options.accumulate && ownedBy(t, g);
      if (options.accumulate && (t.isLeaf || t.retainsGrad)) t.accumulateGrad(g, owned);
      const node = t.gradFn;
      if (node) {
        for (const [j, input] of callVjp(node, g, options.retainGraph).entries()) {
          const target = node.inputs[j]!;
          if (input === null || !target.requiresGrad || !needed.has(target)) continue;
          route(target, input);
        }
      }
      // Done with it unless it lives on as a leaf's .grad or as grad()'s result (then nothing
      // that shares its storage may be summed into in place): only copies and VJP results go on.
      if (!owned && !targets?.has(t)) hold(routed, -1);
    }
    return results;
  });
}

function callVjp(node: Node, g: Grad, retainGraph: boolean): readonly (Grad | null)[] {
  if (node.vjp === null) {
    throw new AutogradError(
      `Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed) at ${node.name}. Specify retainGraph: true if you need to backward through the graph a second time.`,
    );
  }
  for (const { tensor, version } of node.saved) {
    if (tensor.version !== version) {
      throw new AutogradError(
        `one of the variables needed for gradient computation has been modified by an inplace operation: [${tensor.dtype} ${formatShape(tensor.shape)}], which is output 0 of ${node.name}, is at version ${tensor.version}; expected version ${version} instead.`,
      );
    }
  }
  const dense = g instanceof SparseCoo ? g.toDense() : g;
  const grads = node.vjp(dense);
  if (!retainGraph) node.vjp = null;
  if (grads.length !== node.inputs.length) {
    throw new AutogradError(`function ${node.name} returned an incorrect number of gradients (expected ${node.inputs.length}, got ${grads.length})`);
  }
  grads.forEach((gi, j) => {
    const input = node.inputs[j]!;
    if (gi !== null && input.requiresGrad && !sameShape(gi.shape, input.shape)) {
      throw new AutogradError(
        `Function ${node.name} returned an invalid gradient at index ${j} - got ${formatShape(gi.shape)} but expected shape compatible with ${formatShape(input.shape)}`,
      );
    }
  });
  return grads;
}
