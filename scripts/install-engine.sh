#!/usr/bin/env bash
# Installs the local MongoDB-compatible engine: FerretDB v2 on a PostgreSQL 15 with Microsoft's
# DocumentDB extension (FerretDB's fork) and what it needs (libbson, pgvector, pg_cron, PostGIS,
# RUM). Debian packages come from apt; the C parts no registry ships are built from the source
# archives in ../shared/vendor/ (or CLICKTRAIL_VENDOR_DIR), checked against their SHA-256; FerretDB
# is built from the Go module proxy.
#
# Builds are cached by version outside the work tree (CLICKTRAIL_CACHE, default
# ~/.cache/clicktrail), so every clone on a machine shares them. The extensions must be installed
# into PostgreSQL's own directories (a server loads them only from there); a step whose result is
# already installed at the pinned version is skipped, so a warm run takes about a second.
# Leaves .tools/bin/ferretdb pointing at the cached binary; prints the engine's directory last.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

PG_MAJOR=15
LIBBSON_VERSION=1.28.0
DOCUMENTDB_VERSION=0.107.0          # FerretDB's fork, branch ferretdb at 3f80da90; extension 0.107-0
PGVECTOR_VERSION=0.8.0
PG_CRON_VERSION=1.6.3
FERRETDB_VERSION=v2.7.0

declare -A SHA256=(
  [documentdb-0.107.0-ferretdb.tar.gz]=e094e7e645ba29a55fc9d3824c7c14d87c9ab938150ec8f2324176f32ca2672d
  [mongo-c-driver-1.28.0-libbson.tar.gz]=bc2f12b91744c404faf236acd9bee8acb725b903906bfe94b77d4e6048baf1d6
  [pg_cron-1.6.3.tar.gz]=3580f4034021e62e459f9f7ab1f625774bfc534a9256844545da85d6f99c2f5b
  [pgvector-0.8.0.tar.gz]=41fad4de9d55d8700ea717e117b1ffd59cac2c2b85d21479f9415aa830caac8c
)
DEBIAN_PACKAGES=(
  "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" "postgresql-$PG_MAJOR-postgis-3" "postgresql-$PG_MAJOR-rum"
  libpcre2-dev libintelrdfpmath-dev libicu-dev libkrb5-dev pkg-config cmake build-essential
)

cache=${CLICKTRAIL_CACHE:-$HOME/.cache/clicktrail}
engine="$cache/engine-pg$PG_MAJOR-documentdb$DOCUMENTDB_VERSION-libbson$LIBBSON_VERSION-pgvector$PGVECTOR_VERSION-pgcron$PG_CRON_VERSION-ferretdb$FERRETDB_VERSION"
vendor=${CLICKTRAIL_VENDOR_DIR:-$repo/../shared/vendor}
pg_config=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config

say() { echo "install-engine: $*" >&2; }
fail() { say "$*"; exit 1; }
started=$SECONDS
step() { # step <what> <command...>: runs a step and says how long it took
  local what=$1 t0=$SECONDS
  shift
  say "$what ..."
  "$@"
  say "$what: done in $((SECONDS - t0)) s"
}

# --- Debian packages --------------------------------------------------------------------------
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    fail "missing Debian packages and no apt-get: install ${missing[*]} (or their equivalents), or skip the local engine and set MONGODB_URI to an existing MongoDB"
  fi
  if [[ $EUID -ne 0 ]]; then
    fail "missing Debian packages: run 'sudo apt-get install --no-install-recommends ${missing[*]}' and run again (the extensions are then installed into /usr/lib/postgresql, which also needs root), or set MONGODB_URI to an existing MongoDB"
  fi
  apt_install() {
    apt-get update -qq
    # In a container without an init system the package's own cluster may fail to start; the stack
    # runs a cluster of its own, so only missing files are an error (checked below).
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      say "apt-get reported an error; checking what got installed"
  }
  step "installing Debian packages ${missing[*]}" apt_install
  [[ -x $pg_config ]] || fail "$pg_config is missing after apt-get install"
fi

# --- source archives --------------------------------------------------------------------------
archive() { # archive <file>: the verified path of a vendored source archive
  local file=$1 path="$vendor/$1"
  if [[ ! -f $path ]]; then
    fail "$path is missing. Put the source archives in ../shared/vendor/ or point CLICKTRAIL_VENDOR_DIR at them. Without that folder, make them from upstream at the same tags:
  documentdb-$DOCUMENTDB_VERSION-ferretdb.tar.gz   git archive --prefix=documentdb/ of github.com/FerretDB/documentdb at 3f80da90a9e0b04f214183aa656c4fb0b4bc31e4 (branch ferretdb)
  mongo-c-driver-$LIBBSON_VERSION-libbson.tar.gz  git archive --prefix=mongo-c-driver-$LIBBSON_VERSION/ of github.com/mongodb/mongo-c-driver tag $LIBBSON_VERSION
  pgvector-$PGVECTOR_VERSION.tar.gz                 git archive --prefix=pgvector-$PGVECTOR_VERSION/ of github.com/pgvector/pgvector tag v$PGVECTOR_VERSION
  pg_cron-$PG_CRON_VERSION.tar.gz                  git archive --prefix=pg_cron-$PG_CRON_VERSION/ of github.com/citusdata/pg_cron tag v$PG_CRON_VERSION
(the SHA-256 of the trimmed archives in ../shared/vendor/README.md then differ: set CLICKTRAIL_VENDOR_UNVERIFIED=1)"
  fi
  if [[ -z ${CLICKTRAIL_VENDOR_UNVERIFIED:-} ]]; then
    local sum
    sum=$(sha256sum "$path" | cut -d' ' -f1)
    [[ $sum == "${SHA256[$file]}" ]] || fail "$path: SHA-256 $sum, expected ${SHA256[$file]}"
  fi
  echo "$path"
}
unpack() { # unpack <archive> <top folder>: a fresh copy under $engine/src
  local file
  file=$(archive "$1")
  mkdir -p "$engine/src"
  rm -rf "$engine/src/$2"
  tar xzf "$file" -C "$engine/src"
}
pgmake() { make -s -j"$(nproc)" PG_CONFIG="$pg_config" with_llvm=no "$@" >/dev/null; }

# --- libbson and the Intel decimal library, in a private prefix: only DocumentDB's build needs them
prefix="$engine/prefix"
build_libbson() {
  unpack "mongo-c-driver-$LIBBSON_VERSION-libbson.tar.gz" "mongo-c-driver-$LIBBSON_VERSION"
  local src="$engine/src/mongo-c-driver-$LIBBSON_VERSION"
  cmake -S "$src" -B "$src/_build" -DENABLE_MONGOC=OFF -DENABLE_TESTS=OFF -DENABLE_EXAMPLES=OFF -DENABLE_STATIC=ON \
    -DCMAKE_C_FLAGS=-fPIC -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
  cmake --build "$src/_build" -j"$(nproc)" >/dev/null
  cmake --install "$src/_build" >/dev/null
  touch "$prefix/.libbson-$LIBBSON_VERSION"
}
documentdb_build_deps() {
  [[ -f "$prefix/.libbson-$LIBBSON_VERSION" ]] || step "building libbson $LIBBSON_VERSION" build_libbson
  # Debian's libintelrdfpmath-dev ships the library but no pkg-config file; DocumentDB asks for one.
  mkdir -p "$prefix/lib/pkgconfig"
  cat >"$prefix/lib/pkgconfig/intelmathlib.pc" <<'PC'
Name: intelmathlib
Description: Intel decimal floating point math library (Debian libintelrdfpmath-dev)
Version: 2.0
Cflags: -I/usr/include
Libs: -L/usr/lib/x86_64-linux-gnu -lbidgcc000
PC
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
}

# --- PostgreSQL extensions ---------------------------------------------------------------------
# An extension counts as installed when PostgreSQL's control file names the pinned version and its
# library is there: a fresh clone (or another cache dir) on a machine that has them skips the build.
sharedir=$("$pg_config" --sharedir)/extension
pkglibdir=$("$pg_config" --pkglibdir)
installed() { # installed <control name> <default_version> <library>
  [[ -f "$sharedir/$1.control" && -f "$pkglibdir/$3.so" ]] &&
    grep -Eq "^default_version *= *'$2'" "$sharedir/$1.control"
}
need_root_for() {
  [[ $EUID -eq 0 || -w $pkglibdir ]] ||
    fail "installing $1 into $pkglibdir needs root: run this script with sudo once, or set MONGODB_URI to an existing MongoDB"
}
build_extension() { # build_extension <archive> <top folder> [subdirs...]
  local archive=$1 top=$2
  shift 2
  unpack "$archive" "$top"
  local dirs=("$@")
  ((${#dirs[@]})) || dirs=(.)
  for d in "${dirs[@]}"; do
    pgmake -C "$engine/src/$top/$d"
    pgmake -C "$engine/src/$top/$d" install
  done
}
# pg_cron's control file names only major.minor: any 1.6.x will do (Debian's 1.4 will not).
if ! installed pg_cron "${PG_CRON_VERSION%.*}" pg_cron; then
  need_root_for pg_cron
  step "building pg_cron $PG_CRON_VERSION" build_extension "pg_cron-$PG_CRON_VERSION.tar.gz" "pg_cron-$PG_CRON_VERSION"
fi
if ! installed vector "$PGVECTOR_VERSION" vector; then
  need_root_for pgvector
  step "building pgvector $PGVECTOR_VERSION" build_extension "pgvector-$PGVECTOR_VERSION.tar.gz" "pgvector-$PGVECTOR_VERSION"
fi
if ! installed documentdb "${DOCUMENTDB_VERSION%.*}-0" pg_documentdb || ! installed documentdb_core "${DOCUMENTDB_VERSION%.*}-0" pg_documentdb_core; then
  need_root_for DocumentDB
  documentdb_build_deps
  step "building DocumentDB $DOCUMENTDB_VERSION (pg_documentdb_core, pg_documentdb)" \
    build_extension "documentdb-$DOCUMENTDB_VERSION-ferretdb.tar.gz" documentdb pg_documentdb_core pg_documentdb
fi

# --- FerretDB, from the Go module proxy --------------------------------------------------------
# Not `go install …@version`: Go asks the proxy for the module's version list (for a deprecation
# notice), which the proxy here refuses. And the binary panics unless build/version/version.txt
# (made by their release tooling, absent from the module zip) holds the version.
build_ferretdb() {
  command -v go >/dev/null 2>&1 || fail "Go is not installed (needed to build FerretDB): install Go 1.24+ and run again"
  local moddir src="$engine/src/ferretdb-$FERRETDB_VERSION"
  moddir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB/v2@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $moddir ]] || fail "could not download FerretDB $FERRETDB_VERSION from the Go module proxy"
  rm -rf "$src" && mkdir -p "$engine/src" "$engine/bin" && cp -r "$moddir" "$src" && chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  (cd "$src" && go build -buildvcs=false -o "$engine/bin/ferretdb" ./cmd/ferretdb)
  rm -rf "$src"
}
[[ -x "$engine/bin/ferretdb" ]] || step "building FerretDB $FERRETDB_VERSION" build_ferretdb

rm -rf "$engine/src"
mkdir -p "$repo/.tools/bin"
ln -sfn "$engine/bin/ferretdb" "$repo/.tools/bin/ferretdb"
# What the bench reports as the engine it measured (bench/environment.ts).
postgres_version=$("$("$pg_config" --bindir)/postgres" --version | sed 's/^postgres (PostgreSQL) //')
cat >"$engine/versions.json" <<EOF
{"engine":"FerretDB $FERRETDB_VERSION on PostgreSQL $postgres_version with DocumentDB $DOCUMENTDB_VERSION","ferretdb":"$FERRETDB_VERSION","postgresql":"$postgres_version","documentdb":"$DOCUMENTDB_VERSION","libbson":"$LIBBSON_VERSION","pgvector":"$PGVECTOR_VERSION","pg_cron":"$PG_CRON_VERSION"}
EOF
ln -sfn "$engine/versions.json" "$repo/.tools/bin/engine-versions.json"
say "engine ready in $engine ($((SECONDS - started)) s)"
