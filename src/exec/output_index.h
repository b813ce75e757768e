#pragma once
// The output checkpoint's own index, written after its arrays: T5X's msgpack `checkpoint`
// (leaves of arrays merged or split away removed, new arrays added, everything else kept) or a
// Pax step folder's `metadata/metadata` (regenerated for the output's mdl_vars).
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/inline_array.h"
#include "exec/fp8_arrays.h"
#include "kvstore/kvstore.h"
#include "plan/plan.h"

namespace te::exec {

// Pax checkpoint versions (pax-format.md §1.2): per-array folders 1.1, OCDBT 1.2.
inline constexpr double kPaxFoldersVersion = 1.1;
inline constexpr double kPaxOcdbtVersion = 1.2;

// `inline_outputs`: the plan's inline outputs, each a zarr array under "<name>/". An input without
// a T5X index (an Orbax T5X checkpoint) gets a new one: {"version": 3, "optimizer": {...}}.
void write_t5x_index(const plan::Plan& plan, const std::filesystem::path& out_dir,
                     std::shared_ptr<const kv::KvStore> inline_outputs,
                     const std::vector<WrittenArray>& fp8_arrays);

// `version`: the version written (nullopt: the source's).
void write_pax_metadata(const plan::Plan& plan, const std::filesystem::path& out_dir,
                        const std::vector<WrittenArray>& fp8_arrays,
                        std::optional<double> version = std::nullopt);

}  // namespace te::exec
