#!/usr/bin/env bash
# Configures and builds one variant. Usage: deploy/build.sh DIR [cmake options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1; shift
cmake -S "$root" -B "$dir" -DRLSERVE_WERROR=ON "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
# The progress lines are dropped; the build's own status decides (grep finding nothing is fine).
set +e
cmake --build "$dir" -j"$(nproc)" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^-- '
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" -eq 0 ] || { echo "build.sh: the build in $dir failed (status ${status[0]})"; exit 1; }
