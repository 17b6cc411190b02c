/**
 * The memory table: one row per method, measured where the model fits the machine and
 * analytic where it does not, and the sentence that names which method holds the least.
 */
import { formatBytes, formatCount } from '../metrics.ts';

import type { ModelSpec } from './models.ts';
import { type Accounting, analyticMemory, MEMORY_ROWS, measuredMemory, type MemoryRow, type MemorySettings } from './accounting.ts';

export interface MemoryTable {
  model: string;
  /** Tokens per step of the activation estimate. */
  tokens: number;
  route: 'measured' | 'analytic';
  /** Why the analytic route was taken, or that measured = analytic was checked. */
  note: string;
  rows: { row: MemoryRow; bytes: Accounting }[];
}

/** One model's table: measured when its largest method fits under `limitBytes` (and then checked against the analytic figures), analytic otherwise. */
export function memoryTable(spec: ModelSpec, s: MemorySettings, limitBytes: number, rows: readonly MemoryRow[] = MEMORY_ROWS): MemoryTable {
  const analytic = rows.map((row) => ({ row, bytes: analyticMemory(spec, row, s) }));
  const largest = Math.max(...analytic.map((r) => r.bytes.held));
  if (largest > limitBytes) {
    return {
      model: spec.label,
      tokens: spec.tokens,
      route: 'analytic',
      rows: analytic,
      note: `analytic: the largest method holds ${formatBytes(largest)}, more than the ${formatBytes(limitBytes)} this run may allocate (--limit-gib), so nothing was built; the figures come from the accounting that equals the measured bytes on small configs (spec/sparsegrad/memory-command.spec.ts)`,
    };
  }
  const measured = rows.map((row) => ({ row, bytes: measuredMemory(spec, row, s) }));
  const mismatched = measured.filter((m, i) => JSON.stringify(m.bytes) !== JSON.stringify(analytic[i]!.bytes)).map((m) => m.row.label);
  return {
    model: spec.label,
    tokens: spec.tokens,
    route: 'measured',
    rows: measured,
    note:
      mismatched.length === 0
        ? 'measured on the built model (memoryReport on the live arrays); the analytic accounting agrees byte for byte'
        : `measured; the analytic accounting DIFFERS for ${mismatched.join(', ')} (a bug: please report it)`,
  };
}

const COLUMNS: [string, (a: Accounting) => string][] = [
  ['parameters', (a) => formatBytes(a.parameters)],
  ['trainable entries', (a) => formatCount(a.trainableEntries)],
  ['kept originals', (a) => formatBytes(a.originals)],
  ['gradients', (a) => formatBytes(a.gradientsDense + a.gradientsSparse)],
  ['optimizer state', (a) => formatBytes(a.optimizerState)],
  ['bases U, V', (a) => formatBytes(a.bases)],
  ['materialized W', (a) => formatBytes(a.materializedWeights)],
  ['held (exact)', (a) => formatBytes(a.held)],
  ['activations, analytic', (a) => `${formatBytes(a.activationsSaved)} + ${formatBytes(a.activationsTransient)}`],
];

/** The sentence the table leads to: which method holds the least, and by how much. */
export function leastSentence(t: MemoryTable): string {
  const sorted = [...t.rows].sort((a, b) => a.bytes.held - b.bytes.held);
  const [least, next] = [sorted[0]!, sorted[1]];
  const full = t.rows.find((r) => r.row.method === 'full');
  const pct = (x: number, of: number) => `${((x / of) * 100).toFixed(1)} %`;
  let s = `${least.row.label} holds the least: ${formatBytes(least.bytes.held)}`;
  if (next) s += `, ${formatBytes(next.bytes.held - least.bytes.held)} less than ${next.row.label} (${formatBytes(next.bytes.held)})`;
  if (full && full !== least) {
    const share = pct(full.bytes.held - least.bytes.held, full.bytes.held);
    s += full === next ? `, ${share} less than full fine-tuning` : `, ${formatBytes(full.bytes.held - least.bytes.held)} (${share}) less than full fine-tuning`;
  }
  for (const r of t.rows.filter((x) => x.row.method === 'sparsegrad')) {
    if (!full) break;
    const d = r.bytes.held - full.bytes.held;
    s += `; ${r.row.label} holds ${formatBytes(Math.abs(d))} ${d > 0 ? 'more' : 'less'} than full fine-tuning`;
  }
  return `${s}.`;
}

export function formatMemoryTable(t: MemoryTable, s: MemorySettings): string {
  const cells = t.rows.map(({ row, bytes }) => [row.label, ...COLUMNS.map(([, f]) => f(bytes))]);
  const head = ['method', ...COLUMNS.map(([h]) => h)];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [
    `${t.model}: ${t.route}`,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(line),
    '',
    leastSentence(t),
    `held (exact bytes, float32): parameters + kept originals + gradients + optimizer state + bases + materialized weights; train scope '${s.scope}'; k = rank·(in + out) with rank ${s.rank}; SparseGrad keeps no original W; sparse moments: ${(s.touched * 100).toFixed(0)} % of each W̃ touched (--touched).`,
    `activations, analytic (nn/memory.ts): saved for the backward + transient buffers of the backward (summed over layers, though not all alive at once), adapted linears only, ${formatCount(t.tokens)} tokens per step.`,
    t.note,
  ].join('\n');
}
