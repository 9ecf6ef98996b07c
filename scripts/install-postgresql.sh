#!/usr/bin/env bash
# Installs Debian's PostgreSQL server when it is missing: the bench runs FerretDB on a PostgreSQL
# server of its own, and a test checks that stack. Nothing is started here (the local stack does it).
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  exit 0
fi
if [[ $EUID -ne 0 ]]; then
  echo "install-postgresql: PostgreSQL is not installed and this is not root: run 'sudo apt-get install postgresql'" >&2
  exit 1
fi
echo "install-postgresql: installing Debian's postgresql package"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
