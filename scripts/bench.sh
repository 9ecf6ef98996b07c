#!/usr/bin/env bash
# `npm run bench [-- flags]`: builds clicktrail and the bench to JavaScript and runs the bench
# (bench/run.ts). `npm run bench -- --help` lists the flags.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .tools/bin/temporal || ! -x .tools/bin/ferretdb ]]; then
  bash scripts/install-tools.sh
fi
# The bench runs FerretDB on a PostgreSQL server of its own unless told `--mongo-backend sqlite`.
if [[ " $* " != *" --mongo-backend sqlite "* && " $* " != *" --mongo-backend=sqlite "* && " $* " != *" --help "* ]]; then
  bash scripts/install-postgresql.sh
fi
npx tsc -p tsconfig.build.json
exec node dist/bench/run.js "$@"
