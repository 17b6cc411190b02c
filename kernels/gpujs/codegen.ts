/**
 * Kernel sources for gpu.js, generated per shape.
 *
 * Every kernel has a 1-D output of `n` values: gpu.js packs a 1-D output into a near-square
 * texture, so no output dimension ever meets WebGL's 16384 texture-size limit (an output
 * of [30522, 768] is 23 M values in a 4835×4835 texture). A thread turns its flat index
 * into coordinates with the shape baked in as literals, then reads each operand at
 * `offset + Σ coordinate·stride`: broadcast (stride 0), transposed and sliced views are read
 * in place. Loop bounds (reduction lengths, the k of a matmul) are literals too, so
 * gpu.js's cap on argument-bounded loops (1000 iterations by default) never applies.
 *
 * Index arithmetic is float32 in GLSL: exact below 2^24, which the backend enforces
 * (MAX_ELEMENTS). Integer division uses floor((i + 0.5) / d), which is exact there.
 *
 * Sums accumulate in float32 in blocks (partial sums of ≤ 64 terms, then the total), which
 * keeps the error near √n·ε instead of n·ε for long reductions and matmuls.
 */
import { contiguousStrides, type Shape } from '../../base/shape.ts';
import { collapseAxes } from '../view.ts';

/** Largest tensor the float32 index arithmetic addresses exactly. */
export const MAX_ELEMENTS = 2 ** 24;

/** Below this length, a sum is one loop; above, partial sums of BLOCK terms. */
const BLOCK = 64;

/** A number as a GLSL-safe float literal. */
export function lit(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`gpujs codegen: non-finite literal ${x}`);
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** An operand read per output element: `name = arg[offset + Σ c·strides]`. */
export interface Read {
  readonly name: string;
  readonly arg: string;
  /** The name of the offset argument (a uniform, so a new offset does not compile a new kernel). */
  readonly offset: string;
  /** One stride per axis of the output shape (0 where broadcast). */
  readonly strides: readonly number[];
}

/**
 * Lines that decompose flat index `index` into coordinates of `dims` (row-major).
 * Returns the coordinate expressions (a literal "0.0" for size-1 axes).
 */
function decompose(dims: readonly number[], index: string, prefix: string): { code: string[]; coords: string[] } {
  const code: string[] = [];
  const coords = new Array<string>(dims.length);
  let rest = index;
  for (let k = dims.length - 1; k >= 0; k--) {
    const d = dims[k]!;
    if (k === 0) {
      coords[0] = rest;
      break;
    }
    if (d === 1) {
      coords[k] = '0.0';
      continue;
    }
    code.push(`const ${prefix}q${k} = Math.floor((${rest} + 0.5) / ${lit(d)});`);
    code.push(`const ${prefix}c${k} = ${rest} - ${prefix}q${k} * ${lit(d)};`);
    coords[k] = `${prefix}c${k}`;
    rest = `${prefix}q${k}`;
  }
  return { code, coords };
}

/** `offset + Σ coords[i]·strides[i]`, skipping zero terms. */
function address(offset: string, coords: readonly string[], strides: readonly number[]): string {
  const terms = [offset];
  coords.forEach((c, i) => {
    const s = strides[i]!;
    if (s === 0 || c === '0.0') return;
    terms.push(s === 1 ? c : `${c} * ${lit(s)}`);
  });
  return terms.join(' + ');
}

/** A generated kernel: its gpu.js source and the names of its arguments, in order. */
export interface KernelSource {
  readonly source: string;
  readonly args: readonly string[];
}

function fn(args: readonly string[], body: readonly string[]): KernelSource {
  return { source: `function(${args.join(', ')}) {\n  ${body.join('\n  ')}\n}`, args };
}

/**
 * An elementwise kernel over `shape`: each read is bound to its name, then `expr` is
 * returned. Axes that every operand walks contiguously are merged first (collapseAxes),
 * so a contiguous tensor of any rank costs no index arithmetic at all.
 */
export function mapSource(
  shape: Shape,
  reads: readonly Read[],
  expr: string,
  extraArgs: readonly string[] = [],
  prelude: readonly string[] = [],
): KernelSource {
  const c = collapseAxes(shape, [contiguousStrides(shape), ...reads.map((r) => r.strides)]);
  const { code, coords } = decompose(c.shape, 't', '');
  const lines = ['const t = this.thread.x;', ...code, ...prelude];
  reads.forEach((r, i) => lines.push(`const ${r.name} = ${r.arg}[${address(r.offset, coords, c.strides[i + 1]!)}];`));
  lines.push(`return ${expr};`);
  return fn(argList(reads, extraArgs), lines);
}

function argList(reads: readonly Read[], extraArgs: readonly string[]): string[] {
  const args: string[] = [];
  for (const r of reads) if (!args.includes(r.arg)) args.push(r.arg);
  for (const r of reads) if (!args.includes(r.offset)) args.push(r.offset);
  return [...args, ...extraArgs];
}

/**
 * A loop over `length` steps of index `j` with body `step(j)` (statements), accumulating
 * into `acc`. When `blocked`, steps are summed into partial sums of BLOCK terms first.
 */
function loop(length: number, j: string, step: (j: string) => string[], blocked: boolean): string[] {
  if (length === 0) return [];
  if (!blocked || length <= BLOCK) {
    return [`for (let ${j} = 0; ${j} < ${length}; ${j}++) {`, ...step(j).map((s) => `  ${s}`), '}'];
  }
  const blocks = Math.floor(length / BLOCK);
  const tail = length - blocks * BLOCK;
  const out = [
    `for (let ${j}b = 0; ${j}b < ${blocks}; ${j}b++) {`,
    '  let part = 0.0;',
    `  for (let ${j}i = 0; ${j}i < ${BLOCK}; ${j}i++) {`,
    `    const ${j} = ${j}b * ${lit(BLOCK)} + ${j}i;`,
    ...step(j).map((s) => `    ${s.replace(/\bacc\b/g, 'part')}`),
    '  }',
    '  acc = acc + part;',
    '}',
  ];
  if (tail > 0) {
    out.push(`for (let ${j}t = 0; ${j}t < ${tail}; ${j}t++) {`, `  const ${j} = ${lit(blocks * BLOCK)} + ${j}t;`, ...step(j).map((s) => `  ${s}`), '}');
  }
  return out;
}

/**
 * Reduce `x` (viewed with `strides`, shape `shape`) over `axes`: one thread per kept
 * position, nested literal-bounded loops over the reduced axes (merged where contiguous).
 * `combine` is an expression of `acc` and `v`; sum starts at 0 and is blocked, max/min
 * start at the first element. (Compensated summation is no option: llvmpipe's compiler
 * reassociates float arithmetic and removes Kahan's correction term, as measured.)
 */
export function reduceSource(shape: Shape, strides: readonly number[], axes: readonly number[], combine: string, isSum: boolean): KernelSource {
  const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const keptShape = keptAxes.map((i) => shape[i]!);
  const kept = collapseAxes(keptShape, [contiguousStrides(keptShape), keptAxes.map((i) => strides[i]!)]);
  const redShape = axes.map((i) => shape[i]!);
  const red = collapseAxes(redShape, [axes.map((i) => strides[i]!)]);
  const { code, coords } = decompose(kept.shape, 't', '');
  const lines = ['const t = this.thread.x;', ...code, `const base = ${address('off0', coords, kept.strides[1]!)};`];
  lines.push(isSum ? 'let acc = 0.0;' : 'let acc = src0[base];');
  const dims = red.shape;
  const rs = red.strides[0]!;
  const step = (js: string[]) => [`const v = src0[${address('base', js, rs)}];`, `acc = ${combine};`];
  // Nested loops, innermost last; only the innermost is blocked (its partial sums feed acc).
  const build = (level: number, js: string[]): string[] => {
    if (level === dims.length) return step(js);
    const j = `j${level}`;
    if (level === dims.length - 1) return loop(dims[level]!, j, (jj) => step([...js, jj]), isSum);
    return [`for (let ${j} = 0; ${j} < ${dims[level]}; ${j}++) {`, ...build(level + 1, [...js, j]).map((s) => `  ${s}`), '}'];
  };
  lines.push(...build(0, []), 'return acc;');
  return fn(['src0', 'off0'], lines);
}

/**
 * A per-row reduction over the last axis (length `len`) of operands shaped [...rows, len]:
 * sums `value` (an expression of the reads, which are bound inside the loop) and returns
 * `result` (an expression of `acc`). Row statistics of softmax and the norms.
 */
export function rowSumSource(
  rows: Shape,
  len: number,
  reads: readonly Read[],
  perRow: readonly Read[],
  value: string,
  result: string,
  extraArgs: readonly string[] = [],
): KernelSource {
  const c = collapseAxes(rows, [contiguousStrides(rows), ...reads.map((r) => r.strides.slice(0, -1)), ...perRow.map((r) => r.strides)]);
  const { code, coords } = decompose(c.shape, 't', '');
  const lines = ['const t = this.thread.x;', ...code];
  reads.forEach((r, i) => lines.push(`const ${r.name}Base = ${address(r.offset, coords, c.strides[i + 1]!)};`));
  perRow.forEach((r, i) => lines.push(`const ${r.name} = ${r.arg}[${address(r.offset, coords, c.strides[reads.length + i + 1]!)}];`));
  lines.push('let acc = 0.0;');
  const step = (j: string) => [
    ...reads.map((r) => `const ${r.name} = ${r.arg}[${r.name}Base + ${j} * ${lit(r.strides[r.strides.length - 1]!)}];`),
    `acc = acc + ${value};`,
  ];
  lines.push(...loop(len, 'j', step, true), `return ${result};`);
  return fn(argList([...reads, ...perRow], extraArgs), lines);
}

/** Per row of x [...rows, len] (strides given): the max (`arg` false) or the first index of the max/min. */
export function rowArgSource(rows: Shape, len: number, strides: readonly number[], better: '>' | '<', wantIndex: boolean): KernelSource {
  const c = collapseAxes(rows, [contiguousStrides(rows), strides.slice(0, -1)]);
  const { code, coords } = decompose(c.shape, 't', '');
  const s = lit(strides[strides.length - 1]!);
  return fn(
    ['src0', 'off0'],
    [
      'const t = this.thread.x;',
      ...code,
      `const base = ${address('off0', coords, c.strides[1]!)};`,
      'let best = src0[base];',
      'let at = 0.0;',
      'let found = best != best ? 1.0 : 0.0;',
      `for (let j = 1; j < ${len}; j++) {`,
      `  const v = src0[base + j * ${s}];`,
      '  if (found == 0.0) {',
      '    if (v != v) {',
      '      best = v;',
      '      at = j;',
      '      found = 1.0;',
      `    } else if (v ${better} best) {`,
      '      best = v;',
      '      at = j;',
      '    }',
      '  }',
      '}',
      `return ${wantIndex ? 'at' : 'best'};`,
    ],
  );
}

/**
 * Batched matmul: out [...batch, m, n] = a [...batch, m, k] · b [...batch, k, n], both read
 * through their strides (so Aᵀ·B and A·Bᵀ of a backward pass are read in place). `blocked`
 * sums the k products in partial sums of 64 (faster in webasm; in GL modes a plain loop is
 * 1.6× faster on llvmpipe, as measured, and its float32 error stays within T32).
 */
export function matmulSource(
  batch: Shape,
  m: number,
  n: number,
  k: number,
  aStrides: readonly number[],
  bStrides: readonly number[],
  blocked = true,
): KernelSource {
  const r = batch.length;
  const c = collapseAxes(batch, [contiguousStrides(batch), aStrides.slice(0, r), bStrides.slice(0, r)]);
  const { code, coords } = decompose([...c.shape, m, n], 't', '');
  const bc = coords.slice(0, c.shape.length);
  const [i, j] = coords.slice(c.shape.length) as [string, string];
  const [asm, ask] = [aStrides[r]!, aStrides[r + 1]!];
  const [bsk, bsn] = [bStrides[r]!, bStrides[r + 1]!];
  const lines = [
    'const t = this.thread.x;',
    ...code,
    `const aBase = ${address('off0', [...bc, i], [...c.strides[1]!, asm])};`,
    `const bBase = ${address('off1', [...bc, j], [...c.strides[2]!, bsn])};`,
    'let acc = 0.0;',
    ...loop(k, 'p', (p) => [`acc = acc + src0[aBase + ${p} * ${lit(ask)}] * src1[bBase + ${p} * ${lit(bsk)}];`], blocked),
    'return acc;',
  ];
  return fn(['src0', 'src1', 'off0', 'off1'], lines);
}

/**
 * gather: out (index's shape) = x[…, index[…], …] along `axis`. The source position is x's
 * offset + Σ_{d≠axis} c_d·xs_d + index value · xs_axis.
 */
export function gatherSource(shape: Shape, axis: number, xStrides: readonly number[], indexStrides: readonly number[]): KernelSource {
  const xs = xStrides.map((s, d) => (d === axis ? 0 : s));
  const c = collapseAxes(shape, [contiguousStrides(shape), indexStrides, xs]);
  const { code, coords } = decompose(c.shape, 't', '');
  return fn(
    ['src0', 'src1', 'off0', 'off1'],
    [
      'const t = this.thread.x;',
      ...code,
      `const id = src1[${address('off1', coords, c.strides[1]!)}];`,
      `return src0[${address('off0', coords, c.strides[2]!)} + id * ${lit(xStrides[axis]!)}];`,
    ],
  );
}

/**
 * scatterAdd into a contiguous target of `shape`: each target element adds every src
 * element whose index (along `axis`) points at it, in index order (the order the CPU
 * kernels add in). Positions outside the index's extent on other axes keep the target.
 */
export function scatterAddSource(shape: Shape, axis: number, indexShape: Shape, indexStrides: readonly number[], srcStrides: readonly number[]): KernelSource {
  const { code, coords } = decompose(shape, 't', '');
  const other = shape.map((_, d) => d).filter((d) => d !== axis);
  const inside = other.filter((d) => indexShape[d]! < shape[d]!).map((d) => `${coords[d]} < ${lit(indexShape[d]!)}`);
  const zeroAxis = (s: readonly number[]) => s.map((v, d) => (d === axis ? 0 : v));
  const lines = [
    'const t = this.thread.x;',
    ...code,
    'let acc = src0[t];',
    `const ib = ${address('off1', coords, zeroAxis(indexStrides))};`,
    `const sb = ${address('off2', coords, zeroAxis(srcStrides))};`,
  ];
  const body = [
    `for (let i = 0; i < ${indexShape[axis]}; i++) {`,
    `  const id = src1[ib + i * ${lit(indexStrides[axis]!)}];`,
    `  if (Math.abs(id - ${coords[axis]}) < 0.5) {`,
    `    acc = acc + src2[sb + i * ${lit(srcStrides[axis]!)}];`,
    '  }',
    '}',
  ];
  if (inside.length > 0) lines.push(`if (${inside.join(' && ')}) {`, ...body.map((s) => `  ${s}`), '}');
  else lines.push(...body);
  lines.push('return acc;');
  return fn(['src0', 'src1', 'src2', 'off1', 'off2'], lines);
}
