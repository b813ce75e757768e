#!/usr/bin/env bash
# The test command: install, build, run every test (GoogleTest + Python oracles) in a Release
# build and again under AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzz target briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

scripts/build.sh
(cd build && ctest --output-on-failure -j "$jobs")

scripts/build.sh --sanitize
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j "$jobs")

if [[ -x fuzz/run.sh ]]; then
  fuzz/run.sh 30
fi
