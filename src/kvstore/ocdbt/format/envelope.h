#pragma once
// The envelope shared by manifests, version-tree nodes and B+tree nodes (orbax-format.md §2.2):
// u32be magic, u64le total length, varint version (0), varint compression (0 raw, 1 zstd), the
// body, u32le CRC-32C of everything before it.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "util/bytes.h"

namespace te::ocdbt {

inline constexpr uint32_t kManifestMagic = 0x0CDB3A2A;
inline constexpr uint32_t kVersionTreeNodeMagic = 0x0CDB1234;
inline constexpr uint32_t kBtreeNodeMagic = 0x0CDB20DE;

// Bodies larger than this are refused on decode (no legitimate writer comes near it; it bounds
// the memory a forged zstd frame can claim).
inline constexpr size_t kMaxDecodedBodyBytes = size_t{1} << 30;

// Checks magic, length, version and CRC and returns the (decompressed) body. `source` names the
// object for messages.
Bytes decode_envelope(std::span<const std::byte> object, uint32_t magic, const std::string& source,
                      size_t max_body_bytes = kMaxDecodedBodyBytes);

// Wraps `body`; `zstd_level` nullopt = raw, else zstd at that level (0 = the library default).
Bytes encode_envelope(uint32_t magic, std::span<const std::byte> body,
                      std::optional<int> zstd_level);

const char* object_kind(uint32_t magic);

}  // namespace te::ocdbt
