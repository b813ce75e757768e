#pragma once
// Byte buffers and small helpers shared by every layer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace te {

using Bytes = std::vector<std::byte>;
using Shape = std::vector<int64_t>;

inline std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string to_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Number of elements of a shape (1 for rank 0).
inline int64_t num_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// "[3,8,4]" for messages.
std::string shape_string(const Shape& shape);

}  // namespace te
