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
# The build context's Dockerfile is there.
[ -f Dockerfile ] || { echo "error: $file builds from . but there is no Dockerfile" >&2; exit 1; }

echo "ok: $file is valid for ${compose[*]} $version"
echo "    services: ${services% }"
echo "    volumes:  ${volumes% }"
echo "    no container_name (scaling works); build context . has a Dockerfile"
