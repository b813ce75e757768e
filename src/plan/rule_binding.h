#pragma once
// Binding a rule to one layer of the checkpoint: every source array of the rule exists, has the
// shape the rule's pattern and the model's axis sizes give, and the same dtype as the others.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "plan/array_listing.h"
#include "plan/optimizer_groups.h"
#include "rules/model_options.h"
#include "rules/rule.h"
#include "transform/rearrangement.h"
#include "util/error.h"

namespace te::plan {

// The pattern of `side` of a rule of `stack`: the stack's layer axis first when it has one
// (LayerStack::stack_axis); optional axes as written (transform::AxisPattern::resolved).
transform::AxisPattern stacked_pattern(const rules::RuleSide& side, const rules::LayerStack& stack);

// The side of a rule that is read (source) or written (target) in `direction`.
const rules::RuleSide& source_side(const rules::Rule& rule, rules::Direction direction);
const rules::RuleSide& target_side(const rules::Rule& rule, rules::Direction direction);

// A rule bound to the arrays of one layer of one category.
struct Binding {
  const rules::Rule* rule = nullptr;
  std::vector<const checkpoint::ArrayEntry*> inputs;
  std::vector<transform::AxisPattern> input_patterns;   // as stored
  std::vector<transform::AxisPattern> output_patterns;  // as written
  transform::Rearrangement rearrangement;
};

class RuleBinder {
 public:
  // `sizes`: the axis sizes the patterns are compiled with (ModelOptions::axis_sizes).
  // `missing_layer_hint(layer)`: appended to the message when nothing is named like the layer's
  // prefix in layer 0 (FrameworkProfile::missing_layer_hint). `layers_on_stack_axis`: messages
  // show L (FrameworkProfile::layers_on_stack_axis).
  RuleBinder(const checkpoint::Checkpoint& ckpt, const ArrayListing& listing,
             const rules::ModelOptions& options, const std::map<std::string, int64_t>& sizes,
             std::string missing_layer_hint, bool layers_on_stack_axis);

  // Tries `rule` of `stack` for the layer at `prefix` (layer index `layer`) of `cat`: the
  // binding (an optional axis read as each array's rank says, written unless the options drop
  // it), or
  // nullopt with `why` saying which array is missing or misshapen. Throws te::Error for what no
  // other rule can mend (a folder that is not an array, dtypes that differ, axis sizes that do
  // not fit the pattern).
  std::optional<Binding> bind(const rules::Rule& rule, const rules::LayerStack& stack,
                              const Category& cat, const std::string& prefix, int layer,
                              std::string& why) const;

  // "E=.. N=.. H=.. F=.." (K, L when they matter) for messages.
  std::string dims_text() const;

 private:
  [[noreturn]] void fail_axis_mismatch(const Binding& b,
                                       const std::vector<transform::AxisPattern>& outputs,
                                       const Error& e) const;

  const checkpoint::Checkpoint& ckpt_;
  const ArrayListing& listing_;
  const rules::ModelOptions& o_;
  const std::map<std::string, int64_t>& sizes_;
  std::string missing_layer_hint_;
  bool layers_on_stack_axis_ = false;
};

}  // namespace te::plan
