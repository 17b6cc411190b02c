/**
 * The autograd graph of one output, read back from what the engine recorded, and drawn.
 *
 * Every op that saw an input requiring grad left a Node on its output (`tensor.gradFn`:
 * the op's name and its input tensors; core/autograd.ts `record`). Walking `gradFn.inputs`
 * from the output back to the leaves is exactly the walk `backward()` makes. The
 * gradients shown on every node — leaves and intermediates alike — come from the public
 * `grad(output, tensors)`, which returns d(output)/d(t) for any tensor of the graph, not
 * only for leaves.
 */
import { grad, SparseCoo, type Tensor } from '../index.ts';

export interface GraphNode {
  id: number;
  /** The recorded op (`MulBackward`, …), or `leaf` / `constant` for tensors no op made. */
  op: string;
  /** The variable's name for leaves, the op without its `Backward` suffix otherwise. */
  label: string;
  shape: number[];
  value: number[];
  /** d(output)/d(this tensor); null for constants (they do not require grad). */
  grad: number[] | null;
  /** Ids of this node's inputs, in the op's argument order. */
  inputs: number[];
  /** Column in the drawing: 0 for tensors no op made, then one more than the deepest input. */
  depth: number;
}

export interface Graph {
  nodes: GraphNode[];
  output: number;
}

/**
 * Walk the graph recorded on `output`. `names` labels the leaves (the variables). A
 * non-scalar output is seeded with ones, as `output.sum().backward()` would.
 */
export function traceGraph(output: Tensor, names: ReadonlyMap<string, Tensor>): Graph {
  const nameOf = new Map([...names].map(([n, t]) => [t, n]));
  // Iterative depth-first post-order: every tensor after its inputs (as the engine's walk).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: { t: Tensor; expanded: boolean }[] = [{ t: output, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.t);
      continue;
    }
    if (seen.has(top.t)) continue;
    seen.add(top.t);
    stack.push({ t: top.t, expanded: true });
    for (const input of [...(top.t.gradFn?.inputs ?? [])].reverse()) if (!seen.has(input)) stack.push({ t: input, expanded: false });
  }
  const ids = new Map(order.map((t, i) => [t, i]));
  const differentiable = order.filter((t) => t.requiresGrad);
  const seed = output.numel === 1 ? undefined : [output.onesLike()];
  const grads = grad(output, differentiable, { retainGraph: true, allowUnused: true, ...(seed ? { gradOutputs: seed } : {}) });
  const gradOf = new Map(differentiable.map((t, i) => [t, grads[i]]));
  const nodes: GraphNode[] = [];
  for (const t of order) {
    const inputs = (t.gradFn?.inputs ?? []).map((i) => ids.get(i)!);
    const g = gradOf.get(t);
    const op = t.gradFn ? t.gradFn.name : t.requiresGrad ? 'leaf' : 'constant';
    nodes.push({
      id: ids.get(t)!,
      op,
      label: nameOf.get(t) ?? (t.gradFn ? t.gradFn.name.replace(/Backward\d*$/, '') : t.requiresGrad ? 'leaf' : 'const'),
      shape: [...t.shape],
      value: Array.from(t.toTypedArray() as ArrayLike<number>),
      grad: g === undefined || g === null ? null : Array.from((g instanceof SparseCoo ? g.toDense() : g).toTypedArray() as ArrayLike<number>),
      inputs,
      depth: inputs.length === 0 ? 0 : 1 + Math.max(...inputs.map((i) => nodes[i]!.depth)),
    });
  }
  return { nodes, output: ids.get(output)! };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Four significant digits without trailing zeros (0.5, not 0.5000); exponents for the very large or small. */
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4))));

/** The values of a small tensor on one line (`[1, 2; 3, 4]`), shortened past a dozen. */
function show(values: readonly number[], shape: readonly number[]): string {
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const shown = values.slice(0, 12).map(fmt);
  const rows: string[] = [];
  for (let i = 0; i < shown.length; i += cols) rows.push(shown.slice(i, i + cols).join(', '));
  return `[${rows.join('; ')}${values.length > 12 ? ' …' : ''}]`;
}

/**
 * The graph as SVG: inputs on the left, the output on the right, one column per depth.
 * Each node is a `<g data-node>` carrying its op, label, values and gradient as data
 * attributes (JSON), so a test — or a curious learner in the inspector — reads exact numbers.
 */
export function graphSvg(graph: Graph): string {
  const W = 240,
    H = 62,
    GAP_X = 60,
    GAP_Y = 18,
    PAD = 14;
  const columns = new Map<number, GraphNode[]>();
  for (const n of graph.nodes) columns.set(n.depth, [...(columns.get(n.depth) ?? []), n]);
  const maxRows = Math.max(...[...columns.values()].map((c) => c.length));
  const depth = Math.max(...graph.nodes.map((n) => n.depth));
  const width = PAD * 2 + (depth + 1) * W + depth * GAP_X;
  const height = PAD * 2 + maxRows * H + (maxRows - 1) * GAP_Y;
  const pos = new Map<number, { x: number; y: number }>();
  for (const [d, col] of columns) {
    const top = PAD + ((maxRows - col.length) * (H + GAP_Y)) / 2;
    col.forEach((n, i) => pos.set(n.id, { x: PAD + d * (W + GAP_X), y: top + i * (H + GAP_Y) }));
  }
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" data-plot="autograd-graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, monospace" font-size="11">`;
  svg +=
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#888"/></marker></defs>';
  // Edges first, so boxes sit on top: data flows left to right, gradients flow back along them.
  for (const n of graph.nodes) {
    const to = pos.get(n.id)!;
    n.inputs.forEach((i) => {
      const from = pos.get(i)!;
      svg += `<path d="M${from.x + W},${from.y + H / 2} C${from.x + W + GAP_X / 2},${from.y + H / 2} ${to.x - GAP_X / 2},${to.y + H / 2} ${to.x},${to.y + H / 2}" fill="none" stroke="#888" marker-end="url(#arrow)"/>`;
    });
  }
  for (const n of graph.nodes) {
    const { x, y } = pos.get(n.id)!;
    const fill = n.op === 'leaf' ? '#e8f1fb' : n.op === 'constant' ? '#f3f3f3' : n.id === graph.output ? '#fdecea' : '#fff8e5';
    svg += `<g data-node="${n.id}" data-op="${esc(n.op)}" data-label="${esc(n.label)}" data-shape="${esc(JSON.stringify(n.shape))}" data-value="${esc(JSON.stringify(n.value))}" data-grad="${esc(JSON.stringify(n.grad))}" data-inputs="${esc(JSON.stringify(n.inputs))}">`;
    svg += `<title>${esc(`${n.op} [${n.shape.join('×')}]\nvalue ${show(n.value, n.shape)}\ngrad ${n.grad ? show(n.grad, n.shape) : '—'}`)}</title>`;
    svg += `<rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6" fill="${fill}" stroke="#777"/>`;
    svg += `<text x="${x + 8}" y="${y + 16}" font-weight="700">${esc(n.label)}<tspan font-weight="400" fill="#666"> [${n.shape.join('×') || 'scalar'}]</tspan></text>`;
    svg += `<text x="${x + 8}" y="${y + 34}">${esc(`value ${show(n.value, n.shape)}`.slice(0, 34))}</text>`;
    svg += `<text x="${x + 8}" y="${y + 52}" fill="#b3261e">${esc(`grad  ${n.grad ? show(n.grad, n.shape) : '— (constant)'}`.slice(0, 34))}</text>`;
    svg += '</g>';
  }
  return `${svg}</svg>`;
}
