import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['spec/**/*.spec.ts'],
    // Uninitialized outputs read NaN in tests (spec/setup.ts).
    setupFiles: ['./spec/setup.ts'],
    reporters: ['default', './spec/summary-reporter.ts'],
    // Property suites are CPU-bound: one worker per core of the 2-core CI machine.
    maxWorkers: 2,
    // The engine's default where Node ≥ 22 and browsers have relaxed SIMD: the GEMM's fused
    // multiply-adds. Node 20 validates them only with this flag; spec/gemm.spec.ts checks the
    // plain kernel too.
    execArgv: ['--experimental-wasm-relaxed-simd'],
    // Limits that catch a hang, not slowness: a busy 2-core machine stretches everything. The
    // hooks' limit too: the install spec's afterAll (deleting its installed projects, thousands
    // of files) once took over vitest's default 10 s beside a fine-tuning campaign.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
