#pragma once
// The Orbax metadata of an Orbax output made from a legacy (non-Orbax) input, which has no
// `_METADATA` to rewrite (orbax-format.md §4), written after the item's OCDBT database is
// committed. What a single-process Orbax save (PyTreeCheckpointHandler, use_ocdbt=True, zarr v2)
// writes:
// * `<item>/_METADATA`: one leaf per output array, its key path the name split at '.' (the legacy
//   names are tree paths joined with '.'), in JAX flatten order. Each component is a dict key,
//   key_type 2, unless the style makes decimal components list indices (a framework whose saved
//   state holds lists): those are key_type 1 (written as a JSON integer, as newer Orbax does);
//   value_metadata {value_type "jax.Array", skip_deserialize false, write_shape = the array's shape
//   (one process, one shard)}; flags use_ocdbt true, use_zarr3 false,
//   store_array_data_equal_to_fill_value false (the legacy zarr folders may omit chunks equal to
//   the fill value, which TensorStore reads as the fill value; true would make such a chunk a
//   restore error), custom_metadata null.
// * `<item>/_sharding`: an array whose source has an entry in the legacy input's
//   `<array root>/_sharding` (written there by Orbax's ArrayHandler) gets the entry derived from
//   it (OrbaxSharding's rule); every other array SingleDeviceSharding on "cpu:0", what a
//   single-process CPU save writes (the Orbax fixtures). Frameworks pass their own shardings on
//   restore, so the file is read only by a caller that gives none.
// * `<item>/array_metadatas/process_0`: write_shape = shape, chunk_shape = the zarr chunks.
// * `<item>/checkpoint` (with the style's placeholder_index): the msgpack PLACEHOLDER:// tree of
//   the same leaves, which Orbax before 0.5.21 reads first.
// * `<step>/_CHECKPOINT_METADATA`: item_handlers {item: PyTreeCheckpointHandler}, empty metrics,
//   init and commit time = now; `<step>/commit_success.txt`.
// Names whose list and tuple indices are their own components (cli/container_spelling.h respells
// a legacy input's names so) get, with list indices, each decimal component as a sequence key,
// as the framework's own save writes it.
#include <filesystem>
#include <string>
#include <vector>

#include "exec/fp8_arrays.h"
#include "plan/plan.h"

namespace te::exec {

// How a framework's saves spell the tree (its ContainerProfile says).
struct OrbaxTreeStyle {
  // A decimal component of a name is a list index (key_type 1, ordered by number); otherwise
  // every component is a dict key (key_type 2), as flax's state dict has lists and tuples as
  // dicts with keys "0", "1", ....
  bool decimal_components_are_list_indices = false;
  // The item also gets the msgpack placeholder `checkpoint`.
  bool placeholder_index = false;
};

// `style`: how the output's tree is spelled. `fp8_arrays`: the
// FP8 metadata arrays already in the database, leaves like any other (a `_sharding` entry
// replicated on the source's mesh when the legacy step has a `_sharding`, else
// SingleDeviceSharding).
void write_orbax_metadata_from_scratch(const plan::Plan& plan, const std::filesystem::path& out_dir,
                                       const std::filesystem::path& item,
                                       const OrbaxTreeStyle& style,
                                       const std::vector<WrittenArray>& fp8_arrays);

}  // namespace te::exec
