/**
 * Atomic writes under simulated crashes (docs/TESTING.md §6.4). The file system is wrapped
 * so that the n-th operation "kills the process": it does not happen (a write leaves
 * half its bytes behind), and every later operation fails too, so no cleanup runs, as
 * after a real crash. fast-check picks n over every operation of a save; afterwards the
 * folder must load as the previous checkpoint or, once the commit rename happened, the
 * new one, and the next save must succeed and leave the folder clean.
 */
import fc from 'fast-check';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Generator, randn, type Tensor } from '../../index.ts';
import { type Checkpoint, encodeCheckpoint, MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE } from '../../models/checkpoint.ts';
import { serializeSafetensors } from '../../models/safetensors.ts';
import { loadCheckpoint, readSafetensors, saveCheckpoint, writeSafetensors } from '../../node.ts';

/** `failAt`: the operation that fails; `fatal`: a crash (all later operations fail too) rather than one error such as ENOSPC. */
const fault = vi.hoisted(() => ({ failAt: Infinity, fatal: true, count: 0, hit: false, dead: false, log: [] as string[] }));

class Crash extends Error {}

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  /** Count an operation; true when it is the one that fails. */
  const crashesNow = (what: string): boolean => {
    if (fault.dead) throw new Crash('the process is dead');
    fault.log.push(what);
    if (++fault.count !== fault.failAt) return false;
    fault.hit = true;
    fault.dead = fault.fatal;
    return true;
  };
  const gated =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (
        crashesNow(
          `${name} ${String(args[0]).split('/').pop()} ${String(args[1] ?? '')
            .split('/')
            .pop()}`,
        )
      )
        throw new Crash(`crashed at ${name}`);
      return fn(...args);
    };
  const open = async (...args: Parameters<typeof real.open>) => {
    const handle = await gated('open', real.open)(...args);
    return {
      writeFile: async (bytes: Uint8Array) => {
        if (crashesNow('write')) {
          await handle.writeFile(bytes.subarray(0, bytes.length >> 1));
          throw new Crash('crashed mid-write');
        }
        await handle.writeFile(bytes);
      },
      sync: gated('sync', () => handle.sync()),
      close: async () => {
        await handle.close(); // the OS closes a dead process's files
        if (crashesNow('close')) throw new Crash('crashed at close');
      },
    };
  };
  return {
    ...real,
    open,
    mkdir: gated('mkdir', real.mkdir),
    readdir: gated('readdir', real.readdir),
    rename: gated('rename', real.rename),
    rm: gated('rm', real.rm),
  };
});

const folders: string[] = [];
afterAll(() => Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true }))));
async function freshFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sparsegrad-crash-'));
  folders.push(dir);
  return dir;
}

/** Run `fn` with its n-th file-system operation failing (Infinity: none); returns the operations it reached. */
async function withFault(failAt: number, fn: () => Promise<unknown>, fatal = true): Promise<string[]> {
  Object.assign(fault, { failAt, fatal, count: 0, hit: false, dead: false, log: [] });
  try {
    await fn();
    if (fault.hit) throw new Error('a failed operation went unnoticed');
  } catch (e) {
    if (!(e instanceof Crash)) throw e;
  } finally {
    Object.assign(fault, { failAt: Infinity, dead: false });
  }
  return fault.log;
}

function checkpointOf(seed: number, withOptimizer: boolean): Checkpoint {
  const g = new Generator(seed);
  const w = randn([4, 3], { generator: g });
  const optimizer = { state: { 0: { step: seed, exp_avg: randn([4, 3], { generator: g }) } }, paramGroups: [{ params: [0], lr: 0.1 }] };
  return { model: { 'encoder.weight': w }, step: seed, rng: { g: g.getState() }, ...(withOptimizer ? { optimizer } : {}) };
}

const bytesOf = (c: Checkpoint) => [...encodeCheckpoint(c)];

describe('atomic saves: a crash or an error at any file-system operation', () => {
  it('saveCheckpoint: the folder loads as the previous checkpoint before the commit, the new one after', async () => {
    const before = checkpointOf(1, true);
    /** The operations of an uncrashed save of `after` over `before`, and the position of the commit rename. */
    const probe = async (after: Checkpoint) => {
      const dir = await freshFolder();
      await saveCheckpoint(dir, before);
      const ops = await withFault(Infinity, () => saveCheckpoint(dir, after));
      return { ops: ops.length, commit: ops.findIndex((op) => op.startsWith('rename') && op.endsWith(` ${TRAINER_STATE_FILE}`)) + 1 };
    };
    const variants = [checkpointOf(2, true), checkpointOf(2, false)];
    const plans = [await probe(variants[0]!), await probe(variants[1]!)]; // one at a time: the crash counter is shared
    expect(plans.every((p) => p.commit > 0)).toBe(true);

    const arbCrash = fc.nat({ max: 1 }).chain((v) => fc.tuple(fc.constant(v), fc.integer({ min: 1, max: plans[v]!.ops })));
    await fc.assert(
      fc.asyncProperty(arbCrash, async ([v, crashAt]) => {
        const after = variants[v]!;
        const dir = await freshFolder();
        await saveCheckpoint(dir, before);
        await withFault(crashAt, () => saveCheckpoint(dir, after));
        expect(bytesOf(await loadCheckpoint(dir))).toEqual(bytesOf(crashAt > plans[v]!.commit ? after : before));
        const next = checkpointOf(3, true);
        await saveCheckpoint(dir, next);
        expect((await readdir(dir)).sort()).toEqual([MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE]);
        expect(bytesOf(await loadCheckpoint(dir))).toEqual(bytesOf(next));
      }),
      { numRuns: 60 },
    );
  });

  it('an error before the commit (a full disk, say) leaves the previous checkpoint and no temp files', async () => {
    const before = checkpointOf(1, true);
    const after = checkpointOf(2, true);
    const dir = await freshFolder();
    await saveCheckpoint(dir, before);
    const ops = await withFault(Infinity, () => saveCheckpoint(dir, after));
    const commit = ops.findIndex((op) => op.startsWith('rename') && op.endsWith(` ${TRAINER_STATE_FILE}`)) + 1;
    for (let failAt = 1; failAt <= commit; failAt++) {
      await saveCheckpoint(dir, before);
      await withFault(failAt, () => saveCheckpoint(dir, after), false);
      expect((await readdir(dir)).sort(), `error at ${ops[failAt - 1]}`).toEqual([MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE]);
      expect(bytesOf(await loadCheckpoint(dir))).toEqual(bytesOf(before));
    }
  });

  it('writeSafetensors: the file reads as the old tensors until the rename, the new ones after', async () => {
    const path = join(await freshFolder(), MODEL_FILE);
    const [old, fresh] = [1, 2].map((seed) => ({ w: randn([5], { generator: new Generator(seed) }) }));
    const bytes = (t: Record<string, Tensor>) => serializeSafetensors(t);
    await writeSafetensors(path, old!);
    const ops = await withFault(Infinity, () => writeSafetensors(path, fresh!));
    const renamed = ops.findIndex((op) => op.startsWith('rename')) + 1;
    for (let crashAt = 1; crashAt <= ops.length; crashAt++) {
      await writeSafetensors(path, old!);
      await withFault(crashAt, () => writeSafetensors(path, fresh!));
      expect(bytes((await readSafetensors(path)).tensors), `crash at ${ops[crashAt - 1]}`).toEqual(bytes(crashAt > renamed ? fresh! : old!));
    }
  });
});
