#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS (default 30) on its corpus (fuzz/corpus/<target>, seeded from the tests and the real
# fixtures), after replaying the saved crash inputs (fuzz/regressions/<target>). New crash inputs
# are written to fuzz/regressions/<target>/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DTE_CKPT_SANITIZE=ON -DTE_CKPT_FUZZ=ON -DTE_CKPT_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz
status=0
for target in zarray msgpack_index pax_metadata chunk_codecs pattern \
    ocdbt_manifest ocdbt_version_node ocdbt_btree_node ocdbt_database; do
  corpus=$(mktemp -d)
  cp -r fuzz/corpus/$target/. "$corpus/" 2>/dev/null || true
  mkdir -p fuzz/regressions/$target
  if compgen -G "fuzz/regressions/$target/*" >/dev/null; then
    build-fuzz/fuzz/${target}_fuzz fuzz/regressions/$target/* >/dev/null 2>&1 || { echo "regression input of $target fails"; status=1; }
  fi
  echo "fuzzing $target for ${seconds}s"
  if ! build-fuzz/fuzz/${target}_fuzz -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
      -artifact_prefix=fuzz/regressions/$target/ "$corpus" > "build-fuzz/$target.log" 2>&1; then
    echo "fuzz target $target found a failure:"; tail -n 30 "build-fuzz/$target.log"; status=1
  fi
  grep -E "^(#[0-9]+\s+DONE|Done)" "build-fuzz/$target.log" | tail -n 1 || true
  rm -rf "$corpus"
done
exit $status
