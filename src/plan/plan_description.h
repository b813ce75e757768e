#pragma once
// The plan as text, for `--dry-run` and `plan`.
#include <string>

#include "plan/plan.h"

namespace te::plan {

// Every job (sources -> targets, shapes, pattern, dtype, chunks), every copy, the FP8 metadata,
// the files copied, the arrays left out, the notes and warnings.
std::string describe(const Plan& plan);

}  // namespace te::plan
