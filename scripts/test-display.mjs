// `npm test`'s vitest step: the gpu.js GL tests need an X display. When there is none and
// xvfb-run is installed, run vitest under `xvfb-run -a` (Mesa's llvmpipe); otherwise run it
// as is (the GL tests then skip with one line, or fail under REQUIRE_GL=1). Exits with
// vitest's status; vitest's last line stays "N passed, N failed".
import { spawnSync } from 'node:child_process';

const args = ['vitest', 'run', ...process.argv.slice(2)];
const hasXvfb = !process.env.DISPLAY && spawnSync('sh', ['-c', 'command -v xvfb-run'], { stdio: 'ignore' }).status === 0;
const [command, commandArgs] = hasXvfb ? ['xvfb-run', ['-a', 'npx', ...args]] : ['npx', args];
const result = spawnSync(command, commandArgs, { stdio: 'inherit' });
process.exit(result.status ?? 1);
