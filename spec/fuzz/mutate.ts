/**
 * Mutators for the fuzz suite: edits of byte strings and of JSON trees, drawn by
 * fast-check (so every case has a seed and shrinks), applied to copies. Kept apart from
 * harness.ts (which imports vitest) so a counterexample can be replayed with tsx.
 */
import fc from 'fast-check';

// ---- bytes -----------------------------------------------------------------------------

/** One edit of a byte string; positions are fractions of the length, so any base fits. */
export type ByteEdit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'repeat'; at: number; length: number };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

export const arbByteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fraction, bit: fc.integer({ min: 0, max: 7 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      at: fraction,
      value: fc.constantFrom(0, 0x20, 0x22, 0x2c, 0x2e, 0x30, 0x39, 0x5b, 0x5d, 0x7b, 0x7d, 0x5c, 0x7f, 0x80, 0xff),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fraction, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fraction, length: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fraction }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('repeat' as const), at: fraction, length: fc.integer({ min: 1, max: 32 }) }) },
);

export const arbByteEdits = fc.array(arbByteEdit, { minLength: 1, maxLength: 4 });

/**
 * Apply edits to a copy; the result is never more than a few hundred bytes longer than
 * the input. Positions fall in [from, length) (`from` 8 spares a safetensors length field,
 * whose every change is caught by the first check, so that edits reach the header).
 */
export function applyByteEdits(input: Uint8Array, edits: readonly ByteEdit[], from = 0): Uint8Array {
  let b: Uint8Array = input.slice();
  for (const e of edits) {
    const start = Math.min(from, b.length);
    const at = start + Math.floor(e.at * (b.length - start + (e.op === 'insert' ? 1 : 0)));
    switch (e.op) {
      case 'flip':
        if (b.length > 0) b[at]! ^= 1 << e.bit;
        break;
      case 'set':
        if (b.length > 0) b[at] = e.value;
        break;
      case 'insert':
        b = concat(b.subarray(0, at), e.bytes, b.subarray(at));
        break;
      case 'delete':
        b = concat(b.subarray(0, at), b.subarray(at + e.length));
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'repeat':
        b = concat(b.subarray(0, at + e.length), b.subarray(at));
        break;
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- JSON trees -------------------------------------------------------------------------

/** One edit of a JSON value at one of its nodes (chosen by index among all nodes). */
export type JsonEdit =
  | { op: 'replace'; node: number; value: unknown }
  | { op: 'delete'; node: number }
  | { op: 'rename'; node: number; key: string }
  | { op: 'wrap'; node: number; depth: number; as: 'array' | 'normalizers' | 'pretokenizers' }
  | { op: 'number'; node: number; value: number };

/** Values that break loaders in practice: wrong types, huge and fractional numbers, special keys. */
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 0.5, 1.5, 2 ** 31, 2 ** 40, 2 ** 53, 1e308, -0, '5', '', '../x', '/abs', 'a/b', '..', [], {}, null, true, '\u0000', '▁', ' '),
);
const nastyKey = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'type', 'model', 'vocab', 'merges', 'weight_map'),
);

export const arbJsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), node: fc.nat(), value: nasty }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), node: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rename' as const), node: fc.nat(), key: nastyKey }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('wrap' as const),
      node: fc.nat(),
      depth: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(200), fc.constant(5000)),
      as: fc.constantFrom('array' as const, 'normalizers' as const, 'pretokenizers' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('number' as const),
      node: fc.nat(),
      value: fc.oneof(fc.integer({ min: -3, max: 300 }), fc.double({ noNaN: true })),
    }),
  },
);

export const arbJsonEdits = fc.array(arbJsonEdit, { minLength: 1, maxLength: 3 });

type Container = Record<string, unknown> | unknown[];
interface Slot {
  parent: Container;
  key: string | number;
}

/** Every node below the root, as (parent, key), in a fixed depth-first order (iterative: any depth). */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) node.forEach((_, i) => (out.push({ parent: node, key: i }), stack.push(node[i])));
    else if (typeof node === 'object' && node !== null) {
      for (const k of Object.keys(node)) {
        out.push({ parent: node as Record<string, unknown>, key: k });
        stack.push((node as Record<string, unknown>)[k]);
      }
    }
  }
  return out;
}

/** Apply edits to a deep copy of `value` (a JSON tree). */
export function applyJsonEdits<T>(value: T, edits: readonly JsonEdit[]): T {
  const root = { root: structuredClone(value) } as Record<string, unknown>;
  for (const e of edits) {
    const all = slots(root);
    const { parent, key } = all[e.node % all.length]!;
    const get = () => (parent as Record<string | number, unknown>)[key];
    const set = (v: unknown) => Object.defineProperty(parent, key, { value: v, enumerable: true, writable: true, configurable: true });
    switch (e.op) {
      case 'replace':
        set(structuredClone(e.value));
        break;
      case 'number':
        set(e.value);
        break;
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else if (parent !== root) delete parent[key as string];
        break;
      case 'rename':
        if (!Array.isArray(parent) && parent !== root) {
          const v = get();
          delete parent[key as string];
          Object.defineProperty(parent, e.key, { value: v, enumerable: true, writable: true, configurable: true });
        }
        break;
      case 'wrap': {
        let v = get();
        // Nested arrays, or nested Sequence components (the tokenizer.json shape that overflowed the stack).
        for (let i = 0; i < e.depth; i++) v = e.as === 'array' ? [v] : { type: 'Sequence', [e.as]: [v] };
        set(v);
        break;
      }
    }
  }
  return root.root as T;
}

/** JSON text of a tree, or null when it is too deep for JSON.stringify (such trees are tested as objects only). */
export function jsonText(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

/** A short description of a case for failure messages. */
export function describeCase(base: string, edits: unknown): string {
  const text = JSON.stringify(edits, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes[${[...v].join(',')}]` : v));
  return `${base} with edits ${text.length > 400 ? `${text.slice(0, 400)}…` : text}`;
}
