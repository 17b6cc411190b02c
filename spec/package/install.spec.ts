/**
 * The product is the installed package, not the checkout. Packs the library and the CLI
 * as `npm pack` would (spec/package/stage.ts), installs each tarball into an empty project
 * in the temp folder with install scripts off, and uses it there as a stranger would:
 * plain JavaScript imports of every subpath, a tiny training on the main thread and in a
 * worker_threads worker, the same under Deno and Bun, a TypeScript consumer type-checked
 * against the shipped .d.ts, and the installed `sparsegrad` command.
 *
 * Deno and Bun come from `npm run install-runtimes` (into .runtimes/); without them those
 * tests skip with one line, unless REQUIRE_RUNTIMES=1 (.ci/run) makes that a failure.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyBert } from '../cli/helpers.ts';
import { pack, type PackResult, ROOT, stageCli, stageLibrary } from './stage.ts';

const MB = 1e6;
const CONSUMER = join(import.meta.dirname, 'consumer');
let work = '';
let library: PackResult;

/** Run a command in `cwd` with the repository's tools off the PATH; returns stdout, throws with stderr (or when it outlives `timeout` ms). */
function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}, timeout = 300_000): string {
  const PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((p) => !p.startsWith(ROOT))
    .join(':');
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, PATH, NODE_PATH: '', ...env }, timeout });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} in ${cwd} exited ${result.status ?? result.signal}${result.error ? ` (${result.error.message})` : ''}\n${result.stdout}\n${result.stderr}`,
    );
  return result.stdout;
}

/** An empty ES-module project with the consumer scripts copied in. */
function emptyProject(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name, private: true, type: 'module' })}\n`);
  cpSync(CONSUMER, dir, { recursive: true });
  return dir;
}

/** The other runtimes an embedder may use: how each runs a script, and where `npm run install-runtimes` puts it. */
const RUNTIMES = [
  { name: 'Deno', binary: join(ROOT, '.runtimes/node_modules/.bin/deno'), args: ['run'] }, // no permission flags: the library needs none
  { name: 'Bun', binary: join(ROOT, '.runtimes/node_modules/.bin/bun'), args: [] },
];
const REQUIRE_RUNTIMES = process.env.REQUIRE_RUNTIMES === '1';

const npmInstall = (cwd: string, ...specs: string[]) => run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', ...specs], cwd);

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sparsegrad-install-'));
  stageLibrary(join(work, 'stage-lib'));
  library = pack(join(work, 'stage-lib'), work);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the library package', () => {
  let app = '';
  beforeAll(() => {
    app = emptyProject('app');
    // --offline: the library needs nothing from the registry.
    npmInstall(app, '--offline', library.filename);
  }, 300_000);

  it('ships built JavaScript, declarations and the licence, and stays small', () => {
    const paths = library.files.map((f) => f.path);
    for (const needed of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/node.js', 'dist/spec/kit/index.js'])
      expect(paths).toContain(needed);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    const withoutMaps = library.files.filter((f) => !f.path.endsWith('.map')).reduce((n, f) => n + f.size, 0);
    console.log(
      `[package] sparsegrad tarball ${(library.size / MB).toFixed(2)} MB, unpacked ${(library.unpackedSize / MB).toFixed(2)} MB, ${(withoutMaps / MB).toFixed(2)} MB without source maps, ${paths.length} files`,
    );
    expect(withoutMaps).toBeLessThanOrEqual(1.5 * MB);
  });

  it('installs with zero dependencies and runs no install script', () => {
    // npm lists the optional peers (gpu.js, fast-check) as absent entries: nothing is installed but the package.
    const tree = JSON.parse(run('npm', ['ls', '--all', '--omit=dev', '--json'], app)) as {
      dependencies: Record<string, { version?: string; dependencies?: Record<string, { version?: string }> }>;
    };
    expect(Object.keys(tree.dependencies)).toEqual(['sparsegrad']);
    const installed = Object.entries(tree.dependencies.sparsegrad!.dependencies ?? {}).filter(([, d]) => d.version !== undefined);
    expect(installed).toEqual([]);
    expect(readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['sparsegrad']);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/sparsegrad/package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
      dependencies?: object;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(manifest.scripts?.[hook]).toBeUndefined();
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.peerDependenciesMeta).toEqual({ 'gpu.js': { optional: true }, 'fast-check': { optional: true } });
  });

  it('every subpath imports from plain JavaScript; a missing optional peer is named, with the command to install it', () => {
    const report = JSON.parse(run('node', ['imports.mjs'], app)) as Record<string, { exports?: number; error?: string }>;
    // Every JavaScript subpath the repository's manifest exports was imported (the consumer reads the installed one).
    const { exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const subpaths = Object.keys(exports)
      .filter((key) => !key.endsWith('.json'))
      .map((key) => `sparsegrad${key.slice(1)}`);
    expect(Object.keys(report).filter((key) => key !== 'useGpujs')).toEqual(subpaths);
    for (const subpath of subpaths.filter((s) => s !== 'sparsegrad/spec')) {
      expect(report[subpath]?.error, subpath).toBeUndefined();
      expect(report[subpath]?.exports, subpath).toBeGreaterThan(0);
    }
    expect(report['sparsegrad/spec']?.error).toMatch(/sparsegrad\/spec needs fast-check.*npm install --save-dev fast-check/);
    expect(report.useGpujs?.error).toMatch(/GpujsUnavailableError: .*optional peer dependency.*npm install gpu\.js/);
  });

  it('trains a tiny MLP on the main thread and in a worker_threads worker: the loss falls, identically', () => {
    const { main, worker } = JSON.parse(run('node', ['train.mjs'], app)) as { main: number[]; worker: number[] };
    expect(main).toHaveLength(60);
    expect(main.at(-1)!).toBeLessThan(main[0]! / 2);
    // Same seed, same engine: the worker's run is bitwise the main thread's.
    expect(worker).toEqual(main);
  });

  for (const runtime of RUNTIMES) {
    const missing = !existsSync(runtime.binary) && !REQUIRE_RUNTIMES;
    if (missing)
      console.warn(`[package] ${runtime.name} tests skipped: no ${runtime.binary} (npm run install-runtimes; REQUIRE_RUNTIMES=1 makes this a failure)`);
    it.skipIf(missing)(
      `runs in ${runtime.name} as in Node, to the bit: worker threads that take tasks, the tiny MLP's losses, a threaded matmul; and exits on its own`,
      () => {
        // A second takes it; a minute means the runtime did not exit (a worker keeping it alive).
        type Report = { fusedByDefault: boolean; threads: { parallel: boolean }; workersTookTasks: boolean };
        const { fusedByDefault: nodeFused, ...node } = JSON.parse(run('node', ['runtime.mjs'], app, {}, 60_000)) as Report;
        // Node 20 run plainly has no relaxed SIMD, so its default is the plain kernel; Node ≥ 22 fuses.
        expect(nodeFused).toBe(Number(process.versions.node.split('.')[0]) >= 22);
        // On more than one core Node runs workers, and they take tasks (else there is nothing to compare).
        expect(node.workersTookTasks).toBe(node.threads.parallel);
        const { fusedByDefault, ...other } = JSON.parse(run(runtime.binary, [...runtime.args, 'runtime.mjs'], app, {}, 60_000)) as Report;
        // Both pinned runtimes validate relaxed SIMD, so their default is the fused kernel; the plain kernel's bits are Node's.
        expect(fusedByDefault).toBe(true);
        expect(other).toEqual(node);
      },
    );
  }

  it('with fast-check installed, sparsegrad/spec works: a gradcheck passes and a wrong gradient is caught', () => {
    npmInstall(app, '--prefer-offline', `fast-check@${JSON.parse(readFileSync(join(ROOT, 'node_modules/fast-check/package.json'), 'utf8')).version}`);
    writeFileSync(
      join(app, 'kit.mjs'),
      [
        "import { customVjp, randn } from 'sparsegrad';",
        "import { gradcheck } from 'sparsegrad/spec';",
        "const x = randn([3, 2], { dtype: 'float64', requiresGrad: true });",
        'gradcheck((a) => a.tanh(), [x]); // throws on a mismatch',
        "const wrongTanh = customVjp('WrongTanh', (a) => ({ output: a.tanh(), saved: a }), (g, a) => [g.mul(a)]);",
        'let caught = false;',
        'try { gradcheck((a) => wrongTanh(a), [x]); } catch (e) { caught = /Jacobian mismatch/.test(e.message); }',
        'console.log(JSON.stringify({ caught }));',
      ].join('\n'),
    );
    expect(JSON.parse(run('node', ['kit.mjs'], app))).toEqual({ caught: true });
  });

  it('a TypeScript consumer type-checks against the shipped declarations', () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    run('node', [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
  });
});

describe('the CLI package', () => {
  it('installs apart from the repository and runs --help and compare --quick on a tiny model', async () => {
    stageCli(join(work, 'stage-cli'));
    const cli = pack(join(work, 'stage-cli'), work);
    console.log(`[package] sparsegrad-cli tarball ${(cli.size / MB).toFixed(1)} MB, unpacked ${(cli.unpackedSize / MB).toFixed(1)} MB`);
    // The shipped models, not the repository-only bert-small-tasktext (cli/package.json leaves it out).
    const models = new Set(cli.files.map((f) => /^pretrained\/([^/]+)\//.exec(f.path)?.[1]).filter(Boolean));
    expect([...models].sort()).toEqual(['bert-mini', 'bert-small', 'llama-mini', 'llama-small']);
    const bundle = readFileSync(join(work, 'stage-cli/dist/sparsegrad.js'), 'utf8');
    expect(bundle.includes(ROOT)).toBe(false); // no path into this checkout
    const app = emptyProject('cli-app');
    // Its own dependencies (the datasets) come from the registry, or npm's cache, as in `npm ci`.
    npmInstall(app, '--prefer-offline', cli.filename);
    const sparsegrad = join(app, 'node_modules/.bin/sparsegrad');
    expect(run(sparsegrad, ['--help'], app)).toMatch(/usage: sparsegrad \[command\]/);
    const model = await makeTinyBert();
    try {
      const out = run(
        sparsegrad,
        [
          'compare',
          '--quick',
          '--model',
          model.dir,
          '--out',
          join(app, 'runs'),
          '--seeds',
          '1',
          '--steps',
          '12',
          '--batch-size',
          '8',
          '--max-train',
          '64',
          '--max-test',
          '32',
          '--max-length',
          '16',
          '--concentration-batches',
          '1',
          '--jobs',
          '1',
        ],
        app,
        { SPARSEGRAD_PROGRESS: 'plain' },
      );
      expect(out).toContain(`report: ${join(app, 'runs', 'report.html')}`);
      const results = JSON.parse(readFileSync(join(app, 'runs/results.json'), 'utf8')) as { rows: { method: string }[] };
      expect(results.rows.map((r) => r.method)).toEqual(['full', 'lora', 'meprop', 'sparsegrad']);
    } finally {
      rmSync(model.dir, { recursive: true, force: true });
    }
  }, 600_000);
});
