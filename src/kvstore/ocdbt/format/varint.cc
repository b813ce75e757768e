#include "kvstore/ocdbt/format/varint.h"

namespace te::ocdbt {

std::optional<VarintResult> decode_varint(std::span<const std::byte> data, VarintWidth width) {
  const size_t max_bytes = width == VarintWidth::k64 ? 10 : 5;
  const uint64_t max_value = width == VarintWidth::k64   ? UINT64_MAX
                             : width == VarintWidth::k32 ? UINT32_MAX
                                                         : 65535;
  uint64_t value = 0;
  for (size_t i = 0; i < data.size() && i < max_bytes; ++i) {
    uint64_t byte = static_cast<uint8_t>(data[i]);
    uint64_t group = byte & 0x7f;
    unsigned shift = static_cast<unsigned>(7 * i);
    // The 10th byte of a 64-bit varint may carry only bit 63.
    if (shift == 63 && group > 1) return std::nullopt;
    value |= group << shift;
    if ((byte & 0x80) == 0) {
      if (value > max_value) return std::nullopt;
      return VarintResult{value, i + 1};
    }
  }
  return std::nullopt;
}

void append_varint(Bytes& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::byte>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::byte>(value));
}

size_t varint_length(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

}  // namespace te::ocdbt
