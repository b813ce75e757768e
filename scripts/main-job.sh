#!/usr/bin/env bash
# The main job: install, build, then convert small example checkpoints fw2te and back (Pax with
# repeat layers and optimizer state in a step folder, then T5X), show the plan and a summary, and
# check that each round trip gives back the source byte for byte; verify one conversion, pack one
# checkpoint folder into an OCDBT database and back, and change one step's container (Orbax OCDBT
# with zarr3 arrays) and back.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
te=build/te-ckpt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== Pax: example checkpoint (repeat, 4 layers, bfloat16, zstd, 2 shards per array, Adam state)"
pax_flags=(--fw=pax --pax-repeat --num-of-layer=4 --num-of-head=4 --head-dim=16 --mlp-intermediate-dim=256)
$te example --output-path "$work/pax/checkpoint_00000100" --fw pax --pax-repeat --pax-layout1 \
  --dtype bfloat16 --compressor zstd --chunks-per-array 2
$te inspect "$work/pax/checkpoint_00000100" | tail -n 4
echo "== Pax: plan (first jobs)"
$te plan --input-path="$work/pax/checkpoint_00000100" "${pax_flags[@]}" --direction=fw2te >"$work/plan.txt"
head -n 12 "$work/plan.txt"
echo "== Pax: fw2te with FP8 metadata, then te2fw"
$te convert --input-path="$work/pax/checkpoint_00000100" --output-path="$work/te/checkpoint_00000100" \
  "${pax_flags[@]}" --direction=fw2te --gen-fp8-meta
$te convert --input-path="$work/te/checkpoint_00000100" --output-path="$work/back/checkpoint_00000100" \
  "${pax_flags[@]}" --direction=te2fw
diff -r "$work/pax" "$work/back" && echo "Pax round trip: identical to the source, byte for byte"

echo "== T5X: example checkpoint (encoder-decoder, 4+4 layers, gated MLP, gzip, AdamW state)"
t5x_flags=(--fw=t5x --embed-dim=64 --num-of-layer=4 --num-of-head=4 --head-dim=16 --mlp-intermediate-dim=256 --t5x-fuse-qkv)
$te example --output-path "$work/t5x/checkpoint_100" --fw t5x --use-gated-activations --compressor gzip
$te convert --input-path="$work/t5x/checkpoint_100" --output-path="$work/t5x-te/checkpoint_100" "${t5x_flags[@]}" --direction=fw2te
$te convert --input-path="$work/t5x-te/checkpoint_100" --output-path="$work/t5x-back/checkpoint_100" "${t5x_flags[@]}" --direction=te2fw
diff -r "$work/t5x" "$work/t5x-back" && echo "T5X round trip (arrays and msgpack index): identical to the source, byte for byte"

echo "== verify: the T5X conversion checked against its source, array by array"
$te verify "$work/t5x/checkpoint_100" "$work/t5x-te/checkpoint_100" | tail -n 1

echo "== OCDBT: the Pax state packed into one TensorStore OCDBT database and back"
$te kv copy "$work/pax/checkpoint_00000100/state" "$work/ocdbt-state" --to ocdbt
$te kv ls "$work/ocdbt-state" | tail -n 2
$te kv copy "$work/ocdbt-state" "$work/files-state" --to files
diff -r "$work/pax/checkpoint_00000100/state" "$work/files-state" &&
  echo "OCDBT round trip: identical to the source folder, byte for byte"

echo "== Containers: the Pax step into an Orbax step (OCDBT, zarr3 arrays) and back (format-only)"
$te convert --input-path="$work/pax/checkpoint_00000100" --output-path="$work/z3/checkpoint_00000100" \
  --output-format=ocdbt-zarr3 | tail -n 1
$te inspect "$work/z3/checkpoint_00000100" | sed -n 2,3p
$te convert --input-path="$work/z3/checkpoint_00000100" --output-path="$work/z3-back/checkpoint_00000100" \
  --output-format=zarr | tail -n 1
# state/_sharding is regenerated (the Orbax step names a sharding for every array).
diff -r -x _sharding "$work/pax" "$work/z3-back" &&
  echo "zarr v2 -> zarr3 in OCDBT -> zarr v2 round trip: identical to the source, byte for byte"
