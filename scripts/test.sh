#!/usr/bin/env bash
# The whole test suite: dependencies, formatting, build, compose check, demo replay, TLS scan, then every test
# program (Expecto: domain, client, server end-to-end, cluster, faults, fuzz). Arguments go to each
# test program (e.g. `--filter-test-list "E2eLogin"`, `--sequenced`, `--debug`). The last line is
# `N passed, M failed[, K skipped]` for the whole run; the exit code is 0 only when nothing failed.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "dependencies (redis-server, tmux)"
./scripts/install-deps.sh

step "tools (paket, fantomas)"
dotnet tool restore >/dev/null

step "formatting (fantomas --check)"
dotnet fantomas --check src tests scripts bench

step "build (restores through paket)"
dotnet build Chat.sln -c Release -warnaserror --nologo -v quiet

step "compose files (docker-compose config)"
./scripts/check-compose.sh

step "demo scenarios"
dotnet fsi scripts/demo.fsx --configuration Release

step "TLS scan (testssl against a server on a self-signed certificate)"
./scripts/tls-scan.sh

# Each program prints `P passed, F failed[, I skipped]` as its last summary line; a program that ends
# without one (a crash) counts as one failure.
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for name in Chat.Domain.Tests Chat.Client.Tests Chat.Server.Tests; do
  step "tests: $name"
  set +e
  dotnet "tests/$name/bin/Release/net10.0/$name.dll" --summary "$@" 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  set -e
  line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    echo "error: $name ended (exit code $code) without a summary line: counted as 1 failed" >&2
    failed=$((failed + 1))
    continue
  fi
  read -r p f s < <(sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' <<<"$line")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
  if [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "error: $name exited with $code although it counted no failure: counted as 1 failed" >&2
    failed=$((failed + 1))
  fi
done

echo
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
