/**
 * The parameter-group shell around pure update rules (docs/ARCHITECTURE.md, Optimizers: burn's
 * rules, PyTorch's groups).
 *
 * A `Rule` is a plain object of functions over typed arrays: `dense(param, grad, state,
 * hyper, step)` and/or `sparse(param, indices, values, state, hyper, step)`. Tests call
 * them directly; `Optimizer` only finds each parameter's gradient, picks the update for
 * its kind (dense `Tensor` or `SparseCoo`), counts steps and keeps the state. So one
 * optimizer can hold a SparseAdam group and an AdamW group side by side.
 */
import { noGrad } from '../core/autograd.ts';
import { allocate, isFloat, torchName, type FloatDType, type FloatStorage } from '../base/dtype.ts';
import { DTypeError, ShapeError, ValueError } from '../base/errors.ts';
import { formatShape, sameShape } from '../base/shape.ts';
import { SparseCoo } from '../core/sparse.ts';
import { Tensor } from '../core/tensor.ts';

/** What every rule's hyper-parameters share: schedules set `lr`. */
export interface Hyper {
  lr: number;
}

/**
 * A rule's per-parameter buffers (moments, momentum), flat and in the parameter's dtype,
 * or int32 index sets. Optional buffers may be absent (undefined); they are not saved.
 */
export type RuleState = Record<string, FloatStorage | Int32Array | undefined>;

/** Update `param` in place from a dense gradient of the same length. `step` counts from 1. */
export type DenseUpdate<H, S> = (param: FloatStorage, grad: FloatStorage, state: S, hyper: H, step: number) => void;
/** Update `param` in place from a coalesced sparse gradient (strictly increasing flat indices). */
export type SparseUpdate<H, S> = (param: FloatStorage, indices: Int32Array, values: FloatStorage, state: S, hyper: H, step: number) => void;

export interface Rule<H extends Hyper = Hyper, S extends RuleState = RuleState> {
  /** Written into state dicts, so a checkpoint cannot be loaded into the wrong rule. */
  readonly name: string;
  readonly defaults: Readonly<H>;
  /** Throw a ValueError with torch's message for an invalid hyper-parameter. */
  validate(hyper: H): void;
  /** Fresh state for a parameter of `size` elements. */
  init(size: number, dtype: FloatDType, hyper: H): S;
  readonly dense?: DenseUpdate<H, S>;
  readonly sparse?: SparseUpdate<H, S>;
  /**
   * torch's message for the gradient kind this rule has no update for. A rule with
   * `dense`, no `sparse` and no refusal reads a sparse gradient as dense with zeros
   * elsewhere (torch's SGD does the same).
   */
  readonly refusal?: string;
  /** Extra checks of loaded state beyond "same buffers, elementwise ones shaped like the parameter". */
  checkState?(state: S, size: number): string[];
}

/** A rule of any hyper-parameter and state type, as groups hold them. */
// biome-ignore lint/suspicious/noExplicitAny: a rule of any hyper-parameter and state types (an existential type; unknown would reject every concrete rule)
export type AnyRule = Rule<any, any>;

export interface ParamGroup {
  readonly params: readonly Tensor[];
  readonly rule: AnyRule;
  /** Per-group hyper-parameters; writable (schedules set `lr`). */
  hyper: Hyper & Record<string, unknown>;
}

/** A group as given to the constructor: its parameters, optionally its rule, and hyper-parameter overrides. */
export type GroupSpec = { params: readonly Tensor[]; rule?: AnyRule } & Record<string, unknown>;

/** The checkpoint contract: buffers alias the live state (torch's choice); serialize or clone before stepping. */
export interface ParamStateDict {
  step: number;
  [buffer: string]: Tensor | number;
}
export interface OptimizerStateDict {
  /** Keyed by the parameter's index counted across groups in order; parameters that never stepped are absent. */
  state: Record<string, ParamStateDict>;
  /** Each group's hyper-parameters, its rule's name under `rule`, and its parameters' indices. */
  paramGroups: Array<{ params: number[]; [hyper: string]: unknown }>;
}

interface ParamState {
  step: number;
  buffers: RuleState;
}

/**
 * Options of the optimizer itself (not of a rule), given next to the hyper-parameters:
 * `new AdamW(params, { lr: 1e-3, nonFiniteGrads: 'skip' })`.
 */
export interface OptimizerOptions {
  /**
   * What `step()` does when a gradient holds NaN or ±Inf (checked in one pass over all
   * gradients before anything moves, like torch's GradScaler `found_inf` check):
   * - 'ignore' (default, torch's behaviour): no check; the update spreads the NaN/Inf
   *   into the weights and the optimizer state.
   * - 'error': throw a `NonFiniteGradError` naming the parameter; nothing is updated.
   * - 'skip': skip the whole step (no parameter, moment or step counter changes) and
   *   count it in `skippedSteps`.
   */
  nonFiniteGrads?: 'ignore' | 'error' | 'skip';
  /** Names for messages (e.g. from `module.namedParameters()`); unnamed parameters are called by group and index. */
  paramNames?: ReadonlyMap<Tensor, string>;
}

/**
 * A gradient holding NaN or ±Inf under `nonFiniteGrads: 'error'`. A ValueError (a value
 * outside the update's domain) that also carries where: the parameter, its name and the
 * first bad entry (flat index into the parameter) and its value.
 */
export class NonFiniteGradError extends ValueError {
  constructor(
    readonly param: Tensor,
    readonly paramName: string,
    readonly index: number,
    readonly value: number,
    readonly count: number,
  ) {
    super(
      `non-finite gradient for parameter ${paramName} of shape ${formatShape(param.shape)}: entry ${index} is ${value}` +
        ` (${count} non-finite value${count === 1 ? '' : 's'} in its gradient); no parameter was updated.` +
        " Lower the learning rate or check the loss; nonFiniteGrads: 'skip' skips such steps instead",
    );
  }
}

/** Hyper-parameter names as torch's messages call them, for the float32 range check. */
const HYPER_LABELS: Record<string, string> = { lr: 'learning rate', eps: 'epsilon value', weightDecay: 'weight_decay value', momentum: 'momentum value' };

/**
 * The shell over parameter groups that applies one rule per group (above).
 *
 * @example
 * ```ts
 * import { adamW, Optimizer, sgd } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * const b = tensor([0], { requiresGrad: true });
 * const opt = new Optimizer([{ params: [w], rule: sgd, lr: 0.1 }, { params: [b] }], { rule: adamW });
 * w.mul(w).sum().add(b.sum()).backward();
 * opt.step();
 * w; // => [0.8, 1.6]
 * opt.zeroGrad();
 * w.grad; // => null
 * ```
 */
export class Optimizer {
  readonly paramGroups: ParamGroup[] = [];
  private readonly state = new Map<Tensor, ParamState>();
  private readonly defaults: { rule: AnyRule } & Record<string, unknown>;
  /** See `OptimizerOptions.nonFiniteGrads`; may be changed between steps. */
  nonFiniteGrads: NonNullable<OptimizerOptions['nonFiniteGrads']>;
  /** Steps skipped for a non-finite gradient (`nonFiniteGrads: 'skip'`) by this instance; not saved in state dicts. */
  skippedSteps = 0;
  private readonly paramNames: ReadonlyMap<Tensor, string> | undefined;

  /**
   * `params` is a list of tensors (one group) or of group specs; `defaults` gives the
   * default rule and shared hyper-parameters. A group takes the shared ones its rule
   * knows (so `weightDecay` can be shared by AdamW groups next to a SparseAdam group);
   * a shared name no group's rule knows is an error, as is an unknown name in a group.
   */
  constructor(params: readonly Tensor[] | readonly GroupSpec[], options: { rule: AnyRule } & OptimizerOptions & Record<string, unknown>) {
    const { nonFiniteGrads = 'ignore', paramNames, ...defaults } = options;
    check(['ignore', 'error', 'skip'].includes(nonFiniteGrads as string), `nonFiniteGrads must be 'ignore', 'error' or 'skip', got ${String(nonFiniteGrads)}`);
    this.nonFiniteGrads = nonFiniteGrads as NonNullable<OptimizerOptions['nonFiniteGrads']>;
    this.paramNames = paramNames as ReadonlyMap<Tensor, string> | undefined;
    this.defaults = defaults as { rule: AnyRule } & Record<string, unknown>;
    if (params.length === 0) throw new ValueError('optimizer got an empty parameter list');
    const groups = params[0] instanceof Tensor ? [{ params: params as readonly Tensor[] }] : (params as readonly GroupSpec[]);
    for (const group of groups) this.addParamGroup(group);
    const rules = [...new Set(this.paramGroups.map((g) => g.rule))];
    const unused = Object.keys(defaults).filter((k) => k !== 'rule' && !rules.some((r) => k in r.defaults));
    if (unused.length > 0) throw unknownHyper(rules, unused);
  }

  /** Add a group (torch's add_param_group): hyper-parameters default to the optimizer's, then the rule's. */
  addParamGroup(spec: GroupSpec): void {
    const { params, rule = this.defaults.rule, ...own } = spec;
    const shared = Object.fromEntries(Object.entries(this.defaults).filter(([k]) => k !== 'rule' && k in rule.defaults));
    const hyper = makeHyper(rule, { ...shared, ...own });
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new TypeError(`optimizer can only optimize Tensors, but one of the params is ${typeof p}`);
      if (!p.isLeaf) throw new ValueError("can't optimize a non-leaf Tensor");
      if (!isFloat(p.dtype) || p.offset !== 0 || !p.isContiguous() || p.data.length !== p.numel) {
        throw new ValueError(`optimizer can only optimize floating tensors that own their contiguous storage (got ${p.dtype} ${formatShape(p.shape)})`);
      }
      if (seen.has(p)) throw new ValueError('some parameters appear in more than one parameter group');
      seen.add(p);
    }
    if (params.some((p) => p.dtype === 'float32')) checkFloat32Range(hyper);
    this.paramGroups.push({ params: [...params], rule, hyper });
  }

  /**
   * One update of every parameter that has a gradient, under noGrad. All gradients are
   * checked before any parameter moves, so a refused gradient leaves everything as it was.
   * Each parameter's step count rises even when its sparse gradient is empty (torch's SparseAdam).
   */
  step(): void {
    const updates = this.paramGroups.flatMap((group) => group.params.filter((p) => p.grad !== null).map((p) => this.plan(group, p)));
    if (this.nonFiniteGrads !== 'ignore' && !this.gradsFinite()) {
      if (this.nonFiniteGrads === 'skip') {
        this.skippedSteps++;
        return;
      }
      throw this.nonFiniteError();
    }
    noGrad(() => {
      for (const update of updates) update();
    });
  }

  /**
   * One pass over every gradient value: v·0 is 0 for finite v and NaN for NaN or ±Inf, so
   * one running sum tells whether anything is non-finite without a branch per value.
   */
  private gradsFinite(): boolean {
    let probe = 0;
    for (const p of this.gradients()) {
      const values = gradValues(p);
      for (let i = 0; i < values.length; i++) probe += values[i]! * 0;
    }
    return probe === 0;
  }

  /** The error for the first parameter whose gradient is non-finite (found again, now that speed does not matter). */
  private nonFiniteError(): NonFiniteGradError {
    let index = 0;
    for (const [g, group] of this.paramGroups.entries()) {
      for (const [i, p] of group.params.entries()) {
        if (p.grad !== null) {
          const values = gradValues(p);
          const bad = values.findIndex((v) => !Number.isFinite(v));
          if (bad >= 0) {
            let count = 0;
            for (const v of values) if (!Number.isFinite(v)) count++;
            const flat = p.grad instanceof SparseCoo ? p.grad.indices[bad]! : bad;
            const name = this.paramNames?.get(p);
            return new NonFiniteGradError(
              p,
              name !== undefined ? `'${name}' (group ${g}, parameter ${i})` : `${index} (group ${g}, parameter ${i})`,
              flat,
              values[bad]!,
              count,
            );
          }
        }
        index++;
      }
    }
    throw new Error('nonFiniteError(): no non-finite gradient found'); // unreachable: called only after gradsFinite() failed
  }

  private *gradients(): Iterable<Tensor> {
    for (const group of this.paramGroups) for (const p of group.params) if (p.grad !== null) yield p;
  }

  /** Reset gradients: to null (default, as torch ≥ 2.0), or dense ones to zeros. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const group of this.paramGroups) for (const p of group.params) p.zeroGrad(setToNone);
  }

  private plan(group: ParamGroup, p: Tensor): () => void {
    const { rule, hyper } = group;
    const grad = p.grad!;
    if (!sameShape(grad.shape, p.shape)) throw new ShapeError(`gradient of shape ${formatShape(grad.shape)} for a parameter of shape ${formatShape(p.shape)}`);
    if (grad.dtype !== p.dtype) throw new DTypeError(`expected gradient of scalar type ${torchName(p.dtype)} but found ${torchName(grad.dtype)}`);
    const param = p.data as FloatStorage;
    const run = (apply: (state: ParamState) => void) => () => {
      const state = this.stateOf(group, p);
      state.step++;
      apply(state);
      p.storage.version++;
    };
    if (grad instanceof SparseCoo) {
      if (rule.sparse) return run((s) => rule.sparse!(param, grad.indices, grad.values, s.buffers, hyper, s.step));
      if (rule.dense && rule.refusal === undefined) return run((s) => rule.dense!(param, grad.toDense().data as FloatStorage, s.buffers, hyper, s.step));
    } else if (rule.dense) {
      return run((s) => rule.dense!(param, grad.contiguous().data as FloatStorage, s.buffers, hyper, s.step));
    }
    throw new ValueError(rule.refusal ?? `${rule.name} does not support ${grad instanceof SparseCoo ? 'sparse' : 'dense'} gradients`);
  }

  private stateOf(group: ParamGroup, p: Tensor): ParamState {
    let state = this.state.get(p);
    if (state === undefined) {
      state = { step: 0, buffers: group.rule.init(p.numel, p.dtype as FloatDType, group.hyper) };
      this.state.set(p, state);
    }
    return state;
  }

  /** torch's state_dict layout (see `OptimizerStateDict`); elementwise buffers take the parameter's shape. */
  stateDict(): OptimizerStateDict {
    const state: Record<string, ParamStateDict> = {};
    let index = 0;
    const paramGroups = this.paramGroups.map((group) => {
      const params = group.params.map((p) => {
        const s = this.state.get(p);
        if (s) {
          const entry: ParamStateDict = { step: s.step };
          for (const [key, buf] of Object.entries(s.buffers)) if (buf) entry[key] = Tensor.fromStorage(buf, buf.length === p.numel ? p.shape : [buf.length]);
          state[String(index)] = entry;
        }
        return index++;
      });
      return { ...structuredClone(group.hyper), rule: group.rule.name, params };
    });
    return { state, paramGroups };
  }

  /**
   * Replace hyper-parameters and state with a state dict's (copied, cast to each
   * parameter's dtype). Every problem is collected into one ValueError and nothing
   * changes unless all checks pass.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict.paramGroups.length !== this.paramGroups.length) throw new ValueError('loaded state dict has a different number of parameter groups');
    const problems: string[] = [];
    const hypers = this.paramGroups.map((group, g) => {
      const { params, rule, ...saved } = dict.paramGroups[g]!;
      if (params.length !== group.params.length)
        problems.push(
          `loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group ${g}: ${params.length} vs ${group.params.length})`,
        );
      if (rule !== undefined && rule !== group.rule.name) problems.push(`group ${g} was saved by rule '${String(rule)}' but uses '${group.rule.name}'`);
      return makeHyper(group.rule, { ...group.hyper, ...structuredClone(saved) });
    });
    const all = this.paramGroups.flatMap((group, g) => group.params.map((p) => ({ p, group, hyper: hypers[g]! })));
    const loaded = new Map<Tensor, ParamState>();
    for (const [key, entry] of Object.entries(dict.state)) {
      const target = all[Number(key)];
      if (!/^\d+$/.test(key) || target === undefined) {
        problems.push(`Unexpected key(s) in state: "${key}" (the optimizer has ${all.length} parameters)`);
        continue;
      }
      const state = loadParamState(key, entry, target.p, target.group.rule, target.hyper, problems);
      if (state) loaded.set(target.p, state);
    }
    if (problems.length > 0) throw new ValueError(`Error(s) in loading state_dict for Optimizer:\n\t${problems.join('\n\t')}`);
    this.paramGroups.forEach((group, g) => (group.hyper = hypers[g]!));
    this.state.clear();
    for (const [p, state] of loaded) this.state.set(p, state);
  }
}

/** The values a gradient stores: a dense one's elements (contiguous), a sparse one's values. */
function gradValues(p: Tensor): FloatStorage {
  const g = p.grad!;
  return (g instanceof SparseCoo ? g.values : g.contiguous().data) as FloatStorage;
}

/**
 * A finite hyper-parameter can still overflow float32: lr = 1e39 turns every float32
 * weight into ±Inf at the first step. Refused with the rule's message plus the reason.
 */
function checkFloat32Range(hyper: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(hyper)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'number' && Number.isFinite(v) && !Number.isFinite(Math.fround(v))) {
        throw new ValueError(`Invalid ${HYPER_LABELS[key] ?? `${key} value`}: ${pyFloat(v)} (overflows float32, the dtype of the group's parameters)`);
      }
    }
  }
}

/** Merge rule defaults with overrides, refuse unknown names (a typo would silently do nothing), validate. */
function makeHyper(rule: AnyRule, overrides: Record<string, unknown>): ParamGroup['hyper'] {
  const unknown = Object.keys(overrides).filter((k) => !(k in rule.defaults));
  if (unknown.length > 0) throw unknownHyper([rule], unknown);
  const hyper = { ...structuredClone(rule.defaults), ...overrides } as ParamGroup['hyper'];
  rule.validate(hyper);
  return hyper;
}

function unknownHyper(rules: AnyRule[], names: string[]): ValueError {
  const known = [...new Set(rules.flatMap((r) => Object.keys(r.defaults)))];
  return new ValueError(`unknown hyper-parameter(s) for ${rules.map((r) => r.name).join('/')}: ${names.join(', ')} (known: ${known.join(', ')})`);
}

/** One parameter's loaded state, checked against a fresh `init` (same buffers; elementwise ones in the parameter's shape). */
function loadParamState(key: string, entry: ParamStateDict, p: Tensor, rule: AnyRule, hyper: Hyper, problems: string[]): ParamState | null {
  const fresh = Object.entries(rule.init(p.numel, p.dtype as FloatDType, hyper) as RuleState).filter(
    (e): e is [string, FloatStorage | Int32Array] => e[1] !== undefined,
  );
  const before = problems.length;
  const { step, ...saved } = entry;
  if (!(Number.isInteger(step) && step >= 0)) problems.push(`state ${key}: step must be a non-negative integer, got ${String(step)}`);
  const missing = fresh.filter(([k]) => !(saved[k] instanceof Tensor)).map(([k]) => k);
  const unexpected = Object.keys(saved).filter((k) => !fresh.some(([name]) => name === k));
  if (missing.length) problems.push(`Missing key(s) in state ${key}: ${missing.map((k) => `"${k}"`).join(', ')}.`);
  if (unexpected.length) problems.push(`Unexpected key(s) in state ${key}: ${unexpected.map((k) => `"${k}"`).join(', ')}.`);
  const buffers: RuleState = {};
  for (const [name, init] of fresh) {
    const t = saved[name];
    if (!(t instanceof Tensor)) continue;
    if (init.length === p.numel && !sameShape(t.shape, p.shape)) {
      problems.push(
        `size mismatch for state ${key} "${name}": copying a buffer with shape ${formatShape(t.shape)} from checkpoint, the parameter's shape is ${formatShape(p.shape)}.`,
      );
    } else if (init instanceof Int32Array !== (t.dtype === 'int32')) {
      problems.push(`dtype mismatch for state ${key} "${name}": expected ${init instanceof Int32Array ? 'int32' : 'a floating dtype'}, got ${t.dtype}`);
    } else {
      const copy = allocate(init instanceof Int32Array ? 'int32' : p.dtype, t.numel) as FloatStorage | Int32Array;
      copy.set(t.contiguous().data as ArrayLike<number>);
      buffers[name] = copy;
    }
  }
  if (problems.length === before) problems.push(...(rule.checkState?.(buffers, p.numel) ?? []).map((m) => `state ${key}: ${m}`));
  return problems.length === before ? { step: step as number, buffers } : null;
}

/**
 * Python's repr of a float, so messages read exactly as torch's: 1 → "1.0",
 * 1e-5 → "1e-05", NaN → "nan", Infinity → "inf".
 *
 * @example
 * ```ts
 * import { pyFloat } from 'sparsegrad/optim';
 * [pyFloat(1), pyFloat(1e-5), pyFloat(NaN)]; // => ['1.0', '1e-05', 'nan']
 * ```
 */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (Object.is(x, -0)) return '-0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const s = x.toFixed(Math.max(0, mantissa.replace(/^-?\d\.?/, '').length - e));
  return s.includes('.') ? s : `${s}.0`;
}

/** Throw torch's ValueError unless the condition holds (NaN fails every `>=` test, as in Python). */
export function check(ok: boolean, message: string): void {
  if (!ok) throw new ValueError(message);
}
