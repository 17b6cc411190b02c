/**
 * Fuzz: damaged checkpoints, in memory and in a folder (spec/fuzz/harness.ts states the
 * law). Every file is covered by a CRC-32 (the tensor files by trainer_state.json, and
 * trainer_state.json by its own checksum), so the law is strict: a byte-damaged checkpoint
 * is a FormatError, or it decodes to exactly the original (a change that no value sees).
 * Edits of trainer_state.json's tree, re-sealed with a fresh checksum (a deliberate edit),
 * reach the key and value checks: a documented error, or a checkpoint that encodes and
 * decodes back to itself — never a TypeError.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Generator, randn } from '../../index.ts';
import {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  MODEL_FILE,
  OPTIMIZER_FILE,
  sealTrainerState,
  TRAINER_STATE_FILE,
} from '../../models/checkpoint.ts';
import { Linear } from '../../nn/linear.ts';
import { loadCheckpoint, saveCheckpoint } from '../../node.ts';
import { AdamW } from '../../optim/index.ts';
import { applyByteEdits, applyJsonEdits, arbByteEdits, arbJsonEdits, describeCase, jsonText, params, Tally } from './harness.ts';

/** A checkpoint with every part: weights, Adam state, generator states (one with a NaN), data cursor, config. */
function checkpoint(): Checkpoint {
  const generator = new Generator(7);
  const model = new Linear(3, 2, { generator });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
  const out = model.forward(randn([4, 3], { generator }));
  out.mul(out).sum().backward();
  optimizer.step();
  return {
    model: model.stateDict(),
    optimizer: optimizer.stateDict(),
    rng: { data: generator.getState(), fresh: new Generator(1).getState() },
    step: 1,
    data: { epoch: 0, cursor: 4 },
    config: { lr: 1e-3, name: 'tiny', limits: [Infinity, -0] },
  };
}

const ORIGINAL = encodeCheckpoint(checkpoint());
const NAMES = [MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE];

/** The decoded checkpoint must be the original: encoding it again gives the original bytes, file by file. */
function expectOriginal(decoded: Checkpoint): void {
  const again = encodeCheckpoint(decoded);
  for (const name of NAMES) expect(again.get(name), name).toEqual(ORIGINAL.get(name));
}

const tallies: Tally[] = [];
const folders: string[] = [];
afterAll(() => {
  for (const t of tallies) console.log(t.summary());
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('fuzz: checkpoints', () => {
  test('byte edits of any one file: a FormatError, or exactly the original checkpoint', () => {
    const tally = new Tally('checkpoint bytes');
    tallies.push(tally);
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), arbByteEdits, (name, edits) => {
        const files = new Map(ORIGINAL);
        files.set(name, applyByteEdits(ORIGINAL.get(name)!, edits));
        const decoded = tally.run(
          () => describeCase(name, edits),
          () => decodeCheckpoint(files),
        );
        if (decoded) expectOriginal(decoded);
      }),
      params(1601, 900),
    );
    expect(tally.total).toBe(900 * (process.env.SPARSEGRAD_FUZZ === 'long' ? 20 : 1));
  });

  test('re-sealed edits of trainer_state.json (renamed keys, wrong types, deep nesting): a documented error, or a checkpoint that round-trips', () => {
    const tally = new Tally('trainer_state.json trees (re-sealed)');
    tallies.push(tally);
    const tree = JSON.parse(new TextDecoder().decode(ORIGINAL.get(TRAINER_STATE_FILE)));
    fc.assert(
      fc.property(arbJsonEdits, (edits) => {
        const edited = applyJsonEdits(tree, edits);
        if (jsonText(edited) === null || typeof edited !== 'object' || edited === null || Array.isArray(edited)) return;
        let sealed: Uint8Array;
        try {
          sealed = sealTrainerState(edited);
        } catch {
          return; // not sealable (a reserved {"$float"} object, say): the writer refuses it, nothing to load
        }
        const files = new Map(ORIGINAL);
        files.set(TRAINER_STATE_FILE, sealed);
        const decoded = tally.run(
          () => describeCase(TRAINER_STATE_FILE, edits),
          () => decodeCheckpoint(files),
        );
        if (decoded) {
          const again = encodeCheckpoint(decoded);
          const twice = encodeCheckpoint(decodeCheckpoint(again));
          for (const name of NAMES) expect(twice.get(name), name).toEqual(again.get(name));
        }
      }),
      params(1602, 700),
    );
    expect(tally.ok).toBeGreaterThan(0);
  });

  test('a checkpoint folder with one file damaged on disk: a FormatError, or exactly the original checkpoint', async () => {
    const tally = new Tally('checkpoint folder');
    tallies.push(tally);
    const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-fuzz-checkpoint-'));
    folders.push(dir);
    await saveCheckpoint(dir, checkpoint());
    for (const name of NAMES) expect(readFileSync(join(dir, name))).toEqual(Buffer.from(ORIGINAL.get(name)!));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...NAMES), arbByteEdits, async (name, edits) => {
        writeFileSync(join(dir, name), applyByteEdits(ORIGINAL.get(name)!, edits));
        let decoded: Checkpoint | undefined;
        let error: unknown;
        try {
          decoded = await loadCheckpoint(dir);
        } catch (e) {
          error = e;
        }
        writeFileSync(join(dir, name), ORIGINAL.get(name)!);
        const outcome = tally.run(
          () => describeCase(`${dir}/${name}`, edits),
          () => {
            if (error) throw error;
            return decoded!;
          },
        );
        if (outcome) expectOriginal(outcome);
      }),
      params(1603, 60),
    );
    expect(tally.total).toBeGreaterThan(0);
  });
});
