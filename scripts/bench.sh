#!/usr/bin/env bash
# `npm run bench [-- flags]`: builds clicktrail and the bench to JavaScript and runs the bench
# (bench/run.ts). `npm run bench -- --help` lists the flags.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " != *" --help "* ]]; then
  bash scripts/install-tools.sh
  bash scripts/install-engine.sh
fi
npx tsc -p tsconfig.build.json
exec node dist/bench/run.js "$@"
