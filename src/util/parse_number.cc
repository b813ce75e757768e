#include "util/parse_number.h"

#include <charconv>

#include "util/error.h"

namespace te {

int64_t parse_int_flag(const std::string& text, const std::string& flag, int64_t lo, int64_t hi) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (end - begin > 1 && *begin == '+' && begin[1] != '-') ++begin;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  bool digits = begin != end && ptr == end && (*begin != '-' || end - begin > 1);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && digits && (value < lo || value > hi))) {
    fail("{}={} is out of range: expected an integer from {} to {}", flag, text, lo, hi);
  }
  if (ec != std::errc() || !digits) {
    throw UsageError(
        fmt::format("{}: \"{}\" is not an integer (expected {} to {})", flag, text, lo, hi));
  }
  return value;
}

}  // namespace te
