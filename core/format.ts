/**
 * Printing tensors the way PyTorch does, so output is familiar:
 *   tensor([[ 1.0000, -2.5000],
 *           [ 3.0000,  4.0000]], requires_grad=True)
 * Integral floats print as "1.", wide ranges switch to scientific notation, and
 * tensors over 1000 elements are summarised with "..." (3 items at each edge).
 */
import type { Tensor } from './tensor.ts';

const EDGE = 3;
const SUMMARIZE_OVER = 1000;

function formatterFor(t: Tensor, values: number[]): (v: number) => string {
  if (t.dtype === 'bool') return (v) => (v ? 'True' : 'False');
  if (t.dtype === 'int32') return (v) => String(v);
  const finite = values.filter(Number.isFinite);
  const nonSpecial = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const absFinite = finite.map(Math.abs).filter((v) => v > 0);
  const maxAbs = Math.max(0, ...absFinite);
  const minAbs = Math.min(Infinity, ...absFinite);
  if (finite.every(Number.isInteger) && maxAbs < 1e8) {
    return (v) => (Number.isFinite(v) ? `${Object.is(v, -0) ? '-0' : v.toFixed(0)}.` : nonSpecial(v));
  }
  const scientific = maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs > 0) || maxAbs / minAbs > 1000;
  return (v) => (!Number.isFinite(v) ? nonSpecial(v) : scientific ? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2') : v.toFixed(4));
}

export function formatTensor(t: Tensor): string {
  const values = Array.from(t.toTypedArray() as ArrayLike<number>);
  const summarize = t.numel > SUMMARIZE_OVER;
  const fmt = formatterFor(t, values);
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const shown = (axis: number) => {
    const n = t.shape[axis]!;
    const all = Array.from({ length: n }, (_, i) => i);
    return summarize && n > 2 * EDGE ? [...all.slice(0, EDGE), -1, ...all.slice(n - EDGE)] : all;
  };
  // Width of the widest printed element, so columns line up.
  const width = Math.max(0, ...values.map((v) => fmt(v).length));
  const pad = (s: string) => s.padStart(width);

  const indent = 'tensor('.length;
  const render = (axis: number, start: number): string => {
    if (axis === t.rank) return pad(fmt(values[start]!));
    const parts = shown(axis).map((i) => (i < 0 ? '...' : render(axis + 1, start + i * strides[axis]!)));
    if (axis === t.rank - 1) return `[${parts.join(', ')}]`;
    const gap = ',' + '\n'.repeat(t.rank - 1 - axis) + ' '.repeat(indent + axis + 1);
    return `[${parts.join(gap)}]`;
  };

  let body = t.rank === 0 ? fmt(values[0]!) : render(0, 0);
  const extras: string[] = [];
  if (t.numel === 0 && t.rank !== 1) body = `[], size=(${t.shape.join(', ')}${t.rank === 1 ? ',' : ''})`;
  if (t.dtype === 'float64' || t.dtype === 'int32') extras.push(`dtype=torch.${t.dtype}`);
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `tensor(${[body, ...extras].join(', ')})`;
}
