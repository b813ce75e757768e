#pragma once
// Which layout a checkpoint's arrays are in (framework or TE, Pax repeat or not, T5X TE side
// fused or not), compared with the flags. The planner asks this first when a rule finds no
// arrays, because a wrong --direction, --pax-repeat or --t5x-fuse-qkv makes every array look
// missing, and the per-rule hints ("--skip-ln?") would then point the wrong way.
#include <optional>
#include <string>
#include <vector>

#include "rules/model_options.h"

namespace te::plan {

// A message naming an array found and the flag to change, or nullopt when the arrays fit the
// flags (or nothing can be told). `names`: every array name of the checkpoint.
std::optional<std::string> layout_mismatch(const std::vector<std::string>& names,
                                           const rules::ModelOptions& options);

}  // namespace te::plan
