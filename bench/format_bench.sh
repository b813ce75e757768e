#!/usr/bin/env bash
# Format-only conversion benchmark (run by hand; not part of the tests). See bench/README.md.
#
# On one synthetic Pax layout-1 step (`te-ckpt example --pax-layout1`, repeat, Adam state, default
# 512 MiB decoded, zstd chunks) it times, each once per round (best of the rounds is reported):
#   cp        : cp -r of the step, then sync (the floor: read and write every byte)
#   to-zarr   : te-ckpt convert --output-format=zarr (format-only into per-array folders: the same
#               container, every chunk file copied; the folder-writing reference)
#   to-ocdbt  : te-ckpt convert --output-format=ocdbt (format-only, legacy -> Orbax: every chunk's
#               bytes into one OCDBT database, Orbax metadata written from scratch)
#   back      : te-ckpt convert --output-format=zarr of that Orbax step (OCDBT -> folders)
# each followed by sync. Checks that back's state/ equals the source's byte for byte (but
# state/_sharding, which the Orbax step regenerates with an entry per array), and prints
# wall seconds and peak RSS (GNU time '%e %M'), the ratio to-ocdbt / to-zarr (the issue's bound:
# at most 1.10) and each / cp, for the best round and for the median of the rounds.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
GNU_TIME=/usr/bin/time
LAYERS=4
ROUNDS=2
TE_CKPT=${TE_CKPT:-}
WORK=

usage() {
  echo "usage: bench/format_bench.sh [--layers L] [--rounds R] [--te-ckpt PATH] [--work DIR]"
  echo "  --layers L    layers of the example model (4: about 512 MiB decoded; default 4)"
  echo "  --rounds R    repetitions of every measurement (default 2; this machine is noisy)"
  echo "  --te-ckpt P   the binary (default: build-bench/te-ckpt, then build/te-ckpt)"
  echo "  --work DIR    scratch folder (default: a new folder under \$TMPDIR, removed at the end)"
}
while (($#)); do
  case $1 in
    --layers) LAYERS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --te-ckpt) TE_CKPT=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
if [[ -z $TE_CKPT ]]; then
  for c in "$REPO/build-bench/te-ckpt" "$REPO/build/te-ckpt"; do
    [[ -x $c ]] && { TE_CKPT=$c; break; }
  done
fi
[[ -x ${TE_CKPT:-} ]] || { echo "te-ckpt binary not found; pass --te-ckpt" >&2; exit 2; }
[[ -x $GNU_TIME ]] || { echo "missing GNU time (apt-get install time)" >&2; exit 2; }
if [[ -z $WORK ]]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/te-ckpt-format-bench.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi

step=checkpoint_00000001
src=$WORK/src/$step
"$TE_CKPT" example --output-path "$src" --fw pax --pax-repeat --pax-layout1 \
  --num-of-layer "$LAYERS" --num-of-head 16 --head-dim 64 --mlp-intermediate-dim 3584 \
  --embed-dim 1024 --compressor zstd >/dev/null
sync
echo "input: $(find "$src" -type f | wc -l) files, $(($(du -sb "$src" | cut -f1) / 1048576)) MiB stored ($src)"

# timed NAME CMD...: runs CMD under GNU time, appends "NAME wall rss" to $WORK/times.
timed() {
  local name=$1
  shift
  "$GNU_TIME" -f "%e %M" -o "$WORK/t" "$@"
  echo "$name $(cat "$WORK/t")" >>"$WORK/times"
}
convert() {
  "$TE_CKPT" convert -q --input-path "$1" --output-path "$2" --output-format="$3" && sync
}

: >"$WORK/times"
for ((r = 1; r <= ROUNDS; r++)); do
  rm -rf "$WORK/cp" "$WORK/zarr" "$WORK/ocdbt" "$WORK/back"
  sync
  timed cp bash -c "cp -r '$src' '$WORK/cp' && sync"
  timed to-zarr bash -c "$(declare -f convert); TE_CKPT='$TE_CKPT' convert '$src' '$WORK/zarr/$step' zarr"
  timed to-ocdbt bash -c "$(declare -f convert); TE_CKPT='$TE_CKPT' convert '$src' '$WORK/ocdbt/$step' ocdbt"
  timed back bash -c "$(declare -f convert); TE_CKPT='$TE_CKPT' convert '$WORK/ocdbt/$step' '$WORK/back/$step' zarr"
  # state/_sharding is regenerated (entries for every array), everything else must be identical.
  diff -r -x _sharding "$src/state" "$WORK/back/$step/state" >/dev/null ||
    { echo "folders -> OCDBT -> folders differs from the source" >&2; exit 1; }
done
echo "round trip folders -> OCDBT -> folders: state/ identical byte for byte (but the regenerated _sharding)"
db=$WORK/ocdbt/$step/state
echo "database: $(find "$db" -type f | wc -l) files, $(($(du -sb "$db" | cut -f1) / 1048576)) MiB"

echo "=== wall s / peak RSS MiB (best of $ROUNDS)"
for name in cp to-zarr to-ocdbt back; do
  awk -v n="$name" '$1 == n { if (best == "" || $2 < best) { best = $2; rss = $3 } }
    END { printf "%-9s %7.2f s %7.1f MiB\n", n, best, rss / 1024 }' "$WORK/times"
done
echo "=== median wall s over the $ROUNDS rounds (interleaved, the same machine state)"
for name in cp to-zarr to-ocdbt back; do
  awk -v n="$name" '$1 == n { print $2 }' "$WORK/times" | sort -g |
    awk -v n="$name" '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%-9s %7.2f s (min %.2f, max %.2f)\n", n, m, v[1], v[NR] }'
done
median() {
  awk -v n="$1" '$1 == n { print $2 }' "$WORK/times" | sort -g |
    awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
awk -v z="$(median to-zarr)" -v o="$(median to-ocdbt)" \
  'BEGIN { printf "median to-ocdbt / to-zarr = %.2f (bound 1.10)\n", o / z }'
awk '{ if (!($1 in best) || $2 < best[$1]) best[$1] = $2 }
  END {
    printf "to-ocdbt / to-zarr = %.2f (bound 1.10)\n", best["to-ocdbt"] / best["to-zarr"]
    printf "to-zarr / cp = %.2f, to-ocdbt / cp = %.2f, back / cp = %.2f\n",
      best["to-zarr"] / best["cp"], best["to-ocdbt"] / best["cp"], best["back"] / best["cp"]
  }' "$WORK/times"
