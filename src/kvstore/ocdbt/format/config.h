#pragma once
// The database configuration at the start of every manifest (orbax-format.md §2.3).
#include <array>
#include <cstdint>
#include <optional>

#include "kvstore/ocdbt/format/decoder.h"

namespace te::ocdbt {

enum class ManifestKind : uint8_t { kSingle = 0, kNumbered = 1 };

struct Config {
  std::array<uint8_t, 16> uuid{};
  ManifestKind manifest_kind = ManifestKind::kSingle;
  uint32_t max_inline_value_bytes = 1024;
  uint32_t max_decoded_node_bytes = 100000000;
  uint8_t version_tree_arity_log2 = 4;
  // nullopt = no compression; else zstd at this level (0 = library default).
  std::optional<int32_t> zstd_level = 0;
  bool operator==(const Config&) const = default;
};

// The largest max_inline_value_bytes a config may state (and the largest inline value a node may
// hold, whatever the config says).
inline constexpr uint32_t kMaxInlineValueBytes = 1024 * 1024;

Config decode_config(Decoder& d);
void encode_config(Encoder& e, const Config& config);

}  // namespace te::ocdbt
