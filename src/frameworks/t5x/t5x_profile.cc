#include "frameworks/t5x/t5x_profile.h"

#include <fmt/format.h>

#include "frameworks/t5x/t5x_detection.h"
#include "plan/output_chunking.h"
#include "rules/t5x_rules.h"

namespace te::frameworks {

using checkpoint::Format;

bool T5xProfile::accepts_format(Format format) const {
  return format == Format::kT5x || format == Format::kT5xOrbax || format == Format::kOrbax;
}

std::vector<rules::LayerStack> T5xProfile::layer_stacks(const rules::ModelOptions& options) const {
  return {rules::t5x_encoder_stack(options), rules::t5x_decoder_stack(options)};
}

std::string T5xProfile::no_stacks_message() const {
  return fmt::format(
      "no encoder or decoder layers found (expected arrays named {}encoder.layers_0.* or "
      "{}decoder.layers_0.*)",
      weight_category(), weight_category());
}

std::optional<std::string> T5xProfile::layout_mismatch(const std::vector<std::string>& names,
                                                       const rules::ModelOptions& options) const {
  return t5x_layout_mismatch(names, options);
}

std::string T5xProfile::framework_side_weight(const checkpoint::Checkpoint& source) const {
  for (const auto& a : source.arrays) {
    const std::string& n = a.name;
    if (n.rfind("target.", 0) == 0 &&
        (n.ends_with(".mlp.wi_0.kernel") || n.ends_with(".mlp.wi.kernel"))) {
      return n;
    }
  }
  return "";
}

// T5X's _choose_chunk_shape with its 64 MiB bound.
Shape T5xProfile::merged_output_chunks(const Shape& shape, size_t itemsize, const Shape&) const {
  return plan::largest_dividing_chunks(shape, (int64_t{64} << 20) / static_cast<int64_t>(itemsize));
}

}  // namespace te::frameworks
