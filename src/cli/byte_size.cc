#include "cli/byte_size.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "util/error.h"

namespace te::cli {

uint64_t parse_byte_size(const std::string& text, const char* flag) {
  if (text.empty() || text == "0") return 0;
  auto bad = [&]() -> uint64_t {
    fail("{}: \"{}\" is not a size ({})", flag, text, kByteSizeSpellings);
  };
  size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
    ++digits;
  if (digits == 0 || std::count(text.begin(), text.begin() + digits, '.') > 1) return bad();
  std::string number = text.substr(0, digits), unit = text.substr(digits);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  int power = 0;
  if (!unit.empty()) {
    static const std::string kPrefixes = "kmgt";
    size_t p = kPrefixes.find(unit[0]);
    std::string rest = unit.substr(1);
    if (p != std::string::npos && (rest.empty() || rest == "b" || rest == "ib")) {
      power = static_cast<int>(p) + 1;
    } else if (unit != "b") {
      return bad();
    }
  }
  double value = std::stod(number) * std::pow(1024.0, power);
  if (!(value >= 1)) fail("{}: \"{}\" must be at least 1 byte (or 0 for no limit)", flag, text);
  if (value >= 18446744073709551616.0) fail("{}: \"{}\" is too large", flag, text);
  return static_cast<uint64_t>(value);
}

}  // namespace te::cli
