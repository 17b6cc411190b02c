import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['spec/**/*.spec.ts'],
    // Uninitialized outputs read NaN in tests (spec/setup.ts).
    setupFiles: ['./spec/setup.ts'],
    reporters: ['default', './spec/summary-reporter.ts'],
    // Property suites are CPU-bound: one worker per core of the 2-core CI machine.
    maxWorkers: 2,
    testTimeout: 120_000,
  },
});
