#!/usr/bin/env bash
# Verify benchmark (issue 13 §4; run by hand, not part of the tests). See bench/README.md.
#
# Generates a synthetic Pax checkpoint with Adam moments (`te-ckpt example`, zstd, bfloat16 or
# float32), converts it fw2te, and times on the same folders (page cache warm, one run each):
#   convert : the conversion itself (decode, transform, encode, write);
#   verify  : te-ckpt verify SOURCE CONVERTED;
#   prev    : the previous te-ckpt's verify (--prev PATH), if given.
# For each verify it prints wall and CPU seconds, peak RSS (GNU time %e, %U+%S, %M) and the
# largest size its temporary folder under $TMPDIR reached (sampled every 0.1 s).
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
TE_CKPT=$REPO/build/te-ckpt
PREV=
L=4
DTYPE=float32
while [[ $# -gt 0 ]]; do
  case $1 in
    --te-ckpt) TE_CKPT=$2; shift 2 ;;
    --prev) PREV=$2; shift 2 ;;
    --layers) L=$2; shift 2 ;;
    --dtype) DTYPE=$2; shift 2 ;;
    *) echo "usage: $0 [--te-ckpt PATH] [--prev PATH] [--layers N] [--dtype float32|bfloat16]" >&2
       exit 2 ;;
  esac
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/verify-bench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tmp"

timed() {  # timed CMD...: prints "wall / cpu / rss_MiB"
  local t
  t=$(mktemp)
  /usr/bin/time -f '%e %U %S %M' -o "$t" "$@" > "$WORK/last.out" 2>&1
  awk '{printf "%.2f / %.2f / %d", $1, $2 + $3, $4 / 1024}' "$t"
  rm -f "$t"
}

# verify_case BINARY: "wall / cpu / rss | temp MiB", the temporary folder sampled while it runs.
verify_case() {
  local bin=$1 peak=0 now times
  TMPDIR=$WORK/tmp timed "$bin" verify "$WORK/src" "$WORK/te" > "$WORK/times" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    now=$(du -sm "$WORK/tmp" 2>/dev/null | cut -f1)
    ((now > peak)) && peak=$now
    sleep 0.1
  done
  wait "$pid"
  times=$(cat "$WORK/times")
  grep -q 'everything matches' "$WORK/last.out" || { cat "$WORK/last.out" >&2; exit 1; }
  echo "$times | $((peak - 0))"
}

"$TE_CKPT" example --output-path "$WORK/src" --fw pax --pax-repeat --num-of-layer "$L" \
  --num-of-head 16 --head-dim 64 --mlp-intermediate-dim 3584 --embed-dim 1024 --dtype "$DTYPE" \
  --compressor zstd > /dev/null
src_mib=$(du -sm --apparent-size "$WORK/src" | cut -f1)
conv=$(timed "$TE_CKPT" convert --input-path "$WORK/src" --output-path "$WORK/te" -q)
te_mib=$(du -sm --apparent-size "$WORK/te" | cut -f1)
echo "| L | dtype | source MiB | converted MiB | convert wall / cpu / RSS | verify wall / cpu / RSS | verify temp MiB | previous verify wall / cpu / RSS | previous temp MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
new=$(verify_case "$TE_CKPT")
prev="- | -"
[[ -n $PREV ]] && prev=$(verify_case "$PREV")
echo "| $L | $DTYPE | $src_mib | $te_mib | $conv | $new | $prev |"
