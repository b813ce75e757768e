#pragma once
// The axis pattern of one array in a rule, in einops notation: each zarr axis is a named axis
// ("e"), a merge of named axes in C order ("(n h)"), a literal size-1 axis ("1"), or an optional
// axis ("g?": a named axis that an array may store or leave out, which it can only leave out when
// its size is 1, like multi-query attention's single key/value head).
// Examples: "s e n h", "e s (n h)", "(n h) e", "e 1 f", "e g? h", "l e s (g h)".
#include <string>
#include <string_view>
#include <vector>

namespace te::transform {

struct AxisPattern {
  // One entry per zarr axis; an entry lists the named axes merged into it (empty for "1").
  std::vector<std::vector<std::string>> axes;
  // Per entry of `axes`: written "name?" (an optional axis, always a single name). Empty when the
  // pattern has none.
  std::vector<bool> optional;

  int rank() const { return static_cast<int>(axes.size()); }
  bool contains(const std::string& name) const;
  bool has_optional_axes() const;
  std::string to_string() const;

  // The pattern of an array that stores its optional axes (`stored` true) or leaves them out: a
  // pattern without optional axes.
  AxisPattern resolved(bool stored) const;
  // The pattern with `name` as a new first axis: the pattern of a stack of such arrays (einops'
  // pack), e.g. "e f" with "l" gives "l e f". Throws te::Error when the pattern already names it.
  AxisPattern with_leading_axis(const std::string& name) const;
};

// Parses a pattern. Throws te::Error ("invalid pattern \"...\": ...") for unbalanced or nested
// parentheses, a repeated or malformed axis name, a literal other than 1, or a '?' that does not
// follow a single axis name outside parentheses.
AxisPattern parse_axis_pattern(std::string_view text);

}  // namespace te::transform
