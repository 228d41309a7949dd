#!/usr/bin/env bash
# Validates docker-compose.yml (one Redis) and docker-compose.cluster.yml, docker-compose.sentinel.yml
# (the Redis Cluster and Sentinel layouts) without a Docker engine: `docker-compose config` parses it, checks it
# against the compose schema and resolves ${VAR:-default} interpolation. Installs Debian's
# docker-compose (v1) when it is missing, through scripts/install-deps.sh.
# Does not build the image or start anything.
set -euo pipefail
cd "$(dirname "$0")/.."

files=(docker-compose.yml docker-compose.cluster.yml docker-compose.sentinel.yml)

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

# The Dockerfile every layout builds from is there.
[ -f Dockerfile ] || { echo "error: the compose files build from . but there is no Dockerfile" >&2; exit 1; }

check() {
  local file=$1
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
  [ -n "$(section services chat-server)" ] || { echo "error: $file has no chat-server service" >&2; exit 1; }
  # Redis locked down, in every service that runs the redis image: no published port, only on an
  # internal network, a password from the secret (never written in the file), and redis-cli
  # authenticating (the healthchecks, the cluster's init). All but the one-shot init run with
  # requirepass.
  local name block nets redis_names=()
  for name in $services; do
    block=$(section services "$name")
    grep -Eq '^    image: redis(:|$)' <<<"$block" || continue
    redis_names+=("$name")
    if grep -q '^ *ports:' <<<"$block"; then
      echo "error: $file publishes a port of $name; only the chat servers may reach Redis" >&2
      exit 1
    fi
    nets=$(awk '/^    networks:/ {on=1; next} on && /^    [^ ]/ {on=0} on && /^      [^ ]/' <<<"$block" | sed -E 's/^ *(- )?//; s/:.*//')
    if ! grep -q 'internal: true' <<<"$(section networks redis)" || [ "$nets" != redis ]; then
      echo "error: $file must put $name on the internal network redis (internal: true) only" >&2
      exit 1
    fi
    if ! grep -q 'redis_password' <<<"$block" || ! grep -q 'REDISCLI_AUTH' <<<"$block"; then
      echo "error: $file: $name must take the password from the redis_password secret, and its redis-cli authenticate (REDISCLI_AUTH)" >&2
      exit 1
    fi
    if [[ $name != *-init ]] && ! grep -q 'requirepass' <<<"$block"; then
      echo "error: $file must start $name with requirepass from the redis_password secret" >&2
      exit 1
    fi
  done
  [ ${#redis_names[@]} -gt 0 ] || { echo "error: $file runs no redis service" >&2; exit 1; }
  if grep -v '^ *#' "$file" | grep -Eq 'password=[^$]|requirepass +[^%/]|auth-pass [a-z]+ +[^%]'; then
    echo "error: $file holds a literal Redis password; it belongs in the redis_password secret" >&2
    exit 1
  fi

  echo "ok: $file is valid for ${compose[*]} $version"
  echo "    services: ${services% }"
  echo "    volumes:  ${volumes% }"
  echo "    no container_name (scaling works); build context . has a Dockerfile"
  echo "    redis (${redis_names[*]}): internal network only, no published port, password from the redis_password secret"
}

# The lines of section $2 (two spaces in) of top-level section $1 of $resolved.
section() { awk -v top="$1:" -v want="  $2:" '$0 == top {t=1; next} t && /^[^ ]/ {t=0} t && $0 == want {on=1; next} on && /^  [^ ]/ {on=0} t && on' <<<"$resolved"; }

for file in "${files[@]}"; do check "$file"; done
