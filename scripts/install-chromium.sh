#!/usr/bin/env bash
# Installs Debian's Chromium when it is missing: the browser test drives it with playwright-core
# (`npx playwright install` downloads from outside the package registries and cannot run here).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: /usr/bin/chromium is missing and there is no apt-get: install Chromium so that /usr/bin/chromium exists" >&2
  exit 1
fi
if [[ $EUID -ne 0 ]]; then
  echo "install-chromium: /usr/bin/chromium is missing and this is not root: run 'sudo apt-get install chromium'" >&2
  exit 1
fi
echo "install-chromium: installing Debian's chromium package"
# Other installs may hold the dpkg lock for a while: wait for it instead of failing.
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null
if [[ ! -x /usr/bin/chromium ]]; then
  echo "install-chromium: no /usr/bin/chromium after installing chromium" >&2
  exit 1
fi
