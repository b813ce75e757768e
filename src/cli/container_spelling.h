#pragma once
// The output container's spelling of the plan's output names: a Pax step moved between the
// per-array layout (layout 1.x) and Orbax OCDBT gets its optimizer leaves renamed as Pax itself
// names them there (rules/pax_orbax_names.h), so that Pax restores the output; every other
// change of container keeps the names.
#include "checkpoint/checkpoint.h"
#include "plan/plan.h"

namespace te::cli {

void spell_for_container(plan::Plan& plan, checkpoint::Format source, checkpoint::Format output);

}  // namespace te::cli
