#!/usr/bin/env bash
# Installs schemathesis (PyPI) into a venv under .tools/schemathesis: the API contract test
# (test/integration/api-contract.test.ts) runs its `st` against the local stack. Pinned, so a new
# release's checks do not change the verdict under us; skipped when python3 is missing (the test
# then says so).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.32.5
VENV=.tools/schemathesis
if ! command -v python3 >/dev/null 2>&1; then
  echo "install-schemathesis: no python3: the API contract test will be skipped" >&2
  exit 0
fi
if [[ -x $VENV/bin/st ]] && [[ "$($VENV/bin/python -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" == "$VERSION" ]]; then
  exit 0
fi
echo "install-schemathesis: installing schemathesis $VERSION into $VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
"$VENV/bin/st" --version
