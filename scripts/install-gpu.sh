#!/usr/bin/env bash
# Installs the GPU backend's optional peer for this checkout's tests (`npm run install-gpu`;
# .ci/run calls it): gpu.js 2.24.1 and its optional native `gl` (headless GL for Node).
# The repository's `npm ci` leaves it out on purpose: gl has no reachable prebuilt binary,
# so node-gyp compiles it from source (1.5–4 min on 2 cores), and it needs the apt packages
#   build-essential python3 pkg-config libx11-dev libxext-dev libxi-dev
# plus `xvfb xauth` to run. package.json and the lockfile stay untouched (--no-save).
# `--save-optional` is needed as well: the root declares gpu.js as an optional *peer*, which
# npm will not install on a plain `npm install --no-save gpu.js` ("up to date").
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=max npm install --no-save --save-optional --no-audit --no-fund gpu.js@2.24.1
