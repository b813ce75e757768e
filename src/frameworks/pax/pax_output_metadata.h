#pragma once
// A Pax step folder's `metadata/metadata`, written after the output's arrays: regenerated for the
// output's mdl_vars (each leaf with the model dtype and mask flag of the array it came from), or
// the source's copied unchanged when it is version 1.0 (no train_state_metadata to describe).
#include <filesystem>
#include <optional>
#include <vector>

#include "exec/fp8_arrays.h"
#include "plan/plan.h"

namespace te::frameworks {

// Pax checkpoint versions (pax-format.md §1.2): per-array folders 1.1, OCDBT 1.2.
inline constexpr double kPaxFoldersVersion = 1.1;
inline constexpr double kPaxOcdbtVersion = 1.2;

// Needs the plan's source to have Pax metadata. `version`: the version written (nullopt: the
// source's).
void write_pax_metadata(const plan::Plan& plan, const std::filesystem::path& out_dir,
                        const std::vector<exec::WrittenArray>& fp8_arrays,
                        std::optional<double> version = std::nullopt);

}  // namespace te::frameworks
