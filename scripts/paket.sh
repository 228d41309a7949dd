#!/usr/bin/env bash
# Runs Paket (install, update, add, ...) with the feed from this machine's NuGet configuration, and
# keeps paket.lock free of the feed's address: Paket writes the expanded address into the lock file,
# this puts `%NUGET_SOURCE%` back, so restores everywhere read the feed from the variable.
#   ./scripts/paket.sh install            after editing paket.dependencies
#   ./scripts/paket.sh update StackExchange.Redis
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${NUGET_SOURCE:-}" ]; then
  NUGET_SOURCE=$(dotnet nuget list source --format short | awk '$1 == "E" { print $2; exit }')
  if [ -z "$NUGET_SOURCE" ]; then
    echo "error: no enabled NuGet source ('dotnet nuget list source'); set NUGET_SOURCE=<v3 index URL>" >&2
    exit 2
  fi
  export NUGET_SOURCE
fi
dotnet tool restore >/dev/null
dotnet paket "$@"
sed -i -E 's|^(  +remote: ).*|\1%NUGET_SOURCE%|' paket.lock
