#!/usr/bin/env bash
# CPU an idle local stack uses: starts `node dist/src/dev.js` (build first: npx tsc -p tsconfig.build.json),
# waits until it prints its tracked link and 20 s more, then samples /proc for 60 s: the clicktrail
# process (API, worker, hand-over, rollups), FerretDB, every PostgreSQL process and the Temporal dev server.
# Usage: bash bench/experiments/idle-cpu.sh <label>   (nothing else of the local stack may be running)
set -euo pipefail
label=${1:-idle}
cd "$(dirname "$0")/../.."
log=$(mktemp)
setsid node dist/src/dev.js > "$log" 2>&1 &
for _ in $(seq 1 120); do grep -q "Tracked link" "$log" && break; sleep 1; done
sleep 20
tk=$(getconf CLK_TCK)
ticks() { local t=0 v; for p in "$@"; do v=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t + v)); done; echo "$t"; }
sample() { echo "$(ticks $(pgrep -f 'node dist/src/dev.js')) $(ticks $(pgrep -f ferretdb)) $(ticks $(pgrep -u postgres)) $(ticks $(pgrep -f 'temporal server'))"; }
read -r a1 a2 a3 a4 <<< "$(sample)"
sleep 60
read -r b1 b2 b3 b4 <<< "$(sample)"
pct() { echo "scale=1; ($2 - $1) * 100 / $tk / 60" | bc; }
echo "$label: clicktrail $(pct "$a1" "$b1") %, FerretDB $(pct "$a2" "$b2") %, PostgreSQL $(pct "$a3" "$b3") %, Temporal $(pct "$a4" "$b4") % of a core (60 s idle)"
pkill -INT -f 'node dist/src/dev.js' || true
sleep 10
rm -f "$log"
