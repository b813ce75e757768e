#pragma once
// The plan of a format-only conversion (`convert --output-format F` with no --direction and no
// model flag): only the container changes. Every array is copied under its own name (its stored
// chunk bytes unchanged: folder -> OCDBT, OCDBT -> folder and folder -> folder are byte copies),
// every other file is copied, nothing is converted, renamed or left out. The same checks as any
// plan: the listing's problems refuse the checkpoint, links must stay inside it.
#include "checkpoint/checkpoint.h"
#include "plan/plan.h"
#include "rules/model_options.h"

namespace te::plan {

// `framework`: the framework the caller reads `source` as (the plan's options.framework; nothing
// is planned from it).
Plan make_format_only_plan(const checkpoint::Checkpoint& source, rules::Framework framework);

}  // namespace te::plan
