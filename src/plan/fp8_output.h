#pragma once
// The FP8 metadata a plan writes (Plan::fp8): its collection, its modules (GEMMs grouped by TE
// module, as F17 needs them) and how the plan listing shows it.
#include <string>
#include <vector>

#include "plan/plan.h"

namespace te::plan {

// The collection the output's FP8 metadata goes into: fp8_meta_collection (F17), fp8_metas (F18),
// --fp8-collection (F23).
std::string fp8_collection_written(const rules::ModelOptions& options);

// The GEMMs grouped into their modules, in order of first appearance (a LayerNormMLP's wi and wo
// become one module with 2 GEMMs).
std::vector<Fp8Module> fp8_modules_of(const std::vector<Fp8Gemm>& gemms);

// The plan listing's FP8 part ("" when the plan writes no FP8 metadata).
std::string describe_fp8_output(const Plan& plan);

}  // namespace te::plan
