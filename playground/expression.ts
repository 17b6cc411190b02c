/**
 * A tiny, safe expression language for the playground: what a learner types in the text
 * box, e.g. `(a * b + a.exp()).sum()`. It is parsed by hand (a recursive-descent parser,
 * one function per precedence level) and evaluated by walking the tree — never with
 * `eval` or `new Function`, so the box can run nothing but tensor ops from the allow-list
 * below.
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := '-' unary | postfix
 *   postfix := primary ('.' name '(' [expr (',' expr)*] ')' | '.T')*
 *   primary := number | name | '(' expr ')'
 *
 * The variables (`a`, `b`, …) are given as `name = [[1, 2], [3, 4]]` lines, parsed with
 * JSON.parse: nested arrays of numbers, nothing else.
 */
import { Tensor, tensor } from '../index.ts';

export type Expr =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'name'; name: string; at: number }
  | { kind: 'neg'; operand: Expr; at: number }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr; at: number }
  | { kind: 'call'; receiver: Expr; method: string; args: Expr[]; at: number };

/** A mistake in what was typed, with the character position it was found at. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(`${message} (at character ${at + 1})`);
    this.name = 'ExpressionError';
  }
}

type Token = { kind: 'number'; value: number; at: number } | { kind: 'name'; value: string; at: number } | { kind: 'punct'; value: string; at: number };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|([-+*/().,]))/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) throw new ExpressionError(`unexpected character '${src.slice(i).trimStart()[0]}'`, i + (src.slice(i).length - src.slice(i).trimStart().length));
    const at = m.index + m[0].length - (m[1] ?? m[2] ?? m[3])!.length;
    if (m[1] !== undefined) tokens.push({ kind: 'number', value: Number(m[1]), at });
    else if (m[2] !== undefined) tokens.push({ kind: 'name', value: m[2], at });
    else tokens.push({ kind: 'punct', value: m[3]!, at });
    i = re.lastIndex;
  }
  return tokens;
}

/** Parse `src` into an expression tree; throws ExpressionError with a position. */
export function parse(src: string): Expr {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const end = src.length;
  const isPunct = (value: string) => peek()?.kind === 'punct' && peek()!.value === value;
  const expect = (value: string) => {
    if (!isPunct(value)) throw new ExpressionError(`expected '${value}'`, peek()?.at ?? end);
    pos++;
  };

  function expr(): Expr {
    let left = term();
    while (isPunct('+') || isPunct('-')) {
      const { value, at } = tokens[pos++]!;
      left = { kind: 'binary', op: value as '+' | '-', left, right: term(), at };
    }
    return left;
  }
  function term(): Expr {
    let left = unary();
    while (isPunct('*') || isPunct('/')) {
      const { value, at } = tokens[pos++]!;
      left = { kind: 'binary', op: value as '*' | '/', left, right: unary(), at };
    }
    return left;
  }
  function unary(): Expr {
    if (isPunct('-')) {
      const at = tokens[pos++]!.at;
      return { kind: 'neg', operand: unary(), at };
    }
    return postfix();
  }
  function postfix(): Expr {
    let e = primary();
    while (isPunct('.')) {
      pos++;
      const name = peek();
      if (name?.kind !== 'name') throw new ExpressionError('expected a method name after "."', name?.at ?? end);
      pos++;
      if (name.value === 'T') {
        e = { kind: 'call', receiver: e, method: 'T', args: [], at: name.at };
        continue;
      }
      expect('(');
      const args: Expr[] = [];
      if (!isPunct(')')) {
        args.push(expr());
        while (isPunct(',')) {
          pos++;
          args.push(expr());
        }
      }
      expect(')');
      e = { kind: 'call', receiver: e, method: name.value, args, at: name.at };
    }
    return e;
  }
  function primary(): Expr {
    const t = peek();
    if (!t) throw new ExpressionError('the expression ends too early', end);
    pos++;
    if (t.kind === 'number') return { kind: 'number', value: t.value, at: t.at };
    if (t.kind === 'name') return { kind: 'name', name: t.value, at: t.at };
    if (t.value === '(') {
      const inner = expr();
      expect(')');
      return inner;
    }
    throw new ExpressionError(`unexpected '${t.value}'`, t.at);
  }

  const tree = expr();
  if (pos < tokens.length) throw new ExpressionError(`unexpected '${String(tokens[pos]!.value)}'`, tokens[pos]!.at);
  return tree;
}

type Value = Tensor | number;

/**
 * The methods a learner may call, each mapped to the Tensor method it runs: a lookup in
 * this table, never a property read on the tensor, so `a.constructor` or `a.__proto__`
 * are refused rather than reached. The number is how many arguments it takes at most.
 */
const METHODS: Record<string, { args: number; run: (t: Tensor, args: Value[]) => Tensor }> = {
  exp: { args: 0, run: (t) => t.exp() },
  log: { args: 0, run: (t) => t.log() },
  sqrt: { args: 0, run: (t) => t.sqrt() },
  abs: { args: 0, run: (t) => t.abs() },
  neg: { args: 0, run: (t) => t.neg() },
  sin: { args: 0, run: (t) => t.sin() },
  cos: { args: 0, run: (t) => t.cos() },
  tanh: { args: 0, run: (t) => t.tanh() },
  sigmoid: { args: 0, run: (t) => t.sigmoid() },
  relu: { args: 0, run: (t) => t.relu() },
  gelu: { args: 0, run: (t) => t.gelu() },
  silu: { args: 0, run: (t) => t.silu() },
  T: { args: 0, run: (t) => t.T },
  transpose: { args: 0, run: (t) => t.transpose() },
  sum: { args: 1, run: (t, [axis]) => t.sum(axisOf('sum', axis)) },
  mean: { args: 1, run: (t, [axis]) => t.mean(axisOf('mean', axis)) },
  softmax: { args: 1, run: (t, [axis]) => t.softmax(axisOf('softmax', axis) ?? -1) },
  logSoftmax: { args: 1, run: (t, [axis]) => t.logSoftmax(axisOf('logSoftmax', axis) ?? -1) },
  add: { args: 1, run: (t, [x]) => t.add(operand('add', x)) },
  sub: { args: 1, run: (t, [x]) => t.sub(operand('sub', x)) },
  mul: { args: 1, run: (t, [x]) => t.mul(operand('mul', x)) },
  div: { args: 1, run: (t, [x]) => t.div(operand('div', x)) },
  pow: { args: 1, run: (t, [x]) => t.pow(operand('pow', x)) },
  maximum: { args: 1, run: (t, [x]) => t.maximum(operand('maximum', x)) },
  minimum: { args: 1, run: (t, [x]) => t.minimum(operand('minimum', x)) },
  matmul: {
    args: 1,
    run: (t, [x]) => {
      if (!(x instanceof Tensor)) throw new ExpressionError('matmul() takes a tensor', 0);
      return t.matmul(x);
    },
  },
};

/** The methods the text box accepts, for the page's help line. */
export const METHOD_NAMES = Object.keys(METHODS).filter((m) => m !== 'T');

function axisOf(method: string, v: Value | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ExpressionError(`${method}() takes an integer axis`, 0);
  return v;
}
function operand(method: string, v: Value | undefined): Value {
  if (v === undefined) throw new ExpressionError(`${method}() needs an argument`, 0);
  return v;
}

/** A number on the left of a tensor op becomes a constant tensor of the right operand's dtype. */
const asTensor = (v: Value, like: Tensor) => (typeof v === 'number' ? tensor(v, { dtype: like.dtype }) : v);

/** Evaluate a parsed expression over the named tensors; numbers stay numbers until they meet a tensor. */
export function evaluate(e: Expr, env: ReadonlyMap<string, Tensor>): Value {
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'name': {
      const t = env.get(e.name);
      if (!t) throw new ExpressionError(`unknown name '${e.name}' (defined: ${[...env.keys()].join(', ') || 'none'})`, e.at);
      return t;
    }
    case 'neg': {
      const v = evaluate(e.operand, env);
      return typeof v === 'number' ? -v : v.neg();
    }
    case 'binary': {
      const l = evaluate(e.left, env);
      const r = evaluate(e.right, env);
      if (typeof l === 'number' && typeof r === 'number') return e.op === '+' ? l + r : e.op === '-' ? l - r : e.op === '*' ? l * r : l / r;
      const left = typeof l === 'number' ? asTensor(l, r as Tensor) : l;
      return e.op === '+' ? left.add(r) : e.op === '-' ? left.sub(r) : e.op === '*' ? left.mul(r) : left.div(r);
    }
    case 'call': {
      // Object.hasOwn: `toString` or `constructor` are not in the table, whatever the prototype holds.
      const method = Object.hasOwn(METHODS, e.method) ? METHODS[e.method]! : undefined;
      if (!method) throw new ExpressionError(`'${e.method}' is not an allowed method (allowed: ${METHOD_NAMES.join(', ')}, .T)`, e.at);
      if (e.args.length > method.args) throw new ExpressionError(`${e.method}() takes at most ${method.args} argument(s)`, e.at);
      const receiver = evaluate(e.receiver, env);
      if (!(receiver instanceof Tensor)) throw new ExpressionError(`${e.method}() needs a tensor on its left, got a number`, e.at);
      try {
        return method.run(
          receiver,
          e.args.map((a) => evaluate(a, env)),
        );
      } catch (error) {
        if (error instanceof ExpressionError) throw new ExpressionError(error.message.replace(/ \(at character \d+\)$/, ''), e.at);
        throw error;
      }
    }
  }
}

/**
 * Parse the variable box: one `name = JSON array or number` per line, `#` starts a comment.
 * Every variable is a float64 leaf that requires grad, so each gets a gradient.
 */
export function parseVariables(src: string): Map<string, Tensor> {
  const env = new Map<string, Tensor>();
  src.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const m = /^([A-Za-z_]\w*)\s*=\s*(.+)$/.exec(line);
    if (!m) throw new ExpressionError(`line ${i + 1}: expected 'name = [numbers]'`, 0);
    let value: unknown;
    try {
      value = JSON.parse(m[2]!);
    } catch {
      throw new ExpressionError(`line ${i + 1}: '${m[2]}' is not a number or a nested array of numbers`, 0);
    }
    if (!isNested(value)) throw new ExpressionError(`line ${i + 1}: '${m[2]}' is not a number or a nested array of numbers`, 0);
    env.set(m[1]!, tensor(value as Parameters<typeof tensor>[0], { dtype: 'float64' }).setRequiresGrad());
  });
  return env;
}

const isNested = (v: unknown): boolean => (typeof v === 'number' && Number.isFinite(v)) || (Array.isArray(v) && v.length > 0 && v.every(isNested));

/** Parse and evaluate in one go; the result must be a tensor (a bare number has no graph). */
export function run(expression: string, env: ReadonlyMap<string, Tensor>): Tensor {
  const v = evaluate(parse(expression), env);
  if (!(v instanceof Tensor)) throw new ExpressionError('the expression is a plain number: use at least one variable', 0);
  return v;
}
