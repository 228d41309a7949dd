#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: `docker-compose config` parses it, checks it
# against the compose schema and resolves ${VAR:-default} interpolation. Installs Debian's
# docker-compose (v1) when it is missing, through scripts/install-deps.sh.
# Does not build the image or start anything.
set -euo pipefail
cd "$(dirname "$0")/.."

file=docker-compose.yml

if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  scripts/install-deps.sh docker-compose
  compose=(docker-compose)
fi

version=$("${compose[@]}" version --short 2>/dev/null || "${compose[@]}" version | head -n 1)

# The Redis password is a secret file the operator makes (see docker-compose.yml); the check needs
# none: unless REDIS_PASSWORD_FILE names one, it gets a dummy file that exists for the check only.
if [ -z "${REDIS_PASSWORD_FILE:-}" ]; then
  dummy=$(mktemp)
  trap 'rm -f "$dummy"' EXIT
  echo "dummy-password-for-the-check-only" >"$dummy"
  export REDIS_PASSWORD_FILE="$dummy"
fi

# Schema, interpolation and references (depends_on, volumes); exits non-zero on any error.
"${compose[@]}" -f "$file" config -q
services=$("${compose[@]}" -f "$file" config --services | tr '\n' ' ')
volumes=$("${compose[@]}" -f "$file" config --volumes | tr '\n' ' ')

# What the schema cannot say: a fixed container name would stop `--scale chat-server=N`.
# (Captured first: with pipefail, grep -q closing the pipe early would fail the pipeline.)
resolved=$("${compose[@]}" -f "$file" config)
if grep -q '^ *container_name:' <<<"$resolved"; then
  echo "error: $file sets container_name; replicas of a scaled service cannot share one name" >&2
  exit 1
fi
# Redis locked down: no published port, only on an internal network, a password from the secret
# (never written in the file), and a healthcheck that authenticates.
# The lines of section $2 (two spaces in) of top-level section $1.
section() { awk -v top="$1:" -v want="  $2:" '$0 == top {t=1; next} t && /^[^ ]/ {t=0} t && $0 == want {on=1; next} on && /^  [^ ]/ {on=0} t && on' <<<"$resolved"; }
redis_block=$(section services redis)
if grep -q '^ *ports:' <<<"$redis_block"; then
  echo "error: $file publishes a port of redis; only the chat servers may reach it" >&2
  exit 1
fi
redis_networks=$(awk '/^    networks:/ {on=1; next} on && /^    [^ ]/ {on=0} on' <<<"$redis_block" | sed -E 's/^ *(- )?//; s/:.*//')
if ! grep -q 'internal: true' <<<"$(section networks redis)" || [ "$redis_networks" != redis ]; then
  echo "error: $file must put redis on an internal network (internal: true) only" >&2
  exit 1
fi
if ! grep -q 'requirepass' <<<"$redis_block" || ! grep -q 'redis_password' <<<"$redis_block"; then
  echo "error: $file must start redis with requirepass from the redis_password secret" >&2
  exit 1
fi
if ! grep -q 'REDISCLI_AUTH' <<<"$redis_block"; then
  echo "error: $file: the redis healthcheck must authenticate (REDISCLI_AUTH)" >&2
  exit 1
fi
if grep -v '^ *#' "$file" | grep -Eq 'password=[^$]|requirepass +[^%]'; then
  echo "error: $file holds a literal Redis password; it belongs in the redis_password secret" >&2
  exit 1
fi
# The build context's Dockerfile is there.
[ -f Dockerfile ] || { echo "error: $file builds from . but there is no Dockerfile" >&2; exit 1; }

echo "ok: $file is valid for ${compose[*]} $version"
echo "    services: ${services% }"
echo "    volumes:  ${volumes% }"
echo "    no container_name (scaling works); build context . has a Dockerfile"
echo "    redis: internal network only, no published port, requirepass from the redis_password secret"
