#pragma once
// Pax (Praxis) checkpoints: weights under mdl_vars.params., one transformer stack (repeat: one
// instance with a leading layer axis; otherwise x_layers_<i>), FP8 metadata under mdl_vars.
#include "plan/framework_profile.h"

namespace te::frameworks {

class PaxProfile final : public plan::FrameworkProfile {
 public:
  std::string name() const override { return "Pax"; }
  std::string flag() const override { return "pax"; }
  bool accepts_format(checkpoint::Format format) const override;
  std::string expected_checkpoint() const override { return "a Pax checkpoint"; }
  std::string weight_category() const override { return "mdl_vars.params."; }
  std::string weight_root() const override { return "mdl_vars."; }
  std::string fp8_root() const override { return "mdl_vars."; }
  std::vector<std::string> dropped_with_weight_only() const override { return {}; }
  std::vector<rules::LayerStack> layer_stacks(const rules::ModelOptions& options) const override;
  bool stacks_optional() const override { return false; }
  std::string no_stacks_message() const override { return ""; }
  bool layers_on_stack_axis(const rules::ModelOptions& options) const override;
  std::string missing_layer_hint(const rules::ModelOptions& options) const override;
  std::optional<std::string> layout_mismatch(const std::vector<std::string>& names,
                                             const rules::ModelOptions& options) const override;
  std::string framework_side_weight(const checkpoint::Checkpoint& source) const override;
  Shape merged_output_chunks(const Shape& shape, size_t itemsize,
                             const Shape& derived) const override;
};

}  // namespace te::frameworks
