/**
 * The learning-rate sweep as text and as an HTML grid: each method's validation metric per
 * rate, the chosen rate in bold.
 */
import type { MethodName } from '../methods.ts';
import type { SweepCell, SweepSummary } from '../commands/sweep.ts';
import { esc } from './svg.ts';

/** A sweep cell as text: accuracy in % with one decimal, or loss in nats per token with three; "± std" over more than one seed. */
export function sweepCellText(metric: SweepSummary['metric'], c: SweepCell): string {
  const [scale, digits] = metric === 'validation loss' ? [1, 3] : [100, 1];
  return `${(c.mean * scale).toFixed(digits)}${c.n > 1 ? ` ± ${(c.std * scale).toFixed(digits)}` : ''}`;
}

/** How a sweep chose each rate, e.g. "lowest mean validation loss". */
export function sweepChoice(metric: SweepSummary['metric']): string {
  return metric === 'validation loss' ? 'lowest mean validation loss' : 'best mean validation accuracy';
}

/** The sweep's column heading: its metric, and the unit. */
export function sweepHeading(metric: SweepSummary['metric']): string {
  return metric === 'validation loss' ? 'validation loss (nats/token)' : 'validation accuracy %';
}

/** The whole sweep grid, the validation metric per method and rate, the chosen rate in bold. */
export function sweepTable(w: SweepSummary, label: (m: MethodName) => string): string {
  const methods = Object.keys(w.grid) as MethodName[];
  const metric = w.metric;
  const rows = methods
    .map(
      (m) =>
        `<tr><td>${esc(label(m))}</td>${w.grid[m]!.map((c) => {
          const text = sweepCellText(metric, c);
          return `<td class="num">${c.lr === w.chosen[m] ? `<b>${text}</b>` : text}</td>`;
        }).join('')}</tr>`,
    )
    .join('');
  return `<table data-table="sweep"><thead><tr><th>${esc(sweepHeading(metric))}</th>${w.lrs.map((lr) => `<th class="num">lr ${esc(lr)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>
<p class="muted">${esc(`The rates were chosen by ${w.command} (${w.generated}): each method's ${sweepChoice(metric)} over seeds (in bold; ties go to the smaller rate), on a validation split held out of the training set; the test (or held-out) split was not read. The comparison above trains at those rates on the whole training split.`)}</p>`;
}
