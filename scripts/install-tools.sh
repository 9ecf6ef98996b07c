#!/usr/bin/env bash
# Builds the Temporal CLI (its dev server is the local stack's Temporal) from the Go module proxy
# into the ignored .tools/. Idempotent: a tool already at the pinned version is kept, and Go's
# module and build caches (outside the repo) make a rebuild take seconds. The database engine is
# scripts/install-engine.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_VERSION=v1.5.1   # newest that `go install` accepts (v1.6.0+ has a replace directive)

tools="$PWD/.tools"
bin="$tools/bin"
mkdir -p "$bin"

if ! command -v go >/dev/null 2>&1; then
  echo "install-tools: Go is not installed (needed to build the Temporal CLI)." >&2
  echo "install-tools: install Go 1.24+ (https://go.dev/dl/ or 'apt-get install golang') and run again." >&2
  exit 1
fi

current() { [[ -x "$bin/$1" && -f "$bin/.$1.version" && "$(cat "$bin/.$1.version")" == "$2" ]]; }

if current temporal "$TEMPORAL_CLI_VERSION"; then
  echo "install-tools: temporal $TEMPORAL_CLI_VERSION already installed"
else
  echo "install-tools: building temporal $TEMPORAL_CLI_VERSION with go install (first build takes several minutes)"
  GOBIN="$bin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  echo "$TEMPORAL_CLI_VERSION" > "$bin/.temporal.version"
fi
