#include "kvstore/ocdbt/format/version_tree.h"

#include <algorithm>

namespace te::ocdbt {

void check_reference_range(Decoder& d, size_t at, uint64_t offset, uint64_t length,
                           bool allow_missing) {
  if (allow_missing && offset == UINT64_MAX && length == UINT64_MAX) return;
  constexpr uint64_t kMax = (uint64_t{1} << 63) - 1;
  if (offset > kMax || length > kMax - offset)
    d.fail_at(at, "expected offset + length <= 2^63-1, found offset {} length {}", offset, length);
}

IndirectDataReference decode_reference_location(Decoder& d, const DataFileTable& table,
                                                bool allow_missing) {
  IndirectDataReference r;
  r.file = decode_data_file_index(d, table);
  size_t at = d.offset();
  r.offset = d.varint64("offset");
  r.length = d.varint64("length");
  check_reference_range(d, at, r.offset, r.length, allow_missing);
  return r;
}

namespace {

void check_generations(Decoder& d, size_t at, const std::vector<uint64_t>& generations,
                       unsigned group_bits) {
  for (size_t i = 0; i < generations.size(); ++i) {
    if (generations[i] == 0)
      d.fail_at(at, "expected non-zero generation numbers, entry {} is 0", i);
    if (i > 0 && generations[i] <= generations[i - 1])
      d.fail_at(at, "expected strictly increasing generation numbers, entry {} ({}) follows {}", i,
                generations[i], generations[i - 1]);
    if (group_bits < 64 && i > 0 &&
        ((generations[i] - 1) >> group_bits) != ((generations[0] - 1) >> group_bits))
      d.fail_at(at, "expected generations {} and {} in one version-tree group of 2^{}",
                generations[0], generations[i], group_bits);
  }
}

}  // namespace

std::vector<BtreeGenerationReference> decode_version_entries(Decoder& d, const DataFileTable& table,
                                                             uint8_t arity_log2) {
  size_t at = d.offset();
  uint64_t n = d.count("version count", 16, uint64_t{1} << arity_log2);
  std::vector<BtreeGenerationReference> v(n);
  std::vector<uint64_t> generations(n);
  for (auto& g : generations) g = d.varint64("generation_number");
  check_generations(d, at, generations, arity_log2);
  for (uint64_t i = 0; i < n; ++i) v[i].generation_number = generations[i];
  for (auto& e : v) e.root_height = d.u8("root_height");
  std::vector<size_t> ref_at(n);
  for (auto& e : v) e.root.location.file = decode_data_file_index(d, table);
  for (uint64_t i = 0; i < n; ++i) {
    ref_at[i] = d.offset();
    v[i].root.location.offset = d.varint64("root offset");
  }
  for (auto& e : v) e.root.location.length = d.varint64("root length");
  for (uint64_t i = 0; i < n; ++i)
    check_reference_range(d, ref_at[i], v[i].root.location.offset, v[i].root.location.length, true);
  for (auto& e : v) e.root.statistics.num_keys = d.varint64("num_keys");
  for (auto& e : v) e.root.statistics.num_tree_bytes = d.varint64("num_tree_bytes");
  for (auto& e : v)
    e.root.statistics.num_indirect_value_bytes = d.varint64("num_indirect_value_bytes");
  for (auto& e : v) e.commit_time = d.u64le("commit_time");
  return v;
}

std::vector<VersionNodeReference> decode_version_node_entries(Decoder& d,
                                                              const DataFileTable& table,
                                                              uint8_t arity_log2,
                                                              std::optional<uint8_t> height) {
  size_t at = d.offset();
  uint64_t max_height = 63 / arity_log2 - 1;
  uint64_t max = height ? (uint64_t{1} << arity_log2) : max_height;
  uint64_t n = d.count("version node count", height ? 13 : 14, max);
  std::vector<VersionNodeReference> v(n);
  std::vector<uint64_t> generations(n);
  for (auto& g : generations) g = d.varint64("generation_number");
  unsigned group_bits =
      height ? static_cast<unsigned>(arity_log2) * (static_cast<unsigned>(*height) + 1) : 64;
  check_generations(d, at, generations, group_bits);
  for (uint64_t i = 0; i < n; ++i) v[i].generation_number = generations[i];
  for (auto& e : v) e.location.file = decode_data_file_index(d, table);
  std::vector<size_t> ref_at(n);
  for (uint64_t i = 0; i < n; ++i) {
    ref_at[i] = d.offset();
    v[i].location.offset = d.varint64("offset");
  }
  for (auto& e : v) e.location.length = d.varint64("length");
  for (uint64_t i = 0; i < n; ++i)
    check_reference_range(d, ref_at[i], v[i].location.offset, v[i].location.length, false);
  for (auto& e : v) {
    size_t g_at = d.offset();
    e.num_generations = d.varint64("num_generations");
    if (e.num_generations == 0) d.fail_at(g_at, "expected num_generations >= 1, found 0");
  }
  for (auto& e : v) e.commit_time = d.u64le("commit_time");
  if (height) {
    for (auto& e : v) e.height = static_cast<uint8_t>(*height - 1);
  } else {
    for (uint64_t i = 0; i < n; ++i) {
      size_t h_at = d.offset();
      v[i].height = d.u8("entry_height");
      if (v[i].height < 1 || v[i].height > max_height)
        d.fail_at(h_at, "expected a version node height in 1..{}, found {}", max_height,
                  v[i].height);
      if (i > 0 && v[i].height >= v[i - 1].height)
        d.fail_at(h_at, "expected strictly decreasing version node heights, {} follows {}",
                  v[i].height, v[i - 1].height);
    }
  }
  return v;
}

VersionTreeNode decode_version_tree_node(std::span<const std::byte> body, const std::string& source,
                                         const std::string& transitive_path) {
  Decoder d(body, source);
  VersionTreeNode node;
  size_t at = d.offset();
  node.version_tree_arity_log2 = d.u8("version_tree_arity_log2");
  if (node.version_tree_arity_log2 < 1 || node.version_tree_arity_log2 > 16)
    d.fail_at(at, "expected version_tree_arity_log2 in 1..16, found {}",
              node.version_tree_arity_log2);
  at = d.offset();
  node.height = d.u8("height");
  if ((unsigned{node.height} + 1) * node.version_tree_arity_log2 >= 64)
    d.fail_at(at, "expected (height + 1) * arity_log2 < 64, found height {}", node.height);
  DataFileTable table = decode_data_file_table(d, transitive_path);
  if (node.height == 0) {
    node.versions = decode_version_entries(d, table, node.version_tree_arity_log2);
    if (node.versions.empty()) d.fail("expected at least one version in a version-tree node");
  } else {
    node.children =
        decode_version_node_entries(d, table, node.version_tree_arity_log2, node.height);
    if (node.children.empty()) d.fail("expected at least one child in a version-tree node");
  }
  d.expect_end("the version entries");
  return node;
}

size_t data_file_index(const DataFileTable& table, const DataFileId& file) {
  auto it = std::lower_bound(table.begin(), table.end(), file);
  return static_cast<size_t>(it - table.begin());
}

void encode_version_entries(Encoder& e, const DataFileTable& table,
                            const std::vector<BtreeGenerationReference>& v) {
  e.varint(v.size());
  for (auto& x : v) e.varint(x.generation_number);
  for (auto& x : v) e.u8(x.root_height);
  for (auto& x : v) e.varint(data_file_index(table, x.root.location.file));
  for (auto& x : v) e.varint(x.root.location.offset);
  for (auto& x : v) e.varint(x.root.location.length);
  for (auto& x : v) e.varint(x.root.statistics.num_keys);
  for (auto& x : v) e.varint(x.root.statistics.num_tree_bytes);
  for (auto& x : v) e.varint(x.root.statistics.num_indirect_value_bytes);
  for (auto& x : v) e.u64le(x.commit_time);
}

}  // namespace te::ocdbt
