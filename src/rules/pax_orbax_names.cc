#include "rules/pax_orbax_names.h"

#include <vector>

namespace te::rules {
namespace {

constexpr std::string_view kLegacyHead = "opt_states_";
constexpr std::string_view kOrbaxHead = "opt_states.";

bool is_index(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (size_t at = 0;;) {
    size_t next = s.find(sep, at);
    parts.push_back(s.substr(at, next == std::string_view::npos ? next : next - at));
    if (next == std::string_view::npos) return parts;
    at = next + 1;
  }
}

std::string join(const std::vector<std::string_view>& parts, size_t from) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (i > from) out += '.';
    out += parts[i];
  }
  return out;
}

}  // namespace

std::string pax_orbax_name(std::string_view legacy) {
  if (legacy.substr(0, kLegacyHead.size()) != kLegacyHead) return std::string(legacy);
  const std::vector<std::string_view> parts = split(legacy, '.');
  // opt_states_<i>[_<j>]: the learner index, and the chain index when it is not vectorized.
  const std::vector<std::string_view> head = split(parts[0].substr(kLegacyHead.size()), '_');
  for (auto h : head)
    if (!is_index(h) || head.size() > 2) return std::string(legacy);
  std::string out = "opt_states";
  for (auto h : head) out.append(".").append(h);
  size_t rest = 1;
  if (head.size() == 1 && parts.size() > 1) {
    // <prefix>_<j>: a vectorization prefix (no_prefix, p#8#i-1) and the chain index.
    const std::string_view group = parts[1];
    const size_t cut = group.rfind('_');
    if (cut != std::string_view::npos && cut > 0 && is_index(group.substr(cut + 1))) {
      out.append(".").append(group.substr(0, cut)).append(".").append(group.substr(cut + 1));
      rest = 2;
    }
  }
  if (rest < parts.size()) out.append(".").append(join(parts, rest));
  return out;
}

std::string pax_legacy_name(std::string_view orbax) {
  if (orbax.substr(0, kOrbaxHead.size()) != kOrbaxHead) return std::string(orbax);
  const std::vector<std::string_view> parts = split(orbax, '.');
  if (parts.size() < 2 || !is_index(parts[1])) return std::string(orbax);
  std::string out = "opt_states_";
  out.append(parts[1]);
  size_t rest = 2;
  if (parts.size() > 2 && is_index(parts[2])) {
    out.append("_").append(parts[2]);
    rest = 3;
  } else if (parts.size() > 3 && is_index(parts[3])) {
    out.append(".").append(parts[2]).append("_").append(parts[3]);
    rest = 4;
  }
  if (rest < parts.size()) out.append(".").append(join(parts, rest));
  return out;
}

}  // namespace te::rules
