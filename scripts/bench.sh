#!/usr/bin/env bash
# `npm run bench [-- flags]`: builds clicktrail and the bench to JavaScript and runs the bench
# (bench/run.ts). `npm run bench -- --help` lists the flags.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .tools/bin/temporal || ! -x .tools/bin/ferretdb ]]; then
  bash scripts/install-tools.sh
fi
# The bench runs FerretDB on a PostgreSQL server of its own unless told `--mongo-backend sqlite`.
if [[ " $* " != *" --mongo-backend sqlite "* ]] && ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  if [[ $EUID -eq 0 ]]; then
    echo "bench: installing PostgreSQL (Debian's postgresql package) for FerretDB's postgresql backend"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "bench: PostgreSQL is not installed: run 'sudo apt-get install postgresql', or pass --mongo-backend sqlite" >&2
    exit 1
  fi
fi
npx tsc -p tsconfig.build.json
exec node dist/bench/run.js "$@"
