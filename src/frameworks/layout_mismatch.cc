#include "frameworks/layout_mismatch.h"

#include <fmt/core.h>

namespace te::frameworks {

std::string first_name(const std::vector<std::string>& names, const std::string& category,
                       const std::function<bool(const std::string&)>& match) {
  for (const auto& n : names) {
    if (n.rfind(category, 0) == 0 && match(n)) return n;
  }
  return "";
}

std::optional<std::string> direction_mismatch(const std::string& te, const std::string& fw,
                                              const rules::ModelOptions& o,
                                              const std::string& fw_name) {
  if (o.direction == rules::Direction::kFwToTe && !te.empty() && fw.empty()) {
    return fmt::format(
        "this checkpoint is already in TE layout: found {}; to convert it to {} pass "
        "--direction=te2fw",
        te, fw_name);
  }
  if (o.direction == rules::Direction::kTeToFw && !fw.empty() && te.empty()) {
    return fmt::format(
        "this checkpoint is in {} layout, not TE: found {}; to convert it to TE pass "
        "--direction=fw2te",
        fw_name, fw);
  }
  return std::nullopt;
}

}  // namespace te::frameworks
