/**
 * The report says only what its numbers support (cli/report/): sentences per number of
 * seeds and interval, explanatory clauses only when the numbers agree, noisy timings
 * flagged; bar charts whose labels never cross a bar.
 */
import { describe, expect, test } from 'vitest';
import { findings } from '../../cli/report/findings.ts';
import type { Difference, MethodRow, ReportData } from '../../cli/report/data.ts';
import { barChart } from '../../cli/report/svg.ts';

const mean = (m: number, n: number) => ({ mean: m, std: 0.01, n });

function row(method: MethodRow['method'], label: string, o: Partial<MethodRow> = {}): MethodRow {
  return {
    method,
    label,
    seeds: [1, 2, 3],
    trainable: 1,
    totalParameters: 1,
    budget: null,
    gradOptBytes: 100,
    heldBytes: 1000,
    gradientBytes: 10,
    optimizerStateBytes: 50,
    peakRssBytes: 1,
    msPerStep: 100,
    prepSeconds: 0,
    accuracy: mean(0.9, 3),
    f1: mean(0.9, 3),
    finalLoss: mean(0.1, 3),
    changes: null,
    ...o,
  };
}

function report(o: { seeds: number; diff: [number, number, number]; sgMs?: number; sgOpt?: number; noisy?: boolean; bagOfWords?: number }): ReportData {
  const d: Difference = {
    a: 'sparsegrad',
    b: 'full',
    diff: o.diff[0],
    lo: o.diff[1],
    hi: o.diff[2],
    level: 0.95,
    seeds: o.seeds,
    examples: 500,
    replicates: 1000,
  };
  return {
    title: '',
    command: '',
    generated: '',
    wallSeconds: 0,
    machine: { cpus: 2, cpuModel: '', memoryGiB: 1, node: '', platform: '' },
    setting: 'quick',
    settings: {},
    split: '',
    labels: ['a', 'b'],
    baseline: { label: 0, accuracy: 0.6, f1: 0.4 },
    ...(o.bagOfWords !== undefined
      ? { bagOfWords: { accuracy: o.bagOfWords, f1: o.bagOfWords, predictions: [], options: { epochs: 10, lr: 0.1, l2: 1e-4, seed: 0 } } }
      : {}),
    rows: [
      row('full', 'Full FT', { accuracy: mean(0.92, 3) }),
      row('sparsegrad', 'SparseGrad', { msPerStep: o.sgMs ?? 100, optimizerStateBytes: o.sgOpt ?? 50, heldBytes: 1200 }),
    ],
    differences: [d],
    runs: [],
    concentration: null,
    update: null,
    table: '',
    load: { cores: 2, jobs: 1, samples: 3, mean: o.noisy ? 3.5 : 1, max: o.noisy ? 4 : 1, noisy: o.noisy ?? false },
  };
}

describe('findings', () => {
  test('one seed: the interval is given, nobody beats anybody, and the reader is told why', () => {
    const f = findings(report({ seeds: 1, diff: [0.05, 0.02, 0.08] }));
    expect(f[0]).toMatch(/^One seed: .* rank no method above another/);
    expect(f[1]).toBe('SparseGrad − Full FT: +5.0 points (95 % CI +2.0 to +8.0) of accuracy.');
    for (const s of f) expect(s).not.toMatch(/beats/);
  });

  test('three seeds: "beats" only when the interval excludes 0; otherwise "no clear difference"', () => {
    expect(findings(report({ seeds: 3, diff: [0.05, 0.02, 0.08] }))[0]).toMatch(/: SparseGrad beats Full FT \(the interval excludes 0\)\.$/);
    expect(findings(report({ seeds: 3, diff: [-0.05, -0.08, -0.02] }))[0]).toMatch(/SparseGrad does not beat Full FT; it is less accurate/);
    const unclear = findings(report({ seeds: 3, diff: [0.01, -0.01, 0.03] }))[0]!;
    expect(unclear).toMatch(/includes 0, so no clear difference/);
    expect(unclear).not.toMatch(/beats/);
  });

  test('explanatory clauses only when the numbers agree; busy machines flag the timings', () => {
    const speed = (o: Parameters<typeof report>[0]) => findings(report(o)).find((s) => s.startsWith('Speed'))!;
    expect(speed({ seeds: 3, diff: [0, 0, 0], sgMs: 150 })).toMatch(/\(the rotations and the top-k selection cost extra\)/);
    expect(speed({ seeds: 3, diff: [0, 0, 0], sgMs: 90 })).not.toMatch(/cost extra/); // faster: no such clause
    const noisy = speed({ seeds: 3, diff: [0, 0, 0], sgMs: 150, noisy: true });
    expect(noisy).not.toMatch(/cost extra/);
    expect(noisy).toMatch(/These timings are noisy \(the 1-minute load average was 3\.5 \(max 4\.0\) on 2 cores\)/);
    const memory = (sgOpt: number) => findings(report({ seeds: 3, diff: [0, 0, 0], sgOpt })).find((s) => s.startsWith('Memory'))!;
    expect(memory(50)).toMatch(/SparseAdam keeps dense moments/);
    expect(memory(20)).not.toMatch(/dense moments/); // sparse moments: smaller state, so the clause would be false
    expect(memory(50)).toMatch(/Full FT holds the least, 1000 B, 200 B less than SparseGrad/);
  });

  test('the bag-of-word-pieces baseline: named only for the methods below it, and only when measured', () => {
    const sentence = (bow?: number) => findings(report({ seeds: 3, diff: [0, 0, 0], bagOfWords: bow })).find((s) => s.includes('bag-of-word-pieces'));
    // Full FT 92 %, SparseGrad 90 %.
    expect(sentence(0.97)).toMatch(/^Every method stays below the bag-of-word-pieces baseline \(97\.0 %: /);
    expect(sentence(0.91)).toMatch(/^SparseGrad stays below the bag-of-word-pieces baseline \(91\.0 %/);
    expect(sentence(0.9)).toBeUndefined(); // SparseGrad's 90 % is not below 90 %
    expect(sentence(undefined)).toBeUndefined(); // results written before the baseline existed
  });
});

describe('barChart', () => {
  /** Text elements with their anchor point, and the bars' boxes, read back from the SVG. */
  function parse(svg: string) {
    const attrs = (s: string) => Object.fromEntries([...s.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const texts = [...svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)].map((m) => ({ a: attrs(m[1]!), text: m[2]! }));
    const bars = [...svg.matchAll(/<rect (data-bar[^>]*)\/>/g)].map((m) => attrs(m[1]!)).map((a) => ({ x: +a.x!, y: +a.y!, w: +a.width!, h: +a.height! }));
    return { texts, bars };
  }

  test('axis from 0; value labels above the bars and error bars; the baselines labelled below the axis, one line each; no text box crosses a bar', () => {
    const svg = barChart({
      plot: 'accuracy',
      title: 'Test accuracy',
      yLabel: 'accuracy (%)',
      yMax: 1,
      format: (v) => (v * 100).toFixed(1),
      width: 460,
      bars: [
        { label: 'Full FT', value: 0.99, error: 0.02, points: [0.97, 1] },
        { label: 'LoRA', value: 0.5 },
        { label: 'SparseGrad', value: 0.93, error: 0.01 },
      ],
      // They cross the tall bars: their labels must not sit on them.
      baselines: [
        { value: 0.9, label: 'majority class 90.0', color: '#d62728', dash: '6 4' },
        { value: 0.95, label: 'bag of word pieces 95.0', color: '#555', dash: '2 3' },
      ],
    });
    const { texts, bars } = parse(svg);
    expect(texts.some((t) => t.text === '0.0')).toBe(true);
    expect(bars).toHaveLength(3);
    for (const t of texts.filter((x) => x.a.x !== undefined && x.a.transform === undefined)) {
      const width = 6.5 * t.text.length; // ≈ the width of an 11 px sans-serif character
      const x0 = +t.a.x! - (t.a['text-anchor'] === 'middle' ? width / 2 : t.a['text-anchor'] === 'end' ? width : 0);
      const base = +t.a.y!;
      for (const b of bars) {
        const overlaps = x0 < b.x + b.w && x0 + width > b.x && base - 11 < b.y + b.h && base > b.y;
        expect(overlaps, `'${t.text}' crosses a bar`).toBe(false);
      }
    }
    // Each baseline has its line across the plot and its own legend line, below the bar labels.
    expect([...svg.matchAll(/data-baseline="([^"]*)"/g)].map((m) => m[1])).toEqual(['majority class 90.0', 'bag of word pieces 95.0']);
    const legend = texts.filter((t) => t.text.startsWith('majority') || t.text.startsWith('bag of')).map((t) => +t.a.y!);
    const barLabelY = +texts.find((t) => t.text === 'LoRA')!.a.y!;
    expect(legend).toHaveLength(2);
    expect(Math.abs(legend[1]! - legend[0]!)).toBeGreaterThanOrEqual(14); // 11 px text: no overlap
    for (const y of legend) expect(y - 11).toBeGreaterThanOrEqual(barLabelY);
    expect(Math.max(...legend)).toBeLessThanOrEqual(340);
    // The title (y 18) and the highest value label stay apart.
    const valueLabels = texts.filter((t) => /^\d+\.\d$/.test(t.text) && t.a['text-anchor'] === 'middle');
    for (const t of valueLabels) expect(+t.a.y! - 11).toBeGreaterThan(18 + 3);
  });
});
