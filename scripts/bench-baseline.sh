#!/usr/bin/env bash
# Builds the server of another commit for the benchmark's side-by-side run (bench --baseline): a
# detached git worktree in .bench/<commit> (git ignores .bench/), built Release, and prints the
# path of its Chat.Server.dll as the one line on stdout (the build's own output goes to stderr).
# Run `scripts/bench-baseline.sh --help` for the options.
set -euo pipefail

root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
dir="$root/.bench"

usage() {
  cat <<EOF
usage: scripts/bench-baseline.sh [rev]     build rev (default HEAD~1, the commit before the current one)
       scripts/bench-baseline.sh --clean   remove every worktree under .bench/

Checks rev out (detached) into .bench/<commit>, unless it is there already, runs
'dotnet build src/Chat.Server -c Release' in it and prints the built Chat.Server.dll's path.
A second call for the same commit reuses the worktree and its build. Then:

  dotnet run -c Release --project bench -- --baseline "\$(scripts/bench-baseline.sh)"
  dotnet run -c Release --project bench -- --baseline "\$(scripts/bench-baseline.sh main~1)" --quick
EOF
}

clean() {
  local tree
  for tree in "$dir"/*/; do
    [ -d "$tree" ] || continue
    echo "removing ${tree%/}" >&2
    git -C "$root" worktree remove --force "${tree%/}"
  done
  git -C "$root" worktree prune
  rmdir "$dir" 2>/dev/null || true
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --clean) clean; exit 0 ;;
  -*) echo "bench-baseline: unknown option $1" >&2; usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

rev=${1:-HEAD~1}
if ! commit=$(git -C "$root" rev-parse --verify --quiet "$rev^{commit}"); then
  echo "bench-baseline: '$rev' is not a commit here" >&2
  exit 2
fi
tree="$dir/$(git -C "$root" rev-parse --short=12 "$commit")"

if [ -d "$tree" ]; then
  if [ "$(git -C "$tree" rev-parse HEAD 2>/dev/null)" != "$commit" ]; then
    echo "bench-baseline: $tree exists but is not a worktree at $commit; scripts/bench-baseline.sh --clean removes it" >&2
    exit 1
  fi
  echo "bench-baseline: reusing $tree ($(git -C "$tree" log -1 --format='%h %s' | cut -c1-80))" >&2
else
  mkdir -p "$dir"
  echo "bench-baseline: checking out $rev ($commit) into $tree" >&2
  git -C "$root" worktree add --detach "$tree" "$commit" >&2
fi

echo "bench-baseline: building src/Chat.Server (Release) at $(git -C "$tree" log -1 --format='%h %s' | cut -c1-80)" >&2
(cd "$tree" && dotnet build src/Chat.Server -c Release --nologo -v quiet) >&2

dll="$tree/src/Chat.Server/bin/Release/net10.0/Chat.Server.dll"
if [ ! -f "$dll" ]; then
  echo "bench-baseline: the build left no $dll" >&2
  exit 1
fi
echo "$dll"
