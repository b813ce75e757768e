#!/usr/bin/env bash
# shellcheck disable=SC2154  # the *_wall, *_cpu, *_rss variables are set by `timed` (printf -v)
# Conversion benchmark for te-ckpt (run by hand; not part of the tests). See bench/README.md.
#
# For each case (codec x chunks per array x dtype) it generates a synthetic Pax repeat checkpoint
# with optimizer states (`te-ckpt example`), then times on the same input:
#   (1) floor   : the codec work alone with the fastest stock CLI tools on all cores: every chunk
#                 file of the arrays te-ckpt re-encodes is decompressed and recompressed with the
#                 same codec and level (files in parallel, xargs -P <cores>); the arrays te-ckpt
#                 copies unchanged are copied with cp;
#   (2) te-ckpt : te-ckpt convert --fw pax --direction fw2te --pax-repeat ... -q;
#   (3) python  : bench/python_convert.py (numpy + zarr-python 2.13, single-threaded, whole arrays);
# checks that (2) and (3) hold the same array values, and prints wall time and peak RSS of each
# (GNU time '%e %M'). Finally te-ckpt's peak RSS on the same model with 4 and 16 layers
# (single-chunk arrays) is compared with the largest decoded chunk.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
PY=/usr/bin/python3
GNU_TIME=/usr/bin/time

# ---------------------------------------------------------------------------------------------
# Hidden subcommand: the floor of one case, run under GNU time as one process tree.
#   convert_bench.sh __floor IN OUT TOOL JOBS
# TOOL: zstd | igzip | pigz.
TRANSFORMED_RE='\.(self_attention\.combined_qkv\.[wb]|self_attention\.post\.w|ff_layer\.ffn_layer1\.linear\.w|ff_layer\.ffn_layer1\.bias\.b)$'

igzip_has_threads() {
  # Debian's isal 2.30 igzip accepts -T but is built without thread support (no pthread_create).
  nm -D "$(command -v igzip)" 2>/dev/null | grep -q 'pthread_create'
}

if [[ ${1:-} == __floor ]]; then
  in=$2 out=$3 tool=$4 jobs=$5
  case $tool in
    zstd) dec='zstd -q -d -c' enc='zstd -q -1 -T0 -c' ;;
    igzip)
      dec='igzip -d -c'
      if igzip_has_threads; then enc="igzip -1 -T $jobs -c"; else enc='igzip -1 -c'; fi ;;
    pigz) dec='pigz -d -c' enc="pigz -1 -p $jobs -c" ;;
    *) echo "unknown floor tool $tool" >&2; exit 2 ;;
  esac
  mkdir -p "$out"
  list=$(mktemp)
  for src in "$in"/*; do
    name=${src##*/}
    if [[ -d $src && -f $src/.zarray && $name =~ $TRANSFORMED_RE ]]; then
      mkdir "$out/$name"
      cp "$src/.zarray" "$out/$name/"
      find "$src" -maxdepth 1 -type f ! -name '.z*' -printf "%s\t%p\t$out/$name/%f\n" >> "$list"
    else
      cp -r "$src" "$out/"
    fi
  done
  # Largest files first, so that the last file does not run alone on one core.
  sort -t $'\t' -k1,1rn "$list" | cut -f2,3 | tr '\t\n' '\0\0' |
    xargs -0 -n 2 -P "$jobs" bash -c "set -o pipefail; $dec \"\$1\" | $enc > \"\$2\"" _
  rm -f "$list"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
usage() {
  cat <<EOF
usage: $0 [options]
  --size 512m|2g|tiny  model size (decoded bytes of the float32 checkpoint; default 512m).
                       512m: 4 layers, 2g: 16 layers, tiny: a few MiB for trying the script out
  --cases "C ..."      cases as codec:chunks:dtype (default:
                       "zstd:1:float32 zstd:4:float32 gzip:1:float32 gzip:4:float32 zstd:1:bfloat16")
  --te-ckpt PATH       te-ckpt binary (default: build-bench/te-ckpt, else build/te-ckpt)
  --jobs N             cores for the floor tools (default: nproc); te-ckpt uses its default (all cores)
  --work-dir DIR       scratch folder (default: a new folder under \${TMPDIR:-/tmp}); needs about
                       4x the checkpoint size free (6x with the memory check at --size 512m)
  --no-python          skip the Python baseline
  --no-pigz            skip the extra pigz floor of the gzip cases
  --no-memory          skip the 4-vs-16-layer memory check
  --zero-moments       keep the all-zero Adam moments te-ckpt example writes (default: fill
                       them with copies of the weights' chunks, as incompressible as real moments)
  --keep               keep the work folder
EOF
}

SIZE=512m
CASES="zstd:1:float32 zstd:4:float32 gzip:1:float32 gzip:4:float32 zstd:1:bfloat16"
TE_CKPT=""
JOBS=$(nproc)
WORK=""
DO_PY=1 DO_PIGZ=1 DO_MEM=1 KEEP=0 ZERO_MOMENTS=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) SIZE=$2; shift 2 ;;
    --cases) CASES=$2; shift 2 ;;
    --te-ckpt) TE_CKPT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --work-dir) WORK=$2; shift 2 ;;
    --no-python) DO_PY=0; shift ;;
    --no-pigz) DO_PIGZ=0; shift ;;
    --no-memory) DO_MEM=0; shift ;;
    --keep) KEEP=1; shift ;;
    --zero-moments) ZERO_MOMENTS=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

# Model dimensions: per layer 4*E*D + 2*E*F weights, x3 with the Adam moments m and v.
# E=1024, N=16, H=64 (D=1024), F=3584: 11 M weights = 44 MiB float32 per layer, 132 MiB with m, v.
case $SIZE in
  512m) E=1024 N=16 H=64 F=3584 L=4 MEM_L=(4 16) ;;
  2g|2G) E=1024 N=16 H=64 F=3584 L=16 MEM_L=(4 16) ;;
  tiny) E=128 N=4 H=32 F=512 L=2 MEM_L=(2 8) ;;
  *) echo "--size must be 512m, 2g or tiny" >&2; exit 2 ;;
esac

if [[ -z $TE_CKPT ]]; then
  for c in "$REPO/build-bench/te-ckpt" "$REPO/build/te-ckpt"; do
    [[ -x $c ]] && { TE_CKPT=$c; break; }
  done
fi
[[ -x ${TE_CKPT:-} ]] || { echo "te-ckpt binary not found; pass --te-ckpt" >&2; exit 2; }
for tool in zstd igzip pigz "$GNU_TIME" "$PY"; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install zstd isal pigz time python3-zarr)" >&2; exit 2; }
done

if [[ -z $WORK ]]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/te-ckpt-convert-bench.XXXXXX")
else
  mkdir -p "$WORK"
fi
cleanup() {
  if [[ $KEEP == 1 ]]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Helpers.

# input_dir LAYERS DTYPE CODEC CHUNKS: generates (once) and prints the input checkpoint folder.
input_dir() {
  local l=$1 dtype=$2 codec=$3 chunks=$4
  local dir="$WORK/in-L$l-$dtype-$codec-$chunks"
  if [[ ! -d $dir ]]; then
    "$TE_CKPT" example --output-path "$dir" --fw pax --pax-repeat --num-of-layer "$l" \
      --num-of-head "$N" --head-dim "$H" --mlp-intermediate-dim "$F" --embed-dim "$E" \
      --dtype "$dtype" --compressor "$codec" --chunks-per-array "$chunks" >/dev/null
    [[ $ZERO_MOMENTS == 1 ]] || fill_moments "$dir"
  fi
  echo "$dir"
}

# `te-ckpt example` writes all-zero Adam moments, which compress to almost nothing and would make
# two thirds of the codec work trivial. Real moments are as incompressible as the weights, so by
# default every moment array gets a copy of its weight's chunk files (same shape, chunk grid,
# dtype and codec; checked by comparing the .zarray files).
fill_moments() {
  local dir=$1 m w
  for m in "$dir"/opt_states_0.*.[mv].params.*; do
    [[ -f $m/.zarray ]] || continue
    w="$dir/mdl_vars.params.${m#*.[mv].params.}"
    if [[ ! -f $w/.zarray ]] || ! cmp -s "$w/.zarray" "$m/.zarray"; then continue; fi
    cp "$w"/[0-9]* "$m/"
  done
}

# stats DIR: "decoded_MiB largest_chunk_MiB arrays" over every .zarray below DIR.
stats() {
  "$PY" - "$1" <<'EOF'
import json, os, sys
import numpy as np
total = largest = n = 0
for d, _, fs in os.walk(sys.argv[1]):
    if ".zarray" not in fs:
        continue
    m = json.load(open(os.path.join(d, ".zarray")))
    isz = 2 if m["dtype"] == "bfloat16" else np.dtype(m["dtype"]).itemsize
    total += int(np.prod(m["shape"], dtype=np.int64)) * isz
    largest = max(largest, int(np.prod(m["chunks"], dtype=np.int64)) * isz)
    n += 1
print(f"{total / 2**20:.1f} {largest / 2**20:.1f} {n}")
EOF
}

stored_mib() { du -sb "$1" | awk '{printf "%.1f", $1 / 1048576}'; }

# Reads every input file once so that each timed run starts with the input in the page cache,
# and flushes earlier output so that no run pays for its predecessor's writeback.
settle() { find "$1" -type f -exec cat {} + >/dev/null; sync; }

# timed PREFIX CMD...: runs CMD under GNU time and sets PREFIX_wall (s), PREFIX_cpu (user + system
# s, all threads and child processes) and PREFIX_rss (peak resident set of the largest single
# process, MiB).
timed() {
  local prefix=$1; shift
  local tf; tf=$(mktemp)
  if ! "$GNU_TIME" -f '%e %U %S %M' -o "$tf" "$@"; then
    echo "FAILED: $*" >&2
    cat "$tf" >&2
    rm -f "$tf"
    return 1
  fi
  local wall user sys rss
  read -r wall user sys rss < <(tail -n 1 "$tf")
  rm -f "$tf"
  printf -v "${prefix}_wall" '%.2f' "$wall"
  printf -v "${prefix}_cpu" '%.2f' "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')"
  printf -v "${prefix}_rss" '%.0f' "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')"
}

# row LABEL PREFIX [NOTE]: one result line of a case.
row() {
  local w="${2}_wall" c="${2}_cpu" r="${2}_rss"
  printf '  %-18s %8s s wall %8s s cpu %7s MiB%s\n' "$1" "${!w}" "${!c}" "${!r}" "${3:+   $3}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# te_convert_cmd IN OUT LAYERS: sets the array TE_CMD to the te-ckpt command line.
te_convert_cmd() {
  TE_CMD=("$TE_CKPT" convert --input-path "$1" --output-path "$2" --fw pax --direction fw2te
    --pax-repeat --num-of-layer "$3" --num-of-head "$N" --head-dim "$H"
    --mlp-intermediate-dim "$F" --embed-dim "$E" -q)
}

# ---------------------------------------------------------------------------------------------
echo "te-ckpt conversion benchmark"
echo "  te-ckpt:  $TE_CKPT"
echo "  machine:  $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  model:    --num-of-layer $L --num-of-head $N --head-dim $H --mlp-intermediate-dim $F --embed-dim $E (+ Adam m, v)"
echo "  moments:  $([[ $ZERO_MOMENTS == 1 ]] && echo "all zero (te-ckpt example's)" || echo "copies of the weights' chunks (te-ckpt example writes zeros)")"
if igzip_has_threads; then GZ_NOTE="igzip -1 -T $JOBS"; else GZ_NOTE="igzip -1 (built without threads; parallel across files)"; fi
echo "  floor:    zstd -d | zstd -1 -T0;  igzip -d | $GZ_NOTE;  xargs -P $JOBS over chunk files"
echo "  work dir: $WORK"
echo

SUMMARY=()
for c in $CASES; do
  IFS=: read -r codec chunks dtype <<<"$c"
  label="$codec x$chunks $dtype"
  echo "=== case $label"
  in=$(input_dir "$L" "$dtype" "$codec" "$chunks")
  read -r dec_mib chunk_mib n_arrays < <(stats "$in")
  echo "  input: $n_arrays arrays, $dec_mib MiB decoded, $(stored_mib "$in") MiB stored, largest chunk $chunk_mib MiB"

  floor_tool=$([[ $codec == gzip ]] && echo igzip || echo zstd)
  settle "$in"
  timed floor "$0" __floor "$in" "$WORK/out-floor" "$floor_tool" "$JOBS"
  rm -rf "$WORK/out-floor"
  row "(1) floor $floor_tool" floor

  pigz_wall="-"
  if [[ $codec == gzip && $DO_PIGZ == 1 ]]; then
    settle "$in"
    timed pigz "$0" __floor "$in" "$WORK/out-floor" pigz "$JOBS"
    rm -rf "$WORK/out-floor"
    row "(1b) floor pigz" pigz "(reference only: zlib-based)"
  fi

  settle "$in"
  te_convert_cmd "$in" "$WORK/out-te" "$L"
  timed te "${TE_CMD[@]}"
  row "(2) te-ckpt" te

  py_wall="-" py_cpu="-" py_rss="-" equal="-"
  if [[ $DO_PY == 1 ]]; then
    settle "$in"
    timed py "$PY" "$SCRIPT_DIR/python_convert.py" --input-path "$in" --output-path "$WORK/out-py" \
      --num-of-layer "$L" --num-of-head "$N" --head-dim "$H" --mlp-intermediate-dim "$F" --embed-dim "$E"
    row "(3) python" py
    if cmp_out=$("$PY" "$SCRIPT_DIR/compare_outputs.py" "$WORK/out-te" "$WORK/out-py"); then
      equal=OK
    else
      equal=DIFFER
    fi
    while IFS= read -r line; do echo "  compare te-ckpt vs python: $line"; done <<<"$cmp_out"
    rm -rf "$WORK/out-py"
  fi
  rm -rf "$WORK/out-te"

  r_floor=$(ratio "$te_wall" "$floor_wall")
  r_floor_cpu=$(ratio "$te_cpu" "$floor_cpu")
  r_py=$([[ $DO_PY == 1 ]] && ratio "$py_wall" "$te_wall" || echo -)
  r_py_cpu=$([[ $DO_PY == 1 ]] && ratio "$py_cpu" "$te_cpu" || echo -)
  echo "  te-ckpt/floor = $r_floor (cpu $r_floor_cpu)   python/te-ckpt = $r_py (cpu $r_py_cpu)"
  echo
  SUMMARY+=("| $label | $dec_mib | $chunk_mib | $floor_wall / $floor_cpu / $floor_rss | $pigz_wall | $te_wall / $te_cpu / $te_rss | $py_wall / $py_cpu / $py_rss | $r_floor ($r_floor_cpu) | $r_py ($r_py_cpu) | $equal |")

  # Keep the input the memory check reuses; delete the others now to save disk.
  if ! [[ $DO_MEM == 1 && $codec == zstd && $chunks == 1 && $dtype == float32 ]]; then
    rm -rf "$in"
  fi
done

echo "=== summary: wall s / cpu s / peak RSS MiB; ratios of wall time (of cpu time); sizes in MiB"
echo "| case | decoded | largest chunk | (1) floor | pigz floor wall | (2) te-ckpt | (3) python | te-ckpt/floor | python/te-ckpt | same values |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${SUMMARY[@]}"
echo

if [[ $DO_MEM == 1 ]]; then
  echo "=== te-ckpt peak memory vs layers (zstd, float32, one chunk per array)"
  echo "| layers | decoded MiB | largest chunk MiB | wall s | cpu s | peak RSS MiB | bound 2 x chunk + 64 MiB | within bound |"
  echo "|---|---|---|---|---|---|---|---|"
  declare -A PEAK
  for l in "${MEM_L[@]}"; do
    in=$(input_dir "$l" float32 zstd 1)
    read -r dec_mib chunk_mib _ < <(stats "$in")
    settle "$in"
    te_convert_cmd "$in" "$WORK/out-mem" "$l"
    timed mem "${TE_CMD[@]}"
    rm -rf "$WORK/out-mem" "$in"
    peak=$mem_rss
    PEAK[$l]=$peak
    bound=$(awk -v c="$chunk_mib" 'BEGIN { printf "%.0f", 2 * c + 64 }')
    ok=$(awk -v p="$peak" -v b="$bound" 'BEGIN { print (p <= b) ? "yes" : "NO" }')
    echo "| $l | $dec_mib | $chunk_mib | $mem_wall | $mem_cpu | $peak | $bound | $ok |"
  done
  lo=${MEM_L[0]} hi=${MEM_L[1]}
  r=$(ratio "${PEAK[$hi]}" "${PEAK[$lo]}")
  ok=$(awk -v r="$r" 'BEGIN { print (r <= 1.2) ? "yes" : "NO" }')
  echo
  echo "peak($hi layers) / peak($lo layers) = $r (target <= 1.2: $ok)"
fi
