/**
 * A small pool of worker threads that run WebAssembly kernels on one shared memory.
 *
 * Every thread (the caller's and each worker) holds an instance of the same compiled
 * `WebAssembly.Module`s (the GEMM's, the activations') on the same
 * `WebAssembly.Memory({ shared: true })`, so operands are written once and seen by all;
 * nothing is copied per call. A job is "call export f
 * with (t, ...args) for every task t < tasks": the caller writes f and args into a
 * control block at the start of the memory, bumps a generation counter and wakes the
 * workers (Atomics.notify); every thread, the caller included, then takes task numbers
 * from a shared counter until none is left, and the caller waits (Atomics.wait) until
 * every task is complete. It never waits for a worker that has not taken a task: one
 * still waking up when the work is gone finds nothing to take. The counter carries the
 * job's generation in its high 16 bits and is only advanced by compare-and-swap, so a
 * worker that wakes late, after its job ended, cannot take a task of the next one. From
 * the caller's point of view a job is synchronous.
 *
 * Which thread runs a task never changes what the task computes (a task writes its own
 * part of the output), so results are bitwise the same for any thread count; the kernels
 * built on this pool are written so that holds (spec/gemm.spec.ts checks it for the GEMM,
 * spec/threads.spec.ts that every task runs exactly once).
 *
 * The core stays free of Node imports: `worker_threads` is reached through
 * `process.getBuiltinModule` (Node ≥ 20.16), browsers use `new Worker(blob URL)`. The
 * worker's code is the small string below, so there is no file to resolve in a bundle.
 * Where shared memory, workers or a blocking wait are unavailable (a page without
 * cross-origin isolation; a browser's main thread, which may not Atomics.wait), the
 * pool has no workers and every job runs on the caller: same results, one core.
 * Workers are unref()'d: a script exits when its own work is done.
 */
import { SparsegradError, ValueError } from '../../base/errors.ts';

/** Bytes at the start of the memory reserved for the control block (kernels use the rest). */
export const CONTROL_BYTES = 256;

// Control block layout, in Int32 slots.
const GEN = 0; // bumped once per job; workers wait on it
const NEXT = 1; // (generation & 0xffff) << 16 | the next task number to take
const TASKS = 2; // how many tasks the job has
const COMPLETED = 3; // how many of the job's tasks are complete (run, failed, or skipped after a failure)
const FN = 4; // which export to run (index into the names of all modules, in order)
const PARTICIPANTS = 5; // workers 0 … PARTICIPANTS−1 may take part; the others sleep on
const FAILED = 6; // 1 + the id of a worker whose task threw, or 0
const EPOCH = 7; // bumped by shutdown(): workers of an older epoch leave their loop
const WORKER_TASKS = 8; // tasks run by workers since the pool started (a statistic)
const ARGS = 9; // MAX_ARGS i32 arguments
export const MAX_ARGS = 16;
const READY = ARGS + MAX_ARGS; // one slot per worker: its epoch, once instantiated
const MAX_WORKERS = (CONTROL_BYTES >> 2) - READY;

// The worker: instantiate the modules on the shared memory, then serve jobs forever.
// Plain JavaScript (it runs as is in Node's eval mode and in a blob-URL Web Worker).
const WORKER_SOURCE = `
const start = ({ modules, memory, names, id, epoch }) => {
  const fns = modules.flatMap((module, i) => {
    const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
    return names[i].map((n) => ex[n]);
  });
  const ctl = new Int32Array(memory.buffer, 0, ${CONTROL_BYTES >> 2});
  let gen = Atomics.load(ctl, ${GEN});
  Atomics.store(ctl, ${READY} + id, epoch);
  for (;;) {
    Atomics.wait(ctl, ${GEN}, gen);
    const g = Atomics.load(ctl, ${GEN});
    if (g === gen) continue;
    gen = g;
    if (Atomics.load(ctl, ${EPOCH}) !== epoch) return;
    if (id >= Atomics.load(ctl, ${PARTICIPANTS})) continue;
    const f = fns[Atomics.load(ctl, ${FN})], tasks = Atomics.load(ctl, ${TASKS});
    const a = Array.from({ length: ${MAX_ARGS} }, (_, i) => Atomics.load(ctl, ${ARGS} + i));
    const tag = (g & 0xffff) << 16;
    for (;;) {
      const v = Atomics.load(ctl, ${NEXT});
      if ((v & -65536) !== tag || (v & 0xffff) >= tasks) break; // another job's counter, or no task left
      if (Atomics.compareExchange(ctl, ${NEXT}, v, v + 1) !== v) continue;
      try {
        f(v & 0xffff, ...a);
        Atomics.add(ctl, ${WORKER_TASKS}, 1);
      } catch (e) {
        Atomics.store(ctl, ${FAILED}, id + 1);
      }
      if (Atomics.add(ctl, ${COMPLETED}, 1) + 1 === tasks) Atomics.notify(ctl, ${COMPLETED});
    }
  }
};
if (typeof require === 'function') {
  const { workerData } = require('node:worker_threads');
  start(workerData);
} else {
  self.onmessage = (e) => start(e.data);
}
`;

type WasmFn = (...args: number[]) => void;

/** A compiled module, its instance on the caller's thread, and the exports a job may run. */
export interface PoolModule {
  module: WebAssembly.Module;
  instance: WebAssembly.Instance;
  names: readonly string[];
}
interface WorkerLike {
  terminate(): unknown;
  unref?(): void;
}
interface NodeWorkerThreads {
  Worker: new (code: string, options: { eval: true; workerData: unknown }) => WorkerLike;
}

/** Worker threads, if this platform has them and lets the caller block on Atomics.wait. */
function workerFactory(): ((data: unknown) => WorkerLike) | undefined {
  const g = globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown };
    Worker?: new (url: string) => WorkerLike & { postMessage(d: unknown): void };
    Blob?: new (parts: string[], o: { type: string }) => unknown;
    URL?: { createObjectURL?(b: unknown): string };
    crossOriginIsolated?: boolean;
  };
  const wt = g.process?.getBuiltinModule?.('node:worker_threads') as NodeWorkerThreads | undefined;
  if (wt?.Worker) return (workerData) => new wt.Worker(WORKER_SOURCE, { eval: true, workerData });
  const { Worker, Blob, URL } = g;
  if (!Worker || !Blob || !URL?.createObjectURL || g.crossOriginIsolated !== true) return undefined;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  return (data) => {
    const w = new Worker(url);
    w.postMessage(data);
    return w;
  };
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
function canBlock(memory: WebAssembly.Memory): boolean {
  try {
    Atomics.wait(new Int32Array(memory.buffer, 0, 1), 0, 1, 0); // value differs: returns at once
    return true;
  } catch {
    return false;
  }
}

/** The default thread count: every core the platform reports (Node's os.availableParallelism, navigator.hardwareConcurrency). */
export function defaultThreads(): number {
  const g = globalThis as {
    navigator?: { hardwareConcurrency?: number };
    process?: { getBuiltinModule?: (id: string) => unknown };
  };
  const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?(): number; cpus?(): unknown[] } | undefined;
  const n = os?.availableParallelism?.() ?? os?.cpus?.().length ?? g.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(n, MAX_WORKERS + 1));
}

export class ThreadPool {
  private ctlView: Int32Array;
  private readonly fns: WasmFn[];
  private readonly names: readonly string[];
  private readonly spawn: ((data: unknown) => WorkerLike) | undefined;
  private workers: WorkerLike[] = [];
  private threads = 1;
  /**
   * Whether the caller takes tasks too (it should: it would only wait otherwise). Tests
   * turn it off so that a job's tasks all run on workers.
   */
  callerJoins = true;

  /**
   * A job runs one of the modules' `names` (numbered across all of them, in order),
   * called as f(task, ...args). The pool spawns no worker until setThreads() asks for
   * more than one thread.
   */
  constructor(
    private readonly modules: readonly PoolModule[],
    private readonly memory: WebAssembly.Memory,
  ) {
    this.ctlView = new Int32Array(memory.buffer, 0, CONTROL_BYTES >> 2);
    this.names = modules.flatMap((m) => m.names);
    this.fns = modules.flatMap((m) => m.names.map((n) => m.instance.exports[n] as WasmFn));
    const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
    this.spawn = shared && canBlock(memory) ? workerFactory() : undefined;
    Atomics.store(this.ctl, EPOCH, 1);
  }

  /**
   * The control words. Growing a memory that is not shared (the one-thread fallback, e.g. a
   * page without cross-origin isolation) detaches its old buffer, and every view on it: make
   * the view again whenever the memory's buffer has changed.
   */
  private get ctl(): Int32Array {
    if (this.ctlView.buffer !== this.memory.buffer) this.ctlView = new Int32Array(this.memory.buffer, 0, CONTROL_BYTES >> 2);
    return this.ctlView;
  }

  /** Whether this platform can run more than one thread (else setThreads(n) runs everything on one). */
  get parallel(): boolean {
    return this.spawn !== undefined;
  }

  /** The thread count asked for (the caller counts as one). */
  get threadCount(): number {
    return this.threads;
  }

  /** How many tasks workers have run since the pool started. */
  get workerTasks(): number {
    return Atomics.load(this.ctl, WORKER_TASKS);
  }

  /** Workers that are instantiated and take part in jobs now (they start asynchronously). */
  get readyWorkers(): number {
    let n = 0;
    const epoch = Atomics.load(this.ctl, EPOCH);
    while (n < this.workers.length && Atomics.load(this.ctl, READY + n) === epoch) n++;
    return n;
  }

  /**
   * Use n threads: the caller plus n − 1 workers. Workers are only ever added: lowering n
   * leaves the extra ones asleep in Atomics.wait (no CPU, no hold on the process), so a
   * task can never be lost to a worker being terminated mid-job. New workers join once
   * instantiated; jobs before that run on fewer threads, with the same results.
   */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new ValueError(`setThreads(): the thread count must be a positive integer, got ${n}`);
    this.threads = n;
    const want = this.spawn ? Math.min(n - 1, MAX_WORKERS) : 0;
    while (this.workers.length < want) {
      const id = this.workers.length;
      const epoch = Atomics.load(this.ctl, EPOCH);
      const modules = this.modules.map((m) => m.module);
      const w = this.spawn!({ modules, memory: this.memory, names: this.modules.map((m) => m.names), id, epoch });
      w.unref?.(); // a waiting worker does not keep the process alive
      this.workers.push(w);
    }
  }

  /**
   * Ends every worker (a new epoch: the old workers leave their loop at the wake-up, and
   * are terminated); the pool then runs on one thread until setThreads() asks again. A
   * READY slot holds its worker's epoch, so a late-starting old worker is never counted.
   */
  shutdown(): void {
    Atomics.add(this.ctl, EPOCH, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) void w.terminate();
    this.workers = [];
    this.threads = 1;
  }

  /** Resolves once every requested worker is instantiated (for tests and benchmarks). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    while (this.readyWorkers < this.workers.length) {
      if (Date.now() - start > timeoutMs) {
        throw new SparsegradError(`ThreadPool.ready(): only ${this.readyWorkers} of ${this.workers.length} workers started within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /**
   * Run function number fn (f(t, ...args)) for every t < tasks, spread over the ready threads; returns
   * when all are done. `minTasksPerThread` keeps small jobs on fewer threads, where waking
   * a worker would cost more than its share of the work.
   */
  run(fn: number, tasks: number, args: readonly number[], minTasksPerThread = 1): void {
    const f = this.fns[fn]!;
    const a = args;
    const helpers = Math.min(this.readyWorkers, this.threads - 1, Math.floor(tasks / minTasksPerThread) - 1);
    // Task numbers live in the counter's low 16 bits (the GEMM and packers stay far below).
    if (helpers <= 0 || tasks > 0xffff) {
      for (let t = 0; t < tasks; t++) f(t, ...a);
      return;
    }
    if (args.length > MAX_ARGS) throw new ValueError(`ThreadPool.run(): at most ${MAX_ARGS} arguments, got ${args.length}`);
    const ctl = this.ctl;
    const gen = (Atomics.load(ctl, GEN) + 1) | 0;
    const tag = (gen & 0xffff) << 16;
    // The counter first: from here on, no late worker of an earlier job can take a task.
    Atomics.store(ctl, NEXT, tag);
    // Atomic stores (and loads in the worker): one total order, so a worker that sees any
    // part of this job also sees the counter's new tag written before it.
    for (let i = 0; i < args.length; i++) Atomics.store(ctl, ARGS + i, args[i]!);
    Atomics.store(ctl, FN, fn);
    Atomics.store(ctl, TASKS, tasks);
    Atomics.store(ctl, COMPLETED, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, PARTICIPANTS, helpers);
    Atomics.store(ctl, GEN, gen);
    Atomics.notify(ctl, GEN);
    /** Takes the next task number of this job, or −1 when none is left. */
    const take = (): number => {
      for (;;) {
        const v = Atomics.load(ctl, NEXT);
        if ((v & 0xffff) >= tasks) return -1;
        if (Atomics.compareExchange(ctl, NEXT, v, v + 1) === v) return v & 0xffff;
      }
    };
    let error: unknown = null;
    if (this.callerJoins) {
      for (let t: number; (t = take()) >= 0; ) {
        try {
          f(t, ...a);
        } catch (e) {
          error = e;
          // The job has failed: the tasks nobody took yet are skipped, but counted, so
          // that the wait below ends once the workers' tasks in flight are done.
          Atomics.add(ctl, COMPLETED, 1);
          while (take() >= 0) Atomics.add(ctl, COMPLETED, 1);
          break;
        }
        Atomics.add(ctl, COMPLETED, 1);
      }
    }
    // Wait for the tasks that workers hold (the job's memory may not be reused before).
    const deadline = Date.now() + 60_000;
    for (let d: number; (d = Atomics.load(ctl, COMPLETED)) < tasks; ) {
      if (Date.now() > deadline)
        throw new SparsegradError(`ThreadPool.run(): ${tasks - d} of ${tasks} tasks of '${this.names[fn]}' did not complete within 60 s`);
      Atomics.wait(ctl, COMPLETED, d, 1000);
    }
    if (error !== null) throw error;
    const failed = Atomics.load(ctl, FAILED);
    if (failed) throw new SparsegradError(`ThreadPool.run(): '${this.names[fn]}' threw in worker ${failed - 1} (${tasks} tasks, args ${args.join(', ')})`);
  }
}
