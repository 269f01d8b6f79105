#!/usr/bin/env bash
# Installs the Debian packages given as arguments when any is missing, so tests and benchmarks
# set up their own tools (promtool, wrk, the Python baseline) on a fresh machine.
# Usage: scripts/ensure-debian-packages.sh PKG...   Exit 0 when all are installed afterwards.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo; command -v sudo >/dev/null || { echo "need root to install: ${missing[*]}" >&2; exit 1; }
else
  sudo=
fi
echo "installing Debian packages: ${missing[*]}" >&2
# A lock file makes concurrent test processes wait for each other instead of failing on dpkg's lock.
exec 9>/tmp/wharf-apt.lock
flock 9
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
