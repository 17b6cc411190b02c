// What the elementwise WebAssembly kernels (exp, SiLU, softmax: exp-kernels.ts; GELU:
// gelu-kernels.ts) share: a task's range of elements, two float64 lanes at a time (a float32
// pair is widened, computed in float64 and rounded once on the store, as the JavaScript
// reference's Float32Array store rounds), constants splatted into locals, and the per-task
// flag that hands lanes a kernel cannot compute back to JavaScript.

import { Func } from '../../base/wasm-assembler.ts';

/**
 * The element range of task t: [t·perTask, min(n, (t + 1)·perTask)), as byte addresses
 * into each array (of `bytes`-byte elements) and a count (≥ 1: the caller makes
 * ⌈n / perTask⌉ tasks).
 */
export function taskRange(f: Func, [task, n, perTask]: [number, number, number], arrays: number[], count: number, bytes = 4): void {
  const first = f.local('i32');
  f.get(task).get(perTask).op('i32.mul').set(first);
  f.get(n).get(first).op('i32.sub').set(count);
  f.get(count).get(perTask).get(count).get(perTask).op('i32.lt_u').op('select').set(count); // min(count, perTask)
  for (const a of arrays) f.get(a).get(first).i32(bytes).op('i32.mul').op('i32.add').set(a);
}

/**
 * The rows of task t: row = t·rowsPerTask up to rowEnd = min(rows, row + rowsPerTask) (locals
 * set here), and each float32 array's address moved to the task's first row of `len`.
 */
export function rowRange(f: Func, [task, rowsPerTask, rows, len]: [number, number, number, number], arrays: number[], row: number, rowEnd: number): void {
  f.get(task).get(rowsPerTask).op('i32.mul').set(row);
  f.get(row).get(rowsPerTask).op('i32.add').set(rowEnd);
  f.get(rowEnd).get(rows).get(rowEnd).get(rows).op('i32.lt_u').op('select').set(rowEnd); // min(rowEnd, rows)
  for (const a of arrays) f.get(a).get(row).get(len).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(a);
}

/** How one dtype's elements are read and written two (a pair) or one (a single) at a time, as f64 lanes. */
export interface Lanes {
  bytes: 4 | 8;
  /** Pushes the pair (or the single, in both lanes: a tail's lane 1 is a copy, never garbage) at the address on the stack. */
  load(f: Func, single: boolean): void;
  /** Stores the f64 lanes on the stack at the address below them: both, or lane 0 only. */
  store(f: Func, single: boolean): void;
}
export const FLOAT32: Lanes = {
  bytes: 4,
  load: (f, single) => f.mem(single ? 'v128.load32_splat' : 'v128.load64_zero').op('f64x2.promote_low_f32x4'),
  store: (f, single) => (single ? f.extractLane(0).op('f32.demote_f64').mem('f32.store') : f.op('f32x4.demote_f64x2_zero').storeLane64(0)),
};
export const FLOAT64: Lanes = {
  bytes: 8,
  load: (f, single) => f.mem(single ? 'v128.load64_splat' : 'v128.load'),
  store: (f, single) => (single ? f.extractLane(0).mem('f64.store') : f.mem('v128.store')),
};

/**
 * Runs `body(single)` over `count` elements in pairs (single = false), then once more for
 * an odd last element (single = true). `count` must be ≥ 1; `at` (a byte offset local, from
 * 0) advances by one pair each time.
 */
export function pairs(f: Func, t: Lanes, count: number, at: number, body: (single: boolean) => void): void {
  const left = f.local('i32');
  f.i32(0).set(at);
  f.get(count).i32(1).op('i32.shr_u').set(left);
  f.block(() => {
    f.get(left).op('i32.eqz').brIf(0);
    f.loop(() => {
      body(false);
      f.get(at)
        .i32(2 * t.bytes)
        .op('i32.add')
        .set(at);
      f.get(left).i32(1).op('i32.sub').tee(left).brIf(0);
    });
  });
  f.block(() => {
    f.get(count).i32(1).op('i32.and').op('i32.eqz').brIf(0);
    body(true);
  });
}

/** The float32 instructions for `width` elements at once: four lanes of a v128, or one scalar. */
export function float32Ops(width: 4 | 1) {
  return width === 4
    ? ({ load: 'v128.load', store: 'v128.store', add: 'f32x4.add', sub: 'f32x4.sub', mul: 'f32x4.mul', div: 'f32x4.div' } as const)
    : ({ load: 'f32.load', store: 'f32.store', add: 'f32.add', sub: 'f32.sub', mul: 'f32.mul', div: 'f32.div' } as const);
}

/**
 * Runs `body(width)` for the byte offset `at` (a local, set to 0 here) = 0, 4·width, … while
 * at + 4·width ≤ `end` (a local, in bytes): four float32 elements at a time (width 4) while
 * four remain, then one at a time.
 */
export function fourThenOne(f: Func, at: number, end: number, body: (width: 4 | 1) => void): void {
  f.i32(0).set(at);
  for (const width of [4, 1] as const)
    f.block(() => {
      f.loop(() => {
        f.get(at)
          .i32(4 * width)
          .op('i32.add')
          .get(end)
          .op('i32.gt_u')
          .brIf(1); // fewer than `width` elements left
        body(width);
        f.get(at)
          .i32(4 * width)
          .op('i32.add')
          .set(at);
        f.br(0);
      });
    });
}

/** Sets the v128 local `inRange` to all ones: no lane out of range yet. */
export const startTask = (f: Func, inRange: number) => f.i32(-1).op('i32x4.splat').set(inRange);

/** Stores the task's flag, an i32 at flags + 4·task: 1 if a lane was out of range, else 0. */
export const flagTask = (f: Func, flags: number, task: number, inRange: number) =>
  f.get(flags).get(task).i32(4).op('i32.mul').op('i32.add').get(inRange).op('i64x2.all_true').op('i32.eqz').mem('i32.store');

/** Each named f64 splatted into a v128 local, once per call; returns the local of a name. */
export function splatConstants<K extends string>(f: Func, constants: Record<K, number>): (name: K) => number {
  const at = new Map<string, number>();
  for (const [name, value] of Object.entries(constants) as [K, number][]) {
    const l = f.local('v128');
    f.f64(value).op('f64x2.splat').set(l);
    at.set(name, l);
  }
  return (name) => at.get(name)!;
}

/**
 * An elementwise kernel map(task, x₁…x_arity, out, n, perTask, e₁…e_extras, flags) over
 * elements [task·perTask, …) of n: `body` pushes the f64 lanes of out from the locals holding
 * the inputs' lanes; it may clear lanes of the v128 local `inRange` (then the task is flagged
 * and JavaScript recomputes it). e₁… are extra i32 parameters (a table's address).
 */
export function mapFunc<K extends string>(
  t: Lanes,
  arity: number,
  extras: number,
  constants: Record<K, number>,
  body: (f: Func, c: (name: K) => number, inputs: number[], inRange: number, extra: number[]) => void,
): Func {
  const f = new Func(Array(arity + 5 + extras).fill('i32'));
  const task = 0,
    ins = Array.from({ length: arity }, (_, i) => 1 + i),
    [out, n, perTask] = [arity + 1, arity + 2, arity + 3],
    extra = Array.from({ length: extras }, (_, i) => arity + 4 + i),
    flags = arity + 4 + extras;
  const count = f.local('i32'),
    at = f.local('i32'),
    inRange = f.local('v128');
  const lanes = ins.map(() => f.local('v128'));
  const c = splatConstants(f, constants);
  taskRange(f, [task, n, perTask], [...ins, out], count, t.bytes);
  startTask(f, inRange);
  pairs(f, t, count, at, (single) => {
    ins.forEach((a, i) => {
      f.get(a).get(at).op('i32.add');
      t.load(f, single);
      f.set(lanes[i]!);
    });
    f.get(out).get(at).op('i32.add');
    body(f, c, lanes, inRange, extra);
    t.store(f, single);
  });
  flagTask(f, flags, task, inRange);
  return f;
}
