#pragma once
// Writes the FP8 metadata a Plan asks for (Plan::fp8), in its format (te-fp8-format.md §9):
// generated from the kernel maxima of fw2te (the F18 rule, then the migration into F17 or F23, as
// §9.3 says), or migrated from the source arrays of a te2te plan (§8.2, then resized by §8.3).
// float32, chunk = whole array, with a leading [L] under repeat; zarr v2, or for a zarr3 output
// the zarr3 array Orbax would write for that zarr v2 array (zarr/v3_array_metadata.h).
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exec/amax.h"
#include "kvstore/kvstore.h"
#include "plan/plan.h"

namespace te::exec {

// One array written: its name and metadata.
using WrittenArray = std::pair<std::string, zarr::ArrayMetadata>;

// `amax[g]` holds the kernel maxima of plan.fp8_gemms[g]. Each array goes into `store` under
// "<name>/" (a file store at the output's array root, or the output item's OCDBT database);
// `zarr3`: written as zarr3. Things the user should check (F17 source maxima that differ from the
// target recipe) are appended to `warnings`.
std::vector<WrittenArray> write_fp8_arrays(
    const plan::Plan& plan, const std::vector<std::unique_ptr<AmaxAccumulator>>& amax,
    const std::shared_ptr<kv::KvStore>& store, bool zarr3, std::vector<std::string>& warnings);

}  // namespace te::exec
