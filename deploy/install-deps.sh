#!/usr/bin/env bash
# Installs the Debian 12 packages rlserve needs to build and test, when missing.
# Usage: deploy/install-deps.sh [--test | --bench]   (--test adds what the test suite needs,
# --bench that and the peers the benchmarks compare with)
set -euo pipefail

pkgs=(build-essential cmake pkg-config libuv1-dev libprotobuf-c-dev protobuf-c-compiler
      libmsgpack-dev libopenblas-dev libhttp-parser-dev libsodium-dev libcjson-dev
      protobuf-compiler)   # protoc: the Python worker's protobuf module, generated at build time
# The Python worker's modules (worker/python), needed to run it, not to build.
pkgs+=(python3 python3-numpy python3-msgpack python3-protobuf python3-nacl)
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  # clang builds the libFuzzer targets; with --no-install-recommends it does not bring its own
  # runtime (libclang_rt.fuzzer, asan, ubsan), which Debian ships in libclang-rt-14-dev.
  pkgs+=(clang libclang-rt-14-dev
         python3 curl iproute2 nftables                # integration: relays, HTTP, namespaces
         prometheus chromium                           # status_live: promtool, Prometheus, a browser
         slurmctld slurmd slurm-client munge           # slurm: a real single-node cluster
         python3-yaml systemd strace                   # deploy: manifests, systemd-analyze
         python3-onnx python3-opencv)                  # export: onnx.checker, cv2.dnn
fi
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(python3-torch)   # bench_minatar_peer: MinAtar's PyTorch dqn.py (MinAtar itself: a checkout)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
