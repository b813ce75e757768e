#include "rules/rule.h"

namespace te::rules {

std::string layer_prefix(const std::string& templ, int index) {
  std::string out = templ;
  auto pos = out.find("{i}");
  if (pos != std::string::npos) out.replace(pos, 3, std::to_string(index));
  return out;
}

}  // namespace te::rules
