/**
 * Module surgery, as PEFT does it: find layers by name and swap them for wrappers
 * (LoRA, MeProp, SparseGrad) without editing the model's code.
 *
 * A pattern is
 * - a string: PEFT's rule — the dotted name equals it or ends with `.` + it, so
 *   'query' matches `encoder.layer.0.attention.self.query` but not `my_query`;
 * - a RegExp: it must match the WHOLE dotted name (Python's re.fullmatch, as PEFT);
 * - a predicate on (name, module), e.g. `(_, m) => m instanceof Linear`.
 * The root itself is never a match: it has no parent to be replaced in. A module
 * shared by two parents is seen once, under its first name (as namedModules lists it).
 */
import { ValueError } from '../base/errors.ts';
import type { Module } from './module.ts';

export type ModulePattern = string | RegExp | ((name: string, module: Module) => boolean);

/**
 * Every [dotted name, module] the pattern matches, parents before children.
 *
 * @example
 * ```ts
 * import { findModules, Linear, Module } from 'sparsegrad/nn';
 * class Net extends Module { query = new Linear(2, 2); key = new Linear(2, 2); }
 * findModules(new Net(), 'query').map(([name]) => name); // => ['query']
 * findModules(new Net(), (_, m) => m instanceof Linear).length; // => 2
 * ```
 */
export function findModules(root: Module, pattern: ModulePattern): [string, Module][] {
  const matches = matcher(pattern);
  return root.namedModules().filter(([name, m]) => name !== '' && matches(name, m));
}

/**
 * Replace every match with `factory(name, old)` (through `root.replaceModule`) and
 * return the replaced names. When a match lies inside an already replaced module it is
 * skipped: it has left the tree, and the factory that got its ancestor decided its fate.
 * Throws a ValueError naming some available modules when nothing matches, since a typo in
 * a target name would otherwise silently train nothing.
 *
 * @example
 * ```ts
 * import { Linear, Module, replaceModules, Tanh } from 'sparsegrad/nn';
 * class Net extends Module { fc = new Linear(2, 2); act = new Tanh(); }
 * const net = new Net();
 * replaceModules(net, /fc/, () => new Linear(2, 3)); // => ['fc']
 * (net.fc as Linear).outFeatures; // => 3
 * ```
 */
export function replaceModules(root: Module, pattern: ModulePattern, factory: (name: string, old: Module) => Module): string[] {
  const matched = findModules(root, pattern);
  if (matched.length === 0) throw new ValueError(notFound(root, pattern));
  const replaced: string[] = [];
  for (const [name, old] of matched) {
    if (replaced.some((outer) => name.startsWith(`${outer}.`))) continue;
    root.replaceModule(name, factory(name, old));
    replaced.push(name);
  }
  return replaced;
}

function matcher(pattern: ModulePattern): (name: string, module: Module) => boolean {
  if (typeof pattern === 'string') return (name) => name === pattern || name.endsWith(`.${pattern}`);
  if (pattern instanceof RegExp) {
    // Anchored copy without the stateful g/y flags, so repeated tests do not skip names.
    const whole = new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, ''));
    return (name) => whole.test(name);
  }
  if (typeof pattern === 'function') return pattern;
  throw new TypeError(`module pattern must be a string, a RegExp or a function, but got ${typeof pattern}`);
}

const SHOWN = 8;

function notFound(root: Module, pattern: ModulePattern): string {
  const names = root
    .namedModules()
    .filter(([name]) => name !== '')
    .map(([name, m]) => `${name} (${m.constructor.name})`);
  const what = typeof pattern === 'function' ? 'the given predicate' : typeof pattern === 'string' ? `'${pattern}'` : String(pattern);
  const more = names.length > SHOWN ? `, … (${names.length} in all)` : '';
  const listing = names.length === 0 ? `${root.constructor.name} has no submodules` : `available modules include: ${names.slice(0, SHOWN).join(', ')}${more}`;
  return `Target modules ${what} not found in ${root.constructor.name}; ${listing}`;
}
