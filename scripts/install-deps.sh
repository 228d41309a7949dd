#!/usr/bin/env bash
# Installs what the tests need beyond the .NET SDK: redis-server (Debian's package).
# Runs apt-get as root, or through sudo when available; says what to do otherwise.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${WITH_COMPOSE:-0}" = 1 ]; then
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "error: ${missing[*]} missing and not root; install with: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package starts a system-wide redis on 6379; tests start their own on free ports.
