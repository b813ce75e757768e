#include "transform/pattern.h"

#include <algorithm>

#include "util/error.h"

namespace te::transform {
namespace {

bool is_name_start(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

bool AxisPattern::contains(const std::string& name) const {
  for (const auto& axis : axes) {
    if (std::find(axis.begin(), axis.end(), name) != axis.end()) return true;
  }
  return false;
}

bool AxisPattern::has_optional_axes() const {
  return std::find(optional.begin(), optional.end(), true) != optional.end();
}

AxisPattern AxisPattern::resolved(bool stored) const {
  AxisPattern out;
  for (size_t j = 0; j < axes.size(); ++j) {
    if (j < optional.size() && optional[j] && !stored) continue;
    out.axes.push_back(axes[j]);
  }
  return out;
}

AxisPattern AxisPattern::with_leading_axis(const std::string& name) const {
  if (contains(name)) fail("pattern \"{}\" already has an axis {}", to_string(), name);
  AxisPattern out = *this;
  out.axes.insert(out.axes.begin(), std::vector<std::string>{name});
  if (!out.optional.empty()) out.optional.insert(out.optional.begin(), false);
  return out;
}

std::string AxisPattern::to_string() const {
  std::string out;
  for (size_t j = 0; j < axes.size(); ++j) {
    const auto& axis = axes[j];
    if (!out.empty()) out += ' ';
    if (axis.empty()) {
      out += '1';
    } else if (j < optional.size() && optional[j]) {
      out += axis[0] + "?";
    } else if (axis.size() == 1) {
      out += axis[0];
    } else {
      out += '(';
      for (size_t i = 0; i < axis.size(); ++i) out += (i ? " " : "") + axis[i];
      out += ')';
    }
  }
  return out;
}

AxisPattern parse_axis_pattern(std::string_view text) {
  auto bad = [&](const char* why) { fail("invalid pattern \"{}\": {}", text, why); };
  AxisPattern p;
  std::vector<std::string> seen;
  bool in_group = false;
  std::vector<std::string> group;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ') {
      ++i;
    } else if (c == '(') {
      if (in_group) bad("nested parentheses");
      in_group = true;
      group.clear();
      ++i;
    } else if (c == ')') {
      if (!in_group) bad("unbalanced ')'");
      if (group.empty()) bad("empty group '()'");
      p.axes.push_back(group);
      in_group = false;
      ++i;
    } else if (c == '1' && (i + 1 == text.size() || !is_name_char(text[i + 1]))) {
      if (in_group) bad("a literal 1 inside a group");
      p.axes.emplace_back();
      ++i;
    } else if (is_name_start(c)) {
      size_t j = i;
      while (j < text.size() && is_name_char(text[j])) ++j;
      std::string name(text.substr(i, j - i));
      if (std::find(seen.begin(), seen.end(), name) != seen.end())
        bad("an axis name appears twice");
      seen.push_back(name);
      if (in_group) {
        if (j < text.size() && text[j] == '?') bad("an optional axis inside a group");
        group.push_back(name);
      } else {
        p.axes.push_back({name});
        if (j < text.size() && text[j] == '?') {
          p.optional.resize(p.axes.size(), false);
          p.optional.back() = true;
          ++j;
        }
      }
      i = j;
    } else {
      bad("unexpected character (axis names are lower-case words)");
    }
  }
  if (in_group) bad("unbalanced '('");
  if (!p.optional.empty()) p.optional.resize(p.axes.size(), false);
  return p;
}

}  // namespace te::transform
