/**
 * The playground (playground/): its expression language and graph walk in Node, its bundle
 * (built by playground/build.mjs, checked for Node built-ins), and the page itself in
 * headless Chromium, driven as a learner would — type an expression, train, look at the
 * rotation — with every number it shows compared with the library's own in Node.
 *
 * The browser part skips with one line when Chromium is missing, unless REQUIRE_BROWSER=1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tensor, tensor, withBackend } from '../index.ts';
import { ExpressionError, parseVariables, run } from '../playground/expression.ts';
import { traceGraph } from '../playground/graph.ts';
import { Trainer } from '../playground/mlp.ts';
import { rotationDemo } from '../playground/rotation.ts';
import { runPage, skipWithoutBrowser } from './browser.ts';

const root = join(import.meta.dirname, '..');
const values = (t: Tensor) => Array.from(t.toTypedArray() as ArrayLike<number>);

/** Closeness for float64 results that two engines compute by the same arithmetic. */
function expectClose(got: readonly number[], want: readonly number[], rtol: number, label: string): void {
  expect(got.length, label).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `${label}[${i}]: ${g} vs ${want[i]}`).toBeLessThanOrEqual(rtol * Math.max(1, Math.abs(want[i]!))));
}

/** The op names recorded on `out`'s graph, found by plain recursion over gradFn (not the playground's walk). */
function recordedOps(out: Tensor, seen = new Set<Tensor>()): string[] {
  if (seen.has(out) || !out.gradFn) return [];
  seen.add(out);
  return [out.gradFn.name, ...out.gradFn.inputs.flatMap((i) => recordedOps(i, seen))];
}

describe('playground: expressions and their graphs (Node)', () => {
  it('parses with the usual precedence and evaluates with the library', () => {
    const env = parseVariables('a = [[1, 2], [3, 4]]  # a comment\nb = [[0.5, -1], [2, 0.25]]');
    const [a, b] = [env.get('a')!, env.get('b')!];
    expect(values(run('a + b * a - 2 / b', env))).toEqual(values(a.add(b.mul(a)).sub(tensor(2, { dtype: 'float64' }).div(b))));
    expect(values(run('-(a.exp().sum(1)) + a.T.matmul(b).mean()', env))).toEqual(values(a.exp().sum(1).neg().add(a.T.matmul(b).mean())));
    expect(run('a.pow(2).sum()', env).item()).toBe(30);
  });

  it('refuses anything outside the allow-list, saying where', () => {
    const env = parseVariables('a = [1, 2]');
    const refused: [string, RegExp][] = [
      ['a.constructor()', /'constructor' is not an allowed method.*character 3/],
      ['a.__proto__()', /not an allowed method/],
      ['a.toString()', /not an allowed method/],
      ['c * a', /unknown name 'c'.*character 1/],
      ['a +', /ends too early/],
      ['a; 1', /unexpected character ';'/],
      ['a.sum(0.5)', /integer axis/],
      ['a.exp(1)', /at most 0 argument/],
      ['1 + 2', /plain number/],
    ];
    for (const [src, message] of refused) expect(() => run(src, env), src).toThrow(message);
    expect(() => parseVariables('a = alert(1)')).toThrow(ExpressionError);
    expect(() => parseVariables('a = [1, "x"]')).toThrow(ExpressionError);
  });

  it('walks the recorded graph and puts d(out)/d(t) on every tensor', () => {
    const env = parseVariables('a = [[1, 2], [3, 4]]\nb = [[0.5, -1], [2, 0.25]]');
    const graph = traceGraph(run('(a * b + a.exp()).sum()', env), env);
    expect(graph.nodes.map((n) => n.label).sort()).toEqual(['Add', 'Exp', 'Mul', 'Sum', 'a', 'b']);
    const node = (label: string) => graph.nodes.find((n) => n.label === label)!;
    expect(node('Add').inputs.map((i) => graph.nodes[i]!.label)).toEqual(['Mul', 'Exp']);
    expect(graph.nodes[graph.output]!.label).toBe('Sum');
    // d/da Σ(a·b + eᵃ) = b + eᵃ, d/db = a, and every intermediate gets ones from the sum.
    const [a, b] = [env.get('a')!, env.get('b')!];
    expect(node('a').grad).toEqual(values(b.add(a.exp())));
    expect(node('b').grad).toEqual(values(a));
    expect(node('Mul').grad).toEqual([1, 1, 1, 1]);
    expect(node('Sum').value).toEqual([values(a.mul(b).add(a.exp()).sum())[0]]);
  });
});

describe('playground: the bundle', () => {
  const out = mkdtempSync(join(tmpdir(), 'sparsegrad-playground-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('builds for the browser from the library sources, with no Node built-in inside', () => {
    const build = spawnSync(process.execPath, [join(root, 'playground/build.mjs'), '--out', out], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const inputs = Object.keys((JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> }).inputs);
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    expect(inputs.filter((i) => builtins.has(i) || i.startsWith('node:') || /(^|\/)node(\.ts|\/)/.test(i))).toEqual([]);
    // The real library and the report's own code are bundled, not re-implementations.
    for (const used of [
      'nn/sparsegrad/gram.ts',
      'nn/sparsegrad/eigen.ts',
      'core/autograd.ts',
      'optim/rules/adam.ts',
      'cli/concentration.ts',
      'cli/report/svg.ts',
    ]) {
      expect(
        inputs.some((i) => i.endsWith(used)),
        used,
      ).toBe(true);
    }
  });
});

interface PageNode {
  id: number;
  op: string;
  label: string;
  value: number[];
  grad: number[] | null;
  inputs: number[];
}

describe.skipIf(skipWithoutBrowser('playground page'))('playground: the page in headless Chromium', () => {
  let files: Record<string, string> = {};
  beforeAll(() => {
    const out = mkdtempSync(join(tmpdir(), 'sparsegrad-playground-page-'));
    try {
      const build = spawnSync(process.execPath, [join(root, 'playground/build.mjs'), '--out', out], { encoding: 'utf8' });
      expect(build.status, build.stderr).toBe(0);
      files = { 'index.html': readFileSync(join(out, 'index.html'), 'utf8'), 'playground.js': readFileSync(join(out, 'playground.js'), 'utf8') };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('draws the typed expression, trains the MLP and shows the rotated gradient concentrating', async () => {
    const STEPS = 60;
    const expression = '(a * b - a.exp() / 2).sum()';
    const variables = 'a = [[0.5, -1.5, 2]]\nb = [[1, 2, -0.5]]';
    const page = await runPage(files, 120_000, async (p) => {
      // (a) A typo first: the page must say what is wrong instead of drawing.
      await p.fill('#expr', 'a.constructor()');
      await p.click('#run-expr');
      const typo = await p.textContent('#expr-error');
      await p.fill('#vars', variables);
      await p.fill('#expr', expression);
      await p.press('#expr', 'Enter');
      const error = await p.textContent('#expr-error');
      const nodes = await p.$$eval('#graph [data-node]', (gs) =>
        gs.map((g) => ({
          id: Number(g.getAttribute('data-node')),
          op: g.getAttribute('data-op')!,
          label: g.getAttribute('data-label')!,
          value: JSON.parse(g.getAttribute('data-value')!),
          grad: JSON.parse(g.getAttribute('data-grad')!),
          inputs: JSON.parse(g.getAttribute('data-inputs')!),
        })),
      );
      // (b) Train until at least STEPS steps have run, then pause.
      await p.click('#train');
      await p.waitForFunction((n) => Number(document.getElementById('train-status')!.dataset.steps) >= n, STEPS, { timeout: 60_000 });
      await p.click('#train');
      const losses = JSON.parse((await p.getAttribute('#train-status', 'data-losses'))!) as number[];
      // (c) The rotation demo drew on load.
      const top1 = {
        m: Number(await p.getAttribute('#rot-summary', 'data-top1-m')),
        rotated: Number(await p.getAttribute('#rot-summary', 'data-top1-rotated')),
      };
      const plots = await p.$$eval('svg[data-plot]', (ss) => ss.map((s) => s.getAttribute('data-plot')));
      const { backend } = await p.evaluate(() => (window as unknown as { sparsegradResult: Promise<{ backend: string }> }).sparsegradResult);
      return { typo, error, nodes: nodes as PageNode[], losses, top1, plots, backend };
    });

    expect(page.typo).toMatch(/'constructor' is not an allowed method/);
    expect(page.error).toBe('');
    // The same expression in Node, written with the library's methods directly.
    const a = tensor([[0.5, -1.5, 2]], { dtype: 'float64' }).setRequiresGrad();
    const b = tensor([[1, 2, -0.5]], { dtype: 'float64' }).setRequiresGrad();
    const out = a.mul(b).sub(a.exp().div(2)).sum();
    const ops = recordedOps(out);
    out.backward();
    const byLabel = (l: string) => page.nodes.find((n) => n.label === l)!;
    expect(
      page.nodes
        .filter((n) => n.op.endsWith('Backward'))
        .map((n) => n.op)
        .sort(),
    ).toEqual(ops.sort());
    expect(
      page.nodes
        .filter((n) => n.op === 'leaf')
        .map((n) => n.label)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(page.nodes.filter((n) => n.op === 'constant').map((n) => n.value)).toEqual([[2]]);
    expectClose(byLabel('a').grad!, values(a.grad as Tensor), 1e-12, 'd/da');
    expectClose(byLabel('b').grad!, values(b.grad as Tensor), 1e-12, 'd/db');
    // The output is the one tensor no other node takes as an input.
    const outputs = page.nodes.filter((n) => !page.nodes.some((m) => m.inputs.includes(n.id)));
    expect(outputs.map((n) => n.op)).toEqual([out.gradFn!.name]);
    const output = outputs[0]!;
    expectClose(output.value, [out.item()], 1e-12, 'output');
    expect(output.grad).toEqual([1]);

    // The page's training is the Node trainer's, step for step, on the page's backend: the
    // fast cpu one, which must work in a page without cross-origin isolation (one thread,
    // a WebAssembly memory that is not shared and detaches its buffer when it grows).
    expect(page.backend).toBe('cpu');
    expect(page.losses.length).toBeGreaterThanOrEqual(STEPS);
    const want = withBackend(page.backend, () => {
      const trainer = new Trainer();
      return Array.from({ length: STEPS }, () => trainer.step());
    });
    expectClose(page.losses.slice(0, STEPS), want, 1e-5, 'loss');
    expect(page.losses[STEPS - 1]!).toBeLessThan(0.5 * page.losses[0]!);

    // Rotating into the bases concentrates the gradient, by the library's numbers in Node.
    const demo = withBackend(page.backend, () => rotationDemo());
    expectClose([page.top1.m, page.top1.rotated], [demo.top1.m, demo.top1.rotated], 1e-9, 'top-1 % share');
    expect(page.top1.rotated).toBeGreaterThan(page.top1.m);
    expect(page.plots.sort()).toEqual(['autograd-graph', 'decision-boundary', 'heatmap-m', 'heatmap-rotated', 'loss-curve', 'playground-concentration']);
  }, 180_000);
});
