#pragma once
// The Orbax metadata of a converted Orbax checkpoint (orbax-format.md §8 "Checkpoint-level
// rewrite"), written after the item's new OCDBT database is committed: `<item>/_METADATA` listing
// exactly the output's array leaves (renamed, new and removed leaves; key types, flags,
// custom_metadata and string leaves of the input kept; write_shape = the output chunk shape, a
// zarr3 array's shard shape),
// `<item>/_sharding` with an entry for every output array (kept, or derived from the array's
// source by OrbaxSharding's rule; the file is omitted when some entry cannot be derived, which
// Orbax accepts since T5X and Pax pass shardings), `<item>/array_metadatas/process_0` for the
// output arrays (when the input had one), `_CHECKPOINT_METADATA` with a fresh commit time (when
// the input had one), the msgpack placeholder `checkpoint` with the same tree as the new
// `_METADATA` (when the input had one: Orbax < 0.5.21 needs it) and `commit_success.txt`.
#include <filesystem>

#include "plan/plan.h"

namespace te::exec {

void write_orbax_metadata(const plan::Plan& plan, const std::filesystem::path& out_dir);

}  // namespace te::exec
