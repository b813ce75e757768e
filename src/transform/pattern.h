#pragma once
// The axis pattern of one array in a rule, in einops notation: each zarr axis is a named axis
// ("e"), a merge of named axes in C order ("(n h)"), or a literal size-1 axis ("1").
// Examples: "s e n h", "e s (n h)", "(n h) e", "e 1 f", "l e s (g h)".
#include <string>
#include <string_view>
#include <vector>

namespace te::transform {

struct AxisPattern {
  // One entry per zarr axis; an entry lists the named axes merged into it (empty for "1").
  std::vector<std::vector<std::string>> axes;

  int rank() const { return static_cast<int>(axes.size()); }
  bool contains(const std::string& name) const;
  std::string to_string() const;
};

// Parses a pattern. Throws te::Error ("invalid pattern \"...\": ...") for unbalanced or nested
// parentheses, a repeated or malformed axis name, or a literal other than 1.
AxisPattern parse_axis_pattern(std::string_view text);

}  // namespace te::transform
