#!/usr/bin/env bash
# The whole test suite: dependencies, formatting, build, unit/contract/end-to-end tests, demo replay.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "dependencies (redis-server)"
./scripts/install-deps.sh

step "tools"
dotnet tool restore >/dev/null

step "formatting (fantomas --check)"
dotnet fantomas --check src tests scripts bench

step "build"
dotnet build Chat.sln -c Release -warnaserror --nologo -v quiet

step "docker-compose.yml (docker-compose config)"
./scripts/check-compose.sh

step "tests"
dotnet test Chat.sln -c Release --no-build --nologo -v quiet --logger "console;verbosity=normal" "$@"

step "demo scenarios"
dotnet fsi scripts/demo.fsx --configuration Release
