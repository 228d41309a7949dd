#!/usr/bin/env bash
# Installs Debian packages the project's scripts need beyond the .NET SDK: by default what the
# tests need (redis-server, redis-cli from redis-tools, and tmux, the terminal the interactive client's
# end-to-end tests drive), with WITH_TLS_SCAN=1 what
# scripts/tls-scan.sh needs too (testssl.sh, which brings openssl), with WITH_COMPOSE=1 docker-compose; or the packages named as arguments,
# which the caller found missing.
# Runs apt-get as root, or through sudo when available; says what to do otherwise.
set -euo pipefail

missing=("$@")
if [ $# -eq 0 ]; then
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # redis-cli creates the test Redis Clusters; redis-server depends on it, but a host may lack it.
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  if [ "${WITH_TLS_SCAN:-0}" = 1 ]; then
    command -v testssl >/dev/null 2>&1 || missing+=(testssl.sh)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  fi
  if [ "${WITH_COMPOSE:-0}" = 1 ]; then
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  fi
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
