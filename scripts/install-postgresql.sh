#!/usr/bin/env bash
# Installs Debian's PostgreSQL server when it is missing: the bench runs FerretDB on a PostgreSQL
# server of its own, and a test checks that stack. Nothing is started here (the local stack does it).
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-postgresql: PostgreSQL is not installed and there is no apt-get: install a PostgreSQL server so that /usr/lib/postgresql/<version>/bin/postgres exists" >&2
  exit 1
fi
if [[ $EUID -ne 0 ]]; then
  echo "install-postgresql: PostgreSQL is not installed and this is not root: run 'sudo apt-get install postgresql'" >&2
  exit 1
fi
echo "install-postgresql: installing Debian's postgresql package"
apt-get update -qq
# In a container without an init system the package's own cluster may fail to start; the binaries
# are all the local stack needs, so only their absence is an error.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null ||
  echo "install-postgresql: apt-get reported an error; checking for the server binaries" >&2
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  echo "install-postgresql: no /usr/lib/postgresql/*/bin/postgres after installing postgresql" >&2
  exit 1
fi
