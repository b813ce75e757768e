#include "plan/rule_binding.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "util/error.h"

namespace te::plan {

namespace fs = std::filesystem;
using checkpoint::ArrayEntry;
using rules::Direction;
using transform::AxisPattern;
using transform::Rearrangement;

AxisPattern stacked_pattern(const rules::RuleSide& side, const rules::LayerStack& stack) {
  AxisPattern p = transform::parse_axis_pattern(side.pattern);
  return stack.stack_axis.empty() ? p : p.with_leading_axis(stack.stack_axis);
}

const rules::RuleSide& source_side(const rules::Rule& rule, Direction direction) {
  return direction == Direction::kFwToTe ? rule.fw : rule.te;
}

const rules::RuleSide& target_side(const rules::Rule& rule, Direction direction) {
  return direction == Direction::kFwToTe ? rule.te : rule.fw;
}

RuleBinder::RuleBinder(const checkpoint::Checkpoint& ckpt, const ArrayListing& listing,
                       const rules::ModelOptions& options,
                       const std::map<std::string, int64_t>& sizes, std::string missing_layer_hint,
                       bool layers_on_stack_axis)
    : ckpt_(ckpt),
      listing_(listing),
      o_(options),
      sizes_(sizes),
      missing_layer_hint_(std::move(missing_layer_hint)),
      layers_on_stack_axis_(layers_on_stack_axis) {}

std::optional<Binding> RuleBinder::bind(const rules::Rule& rule, const rules::LayerStack& stack,
                                        const Category& cat, const std::string& prefix, int layer,
                                        std::string& why) const {
  const rules::RuleSide& src = source_side(rule, o_.direction);
  const rules::RuleSide& dst = target_side(rule, o_.direction);
  Binding b{&rule, {}, {}, {}, {}};
  for (const auto& name : src.names) {
    std::string full = cat.name(prefix + "." + name);
    const ArrayEntry* a = listing_.find(full);
    std::error_code ec;
    if (!a && !ckpt_.arrays_listed_by_index() && fs::is_directory(ckpt_.array_root / full, ec)) {
      fail("{}: the folder exists but is not a zarr array (no .zarray in it)",
           (ckpt_.array_root / full).string());
    }
    if (!a) {
      why = fmt::format("no array {}", full);
      if (!rule.hint.empty()) why += ": " + rule.hint;
      if (!listing_.any_with_prefix(cat.prefix + prefix + ".")) {
        std::string guess;
        if (layer > 0) {
          guess = fmt::format("; does the checkpoint have only {} layers (--num-of-layer)?", layer);
        } else {
          guess = missing_layer_hint_;
        }
        why += fmt::format(" (nothing is named {}{}.*{}{})", cat.prefix, prefix, cat.suffix, guess);
      }
      return std::nullopt;
    }
    b.inputs.push_back(a);
  }
  if (cat.placeholders) return b;  // no shape to follow (placeholder_copies)
  const AxisPattern src_pattern = stacked_pattern(src, stack);
  for (const ArrayEntry* a : b.inputs) {
    // The optional axes stored when the rank says so (and when neither rank fits, as written:
    // the shape check below names the pattern).
    AxisPattern without = src_pattern.resolved(false);
    const bool left_out = src_pattern.has_optional_axes() && without.rank() == a->metadata.rank();
    b.input_patterns.push_back(left_out ? without : src_pattern.resolved(true));
  }
  const AxisPattern dst_pattern = stacked_pattern(dst, stack).resolved(!o_.mqa_drop_head_axis);
  std::vector<AxisPattern>& outputs = b.output_patterns;
  outputs.assign(dst.names.size(), dst_pattern);
  try {
    b.rearrangement = Rearrangement::compile(b.input_patterns, outputs, "s", sizes_);
  } catch (const Error& e) {
    fail_axis_mismatch(b, outputs, e);
  }
  for (size_t i = 0; i < b.inputs.size(); ++i) {
    Shape expected = b.rearrangement.shape(b.rearrangement.inputs[i]);
    if (expected != b.inputs[i]->metadata.shape) {
      why = fmt::format("{}: expected shape {} (pattern \"{}\" with {}), found {}",
                        b.inputs[i]->name, shape_string(expected), b.input_patterns[i].to_string(),
                        dims_text(), shape_string(b.inputs[i]->metadata.shape));
      return std::nullopt;
    }
  }
  for (size_t i = 1; i < b.inputs.size(); ++i) {
    if (!(b.inputs[i]->metadata.dtype == b.inputs[0]->metadata.dtype)) {
      // Same name, different byte order (<f4, >f4): show the zarr spelling too.
      const auto& d0 = b.inputs[0]->metadata.dtype;
      const auto& di = b.inputs[i]->metadata.dtype;
      bool same_name = d0.name() == di.name();
      auto text = [&](const zarr::DType& d) {
        return same_name ? fmt::format("{} ({})", d.name(), d.zarr) : d.name();
      };
      fail("{} is {} but {} is {}: arrays combined by one rule must have the same dtype{}",
           b.inputs[0]->name, text(d0), b.inputs[i]->name, text(di),
           same_name ? " and byte order (te-ckpt moves bytes, it does not swap them)" : "");
    }
  }
  return b;
}

// A rule's patterns do not fit the flags' axis sizes (the only case: a key/value array without
// the head axis, which holds one key/value head, and --num-gqa-groups > 1).
void RuleBinder::fail_axis_mismatch(const Binding& b, const std::vector<AxisPattern>& outputs,
                                    const Error& e) const {
  const int64_t k = o_.kv_heads();
  for (size_t i = 0; i < b.inputs.size(); ++i) {
    if (!b.input_patterns[i].contains("g") && k != 1 &&
        source_side(*b.rule, o_.direction).pattern.find('g') != std::string::npos) {
      fail(
          "{}: stored as {} (pattern \"{}\", key/value without a head axis: one key/value head), "
          "but {} asks for {} key/value heads; pass --num-gqa-groups=1",
          b.inputs[i]->name, shape_string(b.inputs[i]->metadata.shape),
          b.input_patterns[i].to_string(),
          o_.gqa_groups > 0 ? fmt::format("--num-gqa-groups={}", k)
                            : fmt::format("--num-of-head={} (no --num-gqa-groups)", k),
          k);
    }
  }
  for (size_t j = 0; j < outputs.size(); ++j) {
    if (!outputs[j].contains("g") && k != 1 && o_.mqa_drop_head_axis) {
      fail(
          "{} writes {} without a head axis (pattern \"{}\"), which holds one key/value head, "
          "but --num-gqa-groups={}: drop the flag or pass --num-gqa-groups=1",
          rules::kMqaDropHeadAxisFlag, target_side(*b.rule, o_.direction).names[j],
          outputs[j].to_string(), o_.gqa_groups);
    }
  }
  std::vector<std::string> names;
  for (const auto* a : b.inputs) names.push_back(a->name);
  fail("{}: {} ({})", fmt::join(names, ", "), e.what(), dims_text());
}

std::string RuleBinder::dims_text() const {
  std::string t = fmt::format("E={} N={} H={} F={}", sizes_.at("e"), sizes_.at("n"), sizes_.at("h"),
                              sizes_.at("f"));
  if (o_.kv_heads() != o_.heads) t += fmt::format(" K={}", o_.kv_heads());
  if (layers_on_stack_axis_) t += fmt::format(" L={}", sizes_.at("l"));
  return t;
}

}  // namespace te::plan
