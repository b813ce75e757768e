#include "cli/usage_error.h"

#include <fmt/core.h>

#include <algorithm>
#include <string>

namespace te::cli {

int report_usage_error(const CLI::ParseError& error) {
  std::string what = error.what();
  std::replace(what.begin(), what.end(), '\n', ' ');
  while (!what.empty() && what.back() == ' ') what.pop_back();
  fmt::print(stderr, "te-ckpt: error: {} (see te-ckpt --help)\n", what);
  return kExitUsage;
}

}  // namespace te::cli
