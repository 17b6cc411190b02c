#!/usr/bin/env bash
# Installs Deno and Bun for this checkout's packaging tests (`npm run install-runtimes`;
# .ci/run calls it): spec/package/install.spec.ts runs the installed library in each of them
# and compares it with Node. They go into .runtimes/ (ignored by git), not the repository's
# node_modules: ≈ 200 MB of binaries that only these tests use, so `npm ci` stays lean, and
# package.json and the lockfile stay untouched. Without them those tests skip with one line.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .runtimes
npm install --prefix .runtimes --no-audit --no-fund --no-save deno@2.9.6 bun@1.4.4
.runtimes/node_modules/.bin/deno --version | head -1
echo "bun $(.runtimes/node_modules/.bin/bun --version)"
