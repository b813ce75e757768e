#pragma once
// The Orbax metadata of an Orbax output made from a legacy (non-Orbax) input, which has no
// `_METADATA` to rewrite (orbax-format.md §4), written after the item's OCDBT database is
// committed. What a single-process Orbax save (PyTreeCheckpointHandler, use_ocdbt=True, zarr v2)
// writes:
// * `<item>/_METADATA`: one leaf per output array, its key path the name split at '.' (the legacy
//   names are tree paths joined with '.'), in JAX flatten order. T5X saves flax's state dict
//   (lists and tuples are dicts with keys "0", "1", ...): every component a dict key, key_type 2.
//   Pax saves its TrainState (opt_states is a list): a decimal component is a list index,
//   key_type 1 (written as a JSON integer, as newer Orbax does), every other a dict key;
//   value_metadata {value_type "jax.Array", skip_deserialize false, write_shape = the array's shape
//   (one process, one shard)}; flags use_ocdbt true, use_zarr3 false,
//   store_array_data_equal_to_fill_value false (the legacy zarr folders may omit chunks equal to
//   the fill value, which TensorStore reads as the fill value; true would make such a chunk a
//   restore error), custom_metadata null.
// * `<item>/_sharding`: an array whose source has an entry in the legacy step's `state/_sharding`
//   (Pax, written there by Orbax's ArrayHandler) gets the entry derived from it (OrbaxSharding's
//   rule); every other array SingleDeviceSharding on "cpu:0", what a single-process CPU save
//   writes (the Orbax fixtures). T5X and Pax pass their own shardings on restore, so the file is
//   read only by a caller that gives none.
// * `<item>/array_metadatas/process_0`: write_shape = shape, chunk_shape = the zarr chunks.
// * `<item>/checkpoint` (Pax only): the msgpack PLACEHOLDER:// tree of the same leaves, which
//   Pax's pinned Orbax 0.5.6 reads first.
// * `<step>/_CHECKPOINT_METADATA`: item_handlers {item: PyTreeCheckpointHandler}, empty metrics,
//   init and commit time = now; `<step>/commit_success.txt`.
// A legacy Pax step's optimizer leaves arrive here already in Pax's OCDBT spelling
// (`opt_states.0.2.m.…`, list and tuple indices as their own components: cli/container_spelling.h),
// so each decimal component is a sequence key, as Pax's own save writes it.
#include <filesystem>
#include <string>
#include <vector>

#include "exec/fp8_arrays.h"
#include "plan/plan.h"

namespace te::exec {

// `pax`: the output is a Pax step (list indices, the placeholder `checkpoint`). `fp8_arrays`: the
// FP8 metadata arrays already in the database, leaves like any other (a `_sharding` entry
// replicated on the source's mesh when the legacy step has a `_sharding`, else
// SingleDeviceSharding).
void write_orbax_metadata_from_scratch(const plan::Plan& plan, const std::filesystem::path& out_dir,
                                       const std::filesystem::path& item, bool pax,
                                       const std::vector<WrittenArray>& fp8_arrays);

}  // namespace te::exec
