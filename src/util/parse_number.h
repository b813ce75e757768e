#pragma once
// Strict parsing of integer flag values: decimal digits with an optional sign, nothing else (no
// hex or octal prefixes, no spaces, no silent clamping of values that do not fit).
#include <cstdint>
#include <string>

namespace te {

// Parses `text` as the value of `flag` and checks lo <= value <= hi. Throws te::Error naming the
// flag, the text and the accepted range.
int64_t parse_int_flag(const std::string& text, const std::string& flag, int64_t lo, int64_t hi);

}  // namespace te
