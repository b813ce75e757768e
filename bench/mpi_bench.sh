#!/usr/bin/env bash
# MPI benchmark for te-ckpt (run by hand; not part of the tests). See bench/README.md, section 3.
#
# Generates the 512 MiB synthetic Pax checkpoint of convert_bench.sh (4 layers under Repeat,
# E 1024, 16 heads of 64, F 3584, Adam moments filled with copies of the weights' chunks so that
# they are as incompressible as real ones, 4 chunks per array), converts it fw2te with
#   te-ckpt convert ...                          (one process, no MPI)
#   mpirun -np 1 te-ckpt convert ...             (one rank)
#   mpirun -np 2 te-ckpt convert ...             (two ranks)
# and prints, per run, wall time and for each rank its CPU seconds and peak RSS (GNU time around
# each rank), and checks that every output is byte-identical to the single-process one. Then the
# same checkpoint as a Pax layout-1.x step into one OCDBT database (--output-format=ocdbt), one
# process, one rank and two ranks; those outputs are compared by their database's keys and values
# (unpacked with `te-ckpt kv copy --to files`) and the files around it (_CHECKPOINT_METADATA's
# times left out), as the manifest and data file names differ between any two runs.
# Options: --te-ckpt PATH, --work-dir DIR, --jobs N (threads per rank; default: cores / ranks),
#          --codec zstd|gzip (default zstd), --repeat N (runs per case, best wall kept; default 1).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
GNU_TIME=/usr/bin/time
TE_CKPT="" WORK="" JOBS="" CODEC=zstd REPEAT=1
while (($#)); do
  case $1 in
    --te-ckpt) TE_CKPT=$2; shift 2 ;;
    --work-dir) WORK=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --codec) CODEC=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -n $TE_CKPT ]] || TE_CKPT=$REPO/build/te-ckpt
command -v mpirun >/dev/null || { echo "mpirun not found (apt-get install openmpi-bin)" >&2; exit 2; }
ldd "$TE_CKPT" | grep libmpi >/dev/null || { echo "$TE_CKPT was built without MPI" >&2; exit 2; }
[[ -n $WORK ]] || WORK=$(mktemp -d "${TMPDIR:-/tmp}/te-ckpt-mpi-bench-XXXXXX")
mkdir -p "$WORK"
CORES=$(nproc)

E=1024 N=16 H=64 F=3584 L=4
# make_source DIR ARRAYS [EXAMPLE FLAGS]: the checkpoint, its arrays in DIR/ARRAYS.
make_source() {
  local dir=$1 arrays=$2
  shift 2
  [[ -d $dir ]] && return
  "$TE_CKPT" example --output-path "$dir" --fw pax --pax-repeat --num-of-layer $L --num-of-head $N \
    --head-dim $H --mlp-intermediate-dim $F --embed-dim $E --compressor "$CODEC" --chunks-per-array 4 "$@" >/dev/null
  for m in "$arrays"/opt_states_0.*.[mv].params.*; do
    [[ -f $m/.zarray ]] || continue
    w="$arrays/mdl_vars.params.${m#*.[mv].params.}"
    if [[ -f $w/.zarray ]] && cmp -s "$w/.zarray" "$m/.zarray"; then cp "$w"/[0-9]* "$m/"; fi
  done
}
SRC=$WORK/src
make_source "$SRC" "$SRC"
FLAGS=(--fw pax --direction fw2te --pax-repeat --num-of-layer $L --num-of-head $N --head-dim $H
       --mlp-intermediate-dim $F --embed-dim $E -q)
digest() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16; }
settle() { find "$1" -type f -exec cat {} + >/dev/null; sync; }

echo "te-ckpt MPI benchmark: $(du -sb "$SRC" | awk '{printf "%.0f MiB", $1/1048576}') stored, codec $CODEC, $CORES cores, work dir $WORK"
# run_case NAME RANKS [EXTRA FLAGS]: RANKS 0 = no mpirun. Converts $SRC into $WORK/out-NAME$STEP.
STEP=""
run_case() {
  local name=$1 ranks=$2
  shift 2
  local extra=("$@")
  local threads=${JOBS:-$(( ranks > 1 ? (CORES + ranks - 1) / ranks : CORES ))}
  local best="" r
  for ((r = 0; r < REPEAT; r++)); do
    rm -rf "$WORK/out-$name" "$WORK"/time.*
    settle "$SRC"
    local t0 t1
    t0=$(date +%s.%N)
    if ((ranks == 0)); then
      "$GNU_TIME" -f '%e %U %S %M' -o "$WORK/time.0" "$TE_CKPT" convert --input-path "$SRC" \
        --output-path "$WORK/out-$name$STEP" "${FLAGS[@]}" "${extra[@]}" --jobs "$threads"
    else
      mpirun --oversubscribe --allow-run-as-root -np "$ranks" sh -c \
        "exec $GNU_TIME -f '%e %U %S %M' -o $WORK/time.\$OMPI_COMM_WORLD_RANK \"\$0\" \"\$@\"" \
        "$TE_CKPT" convert --input-path "$SRC" --output-path "$WORK/out-$name$STEP" "${FLAGS[@]}" \
        "${extra[@]}" --jobs "$threads"
    fi
    sync
    t1=$(date +%s.%N)
    local wall; wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    if [[ -z $best ]] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$wall
      per_rank=""
      for f in "$WORK"/time.*; do
        read -r _ u s m < <(tail -n 1 "$f")
        per_rank+=$(awk -v k="${f##*.}" -v u="$u" -v s="$s" -v m="$m" \
          'BEGIN { printf "  rank %s: %.2f s cpu, %.0f MiB peak", k, u + s, m / 1024 }')
      done
    fi
  done
  printf '  %-14s %6s s wall (threads per rank %s; output %s)\n   %s\n' "$name" "$best" "$threads" \
    "$($DIGEST "$WORK/out-$name")" "$per_rank"
}
DIGEST=digest
run_case single 0
run_case mpi-np1 1
run_case mpi-np2 2
want=$(digest "$WORK/out-single")
for n in mpi-np1 mpi-np2; do
  [[ $(digest "$WORK/out-$n") == "$want" ]] || { echo "FAIL: $n output differs from single" >&2; exit 1; }
done
echo "  every output identical to the single-process output"

# One OCDBT database from a layout-1.x step: the keys and values, and the files around them.
ocdbt_digest() {
  local out=$1 db
  db=$(dirname "$(find "$out" -name manifest.ocdbt | head -n 1)")
  rm -rf "$WORK/unpacked"
  "$TE_CKPT" kv copy "$db" "$WORK/unpacked" --to files >/dev/null
  {
    digest "$WORK/unpacked"
    (cd "$out" && find . -type f ! -path '*/d/*' ! -name manifest.ocdbt ! -name _CHECKPOINT_METADATA -print0 |
      sort -z | xargs -0 sha256sum)
    sed -E 's/"(init|commit)_timestamp_nsecs": [0-9]+//g' "$(find "$out" -name _CHECKPOINT_METADATA)"
  } | sha256sum | cut -c1-16
}
SRC=$WORK/src-layout1/checkpoint_00000001
make_source "$SRC" "$SRC/state" --pax-layout1
STEP=/checkpoint_00000001
DIGEST=ocdbt_digest
echo "into one OCDBT database (--output-format=ocdbt) from the same checkpoint as a layout-1.x step:"
run_case ocdbt-single 0 --output-format ocdbt
run_case ocdbt-np1 1 --output-format ocdbt
run_case ocdbt-np2 2 --output-format ocdbt
want=$(ocdbt_digest "$WORK/out-ocdbt-single")
for n in ocdbt-np1 ocdbt-np2; do
  [[ $(ocdbt_digest "$WORK/out-$n") == "$want" ]] || { echo "FAIL: $n output differs from ocdbt-single" >&2; exit 1; }
done
echo "  every OCDBT output holds the single-process output's keys and values"
