/**
 * Progress reporting for long phases (collection, eigen-decomposition,
 * training, evaluation, pretraining).
 *
 *   const bar = startProgress('train', 300);
 *   for (...) { ...; bar.tick(1, `loss 0.41`); }
 *   bar.done('acc 0.93');
 *
 * On a TTY the bar redraws one line in place (at most ~10 times a second):
 *   train  [#########...........]  120/300  4.1 steps/s  ETA 0:44  loss 0.41
 * When stdout is not a TTY (CI, pipes, log files) it prints plain lines
 * instead, at most one every `plainIntervalMs` (default 5 s) plus the final
 * line, so logs stay short. Set SPARSEGRAD_PROGRESS=off to silence it,
 * SPARSEGRAD_PROGRESS=plain|tty to force a mode, SPARSEGRAD_PROGRESS_INTERVAL_MS to space
 * plain lines differently.
 */

export interface Progress {
  /** Advance by `n` (default 1). `info` is a short free-text suffix (e.g. the loss). */
  tick(n?: number, info?: string): void;
  /** Finish the phase: prints the final line with elapsed time and rate. */
  done(info?: string): void;
}

export interface ProgressOptions {
  /** Where to write; defaults to process.stdout. */
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Force plain (non-TTY) or tty mode; 'off' writes nothing. */
  mode?: 'tty' | 'plain' | 'off';
  /** Minimum time between plain lines, ms (default 5000). */
  plainIntervalMs?: number;
  /** Unit shown in the rate, default 'steps'. */
  unit?: string;
  /** Clock, for tests. */
  now?: () => number;
}

/** Narrower than this, a reported width is not believed (the bar alone needs 22 columns). */
const MIN_COLUMNS = 20;
const DEFAULT_COLUMNS = 80;

/** Format seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

function formatRate(rate: number, unit: string): string {
  if (!Number.isFinite(rate) || rate <= 0) return `-- ${unit}/s`;
  if (rate >= 100) return `${rate.toFixed(0)} ${unit}/s`;
  if (rate >= 1) return `${rate.toFixed(1)} ${unit}/s`;
  const singular = unit.endsWith('ches') ? unit.slice(0, -2) : unit.replace(/s$/, '');
  return `${(1 / rate).toFixed(1)} s/${singular}`;
}

function resolveMode(opts: ProgressOptions, stream: { isTTY?: boolean }): 'tty' | 'plain' | 'off' {
  if (opts.mode) return opts.mode;
  const env = typeof process !== 'undefined' ? process.env.SPARSEGRAD_PROGRESS : undefined;
  if (env === 'off' || env === '0') return 'off';
  if (env === 'plain') return 'plain';
  if (env === 'tty') return 'tty';
  return stream.isTTY ? 'tty' : 'plain';
}

/** Start a progress bar for a phase of `total` steps (total ≤ 0 means unknown). */
export function startProgress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stdout;
  const mode = resolveMode(opts, stream);
  const now = opts.now ?? (() => performance.now());
  const unit = opts.unit ?? 'steps';
  const envInterval = typeof process !== 'undefined' ? Number(process.env.SPARSEGRAD_PROGRESS_INTERVAL_MS) : NaN;
  const plainInterval = opts.plainIntervalMs ?? (envInterval >= 0 ? envInterval : 5000);
  const t0 = now();
  let count = 0;
  let lastInfo = '';
  let lastDraw = -Infinity;
  let finished = false;
  let lastLen = 0;

  const line = (final: boolean): string => {
    const elapsed = (now() - t0) / 1000;
    const rate = elapsed > 0 ? count / elapsed : 0;
    const parts: string[] = [label];
    if (total > 0) {
      const frac = Math.min(1, count / total);
      if (mode === 'tty') {
        const width = 20;
        const filled = Math.round(frac * width);
        parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`);
      }
      parts.push(`${count}/${total}`);
      if (mode !== 'tty') parts.push(`(${(frac * 100).toFixed(0)}%)`);
    } else {
      parts.push(`${count}`);
    }
    parts.push(formatRate(rate, unit));
    if (final) parts.push(`in ${formatDuration(elapsed)}`);
    else if (total > 0 && rate > 0) parts.push(`ETA ${formatDuration((total - count) / rate)}`);
    else parts.push('ETA --:--');
    if (lastInfo) parts.push(lastInfo);
    return parts.join('  ');
  };

  const draw = (final: boolean) => {
    if (mode === 'off') return;
    let text = line(final);
    if (mode === 'tty') {
      // Redrawn lines are cut to the terminal's width (a wrapped line cannot be redrawn in
      // place). Some terminals report 0 or no columns (a serial console, `script`, a
      // resized pane): then assume 80 rather than cut everything away. The final line is
      // never cut: it holds the result (the accuracy, the loss).
      const reported = (stream as { columns?: number }).columns;
      const cols = reported !== undefined && Number.isFinite(reported) && reported >= MIN_COLUMNS ? reported : DEFAULT_COLUMNS;
      if (!final && text.length > cols - 1) text = text.slice(0, cols - 1);
      const padding = lastLen > text.length ? ' '.repeat(lastLen - text.length) : '';
      lastLen = text.length;
      stream.write(`\r${text}${padding}${final ? '\n' : ''}`);
    } else {
      stream.write(`${text}\n`);
    }
  };

  return {
    tick(n = 1, info?: string) {
      if (finished) return;
      count += n;
      if (info !== undefined) lastInfo = info;
      const t = now();
      const interval = mode === 'tty' ? 100 : plainInterval;
      if (t - lastDraw >= interval) {
        lastDraw = t;
        draw(false);
      }
    },
    done(info?: string) {
      if (finished) return;
      finished = true;
      if (info !== undefined) lastInfo = info;
      draw(true);
    },
  };
}
