/**
 * A vitest reporter that ends the run with one plain line, `N passed, N failed`
 * (and `, N skipped` when any were skipped), which CI reads. A module that fails
 * without a failing test (a broken import, a hook that threw or timed out) counts as one
 * failure, so it can never look like a green run.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of modules) {
      // A module can fail with no failed test: it did not load, or a beforeAll/afterAll hook
      // threw or timed out. That is one failure, or the line would read green.
      const tests = [...module.children.allTests()];
      if (module.state() === 'failed' && !tests.some((t) => t.result().state === 'failed')) failed++;
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  }
}
