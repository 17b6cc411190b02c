// sparsegrad side by side with its peers on three training workloads (issue 11):
//   W1  matmul 128×768 · 768×3072 (float32)
//   W2  BERT-base MLP training step, 128 tokens: y = gelu(x·W1ᵀ + b1)·W2ᵀ + b2,
//       loss = Σ y ⊙ G, backward to x, W1, b1, W2, b2
//   W3  post-LN encoder layer, hidden 256, 4 heads, FFN 1024, seq 128, batch 8, fwd + bwd
//   W2-SG  W2 with both linears converted to SparseGrad (row compaction; sparsegrad only)
// on the same deterministic inputs, against @jax-js/jax (wasm backend, jit; a devDependency
// of this bench only) and PyTorch (Debian's python3-torch through /usr/bin/python3, when
// present; OpenBLAS/OpenMP with 2 threads and OMP_WAIT_POLICY=PASSIVE). Every system must
// compute the same loss and gradient sums (checked, within a bound scaled by Σ|terms|);
// the table gives ms per run, GFLOP/s, ratios to sparsegrad measured in this same run,
// sparsegrad's thread scaling (1 and 2 threads), and the machine's load average, since the
// machine is shared and timings move with it. Every system runs once per round (ROUNDS,
// default 3, the order reversed every other round; REPEATS timed calls each, default 7): a
// cell is the median of its rounds' medians, and each ratio's spread over the rounds is shown.
//
// Run with: npm run bench -- peers     (or: npx tsx bench/peers.ts; ROUNDS=1 for a quick look)
// With --out DIR (npx tsx bench/peers.ts --out results/peers) it also writes DIR/peers.json
// (every cell, the machine, the load, the date) and DIR/table.md, which the README quotes
// (scripts/readme-tables.mjs).
// Not a test: nothing here asserts a time.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, randn, setThreads, tensor, type Tensor, threadInfo, threadsReady } from '../index.ts';
import { Linear } from '../nn/linear.ts';
import { Parameter } from '../nn/module.ts';
import { configureEngine } from '../cli/engine.ts';
import { capacityLine, parallelCapacity, type Capacity } from './kernel-ceiling.ts';
import { BertLayer } from '../models/bert.ts';
import { B3, F, F3, H, H3, HEADS3, layerLoss, mlpLoss, S3, sparseGradLinear, sparseGradMlpLoss, T, trainingStep, W3_CONFIG } from './workloads.ts';

// The engine as the command runs it: fused multiply-adds where this Node can have them (SPARSEGRAD_FMA=off: the plain kernel).
configureEngine();

const REPEATS = Number(process.env.REPEATS ?? 7);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

/** What one system reports for one workload. `grads`: name → [Σ g, Σ |g|]. */
interface Result {
  ms: number;
  loss: number;
  grads: Record<string, [number, number]>;
  rssGrowthMB?: number;
}
type Workload = 'W1' | 'W2' | 'W3' | 'W2-SG';
type Results = Partial<Record<Workload, Result>>;

// Multiply-adds ×2 of each workload's matrix products (the rest is not counted).
const FLOPS: Record<Workload, number> = {
  W1: 2 * T * H * F,
  'W2-SG': 6 * 2 * T * H * F, // counted as the dense step it replaces
  W2: 6 * 2 * T * H * F, // 2 forward GEMMs, 4 backward (dX and dW per layer)
  // Per token: 4 projections H3², FFN 2·H3·F3; attention 2·S3·H3 (scores, context); ×3 for fwd + bwd.
  W3: 3 * 2 * B3 * S3 * (4 * H3 * H3 + 2 * H3 * F3 + 2 * S3 * H3),
};

/**
 * The least W2-SG ÷ W2 can be: per layer (H → F, then F → H) the rotations add
 * 2·T·(in² + out²) multiply-adds (X·A and ·Vᵀ forward, G·V and ·Aᵀ backward) to the dense
 * 3·T·in·out, whatever the bases. 3.83 at BERT-base size.
 */
const SG_GEMM_FLOOR = 1 + (2 * (H * H + F * F)) / (3 * H * F);

function median(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * One system's rounds as one column: each workload's time is the median of its rounds' medians;
 * the loss and gradient sums (the same every round) and the RSS growth (a fresh process's, so
 * the first W2 run's) come from the first round. A system that failed in any round is reported failed.
 */
function combineRounds(rounds: (Results | string)[]): Results | string {
  const failed = rounds.find((r) => typeof r === 'string');
  if (failed !== undefined) return failed;
  const [first, ...rest] = rounds as Results[];
  const out: Results = {};
  for (const [w, res] of Object.entries(first!) as [Workload, Result][]) {
    out[w] = { ...res, ms: median([res.ms, ...rest.map((r) => r[w]!.ms)]) };
  }
  return out;
}

/** The spread of a ratio over the rounds, a / b per round (each round's own medians): "lo–hi". */
function ratioRange(a: string, b: string, w: Workload): string {
  const [ra, rb] = [rounds.get(a)!, rounds.get(b)!];
  const ratios = ra.flatMap((r, i) => {
    const [x, y] = [r, rb[i]!];
    return typeof x === 'object' && typeof y === 'object' && x[w] && y[w] ? [x[w]!.ms / y[w]!.ms] : [];
  });
  return ratios.length ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}` : '—';
}

function timeIt(fn: () => void): number {
  fn(); // warm-up: compiles wasm tiers, grows memory
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

// ---- inputs: one seeded generator, float32, shared with every system -----------------

const gen = new Generator(11);
const draw = (shape: number[], scale: number): Float32Array => randn(shape, { generator: gen }).mul(scale).contiguous().data as Float32Array;
const inputs = new Map<string, { shape: number[]; data: Float32Array }>();
const input = (name: string, shape: number[], scale: number) => {
  inputs.set(name, { shape, data: draw(shape, scale) });
  return inputs.get(name)!.data;
};
input('w1.a', [T, H], 1);
input('w1.b', [H, F], 0.05);
input('w2.x', [T, H], 1);
input('w2.w1', [F, H], 0.02);
input('w2.b1', [F], 0.02);
input('w2.w2', [H, F], 0.02);
input('w2.b2', [H], 0.02);
input('w2.gout', [T, H], 1);

const layer = new BertLayer(W3_CONFIG, { generator: gen });
// sparsegrad's names → the short names the peers use.
const W3_NAMES: Record<string, string> = {
  'attention.self.query': 'q',
  'attention.self.key': 'k',
  'attention.self.value': 'v',
  'attention.output.dense': 'o',
  'attention.output.LayerNorm': 'ln1',
  'intermediate.dense': 'i',
  'output.dense': 'out',
  'output.LayerNorm': 'ln2',
};
const shortName = (name: string) => {
  const dot = name.lastIndexOf('.');
  return `${W3_NAMES[name.slice(0, dot)]}.${name.slice(dot + 1)}`;
};
for (const [name, p] of layer.namedParameters()) inputs.set(`w3.${shortName(name)}`, { shape: [...p.shape], data: p.contiguous().data as Float32Array });
input('w3.x', [B3, S3, H3], 1);
input('w3.gout', [B3, S3, H3], 1);
const W3_GRADS = ['x', 'q.weight', 'i.weight', 'ln2.weight'];

const get = (name: string) => inputs.get(name)!;
const sums = (g: Float32Array | Float64Array): [number, number] => {
  let s = 0,
    a = 0;
  for (let i = 0; i < g.length; i++) {
    s += g[i]!;
    a += Math.abs(g[i]!);
  }
  return [s, a];
};

// ---- sparsegrad ------------------------------------------------------------------------

function sparsegrad(): Results {
  const constant = (name: string) => tensor(get(name).data, { shape: get(name).shape });
  const leaf = (name: string) => constant(name).setRequiresGrad();
  const out: Results = {};

  const [x, w1, b1, w2, b2] = ['w2.x', 'w2.w1', 'w2.b1', 'w2.w2', 'w2.b2'].map(leaf) as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const gout = constant('w2.gout');
  const mlpStep = trainingStep([x, w1, b1, w2, b2], () => mlpLoss(x, w1, b1, w2, b2, gout));
  const rss0 = process.resourceUsage().maxRSS;
  const ms2 = timeIt(mlpStep);
  const loss2 = mlpStep().item();
  out.W2 = {
    ms: ms2,
    loss: loss2,
    rssGrowthMB: (process.resourceUsage().maxRSS - rss0) / 1024,
    grads: Object.fromEntries(
      (
        [
          ['x', x],
          ['w1', w1],
          ['b1', b1],
          ['w2', w2],
          ['b2', b2],
        ] as const
      ).map(([n, t]) => [n, sums((t.grad as Tensor).contiguous().data as Float32Array)]),
    ),
  };

  // SparseGrad's step at the same size (bench/workloads.ts): both linears converted. Only
  // sparsegrad runs it; the ratio is to its dense W2.
  const dense = (w: string, b: string) => {
    const l = new Linear(get(w).shape[1]!, get(w).shape[0]!);
    l.weight = new Parameter(constant(w));
    l.bias = new Parameter(constant(b));
    return l;
  };
  const [sg1, sg2] = [sparseGradLinear(dense('w2.w1', 'w2.b1')), sparseGradLinear(dense('w2.w2', 'w2.b2'))];
  const sgStep = trainingStep([sg1, sg2, x], () => sparseGradMlpLoss(x, sg1, sg2, gout));
  out['W2-SG'] = { ms: timeIt(sgStep), loss: sgStep().item(), grads: {} };

  const a = constant('w1.a');
  const b = constant('w1.b');
  out.W1 = { ms: timeIt(() => a.matmul(b)), loss: a.matmul(b).to('float64').sum().item(), grads: {} };

  const x3 = leaf('w3.x');
  const g3 = constant('w3.gout');
  layer.train();
  const layerStep = trainingStep([layer, x3], () => layerLoss(layer, x3, g3));
  const ms3 = timeIt(layerStep);
  const loss3 = layerStep().item();
  const params = new Map(layer.namedParameters().map(([n, p]) => [shortName(n), p]));
  out.W3 = {
    ms: ms3,
    loss: loss3,
    grads: Object.fromEntries(W3_GRADS.map((n) => [n, sums(((n === 'x' ? x3 : params.get(n)!).grad as Tensor).contiguous().data as Float32Array)])),
  };
  return out;
}

// ---- @jax-js/jax -----------------------------------------------------------------------

async function jaxjs(): Promise<Results | string> {
  let jax: typeof import('@jax-js/jax');
  try {
    jax = await import('@jax-js/jax');
  } catch (e) {
    return `not installed (${(e as Error).message.split('\n')[0]})`;
  }
  try {
    return await runJax(jax);
  } catch (e) {
    return `failed: ${(e as Error).message.split('\n')[0]}`; // a peer's failure is reported, not fatal
  }
}

type Jax = typeof import('@jax-js/jax');
type JArray = import('@jax-js/jax').Array;

/**
 * jax-js's arrays are reference-counted: every function takes ownership of its arguments,
 * so an array used twice is passed as `a.ref` the first time (its README's rules).
 */
async function runJax(jax: Jax): Promise<Results> {
  const { numpy: np, nn, jit, valueAndGrad, tree, blockUntilReady } = jax;
  await jax.init('wasm');
  jax.defaultDevice('wasm');
  const arr = (name: string): JArray => np.array(get(name).data).reshape(get(name).shape);
  const jsums = (a: JArray): [number, number] => sums(a.dataSync() as Float32Array);
  const out: Results = {};
  /** Runs a jitted value-and-grad on fresh references of the inputs; returns [loss, grads]. */
  async function timed<P>(step: (...a: never[]) => [JArray, P], args: () => unknown[]) {
    const once = async () => {
      const r = step(...(args() as never[]));
      await blockUntilReady(r as never);
      return r;
    };
    const ms = await timeAsync(async () => tree.dispose((await once()) as never));
    return { ms, result: await once() };
  }

  // W2: the MLP step, differentiated with respect to every input but G.
  type Mlp = { x: JArray; w1: JArray; b1: JArray; w2: JArray; b2: JArray };
  const mlpLoss = (p: Mlp, g: JArray) => {
    const h = nn.gelu(np.matmul(p.x, p.w1.transpose()).add(p.b1), { approximate: false });
    return np.matmul(h, p.w2.transpose()).add(p.b2).mul(g).sum();
  };
  const mlp: Mlp = { x: arr('w2.x'), w1: arr('w2.w1'), b1: arr('w2.b1'), w2: arr('w2.w2'), b2: arr('w2.b2') };
  const g2 = arr('w2.gout');
  const mlpStep = jit(valueAndGrad(mlpLoss));
  const w2 = await timed(mlpStep as never, () => [tree.ref(mlp), g2.ref]);
  const [loss2, grads2] = w2.result as [JArray, Mlp];
  out.W2 = { ms: w2.ms, loss: loss2.item() as number, grads: Object.fromEntries(Object.entries(grads2).map(([k, v]) => [k, jsums(v)])) };

  // W1: one product.
  const a = arr('w1.a'),
    b = arr('w1.b');
  const mm = jit((x: JArray, y: JArray) => np.matmul(x, y));
  const w1ms = await timeAsync(async () => (await blockUntilReady(mm(a.ref, b.ref))).dispose());
  const c = mm(a.ref, b.ref);
  out.W1 = { ms: w1ms, loss: sums(c.dataSync() as Float32Array)[0], grads: {} };

  // W3: the post-LN encoder layer, written out (jax-js has no transformer module).
  type Dense = { weight: JArray; bias: JArray };
  type Layer = Record<'q' | 'k' | 'v' | 'o' | 'i' | 'out' | 'ln1' | 'ln2', Dense>;
  const linear = (x: JArray, d: Dense) => np.matmul(x, d.weight.transpose()).add(d.bias);
  const layerNorm = (x: JArray, d: Dense) => nn.standardize(x, -1, { epsilon: 1e-5 }).mul(d.weight).add(d.bias);
  // [B, S, H] → [B, heads, S, H/heads]. (nn.dotProductAttention needs iterator helpers, Node ≥ 22.)
  const dh = H3 / HEADS3;
  const heads = (x: JArray) => x.reshape([B3, S3, HEADS3, dh]).transpose([0, 2, 1, 3]);
  const layerLoss = (p: Layer, x: JArray, g: JArray) => {
    const q = heads(linear(x.ref, p.q)),
      k = heads(linear(x.ref, p.k)),
      v = heads(linear(x.ref, p.v));
    const probs = nn.softmax(np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(dh)), -1);
    const ctx = np.matmul(probs, v).transpose([0, 2, 1, 3]);
    const a1 = layerNorm(linear(ctx.reshape([B3, S3, H3]), p.o).add(x), p.ln1);
    const f = linear(nn.gelu(linear(a1.ref, p.i), { approximate: false }), p.out);
    return layerNorm(f.add(a1), p.ln2).mul(g).sum();
  };
  const dense = (n: string): Dense => ({ weight: arr(`w3.${n}.weight`), bias: arr(`w3.${n}.bias`) });
  const params = Object.fromEntries(['q', 'k', 'v', 'o', 'i', 'out', 'ln1', 'ln2'].map((n) => [n, dense(n)])) as Layer;
  const x3 = arr('w3.x'),
    g3 = arr('w3.gout');
  const layerStep = jit(valueAndGrad(layerLoss, { argnums: [0, 1] }));
  const w3 = await timed(layerStep as never, () => [tree.ref(params), x3.ref, g3.ref]);
  const [loss3, [gp, gx]] = w3.result as [JArray, [Layer, JArray]];
  out.W3 = {
    ms: w3.ms,
    loss: loss3.item() as number,
    grads: { x: jsums(gx), 'q.weight': jsums(gp.q.weight), 'i.weight': jsums(gp.i.weight), 'ln2.weight': jsums(gp.ln2.weight) },
  };
  return out;
}

// ---- PyTorch ---------------------------------------------------------------------------

function torch(threads: number): Results | string {
  const python = '/usr/bin/python3';
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return 'python3-torch not installed (apt-get install -y python3-torch libopenblas0-pthread)';
  }
  const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-peers-'));
  try {
    const manifest: Record<string, number[]> = { heads: [HEADS3] };
    for (const [name, { shape, data }] of inputs) {
      manifest[name] = shape;
      writeFileSync(join(dir, `${name}.bin`), data);
    }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' };
    const script = new URL('./peers_torch.py', import.meta.url).pathname;
    return JSON.parse(execFileSync(python, [script, dir, String(threads), String(REPEATS)], { env, encoding: 'utf8' })) as Results;
  } catch (e) {
    return `failed: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- report ----------------------------------------------------------------------------

/**
 * Two systems agree when |Σa − Σb| ≤ 1e-4 · Σ|terms| (float32 sums in different orders: the
 * error of a sum is bounded by its terms' magnitudes, not by the sum, which may cancel).
 */
function agree(a: Result, b: Result): string[] {
  const bad: string[] = [];
  const scale = Math.abs(a.loss) + 1e-4 * Object.values(a.grads).reduce((s, [, abs]) => s + abs, 0);
  if (Math.abs(a.loss - b.loss) > 1e-4 * Math.max(1, scale)) bad.push(`loss ${a.loss} vs ${b.loss}`);
  for (const [name, [sum, abs]] of Object.entries(a.grads)) {
    const other = b.grads[name];
    if (other && Math.abs(sum - other[0]) > 1e-4 * abs) bad.push(`Σ d${name} ${sum} vs ${other[0]} (Σ|·| ${abs})`);
  }
  return bad;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadBefore = load();
console.log(`machine load average before: ${loadBefore}; ${ROUNDS} rounds of ${REPEATS} timed runs per cell`);
await threadsReady();
const onThreads = async (n: number) => {
  setThreads(n);
  await threadsReady();
  return sparsegrad();
};
const SYSTEMS: [string, () => Promise<Results | string> | Results | string][] = [
  ['sparsegrad 1T', () => onThreads(1)],
  ['sparsegrad 2T', () => onThreads(2)],
  ['jax-js', jaxjs],
  ['torch 1T', () => torch(1)],
  ['torch 2T', () => torch(2)],
];
// Every system once per round, the order reversed every other round, so that a machine whose
// speed drifts (a shared host: ±30 % within a minute was seen) slows every system alike.
const rounds = new Map<string, (Results | string)[]>(SYSTEMS.map(([name]) => [name, []]));
const ceilings: number[] = [];
const capacities: Capacity[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // The GEMM micro-kernel's ceiling on one thread here: its tile on L1-resident panels (bench/kernel-ceiling.ts);
  // and how much more two threads at once get through it than one (what thread scaling can reach this round).
  const measured = await parallelCapacity(2);
  ceilings.push(measured.one.best);
  capacities.push(measured);
  for (const [name, run] of round % 2 ? [...SYSTEMS].reverse() : SYSTEMS) rounds.get(name)!.push(await run());
  console.log(`round ${round + 1} of ${ROUNDS} done`);
}
const ceiling = median(ceilings);
console.log(`GEMM micro-kernel ceiling (L1-resident panels), one thread: ${ceiling.toFixed(1)} GFLOP/s (median of ${ROUNDS} rounds)`);
/** The round of median parallel capacity, and the range over the rounds. */
const capacity = [...capacities].sort((a, b) => a.ratio - b.ratio)[capacities.length >> 1]!;
const capacityText = () =>
  `${capacityLine(capacity)}; over the ${ROUNDS} rounds ${Math.min(...capacities.map((c) => c.ratio)).toFixed(2)}–${Math.max(...capacities.map((c) => c.ratio)).toFixed(2)}×. Thread scaling can reach no more than that.`;
console.log(capacityText());
const columns: [string, Results | string][] = SYSTEMS.map(([name]) => [name, combineRounds(rounds.get(name)!)]);
const loadAfter = load();
console.log(`machine load average after: ${loadAfter}; sparsegrad ${JSON.stringify(threadInfo())}\n`);

const base = columns[1]![1] as Results; // sparsegrad, 2 threads
/** One system's results (or the reason it did not run), by column name. */
const column = (name: string) => columns.find(([n]) => n === name)?.[1];
const pad = (s: string, n = 16) => s.padStart(n);
console.log('ms per run (GFLOP/s) [time ÷ sparsegrad 2T]');
console.log('workload'.padEnd(10) + columns.map(([name]) => pad(name, 24)).join(''));
for (const w of ['W1', 'W2', 'W3', 'W2-SG'] as const) {
  const cells = columns.map(([, r]) => {
    if (typeof r === 'string') return pad('—', 24);
    const res = r[w];
    if (!res) return pad('—', 24);
    return pad(`${res.ms.toFixed(1)} (${(FLOPS[w] / res.ms / 1e6).toFixed(1)}) [${(res.ms / base[w]!.ms).toFixed(2)}]`, 24);
  });
  console.log(w.padEnd(10) + cells.join(''));
}
for (const [name, r] of columns) if (typeof r === 'string') console.log(`${name}: ${r}`);
const one = columns[0]![1] as Results;
console.log(
  `thread scaling, sparsegrad time 1 thread ÷ 2 threads: ${(['W1', 'W2', 'W3', 'W2-SG'] as const).map((w) => `${w} ${(one[w]!.ms / base[w]!.ms).toFixed(2)}×`).join(', ')}`,
);
console.log(`SparseGrad step ÷ dense step (2 threads): ${(base['W2-SG']!.ms / base.W2!.ms).toFixed(2)}× (its GEMMs alone: ${SG_GEMM_FLOOR.toFixed(2)}×)`);
const gflops = (r: Results | string | undefined, w: Workload) => (typeof r === 'object' && r[w] ? FLOPS[w] / r[w]!.ms / 1e6 : undefined);
/** W1 against the micro-kernel's ceiling: sparsegrad's share of it (1 thread; 2 threads against twice it), PyTorch's multiple of it. */
const ceilingLine = () => {
  const [one1, two1, torch1] = [gflops(columns[0]![1], 'W1'), gflops(columns[1]![1], 'W1'), gflops(column('torch 1T'), 'W1')];
  const pct = (x: number | undefined, of: number) => (x === undefined ? '—' : `${((100 * x) / of).toFixed(0)} %`);
  return `The GEMM's micro-kernel (4 × 8 float32 tile, ${threadInfo().fma ? '4-lane fused multiply-adds' : '4-lane multiplies and adds'}) reaches ${ceiling.toFixed(1)} GFLOP/s on one thread when its panels stay in L1 (\`bench/kernel-ceiling.ts\`, same run): W1 reaches ${pct(one1, ceiling)} of that on one thread and ${pct(two1, 2 * ceiling)} of twice it on two (the rest goes to copying the operands into wasm memory, packing and streaming B); PyTorch's one-thread W1 is ${torch1 === undefined ? '—' : `${(torch1 / ceiling).toFixed(1)}×`} the micro-kernel's ceiling (x86 vectors wider than WebAssembly's, with fused multiply-add).`;
};
console.log(ceilingLine());

console.log('\nagreement with sparsegrad 2T (loss and gradient sums, bound 1e-4 · Σ|terms|):');
for (const [name, r] of columns.slice(0)) {
  if (typeof r === 'string' || r === base) continue;
  for (const w of ['W1', 'W2', 'W3', 'W2-SG'] as const) {
    if (!r[w] || !base[w]) continue;
    const bad = agree(base[w]!, r[w]!);
    console.log(`  ${name.padEnd(14)} ${w}: ${bad.length ? `DIFFERS: ${bad.join('; ')}` : `same (loss ${r[w]!.loss.toPrecision(7)})`}`);
  }
}
const rss = (r: Results | string | undefined) => (typeof r === 'object' && r.W2?.rssGrowthMB !== undefined ? `${r.W2.rssGrowthMB.toFixed(0)} MB` : '—');
console.log(`\npeak RSS growth over the W2 runs: sparsegrad 1T ${rss(column('sparsegrad 1T'))}, torch 1T ${rss(column('torch 1T'))}`);

// ---- the committed copy (--out DIR) ------------------------------------------------------

const outAt = process.argv.indexOf('--out');
if (outAt > 0) {
  const dir = process.argv[outAt + 1]!;
  const LABELS: Record<string, string> = {
    W1: 'W1 matmul 128×768 · 768×3072',
    W2: 'W2 BERT-base MLP train step, 128 tokens',
    W3: 'W3 post-LN encoder layer h256, seq 128, batch 8, fwd + bwd',
  };
  const HEADS: Record<string, string> = {
    'sparsegrad 1T': 'sparsegrad 1 thread',
    'sparsegrad 2T': 'sparsegrad 2 threads',
    'jax-js': 'jax-js',
    'torch 1T': 'PyTorch 1 thread',
    'torch 2T': 'PyTorch 2 threads',
  };
  const ms = (name: string, w: Workload) => {
    const r = column(name);
    return typeof r === 'object' ? r[w]?.ms : undefined;
  };
  const cell = (name: string, w: Workload) => {
    const t = ms(name, w);
    return t === undefined ? '—' : `${t.toFixed(1)} (${(FLOPS[w] / t / 1e6).toFixed(1)})`;
  };
  const over = (x: number | undefined, y: number | undefined) => (x === undefined || y === undefined ? '—' : `${(x / y).toFixed(2)}×`);
  const ratio = (a: string, b: string, w: Workload) => over(ms(a, w), ms(b, w));
  const workloads = ['W1', 'W2', 'W3'] as const;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}${threadInfo().fma ? ', relaxed-SIMD FMA' : ', no FMA'}`;
  const date = new Date().toISOString().slice(0, 10);
  const table = [
    `| workload | ${columns.map(([n]) => HEADS[n]).join(' | ')} |`,
    `| --- | ${columns.map(() => '---:').join(' | ')} |`,
    ...workloads.map((w) => `| ${LABELS[w]} | ${columns.map(([n]) => cell(n, w)).join(' | ')} |`),
    '',
    `ms per call (GFLOP/s in brackets), the median over ${ROUNDS} interleaved rounds of the median of ${REPEATS} calls; ${date}, ${machine}; load average ${loadBefore} before, ${loadAfter} after; \`npx tsx bench/peers.ts --out ${dir}\`.`,
    `sparsegrad 2 threads ÷ jax-js: ${workloads.map((w) => `${w} ${ratio('sparsegrad 2T', 'jax-js', w)} (rounds ${ratioRange('sparsegrad 2T', 'jax-js', w)})`).join(', ')}; ÷ PyTorch 2 threads: ${workloads.map((w) => `${w} ${ratio('sparsegrad 2T', 'torch 2T', w)} (${ratioRange('sparsegrad 2T', 'torch 2T', w)})`).join(', ')}.`,
    `Thread scaling (1 ÷ 2 threads): ${(['W1', 'W2', 'W3', 'W2-SG'] as const).map((w) => `${w} ${ratio('sparsegrad 1T', 'sparsegrad 2T', w)}`).join(', ')}; the SparseGrad step (W2-SG) takes ${over(ms('sparsegrad 2T', 'W2-SG'), ms('sparsegrad 2T', 'W2'))} the dense one's time (its GEMMs alone: ${SG_GEMM_FLOOR.toFixed(2)}× the multiply-adds). Peak RSS growth over the W2 runs: sparsegrad ${rss(column('sparsegrad 1T'))}, PyTorch ${rss(column('torch 1T'))}.`,
    ceilingLine(),
    `The machine's ${capacityText()}`,
  ].join('\n');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'table.md'), `${table}\n`);
  writeFileSync(
    join(dir, 'peers.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, repeats: REPEATS, rounds: Object.fromEntries(rounds), loadBefore, loadAfter, kernelCeilingGflops: ceiling, parallelCapacity: capacities, threads: threadInfo(), columns: Object.fromEntries(columns) }, null, 1)}\n`,
  );
  console.log(`\nwrote ${join(dir, 'table.md')} and peers.json`);
}
