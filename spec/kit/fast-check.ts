/**
 * fast-check, reached on demand. It is an optional peer dependency of `sparsegrad/spec`
 * (the library itself needs nothing): a project that property-tests with this kit
 * installs it next to sparsegrad. Without it, importing `sparsegrad/spec` fails here
 * with an error that says what to install, instead of a bare module-not-found.
 */
import type FastCheck from 'fast-check';
import { SparsegradError } from '../../base/errors.ts';

async function loadFastCheck(): Promise<typeof FastCheck> {
  try {
    return (await import('fast-check')).default;
  } catch (error) {
    throw new SparsegradError(
      `sparsegrad/spec needs fast-check, an optional peer dependency that is not installed: \`npm install --save-dev fast-check@4\` (${(error as Error).message})`,
    );
  }
}

export const fc: typeof FastCheck = await loadFastCheck();
