#pragma once
// CRC-32C (Castagnoli), the checksum of every OCDBT object: initial value 0xFFFFFFFF, final XOR
// 0xFFFFFFFF; crc32c("123456789") = 0xE3069283. Computed with ISA-L's crc32_iscsi.
#include <cstdint>
#include <span>

namespace te::ocdbt {

uint32_t crc32c(std::span<const std::byte> data);

}  // namespace te::ocdbt
