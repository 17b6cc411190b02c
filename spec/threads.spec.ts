/**
 * The thread pool (kernels/threads/pool.ts) on a module of its own: every task of a job
 * runs exactly once whichever threads take part, a task that traps in a worker is
 * reported (and the pool still works afterwards), and after shutdown() jobs run on the
 * caller. The GEMM's own thread-count property is in spec/gemm.spec.ts.
 */
import { afterAll, expect, test } from 'vitest';
import { SparsegradError } from '../base/errors.ts';
import { CONTROL_BYTES, ThreadPool } from '../kernels/threads/pool.ts';
import { Func, Module } from '../base/wasm-assembler.ts';

const PAGES = 4;
const OUT = CONTROL_BYTES; // the tasks' output: one i32 per task

/**
 * mark(t, base, value, trapAt): memory[base + 4t] += value, and traps when t = trapAt
 * (−1: never). A task that ran twice, or not at all, shows in the output.
 */
function buildPool(): { pool: ThreadPool; memory: WebAssembly.Memory } {
  const f = new Func(['i32', 'i32', 'i32', 'i32']);
  const [t, base, value, trapAt] = [0, 1, 2, 3];
  const at = f.local('i32');
  f.block(() => {
    f.get(t).get(trapAt).op('i32.ne').brIf(0);
    f.op('unreachable');
  });
  f.get(base).get(t).i32(4).op('i32.mul').op('i32.add').set(at);
  f.get(at).get(at).mem('i32.load').get(value).op('i32.add').mem('i32.store');
  const mod = new Module({ imported: { shared: true, maximumPages: PAGES } });
  mod.add(f, 'mark');
  const memory = new WebAssembly.Memory({ initial: 1, maximum: PAGES, shared: true });
  const module = new WebAssembly.Module(mod.encode());
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { pool: new ThreadPool([{ module, instance, names: ['mark'] }], memory), memory };
}

const { pool, memory } = buildPool();
afterAll(() => pool.shutdown());

function runMarks(tasks: number, value: number, trapAt = -1): Int32Array {
  const out = new Int32Array(memory.buffer, OUT, tasks);
  out.fill(0);
  pool.run(0, tasks, [OUT, value, trapAt]);
  return out;
}

test('every task of a job runs exactly once, on workers only and shared with the caller', async () => {
  expect(pool.parallel).toBe(true); // Node ≥ 20: shared memory, worker_threads, Atomics.wait
  pool.setThreads(3);
  await pool.ready();
  expect(pool.readyWorkers).toBe(2);
  for (const callerJoins of [false, true]) {
    pool.callerJoins = callerJoins;
    for (const tasks of [1, 2, 7, 500]) {
      const before = pool.workerTasks;
      const out = runMarks(tasks, 5);
      expect(
        [...out].every((v) => v === 5),
        `${tasks} tasks, caller ${callerJoins ? 'joins' : 'waits'}: ${[...out].filter((v) => v !== 5).length} ran ≠ once`,
      ).toBe(true);
      // With the caller only waiting, all of a job's tasks ran on workers (a one-task job stays on the caller).
      if (!callerJoins && tasks > 1) expect(pool.workerTasks - before).toBe(tasks);
    }
  }
  pool.callerJoins = true;
});

test("a task that traps in a worker is reported by the caller's run(), and the pool keeps working", async () => {
  pool.setThreads(2);
  await pool.ready();
  pool.callerJoins = false; // so the trapping task runs on a worker
  try {
    expect(() => runMarks(64, 1, 10)).toThrow(SparsegradError);
    expect(() => runMarks(64, 1, 10)).toThrow(/ThreadPool\.run\(\): 'mark' threw in worker 0 \(64 tasks, args/);
  } finally {
    pool.callerJoins = true;
  }
  const out = runMarks(64, 2);
  expect([...out].every((v) => v === 2)).toBe(true);
});

test('many short jobs in a row: every task runs exactly once, however late the workers wake', async () => {
  pool.setThreads(3);
  await pool.ready();
  // Jobs this short often end before a worker is awake; the caller must not wait for it,
  // and a late worker must take nothing twice nor anything of a job with stale arguments
  // (a task run twice would mark 2·value, one run with another job's value would show it).
  for (let job = 0; job < 300; job++) {
    const tasks = 2 + (job % 9);
    const out = runMarks(tasks, job + 1);
    const wrong = [...out].findIndex((v) => v !== job + 1);
    expect(wrong, `job ${job}: task ${wrong} marked ${out[wrong]}`).toBe(-1);
  }
});

test("a trap in any thread fails run() (the caller's error, or a SparsegradError), and the next job runs", async () => {
  pool.setThreads(2);
  await pool.ready();
  for (const trapAt of [0, 5, 63]) {
    expect(() => runMarks(64, 1, trapAt)).toThrow();
    const out = runMarks(64, 4);
    expect(
      [...out].every((v) => v === 4),
      `after a trap at task ${trapAt}`,
    ).toBe(true);
  }
});

test('setThreads() rejects non-positive or fractional counts; after shutdown() jobs run on the caller', () => {
  for (const bad of [0, -2, 2.5, NaN]) expect(() => pool.setThreads(bad)).toThrow(/setThreads\(\): the thread count must be a positive integer/);
  pool.shutdown();
  expect(pool.threadCount).toBe(1);
  expect(pool.readyWorkers).toBe(0);
  const before = pool.workerTasks;
  const out = runMarks(300, 3);
  expect([...out].every((v) => v === 3)).toBe(true);
  expect(pool.workerTasks).toBe(before);
});
