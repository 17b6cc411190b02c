// A tiny WebAssembly binary emitter: just enough to write numeric kernels by
// hand, with no toolchain. It knows a handful of opcodes and nothing else.
//
// The binary format in brief:
// - A module is the magic "\0asm", version 1, then numbered sections, each
//   written as: id byte, byte length, contents.
// - Integers are LEB128: 7 bits per byte, low bits first, the high bit set on
//   every byte but the last. Signed constants use the two's-complement variant.
// - A "vec" is a count followed by that many items.
// - Function code is a stack machine: `local.get x; local.get y; i32.add`
//   pushes x and y and leaves x + y. Control flow is structured: `loop`
//   opens a label closed by `end`, and `br_if d` pops a value and, if it is
//   non-zero, jumps to the d-th enclosing label (for a loop, its start).
// - SIMD instructions share the 0xfd prefix, followed by a LEB128 sub-opcode.

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    // Done once the rest is pure sign extension of the byte's top bit.
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const simd = (op: number): number[] => [0xfd, ...uleb(op)];

/** Instructions without immediates. */
const OPS = {
  'i32.add': [0x6a],
  'i32.sub': [0x6b],
  'i32.mul': [0x6c],
  'i32.eq': [0x46],
  'i32.ne': [0x47],
  'i32.gt_u': [0x4b],
  'i32.div_u': [0x6e],
  'i32.rem_u': [0x70],
  'i32.lt_u': [0x49],
  'i32.eqz': [0x45],
  'i32.and': [0x71],
  'i32.or': [0x72],
  'i32.shr_u': [0x76],
  'i32.trunc_f64_s': [0xaa], // traps outside the i32 range: callers keep it inside
  'f64.abs': [0x99],
  'f64.add': [0xa0],
  'f64.sub': [0xa1],
  'f64.mul': [0xa2],
  'f64.div': [0xa3],
  'f64.sqrt': [0x9f],
  'f64.neg': [0x9a],
  'f64.copysign': [0xa6],
  'f64.ne': [0x62],
  'f64.lt': [0x63],
  'f64.gt': [0x64],
  'f64.convert_i32_s': [0xb7],
  'f64.promote_f32': [0xbb],
  'f32.demote_f64': [0xb6], // rounds to nearest, ties to even, as a Float32Array store does
  // select: pops c, then b, then a; pushes c ≠ 0 ? a : b.
  select: [0x1b],
  unreachable: [0x00], // traps: a RuntimeError in the caller
  'f32.add': [0x92],
  'f32.sub': [0x93],
  'f32.mul': [0x94],
  'f32.div': [0x95],
  'f32.reinterpret_i32': [0xbe],
  'f32x4.splat': simd(0x13),
  'f32x4.add': simd(0xe4),
  'f32x4.sub': simd(0xe5),
  'f32x4.mul': simd(0xe6),
  'f32x4.div': simd(0xe7),
  'f64x2.add': simd(0xf0),
  'f64x2.mul': simd(0xf2),
  'f64x2.sub': simd(0xf1),
  'f64x2.div': simd(0xf3),
  'f64x2.abs': simd(0xec),
  'f64x2.eq': simd(0x47),
  'f64x2.lt': simd(0x49), // lane-wise: all ones where a < b (false for NaN), else zeros
  'f64x2.trunc': simd(0x7a),
  'f64x2.splat': simd(0x14),
  'f64x2.promote_low_f32x4': simd(0x5f),
  'f32x4.demote_f64x2_zero': simd(0x5e), // rounds like f32.demote_f64; the high two lanes become 0
  'i32x4.splat': simd(0x11),
  'i32x4.add': simd(0xae),
  'i32x4.trunc_sat_f64x2_s_zero': simd(0xfc),
  'i64x2.extend_low_i32x4_s': simd(0xc7),
  'i64x2.shl': simd(0xcb), // by an i32 count
  'i64x2.all_true': simd(0xc3),
  'v128.and': simd(0x4e),
  'v128.andnot': simd(0x4f), // a & ~b
  'v128.or': simd(0x50),
  // bitselect: pops c, then b, then a; pushes (a & c) | (b & ~c).
  'v128.bitselect': simd(0x52),
  // Relaxed SIMD (fused where the hardware has FMA): relaxed_madd(a, b, c) = a·b + c.
  'f32x4.relaxed_madd': simd(0x105),
  'f64x2.relaxed_madd': simd(0x107),
} satisfies Record<string, number[]>;

/** Memory instructions, with log2 of their natural alignment. */
const MEM_OPS = {
  'f32.load': { code: [0x2a], align: 2 },
  'f32.store': { code: [0x38], align: 2 },
  'f64.load': { code: [0x2b], align: 3 },
  'f64.store': { code: [0x39], align: 3 },
  'i32.load': { code: [0x28], align: 2 },
  'i32.store': { code: [0x36], align: 2 },
  'v128.load': { code: simd(0x00), align: 4 },
  'v128.store': { code: simd(0x0b), align: 4 },
  // Load one scalar and broadcast it to every lane.
  'v128.load32_splat': { code: simd(0x09), align: 2 },
  'v128.load64_splat': { code: simd(0x0a), align: 3 },
  // Load one 64-bit value into the low half, zero the high half.
  'v128.load64_zero': { code: simd(0x5d), align: 3 },
} satisfies Record<string, { code: number[]; align: number }>;

export type Op = keyof typeof OPS;
export type MemOp = keyof typeof MEM_OPS;

/** One function's body, built by appending instructions. */
export class Func {
  private readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(readonly params: ValType[]) {}

  /** Declares a local and returns its index (parameters come first). */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  get(index: number): this {
    return this.emit(0x20, ...uleb(index));
  }
  set(index: number): this {
    return this.emit(0x21, ...uleb(index));
  }
  /** Like set, but leaves the value on the stack. */
  tee(index: number): this {
    return this.emit(0x22, ...uleb(index));
  }
  i32(value: number): this {
    return this.emit(0x41, ...sleb(value));
  }
  /** An f64 constant, bit for bit (little-endian IEEE 754). */
  f64(value: number): this {
    return this.emit(0x44, ...new Uint8Array(new Float64Array([value]).buffer));
  }
  op(name: Op): this {
    return this.emit(...OPS[name]);
  }
  /** f64x2.extract_lane: pushes lane `lane` of the v128 on the stack as an f64. */
  extractLane(lane: 0 | 1): this {
    return this.emit(...simd(0x21), lane);
  }
  call(func: number): this {
    return this.emit(0x10, ...uleb(func));
  }

  /** Loads/stores take the address from the stack plus a constant byte offset. */
  mem(name: MemOp, offset = 0): this {
    const { code, align } = MEM_OPS[name];
    return this.emit(...code, align, ...uleb(offset));
  }

  /** i32x4.extract_lane: pushes lane `lane` of the v128 on the stack as an i32. */
  extractLaneI32(lane: 0 | 1 | 2 | 3): this {
    return this.emit(...simd(0x1b), lane);
  }

  /**
   * v128.load64_lane: pops a v128, then an address; pushes the v128 with lane `lane` replaced
   * by the 64 bits at address + offset.
   */
  loadLane64(lane: 0 | 1, offset = 0): this {
    return this.emit(...simd(0x57), 3, ...uleb(offset), lane);
  }

  /** v128.store64_lane: stores the low (lane 0) or high 64 bits of a v128 at the address below it. */
  storeLane64(lane: 0 | 1, offset = 0): this {
    return this.emit(...simd(0x5b), 3, ...uleb(offset), lane);
  }

  /** `loop ... end`: `br_if 0` inside it jumps back to the top. */
  loop(body: () => void): this {
    this.emit(0x03, 0x40); // 0x40: the loop yields no value
    body();
    return this.emit(0x0b);
  }

  /** `br depth`: jumps to the depth-th enclosing label (a loop's start, a block's end). */
  br(depth: number): this {
    return this.emit(0x0c, ...uleb(depth));
  }

  brIf(depth: number): this {
    return this.emit(0x0d, ...uleb(depth));
  }

  /** `if ... else ... end` on the i32 popped from the stack; each arm leaves one value of `result`. */
  ifElse(result: ValType, then: () => void, otherwise: () => void): this {
    this.emit(0x04, VALTYPE[result]);
    then();
    this.emit(0x05);
    otherwise();
    return this.emit(0x0b);
  }

  /** `block ... end`: `br_if d` reaching it jumps past its end (a forward exit). */
  block(body: () => void): this {
    this.emit(0x02, 0x40);
    body();
    return this.emit(0x0b);
  }

  /** The body as the code section stores it: locals, instructions, `end`. */
  encode(): number[] {
    const decls = this.locals.flatMap((t) => [1, VALTYPE[t]]); // runs of 1
    const body = [...uleb(this.locals.length), ...decls, ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }

  private emit(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
}

/**
 * Where a module's memory comes from: by default it defines (and exports) its own; with
 * `imported`, it takes `env.memory` from the instantiator, which is how several threads
 * run one module on one memory. A shared memory must declare its maximum size (in 64 KiB
 * pages) up front, so that it never moves when it grows.
 */
export interface MemoryDecl {
  imported: { shared: boolean; maximumPages: number };
}

/** A module with one memory and a list of functions (no results). */
export class Module {
  private readonly funcs: { func: Func; name?: string }[] = [];

  constructor(private readonly memory?: MemoryDecl) {}

  /** Adds a function, exported if named, and returns its index for `call`. */
  add(func: Func, name?: string): number {
    return this.funcs.push({ func, name }) - 1;
  }

  encode(): Uint8Array<ArrayBuffer> {
    const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
    const section = (id: number, contents: number[]) => [id, ...uleb(contents.length), ...contents];
    const str = (s: string) => [...uleb(s.length), ...[...s].map((ch) => ch.charCodeAt(0))];

    // One type per function keeps things simple; duplicates are legal.
    const types = this.funcs.map(({ func }) => [0x60, ...vec(func.params.map((t) => [VALTYPE[t]])), 0]);
    const exports = [[...str('memory'), 0x02, 0]]; // memory 0
    this.funcs.forEach(({ name }, i) => {
      if (name) exports.push([...str(name), 0x00, ...uleb(i)]);
    });
    const imported = this.memory?.imported;
    // Limits: flags (bit 0: has a maximum, bit 1: shared), initial pages, maximum pages.
    const limits = imported ? [imported.shared ? 0x03 : 0x01, 1, ...uleb(imported.maximumPages)] : [0x00, 1];

    return new Uint8Array([
      0x00,
      0x61,
      0x73,
      0x6d,
      1,
      0,
      0,
      0, // "\0asm", version 1
      ...section(1, vec(types)),
      // Import section: env.memory, kind 0x02 (memory). Imports of memory do not shift function indices.
      ...(imported ? section(2, vec([[...str('env'), ...str('memory'), 0x02, ...limits]])) : []),
      ...section(3, vec(this.funcs.map((_, i) => uleb(i)))), // function i has type i
      ...(imported ? [] : section(5, vec([limits]))), // or one memory of its own: 1 page initially
      ...section(7, vec(exports)),
      ...section(10, vec(this.funcs.map(({ func }) => func.encode()))),
    ]);
  }
}
