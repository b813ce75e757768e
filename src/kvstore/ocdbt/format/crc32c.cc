#include "kvstore/ocdbt/format/crc32c.h"

#include <isa-l/crc.h>

namespace te::ocdbt {

uint32_t crc32c(std::span<const std::byte> data) {
  // crc32_iscsi neither inverts the seed nor the result: the standard CRC-32C is
  // ~crc32_iscsi(data, len, ~0).
  auto* p = reinterpret_cast<unsigned char*>(const_cast<std::byte*>(data.data()));
  uint32_t state = 0xFFFFFFFFu;
  size_t left = data.size();
  while (left > 0) {
    size_t n = left < (size_t{1} << 30) ? left : (size_t{1} << 30);
    state = crc32_iscsi(p, static_cast<int>(n), state);
    p += n;
    left -= n;
  }
  return ~state;
}

}  // namespace te::ocdbt
