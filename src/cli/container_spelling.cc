#include "cli/container_spelling.h"

#include "plan/output_renaming.h"
#include "rules/pax_orbax_names.h"

namespace te::cli {

void spell_for_container(plan::Plan& plan, checkpoint::Format source, checkpoint::Format output) {
  using checkpoint::Format;
  const bool legacy_in = source == Format::kPaxLayout1 || source == Format::kPaxLayout0;
  if (legacy_in && output == Format::kPaxOrbax) {
    plan::rename_outputs(plan, rules::pax_orbax_name);
  } else if (source == Format::kPaxOrbax && output == Format::kPaxLayout1) {
    plan::rename_outputs(plan, rules::pax_legacy_name);
  }
}

}  // namespace te::cli
