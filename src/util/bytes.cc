#include "util/bytes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace te {

std::string shape_string(const Shape& shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

}  // namespace te
