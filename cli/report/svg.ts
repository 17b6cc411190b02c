/**
 * Hand-written SVG charts for the self-contained report: a line chart (optionally
 * log-x, with shaded bands), a bar chart with error bars and a baseline, and a sparse
 * heatmap. Every chart is one `<svg>` string, well-formed XML (text escaped, no external
 * references), tagged with `data-plot` so tests and readers can find it.
 */

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** Escape text for XML content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const f = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(2)).toString() : '0');

/** Round tick values covering [lo, hi]: about `count` of them at 1/2/5·10ⁿ steps. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  return Number(v.toPrecision(4)).toString();
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function frameOf(width: number, height: number): Frame {
  return { width, height, left: 62, right: 16, top: 34, bottom: 46 };
}

function open(plot: string, title: string, fr: Frame): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" data-plot="${esc(plot)}" role="img" width="${fr.width}" height="${fr.height}" viewBox="0 0 ${fr.width} ${fr.height}" font-family="system-ui, sans-serif" font-size="11">` +
    `<title>${esc(title)}</title>` +
    `<text x="${fr.width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">${esc(title)}</text>`
  );
}

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  dash?: string;
  /** A shaded band: [x, low, high]. */
  band?: readonly (readonly [number, number, number])[];
}

export interface LineChartOptions {
  plot: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  logX?: boolean;
  yMin?: number;
  yMax?: number;
  /** Vertical marker lines: [x, label]. */
  markers?: [number, string][];
}

export function lineChart(o: LineChartOptions): string {
  const fr = frameOf(o.width ?? 640, o.height ?? 360);
  const pts = o.series
    .flatMap((s) => [
      ...s.points,
      ...(s.band ?? []).flatMap(
        ([x, lo, hi]) =>
          [
            [x, lo],
            [x, hi],
          ] as const,
      ),
    ])
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0));
  const xs = pts.map(([x]) => (o.logX ? Math.log10(x) : x));
  const ys = pts.map(([, y]) => y);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [o.yMin ?? Math.min(...ys), o.yMax ?? Math.max(...ys)];
  if (!Number.isFinite(x0) || x0 === x1) [x0, x1] = [Number.isFinite(x0) ? x0 - 1 : 0, Number.isFinite(x1) ? x1 + 1 : 1];
  if (!Number.isFinite(y0) || y0 === y1) [y0, y1] = [Number.isFinite(y0) ? y0 - 1 : 0, Number.isFinite(y1) ? y1 + 1 : 1];
  if (o.yMin === undefined || o.yMax === undefined) {
    const pad = (y1 - y0) * 0.05;
    if (o.yMin === undefined) y0 -= pad;
    if (o.yMax === undefined) y1 += pad;
  }
  const legendW = 190;
  const plotR = fr.width - fr.right - legendW;
  const X = (x: number) => fr.left + (((o.logX ? Math.log10(x) : x) - x0) / (x1 - x0)) * (plotR - fr.left);
  const Y = (y: number) => fr.height - fr.bottom - ((y - y0) / (y1 - y0)) * (fr.height - fr.bottom - fr.top);
  let svg = open(o.plot, o.title, fr);
  // Axes and grid.
  const yTicks = niceTicks(y0, y1);
  for (const t of yTicks) {
    svg += `<line x1="${fr.left}" x2="${f(plotR)}" y1="${f(Y(t))}" y2="${f(Y(t))}" stroke="#e5e5e5"/>`;
    svg += `<text x="${fr.left - 6}" y="${f(Y(t) + 4)}" text-anchor="end">${esc(formatTick(t))}</text>`;
  }
  const xTicks = o.logX
    ? niceTicks(Math.ceil(x0), Math.floor(x1), Math.max(1, Math.floor(x1) - Math.ceil(x0)))
        .filter(Number.isInteger)
        .map((e) => 10 ** e)
    : niceTicks(x0, x1, 6);
  for (const t of xTicks) {
    const x = X(t);
    if (x < fr.left - 0.5 || x > plotR + 0.5) continue;
    svg += `<line x1="${f(x)}" x2="${f(x)}" y1="${fr.top}" y2="${fr.height - fr.bottom}" stroke="#f0f0f0"/>`;
    svg += `<text x="${f(x)}" y="${fr.height - fr.bottom + 16}" text-anchor="middle">${esc(o.logX ? (t >= 0.01 ? `${Number((t * 100).toPrecision(3))}%` : `${formatTick(t * 100)}%`) : formatTick(t))}</text>`;
  }
  svg += `<rect x="${fr.left}" y="${fr.top}" width="${f(plotR - fr.left)}" height="${fr.height - fr.top - fr.bottom}" fill="none" stroke="#999"/>`;
  svg += `<text x="${f((fr.left + plotR) / 2)}" y="${fr.height - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`;
  svg += `<text transform="translate(14 ${f((fr.top + fr.height - fr.bottom) / 2)}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`;
  for (const [mx, label] of o.markers ?? []) {
    const x = X(mx);
    svg += `<line x1="${f(x)}" x2="${f(x)}" y1="${fr.top}" y2="${fr.height - fr.bottom}" stroke="#555" stroke-dasharray="3 3"/>`;
    svg += `<text x="${f(x + 3)}" y="${fr.top + 12}" fill="#555">${esc(label)}</text>`;
  }
  // Data.
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0);
    if (s.band && s.band.length > 1) {
      const band = s.band.filter(([x, lo, hi]) => ok(x, lo) && ok(x, hi));
      const d = [...band.map(([x, lo]) => `${f(X(x))},${f(Y(lo))}`), ...[...band].reverse().map(([x, , hi]) => `${f(X(x))},${f(Y(hi))}`)].join(' ');
      if (band.length > 1) svg += `<polygon points="${d}" fill="${color}" fill-opacity="0.15" stroke="none"/>`;
    }
    const line = s.points
      .filter(([x, y]) => ok(x, y))
      .map(([x, y]) => `${f(X(x))},${f(Y(y))}`)
      .join(' ');
    if (line)
      svg += `<polyline data-series="${esc(s.name)}" points="${line}" fill="none" stroke="${color}" stroke-width="1.8"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`;
    const ly = fr.top + 8 + i * 17;
    svg += `<line x1="${f(plotR + 12)}" x2="${f(plotR + 34)}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`;
    svg += `<text x="${f(plotR + 40)}" y="${ly + 4}">${esc(s.name)}</text>`;
  });
  return `${svg}</svg>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Half-width of the error bar (e.g. one standard deviation). */
  error?: number;
  color?: string;
  /** Individual observations drawn as dots. */
  points?: number[];
}

export interface BarChartOptions {
  plot: string;
  title: string;
  yLabel: string;
  bars: Bar[];
  /** Horizontal reference lines (the majority class, a simple model), each labelled in the legend below. */
  baselines?: { value: number; label: string; color: string; dash: string }[];
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
  format?: (v: number) => string;
}

/**
 * Bars from the axis minimum (default 0: pass yMin only with a reason, and say so in the
 * title). Nothing is written over a bar: the value sits above the bar and its error bar,
 * with a top margin that keeps it clear of the title; the baselines' labels go in a
 * legend below the axis, not on the plot where they would cross the bars.
 */
export function barChart(o: BarChartOptions): string {
  const baselines = o.baselines ?? [];
  const fr = { ...frameOf(o.width ?? 640, o.height ?? 340), top: 48, bottom: 46 + 16 * baselines.length };
  const fmt = o.format ?? formatTick;
  const values = o.bars
    .flatMap((b) => [b.value + (b.error ?? 0), b.value - (b.error ?? 0), ...(b.points ?? [])])
    .concat(baselines.map((b) => b.value))
    .filter(Number.isFinite);
  let y0 = o.yMin ?? Math.min(0, ...values);
  let y1 = o.yMax ?? Math.max(...values) * 1.05;
  if (!(y1 > y0)) [y0, y1] = [0, 1];
  const Y = (y: number) => fr.height - fr.bottom - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * (fr.height - fr.bottom - fr.top);
  const plotR = fr.width - fr.right;
  const slot = (plotR - fr.left) / Math.max(1, o.bars.length);
  let svg = open(o.plot, o.title, fr);
  for (const t of niceTicks(y0, y1)) {
    svg += `<line x1="${fr.left}" x2="${plotR}" y1="${f(Y(t))}" y2="${f(Y(t))}" stroke="#e5e5e5"/>`;
    svg += `<text x="${fr.left - 6}" y="${f(Y(t) + 4)}" text-anchor="end">${esc(fmt(t))}</text>`;
  }
  svg += `<text transform="translate(14 ${f((fr.top + fr.height - fr.bottom) / 2)}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`;
  let valueLabels = '';
  o.bars.forEach((b, i) => {
    const color = b.color ?? PALETTE[i % PALETTE.length]!;
    const cx = fr.left + slot * (i + 0.5);
    const w = Math.min(70, slot * 0.6);
    const top = Y(b.value);
    svg += `<rect data-bar="${esc(b.label)}" x="${f(cx - w / 2)}" y="${f(top)}" width="${f(w)}" height="${f(Y(y0) - top)}" fill="${color}" fill-opacity="0.8"/>`;
    if (b.error !== undefined && b.error > 0) {
      const [hi, lo] = [Y(b.value + b.error), Y(b.value - b.error)];
      svg += `<g data-error-bar="${esc(b.label)}" stroke="#222" stroke-width="1.3"><line x1="${f(cx)}" x2="${f(cx)}" y1="${f(hi)}" y2="${f(lo)}"/><line x1="${f(cx - 8)}" x2="${f(cx + 8)}" y1="${f(hi)}" y2="${f(hi)}"/><line x1="${f(cx - 8)}" x2="${f(cx + 8)}" y1="${f(lo)}" y2="${f(lo)}"/></g>`;
    }
    for (const p of b.points ?? []) svg += `<circle cx="${f(cx + w / 2 + 8)}" cy="${f(Y(p))}" r="2.5" fill="#222" fill-opacity="0.6"/>`;
    // On a white halo, drawn after the baselines: a baseline near the top passes behind the value, not through it.
    valueLabels += `<text x="${f(cx)}" y="${f(top - 6 - (b.error ? Y(b.value) - Y(b.value + b.error) : 0))}" text-anchor="middle" stroke="#fff" stroke-width="4" paint-order="stroke">${esc(fmt(b.value))}</text>`;
    svg += `<text x="${f(cx)}" y="${fr.height - fr.bottom + 16}" text-anchor="middle">${esc(b.label)}</text>`;
  });
  baselines.forEach((b, i) => {
    const stroke = `stroke="${b.color}" stroke-dasharray="${b.dash}" stroke-width="1.3"`;
    svg += `<line data-baseline="${esc(b.label)}" x1="${fr.left}" x2="${plotR}" y1="${f(Y(b.value))}" y2="${f(Y(b.value))}" ${stroke}/>`;
    const ly = fr.height - 14 - 16 * (baselines.length - 1 - i); // one legend line each, below the bar labels
    svg += `<line x1="${fr.left}" x2="${fr.left + 22}" y1="${ly - 4}" y2="${ly - 4}" ${stroke}/>`;
    svg += `<text x="${fr.left + 28}" y="${ly}" fill="${b.color}">${esc(b.label)}</text>`;
  });
  svg += valueLabels;
  svg += `<line x1="${fr.left}" x2="${plotR}" y1="${f(Y(y0))}" y2="${f(Y(y0))}" stroke="#999"/>`;
  return `${svg}</svg>`;
}

export interface HeatmapOptions {
  plot: string;
  title: string;
  rows: number;
  cols: number;
  /** Sparse cells: flat index row·cols + col → value; absent cells are drawn as zero (background). */
  indices: readonly number[];
  values: readonly number[];
  /** At most this many cells per side; larger matrices are pooled (the largest |value| of each block). */
  maxCells?: number;
  width?: number;
  rowLabel?: string;
  colLabel?: string;
}

/** Blue (negative) – white – red (positive), by |v| / max on a square-root scale. */
function diverging(v: number, max: number): string {
  const t = Math.sqrt(Math.min(1, Math.abs(v) / max));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return v >= 0 ? `rgb(${mix(255, 178)},${mix(255, 24)},${mix(255, 43)})` : `rgb(${mix(255, 33)},${mix(255, 102)},${mix(255, 172)})`;
}

export function heatmap(o: HeatmapOptions): string {
  const maxCells = o.maxCells ?? 256;
  const pr = Math.max(1, Math.ceil(o.rows / maxCells));
  const pc = Math.max(1, Math.ceil(o.cols / maxCells));
  const gr = Math.ceil(o.rows / pr);
  const gc = Math.ceil(o.cols / pc);
  const pooled = new Map<number, number>();
  for (let n = 0; n < o.indices.length; n++) {
    const r = Math.floor(o.indices[n]! / o.cols);
    const c = o.indices[n]! % o.cols;
    const key = Math.floor(r / pr) * gc + Math.floor(c / pc);
    const v = o.values[n]!;
    const old = pooled.get(key);
    if (old === undefined || Math.abs(v) > Math.abs(old)) pooled.set(key, v);
  }
  let max = 0;
  for (const v of pooled.values()) max = Math.max(max, Math.abs(v));
  if (max === 0) max = 1;
  const fr = { ...frameOf(o.width ?? 640, 0), left: 56, bottom: 54 };
  const plotW = fr.width - fr.left - fr.right - 70;
  const cell = plotW / gc;
  const plotH = Math.max(60, Math.min(560, cell * gr));
  const cellH = plotH / gr;
  fr.height = fr.top + plotH + fr.bottom;
  let svg = open(o.plot, o.title, fr);
  svg += `<rect x="${fr.left}" y="${fr.top}" width="${f(plotW)}" height="${f(plotH)}" fill="#fff" stroke="#999"/>`;
  for (const [key, v] of pooled) {
    const r = Math.floor(key / gc);
    const c = key % gc;
    svg += `<rect x="${f(fr.left + c * cell)}" y="${f(fr.top + r * cellH)}" width="${f(Math.max(cell, 0.6))}" height="${f(Math.max(cellH, 0.6))}" fill="${diverging(v, max)}"/>`;
  }
  const pooledNote = pr > 1 || pc > 1 ? ` (each cell: the largest |value| of a ${pr}×${pc} block)` : '';
  svg += `<text x="${f(fr.left + plotW / 2)}" y="${f(fr.top + plotH + 18)}" text-anchor="middle">${esc(`${o.colLabel ?? 'column'} (0…${o.cols - 1})${pooledNote}`)}</text>`;
  svg += `<text transform="translate(16 ${f(fr.top + plotH / 2)}) rotate(-90)" text-anchor="middle">${esc(`${o.rowLabel ?? 'row'} (0…${o.rows - 1})`)}</text>`;
  // Colour scale.
  const sx = fr.left + plotW + 24;
  for (let i = 0; i <= 20; i++) {
    const v = max * (1 - i / 10);
    svg += `<rect x="${f(sx)}" y="${f(fr.top + (i * plotH) / 21)}" width="14" height="${f(plotH / 21 + 0.5)}" fill="${diverging(v, max)}"/>`;
  }
  svg += `<text x="${f(sx + 18)}" y="${fr.top + 8}">${esc(`+${max.toExponential(1)}`)}</text>`;
  svg += `<text x="${f(sx + 18)}" y="${f(fr.top + plotH / 2 + 4)}">0</text>`;
  svg += `<text x="${f(sx + 18)}" y="${f(fr.top + plotH)}">${esc(`−${max.toExponential(1)}`)}</text>`;
  return `${svg}</svg>`;
}
