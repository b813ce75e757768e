#include "frameworks/pax/pax_profile.h"

#include "frameworks/pax/pax_detection.h"
#include "rules/pax_rules.h"

namespace te::frameworks {

using checkpoint::Format;

bool PaxProfile::accepts_format(Format format) const {
  return format == Format::kPaxLayout0 || format == Format::kPaxLayout1 ||
         format == Format::kPaxOrbax || format == Format::kOrbax;
}

std::vector<rules::LayerStack> PaxProfile::layer_stacks(const rules::ModelOptions& options) const {
  return {rules::pax_layer_stack(options)};
}

bool PaxProfile::layers_on_stack_axis(const rules::ModelOptions& options) const {
  return options.pax_repeat;
}

std::string PaxProfile::missing_layer_hint(const rules::ModelOptions& options) const {
  return options.pax_repeat ? "; is this not a repeat checkpoint (drop --pax-repeat)?"
                            : "; is this a repeat checkpoint (--pax-repeat)?";
}

std::optional<std::string> PaxProfile::layout_mismatch(const std::vector<std::string>& names,
                                                       const rules::ModelOptions& options) const {
  return pax_layout_mismatch(names, options);
}

std::string PaxProfile::framework_side_weight(const checkpoint::Checkpoint& source) const {
  auto contains = [](const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
  };
  for (const auto& a : source.arrays) {
    const std::string& n = a.name;
    if (n.rfind("mdl_vars.params.lm.transformer.", 0) == 0 && !contains(n, ".transformerlayer.") &&
        (contains(n, ".self_attention.") || contains(n, ".ff_layer."))) {
      return n;
    }
  }
  return "";
}

// The inputs' chunks: whole along a stack axis.
Shape PaxProfile::merged_output_chunks(const Shape&, size_t, const Shape& derived) const {
  return derived;
}

}  // namespace te::frameworks
