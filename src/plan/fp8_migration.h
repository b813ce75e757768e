#pragma once
// `convert --direction=te2te --fp8-meta-format=X`: a TE-side checkpoint keeps everything but its
// FP8 metadata, which is rewritten from the one format it holds into X (te-fp8-format.md §8).
// The plan copies every other array and file unchanged and describes each module's source arrays;
// the executor computes the new values (exec/fp8_arrays).
#include "plan/plan.h"

namespace te::plan {

// Throws te::Error for a framework-side checkpoint, one without FP8 metadata or with more than one
// format, an unknown collection, and a module whose arrays are incomplete or misshapen.
Plan plan_fp8_migration(const checkpoint::Checkpoint& source, const rules::ModelOptions& options,
                        const PlanSettings& settings, const FrameworkProfile& profile);

}  // namespace te::plan
