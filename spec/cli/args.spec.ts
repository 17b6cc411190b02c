/**
 * Usage errors: unknown commands, flags, tasks and methods, and bad values, each answered
 * with exit status 2 and a message that names the valid choices; plus the small
 * building blocks (flag parsing, progress lines, metrics, concentration).
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CliError, commandLine, parseFlags, shellQuote, withoutFlag } from '../../cli/args.ts';
import { curveFractions, energyCurve, measureConcentration, rotate, rotations, topShare } from '../../cli/concentration.ts';
import { main, usage } from '../../cli/main.ts';
import { accuracy, macroF1, majorityBaseline, meanStd } from '../../cli/metrics.ts';
import { formatDuration, startProgress } from '../../cli/progress.ts';
import { eye, tensor } from '../../core/creation.ts';

let errors: string[];
let logs: string[];
beforeEach(() => {
  errors = [];
  logs = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

async function fails(argv: string[]): Promise<string> {
  errors = [];
  expect(await main(argv)).toBe(2);
  return errors.join('\n');
}

describe('usage errors name the valid choices', () => {
  test('unknown command', async () => {
    // Every command is listed (the list grows: checked against main.ts's own usage text).
    const listed = usage()
      .match(/^ {2}(\w+) /gm)!
      .map((l) => l.trim())
      .join(', ');
    expect(await fails(['frobnicate'])).toBe(`error: unknown command 'frobnicate'; valid: ${listed}`);
    expect(listed).toMatch(/^compare, finetune, eval, generate, .*pretrain/);
    expect(await fails(['finetun'])).toContain("(did you mean 'finetune'?)");
  });

  test('unknown flag, with a suggestion and the list', async () => {
    const message = await fails(['compare', '--stepz', '3']);
    expect(message).toContain("compare: unknown flag --stepz (did you mean '--steps'?)");
    expect(message).toContain('valid flags: --quick, --full, --task,');
  });

  test('bad numbers', async () => {
    expect(await fails(['compare', '--steps', 'ten'])).toBe("error: --steps: expected a whole number, got 'ten'");
    expect(await fails(['compare', '--steps', '2.5'])).toBe("error: --steps: expected a whole number, got '2.5'");
    expect(await fails(['compare', '--steps', '0'])).toBe('error: --steps: must be ≥ 1, got 0');
    expect(await fails(['finetune', '--lr', '0'])).toBe('error: --lr: must be > 0, got 0');
    expect(await fails(['finetune', '--lr', 'fast'])).toBe("error: --lr: expected a number, got 'fast'");
    expect(await fails(['compare', '--seeds', '1,x'])).toBe("error: --seeds: expected comma-separated whole numbers, got 'x'");
    expect(await fails(['compare', '--steps'])).toBe('error: --steps: missing value');
  });

  test('unknown method', async () => {
    expect(await fails(['compare', '--methods', 'full,lorra'])).toBe(
      "error: --methods: unknown value 'lorra' (did you mean 'lora'?); valid: full, lora, meprop, sparsegrad",
    );
    expect(await fails(['finetune', '--method', 'adapter'])).toBe("error: --method: unknown value 'adapter'; valid: full, lora, meprop, sparsegrad");
  });

  test('unknown task', async () => {
    expect(await fails(['compare', '--task', 'sst2'])).toBe(
      "error: unknown task 'sst2'; valid: spam, imdb, brown-genre (classification, BERT), moby-dick, brown:<genre> (language modelling, LLaMa)",
    );
    expect(await fails(['finetune', '--task', 'wikitext'])).toBe(
      "error: unknown task 'wikitext'; valid: spam, imdb, brown-genre (classification, BERT), moby-dick, brown:<genre> (language modelling, LLaMa)",
    );
  });

  test('missing model folder', async () => {
    expect(await fails(['compare', '--model', '/nonexistent/bert'])).toBe(
      'error: model folder not found: /nonexistent/bert (expected config.json, model.safetensors and vocab.txt)',
    );
    expect(await fails(['finetune', '--model', '/nonexistent/bert'])).toBe(
      'error: model folder not found: /nonexistent/bert (expected config.json and model.safetensors)',
    );
    expect(await fails(['eval', '--model', '/nonexistent/bert'])).toContain('model folder not found');
    expect(await fails(['generate', '--model', '/nonexistent/llama'])).toContain('model folder not found');
  });

  test('contradictions', async () => {
    expect(await fails(['compare', '--quick', '--full'])).toBe('error: --quick and --full exclude each other');
    expect(await fails(['compare', '--steps', '5'])).toContain('--steps (5) must exceed --prelim-steps (11)');
    expect(await fails(['compare', '--steps', '3', '--steps', '4'])).toBe('error: --steps is given twice');
    expect(await fails(['compare', 'extra'])).toContain("unexpected argument 'extra'");
  });

  test('--help for every command', async () => {
    for (const command of ['compare', 'finetune', 'eval', 'generate']) {
      logs = [];
      expect(await main([command, '--help'])).toBe(0);
      expect(logs.join('\n')).toMatch(new RegExp(`^usage: sparsegrad ${command}`));
    }
    expect(await main(['--help'])).toBe(0);
    expect(logs.join('\n')).toContain("Without a command, runs 'compare'");
  });
});

describe('parseFlags', () => {
  const specs = {
    steps: { type: 'int', min: 1, default: 10, help: '' },
    lr: { type: 'number', help: '' },
    resume: { type: 'boolean', help: '' },
    methods: { type: 'list', choices: ['a', 'b'], default: ['a'], help: '' },
    maxTrain: { type: 'int', help: '' },
  } as const;

  test('forms, defaults and kebab-case names', () => {
    const { flags, given } = parseFlags(['--steps=3', '--lr', '1e-3', '--resume', '--methods', 'b,a', '--max-train', '5'], specs, 'x');
    expect(flags).toEqual({ steps: 3, lr: 1e-3, resume: true, methods: ['b', 'a'], maxTrain: 5 });
    expect([...given].sort()).toEqual(['lr', 'maxTrain', 'methods', 'resume', 'steps']);
    expect(parseFlags([], specs, 'x').flags).toEqual({ steps: 10, resume: false, methods: ['a'] });
    expect(parseFlags(['--no-resume'], specs, 'x').flags.resume).toBe(false);
    expect(parseFlags(['--lr', '-1e-3'], specs, 'x').flags.lr).toBe(-1e-3);
  });

  test('errors are CliErrors', () => {
    expect(() => parseFlags(['--methods', 'c'], specs, 'x')).toThrow(CliError);
    expect(() => parseFlags(['-s'], specs, 'x')).toThrow("x: unknown option '-s'");
  });
});

describe('progress', () => {
  test('plain lines: label, n/total, rate, ETA; final line with elapsed time', () => {
    let now = 0;
    const lines: string[] = [];
    const bar = startProgress('train', 4, { mode: 'plain', plainIntervalMs: 0, now: () => now, stream: { write: (s: string) => void lines.push(s) } });
    now = 500;
    bar.tick(1, 'loss 0.5');
    now = 1000;
    bar.tick(1);
    now = 2000;
    bar.tick(2, 'loss 0.25');
    bar.done('acc 0.9');
    expect(lines).toEqual([
      'train  1/4  (25%)  2.0 steps/s  ETA 0:02  loss 0.5\n',
      'train  2/4  (50%)  2.0 steps/s  ETA 0:01  loss 0.5\n',
      'train  4/4  (100%)  2.0 steps/s  ETA 0:00  loss 0.25\n',
      'train  4/4  (100%)  2.0 steps/s  in 0:02  acc 0.9\n',
    ]);
  });

  test('tty: one line redrawn in place with a bar', () => {
    let now = 0;
    let out = '';
    const bar = startProgress('eigen', 2, { mode: 'tty', now: () => now, stream: { write: (s: string) => void (out += s), isTTY: true, columns: 200 } });
    now = 1000;
    bar.tick();
    bar.done();
    expect(out).toBe('\reigen  [##########..........]  1/2  1.0 steps/s  ETA 0:01\reigen  [##########..........]  1/2  1.0 steps/s  in 0:01 \n'); // padded over the longer previous line
    expect(formatDuration(3725)).toBe('1:02:05');
  });

  test.each([0, -1, 5, NaN, undefined])('tty reporting %s columns: lines cut at 80, never blank; the final line whole', (columns) => {
    let now = 0;
    let out = '';
    const bar = startProgress('evaluate', 2, { mode: 'tty', now: () => now, stream: { write: (s: string) => void (out += s), isTTY: true, columns } });
    now = 1000;
    bar.tick(1, `loss ${'9'.repeat(100)}`);
    bar.done('accuracy 93.40%  macro-F1 91.20%');
    const lines = out.split(/[\r\n]/).filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(2);
    expect(lines[0]!.length).toBe(79); // cut to the assumed 80 columns, minus one for the cursor
    expect(lines[1]).toMatch(/^evaluate {2}\[#+\.*\] {2}1\/2 {2}1\.0 steps\/s {2}in 0:01 {2}accuracy 93\.40% {2}macro-F1 91\.20% *$/);
  });

  test('tty: a narrow but real terminal cuts redrawn lines, not the final one', () => {
    let out = '';
    const bar = startProgress('train', 1, { mode: 'tty', now: () => 0, stream: { write: (s: string) => void (out += s), isTTY: true, columns: 30 } });
    bar.tick(0, 'x');
    bar.done('accuracy 93.40%');
    const [redrawn, final] = out.split('\r').filter((l) => l !== '');
    expect(redrawn).toHaveLength(29);
    expect(final).toContain('accuracy 93.40%');
  });
});

describe('printing commands back', () => {
  test('commandLine: npm start -- … under npm start, npx sparsegrad … otherwise (runnable from a checkout)', () => {
    const args = ['compare', '--quick', '--out', 'runs/my out', "it's", '--resume'];
    expect(commandLine(args, { npm_lifecycle_event: 'start' })).toBe(`npm start -- compare --quick --out 'runs/my out' 'it'\\''s' --resume`);
    expect(commandLine(args, {})).toBe(`npx sparsegrad compare --quick --out 'runs/my out' 'it'\\''s' --resume`);
    // Under `npm test` the event is "test": the user did not run the CLI through npm.
    expect(commandLine(['finetune'], { npm_lifecycle_event: 'test' })).toBe('npx sparsegrad finetune');
    expect(shellQuote('a=b,c/d.e:f@g%h+i-j')).toBe('a=b,c/d.e:f@g%h+i-j');
    expect(shellQuote('')).toBe("''");
  });

  test('withoutFlag drops --name value and --name=value, keeping everything else in order', () => {
    expect(withoutFlag(['--stop-after', '4', '--lr', '1e-3', '--stop-after=2', 'x'], 'stop-after')).toEqual(['--lr', '1e-3', 'x']);
    expect(withoutFlag(['--resume', '--seed', '3', '--resume=true'], 'resume', false)).toEqual(['--seed', '3']);
  });
});

describe('metrics', () => {
  test('accuracy, macro-F1 (sklearn zero_division=0), baseline, mean ± std', () => {
    const gold = [0, 0, 0, 1, 1, 2];
    const pred = [0, 0, 1, 1, 0, 0];
    expect(accuracy(pred, gold)).toBeCloseTo(3 / 6);
    // class 0: P 2/4 R 2/3 → 4/7; class 1: P 1/2 R 1/2 → 1/2; class 2: P 0 (none predicted) R 0 → 0.
    expect(macroF1(pred, gold, 3)).toBeCloseTo((4 / 7 + 1 / 2 + 0) / 3, 12);
    expect(majorityBaseline([1, 1, 0], [0, 1, 1, 1], 2)).toEqual({ label: 1, accuracy: 0.75, f1: (0 + (2 * 0.75) / 1.75) / 2 });
    expect(meanStd([1, 2, 3])).toEqual({ mean: 2, std: 1, n: 3 });
    expect(meanStd([5]).std).toBe(0);
  });
});

describe('gradient concentration', () => {
  test('energy curves and top shares', () => {
    const g = [3, 0, 4, 0]; // energies 9, 0, 16, 0
    expect(topShare(g, 0.25)).toBeCloseTo(16 / 25);
    expect(energyCurve(g, [0.25, 0.5, 1])).toEqual([16 / 25, 1, 1]);
    const xs = curveFractions(1000, 10);
    expect(xs[0]).toBeCloseTo(1e-3);
    expect(xs.at(-1)).toBe(1);
  });

  test('with identity bases every convention is the untransformed gradient', () => {
    const m = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
    const [layer] = measureConcentration(
      new Map([['t', { shape: [3, 4] as [number, number], slices: [m] }]]),
      new Map([['t', { U: eye(4, 4, { dtype: 'float64' }), V: eye(3, 3, { dtype: 'float64' }) }]]),
    );
    expect(layer!.top1.consistent).toBe(layer!.top1.untransformed);
    expect(layer!.top1.reference).toBe(layer!.top1.untransformed);
    expect(layer!.curve.y.consistent).toEqual(layer!.curve.y.untransformed);
  });

  test('both conventions at once are the two single rotations, bitwise, and VᵀMU ≠ VᵀMUᵀ', () => {
    const m = Float64Array.from({ length: 12 }, (_, i) => Math.cos(3 * i + 1));
    // A rotation by 90° in the plane of U's first two axes (Uᵀ = its inverse) and a row swap for V.
    const U = tensor(
      [
        [0, -1, 0, 0],
        [1, 0, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
      { dtype: 'float64' },
    );
    const V = tensor(
      [
        [0, 1, 0],
        [1, 0, 0],
        [0, 0, 1],
      ],
      { dtype: 'float64' },
    );
    const both = rotations(m, [3, 4], { U, V });
    expect(both.consistent).toEqual(rotate(m, [3, 4], { U, V }, 'consistent'));
    expect(both.reference).toEqual(rotate(m, [3, 4], { U, V }, 'reference'));
    // By hand: VᵀM swaps M's first two rows; ·U maps columns (c0, c1) to (c1, −c0), ·Uᵀ to (−c1, c0).
    const row = (r: number) => Array.from(m.subarray(4 * r, 4 * r + 4));
    const swapped = [row(1), row(0), row(2)];
    expect(Array.from(both.consistent)).toEqual(swapped.flatMap(([a, b, c, d]) => [b!, -a! + 0, c!, d!]));
    expect(Array.from(both.reference)).toEqual(swapped.flatMap(([a, b, c, d]) => [-b! + 0, a!, c!, d!]));
  });
});
