#pragma once
// The Orbax metadata of a converted Orbax checkpoint (orbax-format.md §8 "Checkpoint-level
// rewrite"), written after the item's new OCDBT database is committed: `<item>/_METADATA` listing
// exactly the output's array leaves (renamed, new and removed leaves; key types, flags,
// custom_metadata and string leaves of the input kept; write_shape = the output chunk shape, a
// zarr3 array's shard shape),
// `<item>/_sharding` with an entry for every output array (kept, or derived from the array's
// source by OrbaxSharding's rule; the file is omitted when some entry cannot be derived, which
// Orbax accepts since the frameworks pass their own shardings), `<item>/array_metadatas/process_0`
// for the output arrays (when the input had one), `_CHECKPOINT_METADATA` with a fresh commit time
// (when the input had one), the msgpack placeholder `checkpoint` with the same tree as the new
// `_METADATA` (when the input had one: Orbax < 0.5.21 needs it) and `commit_success.txt`.
// FP8 metadata arrays (`fp8_arrays`, already in the database) are leaves like any other: value
// type jax.Array, a `_sharding` entry replicated on the input's mesh
// (OrbaxSharding::replicated_entry; they are a few floats per GEMM, and TE restores them
// replicated), no ext_metadata in array_metadatas.
#include <filesystem>
#include <vector>

#include "exec/fp8_arrays.h"
#include "plan/plan.h"

namespace te::exec {

void write_orbax_metadata(const plan::Plan& plan, const std::filesystem::path& out_dir,
                          const std::vector<WrittenArray>& fp8_arrays);

// The index of a pre-OCDBT Orbax output (Checkpoint::orbax_per_array_folders, written back in its
// own layout): `<item>/checkpoint`, the input's placeholder tree rewritten to exactly the output's
// arrays (a kept leaf keeps its key path; a new one is its name split at '.'), and
// `_CHECKPOINT_METADATA` with a fresh commit time when the input had one. The arrays are the
// folders `<item>/<name>/`.
void write_orbax_folders_index(const plan::Plan& plan, const std::filesystem::path& out_dir,
                               const std::vector<WrittenArray>& fp8_arrays);

}  // namespace te::exec
