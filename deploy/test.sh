#!/usr/bin/env bash
# The whole test suite on a bare Debian 12 machine: installs what it needs, builds
# Release (warnings are errors), ASan+UBSan and TSan variants, and runs ctest in each.
#   Release:    labels unit, integration, security (hostile peers and files), deploy (k8s,
#               docker, systemd files: tests/deploy.cmake)
#   ASan+UBSan: label unit
#   TSan:       label tsan (the concurrent code)
#   libFuzzer:  label fuzz (bounded runs on the seed corpus in tests/fuzz/corpus)
# A test that cannot run one of its real components is reported skipped by ctest, and under
# CI=true or as root fails (tests/check.h, tests/integration/lib.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${RLSERVE_TEST_BUILD:-$root/build-test}
"$root/deploy/install-deps.sh" --test
mkdir -p "$out"
jobs=$(nproc)
fail=0

step() { echo; echo "=== $*"; }

step "Release build"
"$root/deploy/build.sh" "$out/release" -DCMAKE_BUILD_TYPE=Release
(cd "$out/release" && ctest --output-on-failure -j"$jobs" -L 'unit|integration|security|deploy') || fail=1

step "Release build, multi-host (network namespaces) and Slurm tests (root; otherwise ctest reports them skipped)"
(cd "$out/release" && ctest --output-on-failure -L 'slurm|multihost') || fail=1

step "ASan+UBSan build, unit tests"
"$root/deploy/build.sh" "$out/asan" -DCMAKE_BUILD_TYPE=Debug -DRLSERVE_SANITIZE=address
(cd "$out/asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs" -L unit) || fail=1

step "TSan build, concurrent code"
"$root/deploy/build.sh" "$out/tsan" -DCMAKE_BUILD_TYPE=Debug -DRLSERVE_SANITIZE=thread
(cd "$out/tsan" && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j"$jobs" -L tsan) || fail=1

step "libFuzzer targets, bounded runs"
CC=clang "$root/deploy/build.sh" "$out/fuzz" -DCMAKE_BUILD_TYPE=Debug -DRLSERVE_FUZZ=ON
(cd "$out/fuzz" && ctest --output-on-failure -L fuzz) || fail=1

echo
if [ "$fail" -ne 0 ]; then echo "test.sh: FAILED"; exit 1; fi
echo "test.sh: all suites passed"
