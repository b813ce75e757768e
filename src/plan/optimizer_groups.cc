#include "plan/optimizer_groups.h"

#include <fmt/format.h>

#include <cstring>
#include <map>

#include "util/error.h"

namespace te::plan {
namespace {

using checkpoint::ArrayEntry;

void refuse_factored(const std::string& name, bool weight_only) {
  if (weight_only) return;
  fail(
      "{}: Adafactor factored optimizer state cannot be converted like its weight; pass "
      "--weight-only to convert the weights and leave the optimizer state out",
      name);
}

// Leaves out the rank > 0 arrays below `cat` (counters and steps stay).
void drop_category(const ArrayListing& listing, const std::string& cat,
                   std::set<std::string>& consumed, std::vector<std::string>& dropped,
                   size_t& dropped_optimizer) {
  for (const auto& [name, entry] : listing.by_name()) {
    if (!starts_with(name, cat) || consumed.count(name)) continue;
    if (entry->metadata.rank() == 0) continue;  // counters and steps stay
    consumed.insert(name);
    dropped.push_back(name);
    ++dropped_optimizer;
  }
}

// --weight-only: every array outside the weights whose name ends with a weight's path (the
// optimizer moments of non-layer weights too, e.g. opt_states_0.no_prefix_2.m.params.*).
void drop_mirrors(const ArrayListing& listing, const WeightTree& weights,
                  std::set<std::string>& consumed, std::vector<std::string>& dropped,
                  size_t& dropped_optimizer) {
  const std::string& root = weights.root;
  std::set<std::string> weight_paths;
  for (const auto& [name, entry] : listing.by_name()) {
    if (starts_with(name, weights.category)) weight_paths.insert(name.substr(root.size()));
  }
  for (const auto& [name, entry] : listing.by_name()) {
    if (starts_with(name, root) || consumed.count(name)) continue;
    for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
      if (weight_paths.count(name.substr(dot + 1))) {
        consumed.insert(name);
        dropped.push_back(name);
        ++dropped_optimizer;
        break;
      }
    }
  }
}

std::string placeholder_text(const ArrayEntry& a) {
  const Bytes v = a.open().read_all();
  if (a.metadata.dtype.name() == "float32" && v.size() == 4) {
    float f;
    std::memcpy(&f, v.data(), 4);
    return fmt::format("{} {}", a.metadata.dtype.name(), f);
  }
  std::string hex;
  for (std::byte c : v) hex += fmt::format("{:02x}", static_cast<unsigned>(c));
  return fmt::format("{} bytes {}", a.metadata.dtype.name(), hex);
}

}  // namespace

std::vector<Category> find_categories(const ArrayListing& listing,
                                      const std::vector<std::string>& layer_names,
                                      const WeightTree& weights, bool weight_only,
                                      std::set<std::string>& consumed,
                                      std::vector<std::string>& dropped,
                                      size_t& dropped_optimizer) {
  std::vector<Category> categories;
  std::set<std::string> found;
  // Per-parameter state (e.g. Adafactor's slots): (prefix, ".slot") -> whether every array is [1].
  struct Slot {
    bool placeholders = true;  // every array of the slot is [1]
    std::string shaped;        // an array of the slot that is not [1]
  };
  std::map<std::pair<std::string, std::string>, Slot> slots;
  for (const auto& suffix : layer_names) {
    for (const auto& [array_name, entry] : listing.by_name()) {
      if (ends_with(array_name, suffix)) {
        found.insert(array_name.substr(0, array_name.size() - suffix.size()));
      } else if (size_t at = array_name.find(suffix + "."); at != std::string::npos) {
        std::string prefix = array_name.substr(0, at);
        std::string slot = array_name.substr(at + suffix.size());
        if (slot.find('.', 1) != std::string::npos || (!prefix.empty() && prefix.back() != '.'))
          refuse_factored(array_name, weight_only);  // deeper state below a parameter: no rule
        Slot& s = slots[{prefix, slot}];
        if (entry->metadata.shape != Shape{1}) {
          s.placeholders = false;
          s.shaped = array_name;
        }
      }
    }
  }
  categories.push_back({weights.category, "", false});
  for (const auto& [key, s] : slots) {
    // Factored statistics (v_row / v_col of their own shapes) cannot follow the weight.
    if ((key.second == ".v_row" || key.second == ".v_col") && !s.placeholders)
      refuse_factored(s.shaped, weight_only);
    if (weight_only) continue;  // dropped with its subtree below
    categories.push_back({key.first, key.second, s.placeholders});
  }
  for (const auto& cat : found) {
    if (cat == weights.category || (!cat.empty() && cat.back() != '.')) continue;
    if (cat.find("fp8_meta") != std::string::npos) continue;
    for (const char* factored : {".vr.", ".vc.", ".v_row.", ".v_col."}) {
      if (cat.find(factored) != std::string::npos ||
          starts_with(cat, std::string(factored).substr(1))) {
        refuse_factored(cat + "...", weight_only);
      }
    }
    if (weight_only) {
      drop_category(listing, cat, consumed, dropped, dropped_optimizer);
    } else {
      categories.push_back({cat, "", false});
    }
  }
  if (weight_only) {
    drop_mirrors(listing, weights, consumed, dropped, dropped_optimizer);
    for (const auto& tree : weights.dropped_with_weight_only)
      drop_category(listing, tree, consumed, dropped, dropped_optimizer);
  }
  return categories;
}

std::vector<ArrayCopy> placeholder_copies(const std::vector<const ArrayEntry*>& inputs,
                                          const std::vector<std::string>& target_names,
                                          const Category& cat, const std::string& target_prefix,
                                          std::vector<std::string>& dropped) {
  const ArrayEntry& first = *inputs[0];
  const Bytes value = first.open().read_all();
  for (size_t i = 1; i < inputs.size(); ++i) {
    const ArrayEntry& other = *inputs[i];
    if (!(other.metadata.dtype == first.metadata.dtype) || other.open().read_all() != value) {
      fail(
          "{} and {} are Adafactor [1] placeholders of weights that one rule combines, but they "
          "differ ({} and {}): the output has one placeholder for both; pass --weight-only to "
          "leave the optimizer state out",
          first.name, other.name, placeholder_text(first), placeholder_text(other));
    }
    dropped.push_back(other.name);
  }
  std::vector<ArrayCopy> copies;
  for (const auto& name : target_names)
    copies.push_back({&first, cat.name(target_prefix + "." + name), -1});
  return copies;
}

}  // namespace te::plan
