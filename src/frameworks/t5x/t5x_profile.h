#pragma once
// T5X checkpoints: weights under target., an encoder and/or a decoder stack of layers_<i>,
// Adafactor's per-parameter state under state.param_states., FP8 metadata under flax_mutables.,
// and T5X's own chunk policy (_choose_chunk_shape, 64 MiB).
#include "plan/framework_profile.h"

namespace te::frameworks {

class T5xProfile final : public plan::FrameworkProfile {
 public:
  std::string name() const override { return "T5X"; }
  std::string flag() const override { return "t5x"; }
  bool accepts_format(checkpoint::Format format) const override;
  std::string expected_checkpoint() const override {
    return "a T5X checkpoint folder (with its msgpack index `checkpoint`)";
  }
  std::string weight_category() const override { return "target."; }
  std::string weight_root() const override { return "target."; }
  std::string fp8_root() const override { return "flax_mutables."; }
  std::vector<std::string> dropped_with_weight_only() const override {
    return {"state.param_states."};
  }
  std::vector<rules::LayerStack> layer_stacks(const rules::ModelOptions& options) const override;
  bool stacks_optional() const override { return true; }
  std::string no_stacks_message() const override;
  bool layers_on_stack_axis(const rules::ModelOptions&) const override { return false; }
  std::string missing_layer_hint(const rules::ModelOptions&) const override { return ""; }
  std::optional<std::string> layout_mismatch(const std::vector<std::string>& names,
                                             const rules::ModelOptions& options) const override;
  std::string framework_side_weight(const checkpoint::Checkpoint& source) const override;
  Shape merged_output_chunks(const Shape& shape, size_t itemsize,
                             const Shape& derived) const override;
};

}  // namespace te::frameworks
