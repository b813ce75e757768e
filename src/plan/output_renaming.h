#pragma once
// Output names in the output container's spelling: a framework may spell the same leaf
// differently in two containers (its container spelling in rules/); the caller that knows both
// containers passes the spelling of the output's. Renames every output array (job outputs and
// copies); source names, and so the plan's reading side, are unchanged.
#include <functional>
#include <string>
#include <string_view>

#include "plan/plan.h"

namespace te::plan {

// Applies `spelling` to every output array name of `plan`; returns how many names changed. Two
// outputs spelled alike are an error naming both sources.
size_t rename_outputs(Plan& plan, const std::function<std::string(std::string_view)>& spelling);

}  // namespace te::plan
