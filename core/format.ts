/**
 * Printing tensors the way PyTorch does (torch/_tensor_str.py), so output is familiar:
 *   tensor([[ 1.0000, -2.5000],
 *           [ 3.0000,  4.0000]], requires_grad=True)
 * One formatter per tensor decides, from its non-zero finite values, between integral
 * ("1."), fixed ("1.2500") and scientific ("1.2500e+04") notation and a common width;
 * rows wrap at 80 columns; tensors over 1000 elements show 3 items at each edge.
 */
import type { Tensor } from './tensor.ts';

const EDGE = 3;
const SUMMARIZE_OVER = 1000;
const LINE_WIDTH = 80;
const PRECISION = 4;

interface Formatter {
  width: number;
  format(v: number): string;
}

const scientific = (v: number, digits: number) => v.toExponential(digits).replace(/e([+-])(\d)$/, 'e$10$2');

function special(v: number): string | null {
  return Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : null;
}

/** torch's _Formatter: the notation and width come from the non-zero finite values shown. */
function formatterFor(t: Tensor, shown: number[]): Formatter {
  if (t.dtype === 'bool' || t.dtype === 'int32') {
    const str = (v: number) => (t.dtype === 'bool' ? (v ? 'True' : 'False') : String(v));
    const width = Math.max(1, ...shown.map((v) => str(v).length));
    return { width, format: (v) => str(v).padStart(width) };
  }
  const finite = shown.filter((v) => Number.isFinite(v) && v !== 0);
  const abs = finite.map(Math.abs);
  const [min, max] = [Math.min(...abs), Math.max(...abs)];
  const integral = finite.every(Number.isInteger);
  const sci = finite.length > 0 && (max / min > 1000 || max > 1e8 || (!integral && min < 1e-4));
  let raw: (v: number) => string;
  if (sci) raw = (v) => special(v) ?? scientific(v, PRECISION);
  else if (integral) raw = (v) => special(v) ?? `${Object.is(v, -0) ? '-0' : v.toFixed(0)}.`;
  else raw = (v) => special(v) ?? v.toFixed(PRECISION);
  const width = Math.max(1, ...finite.map((v) => raw(v).length));
  return { width, format: (v) => raw(v).padStart(width) };
}

/** The values printing will show: everything, or the edges of each axis when summarising. */
function shownValues(t: Tensor, values: number[], summarize: boolean): number[] {
  const out: number[] = [];
  const walk = (axis: number, start: number, stride: number[]) => {
    if (axis === t.rank) return void out.push(values[start]!);
    for (const i of edgeIndices(t.shape[axis]!, summarize)) if (i >= 0) walk(axis + 1, start + i * stride[axis]!, stride);
  };
  walk(0, 0, strides(t));
  return out;
}

/** Indices of one axis to print; −1 marks the ellipsis. */
function edgeIndices(n: number, summarize: boolean): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  return summarize && n > 2 * EDGE ? [...all.slice(0, EDGE), -1, ...all.slice(n - EDGE)] : all;
}

const strides = (t: Tensor) => t.shape.map((_, i) => t.shape.slice(i + 1).reduce((p, d) => p * d, 1));

export function formatTensor(t: Tensor): string {
  const values = Array.from(t.toTypedArray() as ArrayLike<number>);
  const summarize = t.numel > SUMMARIZE_OVER;
  const fmt = formatterFor(t, shownValues(t, values, summarize));
  const stride = strides(t);

  const vector = (start: number, indent: number): string => {
    const items = edgeIndices(t.shape[t.rank - 1]!, summarize).map((i) => (i < 0 ? ' ...' : fmt.format(values[start + i]!)));
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (fmt.width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  };
  const render = (axis: number, start: number, indent: number): string => {
    if (axis === t.rank - 1) return vector(start, indent);
    const slices = edgeIndices(t.shape[axis]!, summarize).map((i) => (i < 0 ? '...' : render(axis + 1, start + i * stride[axis]!, indent + 1)));
    return `[${slices.join(`,${'\n'.repeat(t.rank - 1 - axis)}${' '.repeat(indent + 1)}`)}]`;
  };

  let body: string;
  if (t.rank === 0) body = fmt.format(values[0]!).trim();
  else if (t.numel === 0) body = t.rank === 1 ? '[]' : `[], size=(${t.shape.join(', ')})`;
  else body = render(0, 0, 'tensor('.length);
  const extras: string[] = [];
  if (t.dtype === 'float64' || t.dtype === 'int32') extras.push(`dtype=torch.${t.dtype}`);
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `tensor(${[body, ...extras].join(', ')})`;
}
