#pragma once
// OCDBT varints: unsigned LEB128 (7 bits per byte, low group first, bit 7 = continuation).
// Fields have a width: 64-bit fields accept up to 10 bytes, 32-bit fields up to 5, and "16-bit"
// fields are read as 32-bit varints whose value must be <= 65535 (orbax-format.md §2.1).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "util/bytes.h"

namespace te::ocdbt {

enum class VarintWidth { k16, k32, k64 };

// Decodes one varint at the start of `data`. nullopt when the bytes end inside the varint, the
// varint is longer than the width allows, or its value exceeds the width; otherwise the value and
// the number of bytes consumed.
struct VarintResult {
  uint64_t value;
  size_t length;
};
std::optional<VarintResult> decode_varint(std::span<const std::byte> data, VarintWidth width);

// Appends the minimal encoding of `value`.
void append_varint(Bytes& out, uint64_t value);
// Encoded length of `value`.
size_t varint_length(uint64_t value);

}  // namespace te::ocdbt
