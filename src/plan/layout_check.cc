#include "plan/layout_check.h"

#include <fmt/core.h>

#include <functional>

namespace te::plan {
namespace {

using rules::Direction;
using rules::Framework;

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

// The first name (of the weights) for which `match` holds, or "".
std::string first(const std::vector<std::string>& names, const std::string& category,
                  const std::function<bool(const std::string&)>& match) {
  for (const auto& n : names) {
    if (n.rfind(category, 0) == 0 && match(n)) return n;
  }
  return "";
}

std::optional<std::string> direction_mismatch(const std::string& te, const std::string& fw,
                                              const rules::ModelOptions& o, const char* fw_name) {
  if (o.direction == Direction::kFwToTe && !te.empty() && fw.empty()) {
    return fmt::format(
        "this checkpoint is already in TE layout: found {}; to convert it to {} pass "
        "--direction=te2fw",
        te, fw_name);
  }
  if (o.direction == Direction::kTeToFw && !fw.empty() && te.empty()) {
    return fmt::format(
        "this checkpoint is in {} layout, not TE: found {}; to convert it to TE pass "
        "--direction=fw2te",
        fw_name, fw);
  }
  return std::nullopt;
}

std::optional<std::string> pax_mismatch(const std::vector<std::string>& names,
                                        const rules::ModelOptions& o) {
  const std::string cat = "mdl_vars.params.";
  std::string te = first(names, cat, [](auto& n) { return contains(n, ".transformerlayer.cld."); });
  std::string fw = first(names, cat, [](auto& n) {
    return contains(n, "lm.transformer.") && !contains(n, ".transformerlayer.") &&
           (contains(n, ".self_attention.") || contains(n, ".ff_layer.") ||
            contains(n, ".layer_norm."));
  });
  if (auto m = direction_mismatch(te, fw, o, "Pax")) return m;
  std::string repeat = first(
      names, cat, [](auto& n) { return contains(n, "lm.transformer.repeat.sub.x_layers_0."); });
  std::string plain =
      first(names, cat, [](auto& n) { return contains(n, "lm.transformer.x_layers_0."); });
  if (!o.pax_repeat && !repeat.empty() && plain.empty()) {
    return fmt::format(
        "found {} under lm.transformer.repeat: this is a repeat checkpoint; add --pax-repeat",
        repeat);
  }
  if (o.pax_repeat && repeat.empty() && !plain.empty()) {
    return fmt::format(
        "found {}, not under lm.transformer.repeat: this is not a repeat checkpoint; drop "
        "--pax-repeat",
        plain);
  }
  return std::nullopt;
}

std::optional<std::string> t5x_mismatch(const std::vector<std::string>& names,
                                        const rules::ModelOptions& o) {
  const std::string cat = "target.";
  std::string te = first(names, cat, [](auto& n) { return n.ends_with(".mlp.wi_kernel"); });
  std::string fw = first(names, cat, [](auto& n) {
    return n.ends_with(".mlp.wi_0.kernel") || n.ends_with(".mlp.wi.kernel");
  });
  if (auto m = direction_mismatch(te, fw, o, "T5X")) return m;
  if (o.direction != Direction::kTeToFw || te.empty()) return std::nullopt;
  std::string fused = first(names, cat, [](auto& n) {
    return n.ends_with("attention.qkv.kernel") || n.ends_with("attention.kv.kernel");
  });
  std::string apart = first(names, cat, [](auto& n) {
    return n.ends_with("self_attention.key.kernel") || n.ends_with(".attention.key.kernel");
  });
  if (!o.t5x_fuse_qkv && !fused.empty() && apart.empty()) {
    return fmt::format("found {}: the TE side is fused; add --t5x-fuse-qkv", fused);
  }
  if (o.t5x_fuse_qkv && fused.empty() && !apart.empty()) {
    return fmt::format(
        "found {} (query, key and value apart): the TE side is not fused; drop --t5x-fuse-qkv",
        apart);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> layout_mismatch(const std::vector<std::string>& names,
                                           const rules::ModelOptions& options) {
  return options.framework == Framework::kPax ? pax_mismatch(names, options)
                                              : t5x_mismatch(names, options);
}

}  // namespace te::plan
