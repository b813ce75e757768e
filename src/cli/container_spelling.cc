#include "cli/container_spelling.h"

#include <fmt/format.h>

#include "plan/output_renaming.h"
#include "rules/pax_orbax_names.h"

namespace te::cli {

void spell_for_container(plan::Plan& plan, checkpoint::Format source, checkpoint::Format output) {
  using checkpoint::Format;
  const bool legacy_in = source == Format::kPaxLayout1 || source == Format::kPaxLayout0;
  size_t changed = 0;
  if (legacy_in && output == Format::kPaxOrbax) {
    changed = plan::rename_outputs(plan, rules::pax_orbax_name);
  } else if (source == Format::kPaxOrbax && output == Format::kPaxLayout1) {
    changed = plan::rename_outputs(plan, rules::pax_legacy_name);
  }
  if (changed > 0) {
    plan.notes.push_back(fmt::format(
        "{} optimizer arrays spelled as Pax names them in the {} (opt_states{}0{}2.m.…)", changed,
        output == Format::kPaxOrbax ? "Orbax OCDBT step" : "per-array folders",
        output == Format::kPaxOrbax ? "." : "_", output == Format::kPaxOrbax ? "." : "_"));
  }
}

}  // namespace te::cli
