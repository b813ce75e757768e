#include "kvstore/ocdbt/format/config.h"

#include <zstd.h>

namespace te::ocdbt {

Config decode_config(Decoder& d) {
  Config c;
  auto uuid = d.bytes(16, "uuid");
  for (size_t i = 0; i < 16; ++i) c.uuid[i] = static_cast<uint8_t>(uuid[i]);
  size_t at = d.offset();
  uint8_t kind = d.u8("manifest_kind");
  if (kind > 1) d.fail_at(at, "expected manifest_kind 0 (single) or 1 (numbered), found {}", kind);
  c.manifest_kind = static_cast<ManifestKind>(kind);
  at = d.offset();
  c.max_inline_value_bytes = d.varint32("max_inline_value_bytes");
  if (c.max_inline_value_bytes > kMaxInlineValueBytes)
    d.fail_at(at, "expected max_inline_value_bytes <= {}, found {}", kMaxInlineValueBytes,
              c.max_inline_value_bytes);
  c.max_decoded_node_bytes = d.varint32("max_decoded_node_bytes");
  at = d.offset();
  c.version_tree_arity_log2 = d.u8("version_tree_arity_log2");
  if (c.version_tree_arity_log2 < 1 || c.version_tree_arity_log2 > 16)
    d.fail_at(at, "expected version_tree_arity_log2 in 1..16, found {}", c.version_tree_arity_log2);
  at = d.offset();
  uint32_t method = d.varint32("compression_method");
  if (method == 0) {
    c.zstd_level = std::nullopt;
  } else if (method == 1) {
    at = d.offset();
    int32_t level = d.i32le("zstd_level");
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
      d.fail_at(at, "expected a zstd level in {}..{}, found {}", ZSTD_minCLevel(), ZSTD_maxCLevel(),
                level);
    c.zstd_level = level;
  } else {
    d.fail_at(at, "expected compression_method 0 (none) or 1 (zstd), found {}", method);
  }
  return c;
}

void encode_config(Encoder& e, const Config& c) {
  for (uint8_t b : c.uuid) e.u8(b);
  e.u8(static_cast<uint8_t>(c.manifest_kind));
  e.varint(c.max_inline_value_bytes);
  e.varint(c.max_decoded_node_bytes);
  e.u8(c.version_tree_arity_log2);
  if (c.zstd_level) {
    e.varint(1);
    e.i32le(*c.zstd_level);
  } else {
    e.varint(0);
  }
}

}  // namespace te::ocdbt
