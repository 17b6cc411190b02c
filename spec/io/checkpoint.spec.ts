/**
 * Checkpoints (docs/TESTING.md §6, fault cases 2–4): the format is canonical (save → load →
 * save gives the same bytes), loads into the right architecture only, rejects damaged
 * or mixed files, survives an interrupted save, and resuming equals never stopping,
 * bitwise, wherever fast-check chooses to stop.
 */
import fc from 'fast-check';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { crossEntropy, dropout, FormatError, Generator, randint, randn, Tensor, tensor, ValueError } from '../../index.ts';
import {
  type Checkpoint,
  committedFiles,
  decodeCheckpoint,
  encodeCheckpoint,
  MODEL_FILE,
  OPTIMIZER_FILE,
  sealTrainerState,
  TRAINER_STATE_FILE,
} from '../../models/checkpoint.ts';
import { parseSafetensors } from '../../models/safetensors.ts';
import { Linear } from '../../nn/linear.ts';
import { Module } from '../../nn/module.ts';
import { loadCheckpoint, saveCheckpoint } from '../../node.ts';
import { AdamW } from '../../optim/index.ts';
import { arbSeed, assertClose } from '../kit/index.ts';
import { reachable } from '../imports.ts';

const folders: string[] = [];
async function tempFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sparsegrad-checkpoint-'));
  folders.push(dir);
  return dir;
}
afterAll(() => Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true }))));

// ---- a tiny training run with every kind of state a checkpoint holds ---------------------

const FEATURES = 5;
const HIDDEN = 8;
const CLASSES = 3;
const EXAMPLES = 12;
const BATCH = 3; // 3 × 5 noise normals per step: odd, so the generator keeps a spare normal

interface Config {
  seed: number;
  hidden: number;
  lr: number;
  dropout: number;
}

class Mlp extends Module {
  fc1: Linear;
  fc2: Linear;
  constructor(hidden: number, generator: Generator) {
    super();
    this.fc1 = new Linear(FEATURES, hidden, { generator });
    this.fc2 = new Linear(hidden, CLASSES, { generator });
  }
  forward(x: Tensor, p: number, generator: Generator): Tensor {
    return this.fc2.forward(dropout(this.fc1.forward(x).relu(), p, { generator }));
  }
}

/** Model, optimizer, a generator for noise and dropout, and a data cursor over seeded epochs. */
class Run {
  readonly model: Mlp;
  readonly optimizer: InstanceType<typeof AdamW>;
  readonly noise: Generator;
  readonly x: Tensor;
  readonly y: Tensor;
  step = 0;
  epoch = 0;
  cursor = 0;

  /** `initSeed` draws the initial weights: a resumed run starts from different ones and must load over them. */
  constructor(
    readonly config: Config,
    initSeed = config.seed,
  ) {
    const data = new Generator(config.seed);
    this.x = randn([EXAMPLES, FEATURES], { generator: data });
    this.y = randint(0, CLASSES, [EXAMPLES], { generator: data });
    this.model = new Mlp(config.hidden, new Generator(initSeed + 1));
    this.optimizer = new AdamW(this.model.parameters(), { lr: config.lr });
    this.noise = new Generator(initSeed + 2);
  }

  /** The epoch's order: a Fisher–Yates shuffle seeded by (seed, epoch), as samplers' set_epoch. */
  private order(): number[] {
    const g = new Generator(this.config.seed * 1000 + this.epoch);
    const order = Array.from({ length: EXAMPLES }, (_, i) => i);
    for (let i = EXAMPLES - 1; i > 0; i--) {
      const j = g.integer(0, i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }

  trainStep(): number {
    const ids = tensor(this.order().slice(this.cursor, this.cursor + BATCH), { dtype: 'int32' });
    const x = this.x.indexSelect(0, ids).add(randn([BATCH, FEATURES], { generator: this.noise }).mul(0.1));
    const loss = crossEntropy(this.model.forward(x, this.config.dropout, this.noise), this.y.indexSelect(0, ids));
    this.optimizer.zeroGrad();
    loss.backward();
    this.optimizer.step();
    this.step++;
    this.cursor += BATCH;
    if (this.cursor === EXAMPLES) [this.epoch, this.cursor] = [this.epoch + 1, 0];
    return loss.item();
  }

  checkpoint(): Checkpoint {
    return {
      model: this.model.stateDict(),
      optimizer: this.optimizer.stateDict(),
      rng: { noise: this.noise.getState() },
      step: this.step,
      data: { epoch: this.epoch, cursor: this.cursor },
      config: this.config,
    };
  }

  static resume(c: Checkpoint): Run {
    const run = new Run(c.config as Config, 987654);
    run.model.loadStateDict(c.model);
    run.optimizer.loadStateDict(c.optimizer!);
    run.noise.setState(c.rng!.noise!);
    run.step = c.step;
    [run.epoch, run.cursor] = [c.data!.epoch, c.data!.cursor];
    return run;
  }
}

const trained = (config: Config, steps: number): Run => {
  const run = new Run(config);
  for (let i = 0; i < steps; i++) run.trainStep();
  return run;
};

const CONFIG: Config = { seed: 7, hidden: HIDDEN, lr: 0.05, dropout: 0.25 };

function expectSameTensors(actual: Record<string, Tensor>, expected: Record<string, Tensor>, label: string): void {
  expect(Object.keys(actual).sort(), label).toEqual(Object.keys(expected).sort());
  for (const name of Object.keys(expected)) assertClose(actual[name]!, expected[name]!, 'bitwise', `${label} ${name}`);
}

/** Optimizer state dicts equal: numbers by Object.is, tensors bitwise. */
function expectSameOptimizer(actual: Checkpoint['optimizer'], expected: Checkpoint['optimizer']): void {
  expect(actual!.paramGroups).toEqual(expected!.paramGroups);
  expect(Object.keys(actual!.state)).toEqual(Object.keys(expected!.state));
  for (const [index, entry] of Object.entries(expected!.state)) {
    const got = actual!.state[index]!;
    expect(Object.keys(got).sort()).toEqual(Object.keys(entry).sort());
    for (const [key, value] of Object.entries(entry)) {
      if (value instanceof Tensor) assertClose(got[key] as Tensor, value, 'bitwise', `state ${index} ${key}`);
      else expect(Object.is(got[key], value), `state ${index} ${key}`).toBe(true);
    }
  }
}

// ---- the format --------------------------------------------------------------------------

describe('format', () => {
  it('save → load → save gives identical bytes, for every file', () => {
    const run = trained(CONFIG, 5);
    const checkpoint = {
      ...run.checkpoint(),
      config: { ...CONFIG, nested: { b: [1, -0, Infinity], a: NaN }, keys: Object.fromEntries([['__proto__', { polluted: 1 }]]) },
    };
    const files = encodeCheckpoint(checkpoint);
    expect([...files.keys()]).toEqual([MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE]);
    const again = encodeCheckpoint(decodeCheckpoint(files));
    for (const [name, bytes] of files) expect(again.get(name), name).toEqual(bytes);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('every number round-trips bitwise: NaN spare normals, ±Infinity, −0, float64 noise', () => {
    const g = new Generator(3);
    g.normal(); // leaves a spare normal in the state
    const rng = { spare: g.getState(), none: new Generator(4).getState() };
    expect(rng.none[4]).toBeNaN();
    const config = { values: [NaN, Infinity, -Infinity, -0, 0, 0.1 + 0.2, 5e-324, Number.MAX_VALUE], flag: true, name: 'tiny', none: null };
    const back = decodeCheckpoint(encodeCheckpoint({ model: {}, step: 0, rng, config }));
    expect(back.rng!.spare!.every((x, i) => Object.is(x, rng.spare[i]))).toBe(true);
    expect(back.rng!.none!.every((x, i) => Object.is(x, rng.none[i]))).toBe(true);
    const values = (back.config as typeof config).values;
    expect(values.every((x, i) => Object.is(x, config.values[i]))).toBe(true);
    expect(back.config).toMatchObject({ flag: true, name: 'tiny', none: null });
    expect(back.optimizer).toBeUndefined();
    expect(back.data).toBeUndefined();
  });

  it('trainer_state.json is deterministic: sorted keys whatever the insertion order, human-readable', () => {
    const a = encodeCheckpoint({ model: {}, step: 3, config: { b: 1, a: { d: 2, c: 3 } } }).get(TRAINER_STATE_FILE)!;
    const b = encodeCheckpoint({ config: { a: { c: 3, d: 2 }, b: 1 }, step: 3, model: {} }).get(TRAINER_STATE_FILE)!;
    expect(a).toEqual(b);
    const text = new TextDecoder().decode(a);
    expect(text).toMatch(/^\{\n {2}"checksum": "crc32:[0-9a-f]{8}",\n {2}"config": \{\n {4}"a": \{\n {6}"c": 3,/);
    expect(text).toMatch(/"format": "sparsegrad-checkpoint",\n {2}"step": 3,\n {2}"version": 2\n\}\n$/);
  });

  it('trainer_state.json records the length and CRC-32 of every other file (checked against zlib)', () => {
    const files = encodeCheckpoint(trained(CONFIG, 1).checkpoint());
    const recorded = JSON.parse(new TextDecoder().decode(files.get(TRAINER_STATE_FILE))).files;
    expect(recorded).toEqual(
      Object.fromEntries(
        [MODEL_FILE, OPTIMIZER_FILE].map((name) => [name, { bytes: files.get(name)!.length, crc32: crc32(files.get(name)!).toString(16).padStart(8, '0') }]),
      ),
    );
  });

  it('weights keep their Hugging Face names; optimizer tensors are state.<index>.<buffer>', () => {
    class SelfAttention extends Module {
      query = new Linear(4, 4);
      key = new Linear(4, 4, { bias: false });
    }
    class Attention extends Module {
      self = new SelfAttention();
    }
    class Layer extends Module {
      attention = new Attention();
    }
    class Encoder extends Module {
      layer = [new Layer(), new Layer()];
    }
    class Bert extends Module {
      encoder = new Encoder();
    }
    const bert = new Bert();
    const optimizer = new AdamW(bert.parameters());
    for (const p of bert.parameters()) p.grad = p.onesLike();
    optimizer.step();
    const files = encodeCheckpoint({ model: bert.stateDict(), optimizer: optimizer.stateDict(), step: 1 });
    const model = parseSafetensors(files.get(MODEL_FILE)!);
    expect(Object.keys(model.tensors).sort()).toEqual(Object.keys(bert.stateDict()).sort());
    expect(Object.keys(model.tensors)).toContain('encoder.layer.1.attention.self.query.weight');
    expect({ ...model.metadata }).toEqual({ format: 'pt' });
    const names = Object.keys(parseSafetensors(files.get(OPTIMIZER_FILE)!).tensors);
    expect(names).toContain('state.0.exp_avg');
    expect(names.every((n) => /^state\.\d+\.exp_avg(_sq)?$/.test(n))).toBe(true);
    expect(new TextDecoder().decode(files.get(TRAINER_STATE_FILE))).toMatch(/"step": 1/);
  });

  it('refuses what JSON cannot hold or the format reserves', () => {
    const base = { model: {}, step: 0 };
    expect(() => encodeCheckpoint({ ...base, config: { t: tensor([1]) } })).toThrow(/'t' holds a Tensor/);
    expect(() => encodeCheckpoint({ ...base, config: { m: new Map() } })).toThrow(ValueError);
    expect(() => encodeCheckpoint({ ...base, config: { x: { $float: 'NaN' } } })).toThrow(/reserved/);
    expect(() => encodeCheckpoint({ ...base, step: -1 })).toThrow(/step/);
    expect(() => encodeCheckpoint({ ...base, optimizer: { state: { a: { step: 1 } }, paramGroups: [] } })).toThrow(/parameter indices/);
  });
});

describe('loading', () => {
  it('a loaded model computes bitwise the same outputs', () => {
    const run = trained(CONFIG, 4);
    const fresh = new Mlp(HIDDEN, new Generator(99));
    fresh.loadStateDict(decodeCheckpoint(encodeCheckpoint(run.checkpoint())).model);
    const x = randn([6, FEATURES], { generator: new Generator(5) });
    const g = () => new Generator(11);
    assertClose(fresh.forward(x, 0.25, g()), run.model.forward(x, 0.25, g()), 'bitwise');
  });

  it('a wrong architecture fails with the state-dict messages', () => {
    const { model } = decodeCheckpoint(encodeCheckpoint(trained(CONFIG, 1).checkpoint()));
    const expectLoadError = (m: Module, re: RegExp) => expect(() => m.loadStateDict(model)).toThrow(re);
    expectLoadError(
      new Mlp(HIDDEN + 1, new Generator(0)),
      /size mismatch for fc1\.weight: copying a param with shape \[8, 5\] from checkpoint, the shape in current model is \[9, 5\]/,
    );
    class Deeper extends Mlp {
      fc3 = new Linear(CLASSES, CLASSES);
    }
    expectLoadError(new Deeper(HIDDEN, new Generator(0)), /Missing key\(s\) in state_dict: "fc3\.weight", "fc3\.bias"\./);
    class Shallower extends Module {
      fc1 = new Linear(FEATURES, HIDDEN);
    }
    expectLoadError(new Shallower(), /Unexpected key\(s\) in state_dict: "fc2\.bias", "fc2\.weight"\./);
  });

  it('damaged or mismatched files are FormatErrors', () => {
    const files = encodeCheckpoint(trained(CONFIG, 2).checkpoint());
    const change = (name: string, edit: (bytes: Uint8Array) => Uint8Array | undefined) => {
      const copy = new Map(files);
      const edited = edit(files.get(name)!.slice());
      if (edited) copy.set(name, edited);
      else copy.delete(name);
      return () => decodeCheckpoint(copy);
    };
    const flip = (at: number) => (b: Uint8Array) => ((b[at]! ^= 1), b);
    const last = (name: string) => files.get(name)!.length - 1;
    expect(change(MODEL_FILE, flip(last(MODEL_FILE)))).toThrow(/model\.safetensors does not match trainer_state\.json/);
    expect(change(MODEL_FILE, flip(20))).toThrow(FormatError);
    expect(change(OPTIMIZER_FILE, (b) => b.subarray(0, b.length - 4))).toThrow(/optimizer\.safetensors does not match/);
    expect(change(OPTIMIZER_FILE, () => undefined)).toThrow(/optimizer\.safetensors is missing/);
    expect(change(TRAINER_STATE_FILE, () => undefined)).toThrow(/trainer_state\.json is missing/);
    expect(change(TRAINER_STATE_FILE, (b) => b.subarray(0, 40))).toThrow(/not valid JSON/);
    const edit = (re: RegExp, by: string) => (b: Uint8Array) => new TextEncoder().encode(new TextDecoder().decode(b).replace(re, by));
    // A value edited and the file re-sealed (checksum recomputed), so the value checks are reached.
    const resealed = (re: RegExp, by: string) => (b: Uint8Array) => sealTrainerState(JSON.parse(new TextDecoder().decode(edit(re, by)(b))));
    expect(change(TRAINER_STATE_FILE, edit(/"version": 2/, '"version": 3'))).toThrow(/format version 3 is not supported/);
    expect(change(TRAINER_STATE_FILE, edit(/"version": 2/, '"version": 1'))).toThrow(/version 1 files have no checksum/);
    expect(change(TRAINER_STATE_FILE, edit(/\n {2}"step": \d+/, '\n  "step": 7'))).toThrow(/checksum "crc32:[0-9a-f]{8}" does not match the content/);
    expect(change(TRAINER_STATE_FILE, resealed(/\n {2}"step": \d+/, '\n  "step": -1'))).toThrow(/step must be/);
    expect(change(TRAINER_STATE_FILE, resealed(/"cursor": \d+/, '"cursor": "x"'))).toThrow(/data must be/);
    expect(change(TRAINER_STATE_FILE, edit(/"format": "[^"]+"/, '"format": "other"'))).toThrow(/not a sparsegrad-checkpoint file/);
    expect(change(TRAINER_STATE_FILE, edit(/"lr"/, '"lr": {"$float": "nan"}, "x"'))).toThrow(/special number/);
    for (const [name, bytes] of files) {
      for (let cut = 0; cut < bytes.length; cut += Math.ceil(bytes.length / 50))
        expect(
          change(name, (b) => b.subarray(0, cut)),
          `${name} cut at ${cut}`,
        ).toThrow(FormatError);
    }
  });
});

describe('trainer_state.json is sealed and its keys are checked (issue 13, finding 2)', () => {
  const files = encodeCheckpoint(trained(CONFIG, 2).checkpoint());
  const text = new TextDecoder().decode(files.get(TRAINER_STATE_FILE));
  const withState = (bytes: Uint8Array) => () => decodeCheckpoint(new Map([...files, [TRAINER_STATE_FILE, bytes]]));
  const reseal = (edit: (state: Record<string, unknown>) => void) => {
    const state = JSON.parse(text) as Record<string, unknown>;
    edit(state);
    return sealTrainerState(state);
  };

  it('every single-bit flip is a FormatError, or decodes to exactly the same checkpoint (a flip that keeps the value)', () => {
    const bytes = files.get(TRAINER_STATE_FILE)!;
    const original = decodeCheckpoint(files);
    let same = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = bytes.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      let decoded: Checkpoint;
      try {
        decoded = withState(flipped)();
      } catch (e) {
        expect(e, `bit ${bit}`).toBeInstanceOf(FormatError);
        continue;
      }
      same++;
      expect(encodeCheckpoint(decoded).get(TRAINER_STATE_FILE), `bit ${bit}`).toEqual(encodeCheckpoint(original).get(TRAINER_STATE_FILE));
    }
    // Only whitespace can change without changing a value (e.g. a space to a tab), and those are few.
    expect(same).toBeLessThan(bytes.length);
  });

  it('a renamed, unknown or missing key is a FormatError naming it, never a TypeError', () => {
    expect(withState(reseal((s) => ((s.optimiser = s.optimizer), delete s.optimizer)))).toThrow(/unknown key\(s\) "optimiser"/);
    expect(withState(reseal((s) => void (s.extra = 1)))).toThrow(/unknown key\(s\) "extra"/);
    expect(withState(reseal((s) => void delete s.files))).toThrow(/missing key\(s\) 'files'/);
    const noChecksum = JSON.parse(text);
    delete noChecksum.checksum;
    expect(withState(new TextEncoder().encode(JSON.stringify(noChecksum)))).toThrow(/missing key\(s\) 'checksum'/);
    expect(withState(reseal((s) => void delete s.optimizer))).toThrow(/files lists optimizer\.safetensors, but there is no optimizer state/);
    // A checkpoint without optimizer state is valid, but a resumed run that needs one says so.
    const modelOnly = encodeCheckpoint({ model: decodeCheckpoint(files).model, step: 3 });
    expect(decodeCheckpoint(modelOnly).optimizer).toBeUndefined();
    expect(() => decodeCheckpoint(modelOnly, { require: ['optimizer', 'rng'] })).toThrow(
      /trainer_state\.json has no 'optimizer', 'rng', which this run needs to resume/,
    );
    expect(withState(reseal((s) => void ((s.optimizer as Record<string, unknown>).groups = 1)))).toThrow(/optimizer must be \{paramGroups, state\}/);
    expect(withState(reseal((s) => void ((s.optimizer as Record<string, unknown>).paramGroups = [{ params: ['0'] }])))).toThrow(/paramGroups must be/);
    expect(withState(reseal((s) => void ((s.data as Record<string, unknown>).extra = 0)))).toThrow(/data must be/);
  });

  it('files may list only the checkpoint files: a path outside the folder is refused before anything is read', () => {
    const state = (name: string) => reseal((s) => void ((s.files as Record<string, unknown>)[name] = { bytes: 0, crc32: '00000000' }));
    for (const name of ['../outside.safetensors', '/etc/passwd', 'x.safetensors']) {
      expect(() => committedFiles(state(name))).toThrow(/files lists .* a checkpoint has only model\.safetensors and optimizer\.safetensors/);
    }
  });

  it('nesting past the JSON depth bound is a FormatError, not a stack overflow', () => {
    const deep = reseal((s) => void (s.config = JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`)));
    expect(withState(deep)).toThrow(/nested \d+ levels deep/);
  });
});

// ---- on disk -----------------------------------------------------------------------------

describe('folders', () => {
  it('saveCheckpoint → loadCheckpoint → saveCheckpoint writes the same bytes, and leaves no temp files', async () => {
    const [a, b] = [await tempFolder(), await tempFolder()];
    await saveCheckpoint(a, trained(CONFIG, 3).checkpoint());
    await saveCheckpoint(b, await loadCheckpoint(a));
    expect((await readdir(a)).sort()).toEqual([MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE]);
    for (const name of await readdir(a)) expect(await readFile(join(b, name)), name).toEqual(await readFile(join(a, name)));
  });

  it('a save interrupted while writing (a truncated temp file) leaves the previous checkpoint loadable; the next save cleans up', async () => {
    const dir = await tempFolder();
    const before = trained(CONFIG, 2).checkpoint();
    await saveCheckpoint(dir, before);
    const next = encodeCheckpoint(trained(CONFIG, 3).checkpoint());
    // What a process killed mid-save leaves: complete and truncated temp files, the commit never renamed.
    await writeFile(join(dir, `${MODEL_FILE}.0123456789abcdef.tmp`), next.get(MODEL_FILE)!);
    await writeFile(join(dir, `${OPTIMIZER_FILE}.fedcba9876543210.tmp`), next.get(OPTIMIZER_FILE)!.subarray(0, 100));
    await writeFile(join(dir, `${TRAINER_STATE_FILE}.00000000ffffffff.tmp`), next.get(TRAINER_STATE_FILE)!.subarray(0, 10));
    const loaded = await loadCheckpoint(dir);
    expect(loaded.step).toBe(2);
    expectSameTensors(loaded.model, before.model, 'model');
    const after = trained(CONFIG, 4).checkpoint();
    await saveCheckpoint(dir, after);
    expect((await readdir(dir)).sort()).toEqual([MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE]);
    expect((await loadCheckpoint(dir)).step).toBe(4);
  });

  it('a save interrupted after its commit loads the new checkpoint from the temp files', async () => {
    const dir = await tempFolder();
    await saveCheckpoint(dir, trained(CONFIG, 2).checkpoint());
    const next = trained(CONFIG, 3).checkpoint();
    const files = encodeCheckpoint(next);
    // The commit renamed, the model's temp file not yet.
    await writeFile(join(dir, `${MODEL_FILE}.0123456789abcdef.tmp`), files.get(MODEL_FILE)!);
    await writeFile(join(dir, OPTIMIZER_FILE), files.get(OPTIMIZER_FILE)!);
    await writeFile(join(dir, TRAINER_STATE_FILE), files.get(TRAINER_STATE_FILE)!);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.step).toBe(3);
    expectSameTensors(loaded.model, next.model, 'model');
  });

  it('a checkpoint without optimizer state replaces one with it, and an empty folder is not a checkpoint', async () => {
    const dir = await tempFolder();
    await saveCheckpoint(dir, trained(CONFIG, 1).checkpoint());
    await saveCheckpoint(dir, { model: trained(CONFIG, 1).model.stateDict(), step: 9 });
    expect((await readdir(dir)).sort()).toEqual([MODEL_FILE, TRAINER_STATE_FILE]);
    expect((await loadCheckpoint(dir)).optimizer).toBeUndefined();
    await expect(loadCheckpoint(await tempFolder())).rejects.toThrow(/ENOENT.*trainer_state\.json/);
  });
});

// ---- resume = uninterrupted run (docs/TESTING.md §6.3) ------------------------------------

describe('resume', () => {
  const STEPS = 9; // three epochs of four batches, less three steps: every cursor position comes up

  it('k steps → checkpoint → fresh instances → load → N − k steps equals N steps, bitwise (fast-check picks k and the seed)', async () => {
    await fc.assert(
      fc.asyncProperty(arbSeed(), fc.integer({ min: 0, max: STEPS }), async (seed, k) => {
        const config = { ...CONFIG, seed: seed % 100_000 };
        const straight = new Run(config);
        const expectedLosses = Array.from({ length: STEPS }, () => straight.trainStep());

        const first = new Run(config);
        const losses = Array.from({ length: k }, () => first.trainStep());
        const dir = await tempFolder();
        await saveCheckpoint(dir, first.checkpoint());
        const second = Run.resume(await loadCheckpoint(dir));
        for (let i = k; i < STEPS; i++) losses.push(second.trainStep());

        expect(
          losses.every((l, i) => Object.is(l, expectedLosses[i])),
          `losses ${losses} vs ${expectedLosses}`,
        ).toBe(true);
        expectSameTensors(second.model.stateDict(), straight.model.stateDict(), 'weights');
        expectSameOptimizer(second.optimizer.stateDict(), straight.optimizer.stateDict());
        expect(second.noise.getState()).toEqual(straight.noise.getState());
        expect([second.step, second.epoch, second.cursor]).toEqual([straight.step, straight.epoch, straight.cursor]);
      }),
      { numRuns: 12 },
    );
  });

  it('the run is not trivially resumable: fresh instances without loading diverge', () => {
    const straight = trained(CONFIG, 3);
    const fresh = new Run(CONFIG, 987654);
    for (let i = 0; i < 3; i++) fresh.trainStep();
    expect(fresh.model.fc1.weight.toArray()).not.toEqual(straight.model.fc1.weight.toArray());
  });
});

// ---- the core stays browser-clean (docs/ARCHITECTURE.md, Models and files) ------------------

describe('packaging', () => {
  const root = resolve(import.meta.dirname, '../..');
  it('the formats and the main entry reach no Node built-in; only the Node entry (node.ts, node/) does', () => {
    // models/index.ts is `sparsegrad/models` (models from bytes, for browsers and workers); tokenizers the same.
    for (const entry of ['index.ts', 'models/index.ts', 'models/tokenizers/index.ts', 'models/safetensors.ts', 'models/checkpoint.ts'])
      expect(reachable(entry).external, entry).toEqual([]);
    expect(reachable('models/index.ts').files.has(resolve(root, 'node.ts'))).toBe(false);
    expect(reachable('index.ts').files.has(resolve(root, 'node.ts'))).toBe(false);
    expect(reachable('node.ts').external.filter((e) => !/^node(\.ts|\/[\w-]+\.ts): node:/.test(e))).toEqual([]);
  });
});
