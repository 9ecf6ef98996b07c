#!/usr/bin/env bash
# `npm start`: installs what a fresh clone lacks, builds, and runs clicktrail with its local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules/@temporalio/worker ]]; then
  echo "start: installing npm packages (npm install follows package-lock.json; see .ci/run for why not npm ci)"
  npm install --no-audit --no-fund
fi
bash scripts/install-tools.sh
# With MONGODB_URI set, clicktrail uses that MongoDB and needs no local engine.
[[ -n ${MONGODB_URI:-} ]] || bash scripts/install-engine.sh
npx tsc -p tsconfig.build.json
# The dashboard (web/, served at /app/).
npx vite build --config web/vite.config.ts
exec node dist/src/dev.js
