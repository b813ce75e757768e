#pragma once
// The trees of arrays that mirror the weights: the weights themselves and every optimizer-state
// group (Adam's m/v or mu/nu, other chain indices, Adafactor's per-parameter state), found from
// the names of a layer's source arrays; and what --weight-only leaves out.
#include <set>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "plan/array_listing.h"
#include "plan/plan.h"

namespace te::plan {

// A tree of arrays that mirrors the weights: the array of the weight at path P (below the weight
// root) is `prefix + P + suffix`. The weights themselves and optimizer subtrees such as
// `state.param_states.1.0.mu.` have no suffix; Adafactor's state kept per parameter
// is `state.param_states.<P>.v` (suffix ".v"). A category of [1] placeholders (unfactored
// Adafactor's m, v_row, v_col) does not follow its weight's shape: every output weight gets a copy
// of the placeholder of its rule's first input, and the rule's inputs must hold identical
// placeholders.
struct Category {
  std::string prefix;
  std::string suffix;
  bool placeholders = false;

  std::string name(const std::string& path) const { return prefix + path + suffix; }
  bool operator==(const Category& o) const { return prefix == o.prefix && suffix == o.suffix; }
};

// Where the weights live and what --weight-only drops.
struct WeightTree {
  std::string category;  // the weights' category prefix, e.g. "mdl_vars.params."
  std::string root;      // the model variables' root; below it, a weight's path
  // Optimizer-state trees dropped whole by --weight-only (their rank > 0 arrays).
  std::vector<std::string> dropped_with_weight_only;
};

// The categories found, weights first; with `weight_only`, the optimizer arrays left out instead
// (added to `consumed` and `dropped`, counted in `dropped_optimizer`). `layer_names`: the
// source arrays of a first layer, relative to a category (e.g. "lm.transformer.x_layers_0.x.w").
// Throws te::Error for Adafactor's factored state (unless `weight_only`).
std::vector<Category> find_categories(const ArrayListing& listing,
                                      const std::vector<std::string>& layer_names,
                                      const WeightTree& weights, bool weight_only,
                                      std::set<std::string>& consumed,
                                      std::vector<std::string>& dropped, size_t& dropped_optimizer);

// A rule's [1] placeholders (unfactored Adafactor's m, v_row, v_col): each output weight gets a
// copy of the first input's placeholder, the others are merged into it (added to `dropped`),
// which is exact (and round-trips) only when every input holds the same bytes: throws te::Error
// otherwise. Returns the copies, one per name of `target_names` (below `target_prefix`).
std::vector<ArrayCopy> placeholder_copies(const std::vector<const checkpoint::ArrayEntry*>& inputs,
                                          const std::vector<std::string>& target_names,
                                          const Category& cat, const std::string& target_prefix,
                                          std::vector<std::string>& dropped);

}  // namespace te::plan
