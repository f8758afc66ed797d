#!/usr/bin/env bash
# One command for a new user: install dependencies, build, train CartPole-v1 with DQN
# (one learner, two workers on 127.0.0.1). Extra arguments go to `rlserve run`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/deploy/install-deps.sh"
mkdir -p "$root/build"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j"$(nproc)" >/dev/null
exec "$root/build/rlserve" run --preset cartpole-dqn --workers 2 --out "$root/runs/cartpole-dqn" "$@"
