#pragma once
// What the planner needs to know about one framework's checkpoints, behind one interface: plan/
// names no framework. Each framework implements it once (src/frameworks/); the command line picks
// the profile (--fw or detection) and passes it in. A new framework is a rules table plus a
// profile.
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "rules/model_options.h"
#include "rules/rule.h"
#include "util/bytes.h"

namespace te::plan {

class FrameworkProfile {
 public:
  virtual ~FrameworkProfile() = default;

  // The framework's name in messages ("the <name> layer has no such parameter").
  virtual std::string name() const = 0;
  // Its --fw value.
  virtual std::string flag() const = 0;

  // Whether the framework's checkpoints come in `format`; otherwise planning refuses the
  // checkpoint with "--fw=<flag> needs <expected_checkpoint()>, but this is a ... checkpoint".
  virtual bool accepts_format(checkpoint::Format format) const = 0;
  virtual std::string expected_checkpoint() const = 0;

  // The weights' category prefix (e.g. "params." below the model variables), the model
  // variables' root (a weight's path is its name below the root), and the root the TE side keeps
  // its FP8 metadata under.
  virtual std::string weight_category() const = 0;
  virtual std::string weight_root() const = 0;
  virtual std::string fp8_root() const = 0;
  // Optimizer-state trees --weight-only drops whole (their arrays of rank > 0).
  virtual std::vector<std::string> dropped_with_weight_only() const = 0;

  // The layer stacks the options describe, each with its rules (the rules table). With
  // stacks_optional(), a stack none of whose first layer's arrays exist is left out, and a
  // checkpoint with none is refused with `no_stacks_message(weight category)`; otherwise every
  // stack must be present.
  virtual std::vector<rules::LayerStack> layer_stacks(const rules::ModelOptions& options) const = 0;
  virtual bool stacks_optional() const = 0;
  virtual std::string no_stacks_message() const = 0;
  // Whether the layers lie along a leading stack axis of every layer array (one instance of the
  // layer prefix): the layer count is then shape-checked, not counted from the names.
  virtual bool layers_on_stack_axis(const rules::ModelOptions& options) const = 0;
  // Appended to "nothing is named <layer 0 prefix>.*" when a first layer is missing: the flag
  // that probably is wrong, as "; is this ...?", or "".
  virtual std::string missing_layer_hint(const rules::ModelOptions& options) const = 0;

  // Which layout the arrays are in (framework or TE, and the framework's own layout variants),
  // compared with the options: a message naming an array found and the flag to change, or
  // nullopt when the arrays fit the options (or nothing can be told). `names`: every array name
  // of the checkpoint. The planner asks this first when a rule finds no arrays, because a wrong
  // direction or layout flag makes every array look missing, and the per-rule hints would then
  // point the wrong way.
  virtual std::optional<std::string> layout_mismatch(const std::vector<std::string>& names,
                                                     const rules::ModelOptions& options) const = 0;

  // A weight in the framework's own layout (a layer array that no TE-side checkpoint has), or "".
  virtual std::string framework_side_weight(const checkpoint::Checkpoint& source) const = 0;

  // The chunks of an output of a job that merges or splits arrays when its chunks cannot be
  // copies of its inputs' chunks (--output-chunking=merge, or not copyable): `derived` follows the
  // inputs' chunk grids (plan/output_chunking.h).
  virtual Shape merged_output_chunks(const Shape& shape, size_t itemsize,
                                     const Shape& derived) const = 0;
};

}  // namespace te::plan
