#!/usr/bin/env bash
# Chunk-copy benchmark (issue 14; run by hand, not part of the tests). See bench/README.md.
#
# For each case it generates a synthetic checkpoint (`te-ckpt example`, weights only: te-ckpt
# example's optimizer moments are all zeros and would compress to nothing) and times, on the same
# input folder (page cache warm, one run each):
#   cp      : cp -r of the input folder (the physical floor on this disk);
#   copy    : te-ckpt convert (chunk copies where the bytes stay intact; the default);
#   reenc   : te-ckpt convert --no-chunk-copy (every converted chunk decoded and encoded);
#   prev    : the previous te-ckpt (--prev PATH, e.g. a build of main's f56913b), if given.
# It prints wall and CPU seconds (GNU time %e, %U+%S), peak RSS, the summary's copied and
# re-encoded bytes, and checks with `te-ckpt verify` that the copy output is right.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
TE_CKPT=$REPO/build/te-ckpt
PREV=
L=2
WORK=
while [[ $# -gt 0 ]]; do
  case $1 in
    --te-ckpt) TE_CKPT=$2; shift 2 ;;
    --prev) PREV=$2; shift 2 ;;
    --layers) L=$2; shift 2 ;;   # 4 layers: the 512m model of convert_bench.sh (weights only)
    --work-dir) WORK=$2; shift 2 ;;
    *) echo "usage: $0 [--te-ckpt PATH] [--prev PATH] [--layers N] [--work-dir DIR]" >&2; exit 2 ;;
  esac
done
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/chunk-copy-bench-XXXXXX")}
trap 'rm -rf "$WORK"' EXIT
E=1024 N=16 H=64 F=3584
DIMS=(--num-of-layer "$L" --num-of-head "$N" --head-dim "$H" --mlp-intermediate-dim "$F")

timed() {  # timed LABEL CMD...: prints "wall cpu rss_MiB"
  local t
  t=$(mktemp)
  /usr/bin/time -f '%e %U %S %M' -o "$t" "$@" > "$WORK/last.out" 2>&1
  awk '{printf "%.2f / %.2f / %d", $1, $2 + $3, $4 / 1024}' "$t"
  rm -f "$t"
}

summary_bytes() {  # copied / re-encoded from te-ckpt's summary line
  sed -n 's/^chunk copies: .*, \(.*\) stored bytes copied; re-encoded \(.*\) decoded bytes$/\1 | \2/p' \
    "$WORK/last.out"
}

echo "| case | input MiB (stored) | cp -r wall / cpu | te-ckpt copy wall / cpu / RSS | chunk-copied (stored) | re-encoded (decoded) | --no-chunk-copy wall / cpu / RSS | previous te-ckpt wall / cpu / RSS | copy / cp -r (wall) | prev / copy (wall) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
run_case() {  # run_case NAME SRC CONVERT_FLAGS...
  local name=$1 src=$2
  shift 2
  local mib cp copy bytes reenc prev="-"
  mib=$(du -sm --apparent-size "$src" | cut -f1)
  sync
  cp=$(timed cp -r "$src" "$WORK/cp")
  rm -rf "$WORK/cp"
  copy=$(timed "$TE_CKPT" convert --input-path "$src" --output-path "$WORK/copy" "$@")
  bytes=$(summary_bytes)
  "$TE_CKPT" verify "$src" "$WORK/copy" > /dev/null
  reenc=$(timed "$TE_CKPT" convert --input-path "$src" --output-path "$WORK/reenc" --no-chunk-copy "$@")
  rm -rf "$WORK/reenc"
  if [[ -n $PREV ]]; then
    prev=$(timed "$PREV" convert --input-path "$src" --output-path "$WORK/prev" "$@")
    rm -rf "$WORK/prev"
  fi
  read -r cw _ cc _ cr <<< "$copy"
  read -r pw _ <<< "$cp"
  local ratio prev_ratio="-"
  ratio=$(awk -v a="$cw" -v b="$pw" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}')
  if [[ $prev != - ]]; then
    prev_ratio=$(awk -v a="${prev%% / *}" -v b="$cw" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}')
  fi
  echo "| $name | $mib | ${cp% / *} | $cw / $cc / $cr | $bytes | $reenc | $prev | $ratio | $prev_ratio |"
  # The output of this case is the input of the next (te2fw).
  rm -rf "$WORK/prev-out"
  mv "$WORK/copy" "$WORK/prev-out"
}

for codec in zstd gzip; do
  for chunks in 1 4; do
    src=$WORK/pax-$codec-$chunks
    "$TE_CKPT" example --output-path "$src" --fw pax --pax-repeat "${DIMS[@]}" --embed-dim "$E" \
      --compressor "$codec" --chunks-per-array "$chunks" --no-optimizer-state > /dev/null
    run_case "Pax repeat fw2te $codec x$chunks" "$src"
    rm -rf "$src"
    src=$WORK/t5x-$codec-$chunks
    "$TE_CKPT" example --output-path "$src" --fw t5x "${DIMS[@]}" --embed-dim "$E" \
      --compressor "$codec" --chunks-per-array "$chunks" --no-optimizer-state > /dev/null
    run_case "T5X fused fw2te $codec x$chunks" "$src" --t5x-fuse-qkv
    rm -rf "$src"
    mv "$WORK/prev-out" "$WORK/t5x-te"
    run_case "T5X fused te2fw $codec x$chunks" "$WORK/t5x-te"
    rm -rf "$WORK/t5x-te" "$WORK/prev-out"
  done
done
