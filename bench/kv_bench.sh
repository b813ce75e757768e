#!/usr/bin/env bash
# Storage benchmark for te-ckpt's OCDBT store (run by hand; not part of the tests). See
# bench/README.md.
#
# On one synthetic checkpoint folder (`te-ckpt example`, Pax repeat with Adam state, default
# 512 MiB decoded, zstd chunks) it times, each once per round:
#   cp       : cp -r of the folder, then sync (the physical floor: read + write every byte, durably)
#   pack     : te-ckpt kv copy FOLDER DB --to ocdbt (values into d/ data files, B+tree, manifest;
#              every data file and the manifest are fsynced)
#   unpack   : te-ckpt kv copy DB FOLDER2 --to files (then sync)
#   ls       : te-ckpt kv ls DB (manifest + B+tree walk)
#   get      : te-ckpt kv get DB KEY > /dev/null for the largest value, against cat of its file
# and checks that FOLDER2 equals FOLDER byte for byte. Prints wall seconds and peak RSS (GNU time
# '%e %M') for each and the ratios pack/cp and get/cat.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
GNU_TIME=/usr/bin/time
LAYERS=4
ROUNDS=2
TE_CKPT=${TE_CKPT:-}
WORK=

usage() {
  cat <<EOF
usage: bench/kv_bench.sh [--layers L] [--rounds R] [--te-ckpt PATH] [--work DIR]
  --layers L    layers of the example model (4: about 512 MiB decoded; default 4)
  --rounds R    repetitions of every measurement (default 2; this machine is noisy)
  --te-ckpt P   the binary (default: build-bench/te-ckpt, then build/te-ckpt)
  --work DIR    scratch folder (default: a new folder under \$TMPDIR, removed at the end)
EOF
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
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/te-ckpt-kv-bench.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi

src=$WORK/src
"$TE_CKPT" example --output-path "$src" --fw pax --pax-repeat --num-of-layer "$LAYERS" \
  --num-of-head 16 --head-dim 64 --mlp-intermediate-dim 3584 --embed-dim 1024 \
  --compressor zstd >/dev/null
sync
files=$(find "$src" -type f | wc -l)
bytes=$(du -sb "$src" | cut -f1)
echo "input: $files files, $((bytes / 1048576)) MiB stored ($src)"

# timed NAME CMD...: runs CMD under GNU time, appends "NAME wall rss" to $WORK/times.
timed() {
  local name=$1
  shift
  "$GNU_TIME" -f "%e %M" -o "$WORK/t" "$@"
  echo "$name $(cat "$WORK/t")" >>"$WORK/times"
}

largest=$(find "$src" -type f -printf '%s %P\n' | sort -rn | head -1 | cut -d' ' -f2)
: >"$WORK/times"
for ((r = 1; r <= ROUNDS; r++)); do
  rm -rf "$WORK/cp" "$WORK/db" "$WORK/back"
  sync
  timed cp bash -c "cp -r '$src' '$WORK/cp' && sync"
  timed pack "$TE_CKPT" kv copy "$src" "$WORK/db" --to ocdbt
  timed unpack bash -c "'$TE_CKPT' kv copy '$WORK/db' '$WORK/back' --to files && sync"
  timed ls bash -c "'$TE_CKPT' kv ls '$WORK/db' >/dev/null"
  timed cat bash -c "cat '$src/$largest' >/dev/null"
  timed get bash -c "'$TE_CKPT' kv get '$WORK/db' '$largest' >/dev/null"
  diff -r "$src" "$WORK/back" >/dev/null || { echo "unpacked folder differs from the source" >&2; exit 1; }
done
echo "round trip folder -> OCDBT -> folder: identical, byte for byte"
echo "database: $(find "$WORK/db" -type f | wc -l) files, $(($(du -sb "$WORK/db" | cut -f1) / 1048576)) MiB"

echo "=== wall s / peak RSS MiB (best of $ROUNDS)"
for name in cp pack unpack ls cat get; do
  awk -v n="$name" '$1 == n { if (best == "" || $2 < best) { best = $2; rss = $3 } }
    END { printf "%-7s %7.2f s %7.1f MiB\n", n, best, rss / 1024 }' "$WORK/times"
done
awk '{ if (!($1 in best) || $2 < best[$1]) best[$1] = $2 }
  END {
    printf "pack / cp  = %.2f\n", best["pack"] / best["cp"]
    printf "unpack / cp = %.2f\n", best["unpack"] / best["cp"]
    printf "get / cat  = %.2f (largest value, %s)\n", best["get"] / (best["cat"] > 0 ? best["cat"] : 0.01), "'"$largest"'"
  }' "$WORK/times"
