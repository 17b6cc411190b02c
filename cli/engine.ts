/**
 * The engine settings every process of the command starts with (the command itself and each
 * run's worker, cli/worker.ts): fused multiply-adds in the GEMM where this Node can have them
 * (on Node 20 through its flag; `SPARSEGRAD_FMA=off` keeps the plain kernel, whose results are
 * the same bits on every engine), and the thread count a parent gave this process.
 */
import { setRelaxedSimd, setThreads } from '../index.ts';
import { enableRelaxedSimd } from '../node.ts';

export function configureEngine(env: NodeJS.ProcessEnv = process.env): void {
  if (env.SPARSEGRAD_FMA === 'off') setRelaxedSimd(false);
  else enableRelaxedSimd();
  // The parent gives each run its share of the cores (cli/compare/worker-process.ts); unset, all of them.
  if (env.SPARSEGRAD_THREADS) setThreads(Number(env.SPARSEGRAD_THREADS));
}
