/**
 * The `sparsegrad` executable: runs the command line and exits with its status. Bundled
 * into dist/sparsegrad.js (the package's "bin"); cli/bin.mjs runs it from the sources.
 */
import { configureEngine } from './engine.ts';
import { main } from './main.ts';

configureEngine();

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
// Progress bars and workers may hold handles open; the command is done.
process.exit(process.exitCode);
