#include "kvstore/ocdbt/format/manifest.h"

#include <algorithm>

#include "kvstore/ocdbt/format/envelope.h"

namespace te::ocdbt {

Manifest decode_manifest(std::span<const std::byte> object, const std::string& source) {
  Bytes body = decode_envelope(object, kManifestMagic, source);
  Decoder d(body, source, "body");
  Manifest m;
  m.config = decode_config(d);
  if (m.config.manifest_kind == ManifestKind::kNumbered) {
    d.expect_end("the config of a numbered-kind manifest");
    return m;
  }
  DataFileTable table = decode_data_file_table(d, "");
  uint8_t a = m.config.version_tree_arity_log2;
  m.versions = decode_version_entries(d, table, a);
  if (m.versions.empty()) d.fail("expected at least one inline version");
  size_t at = d.offset();
  m.version_nodes = decode_version_node_entries(d, table, a, std::nullopt);
  for (size_t i = 0; i < m.version_nodes.size(); ++i) {
    if (m.version_nodes[i].generation_number >= m.versions.front().generation_number)
      d.fail_at(at, "expected version node {} (generation {}) older than the inline versions ({})",
                i, m.version_nodes[i].generation_number, m.versions.front().generation_number);
    if (i > 0 && m.version_nodes[i].generation_number <= m.version_nodes[i - 1].generation_number)
      d.fail_at(at, "expected version nodes in increasing generation order");
  }
  d.expect_end("the version nodes");
  return m;
}

Bytes encode_manifest(const Manifest& m) {
  Encoder e;
  encode_config(e, m.config);
  DataFileTable table;
  for (auto& v : m.versions) table.push_back(v.root.location.file);
  for (auto& v : m.version_nodes) table.push_back(v.location.file);
  std::sort(table.begin(), table.end());
  table.erase(std::unique(table.begin(), table.end()), table.end());
  encode_data_file_table(e, table);
  encode_version_entries(e, table, m.versions);
  e.varint(m.version_nodes.size());
  for (auto& x : m.version_nodes) e.varint(x.generation_number);
  for (auto& x : m.version_nodes) e.varint(data_file_index(table, x.location.file));
  for (auto& x : m.version_nodes) e.varint(x.location.offset);
  for (auto& x : m.version_nodes) e.varint(x.location.length);
  for (auto& x : m.version_nodes) e.varint(x.num_generations);
  for (auto& x : m.version_nodes) e.u64le(x.commit_time);
  for (auto& x : m.version_nodes) e.u8(x.height);
  return encode_envelope(
      kManifestMagic, e.out(),
      m.config.zstd_level ? std::optional<int>(*m.config.zstd_level) : std::nullopt);
}

}  // namespace te::ocdbt
