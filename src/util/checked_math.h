#pragma once
// Overflow-checked element and byte counts. Shapes come from files and flags that may hold any
// integer, so every product of dimensions that sizes a buffer or a loop goes through these.
#include <cstdint>
#include <optional>

#include "util/bytes.h"

namespace te {

// a * b, or nullopt when it does not fit in int64 (a, b >= 0).
inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// The product of `dims` times `scale`, or nullopt when any partial product overflows int64.
// A zero dimension makes the product 0 even if the others would overflow.
inline std::optional<int64_t> checked_product(const Shape& dims, int64_t scale = 1) {
  for (int64_t d : dims) {
    if (d == 0) return 0;
  }
  std::optional<int64_t> p = scale;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    p = checked_mul(*p, d);
    if (!p) return std::nullopt;
  }
  return p;
}

}  // namespace te
