#include "kvstore/ocdbt/format/btree_node.h"

#include <algorithm>

#include "kvstore/ocdbt/format/config.h"
#include "kvstore/ocdbt/format/version_tree.h"

namespace te::ocdbt {
namespace {

// Reads num_entries keys: prefix lengths, suffix lengths, (interior) common prefix lengths,
// then the suffix bytes.
std::vector<std::string> decode_keys(Decoder& d, uint64_t n, std::vector<uint16_t>* common) {
  std::vector<uint16_t> prefix(n, 0), suffix(n);
  std::vector<size_t> prefix_at(n, 0);
  for (uint64_t i = 1; i < n; ++i) {
    prefix_at[i] = d.offset();
    prefix[i] = d.varint16("key_prefix_length");
  }
  for (auto& s : suffix) s = d.varint16("key_suffix_length");
  std::vector<size_t> common_at(n);
  if (common) {
    common->resize(n);
    for (uint64_t i = 0; i < n; ++i) {
      common_at[i] = d.offset();
      (*common)[i] = d.varint16("subtree_common_prefix_length");
    }
  }
  std::vector<std::string> keys(n);
  size_t total = 0;
  for (uint64_t i = 0; i < n; ++i) {
    total += size_t{prefix[i]} + suffix[i];
    if (total > kMaxNodeKeyBytes)
      d.fail_at(prefix_at[i],
                "expected the node's keys to total at most {} bytes, key {} passes it",
                kMaxNodeKeyBytes, i);
    if (i > 0 && prefix[i] > keys[i - 1].size())
      d.fail_at(prefix_at[i],
                "expected key_prefix_length[{}] <= {} (the previous key's length), found {}", i,
                keys[i - 1].size(), prefix[i]);
    if (size_t{prefix[i]} + suffix[i] > kMaxKeyLength)
      d.fail_at(prefix_at[i], "expected key {} to be at most {} bytes, found {}", i, kMaxKeyLength,
                size_t{prefix[i]} + suffix[i]);
    size_t at = d.offset();
    if (i > 0) keys[i] = keys[i - 1].substr(0, prefix[i]);
    keys[i] += to_string(d.bytes(suffix[i], "key suffix"));
    if (i > 0 && !(keys[i - 1] < keys[i]))
      d.fail_at(at, "invalid key order: key {} does not follow key {} in unsigned byte order", i,
                i - 1);
    if (common && (*common)[i] > keys[i].size())
      d.fail_at(common_at[i],
                "expected subtree_common_prefix_length[{}] <= {} (its key's length), found {}", i,
                keys[i].size(), (*common)[i]);
  }
  return keys;
}

}  // namespace

uint64_t LeafNodeEntry::value_length() const {
  if (auto* b = std::get_if<Bytes>(&value)) return b->size();
  return std::get<IndirectDataReference>(value).length;
}

BtreeNode decode_btree_node(std::span<const std::byte> body, const std::string& source,
                            const std::string& transitive_path) {
  Decoder d(body, source);
  BtreeNode node;
  node.height = d.u8("height");
  DataFileTable table = decode_data_file_table(d, transitive_path);
  size_t at = d.offset();
  uint64_t n = d.count("num_entries", node.height == 0 ? 3 : 8, kMaxNodeArity);
  if (n == 0) d.fail_at(at, "expected num_entries >= 1, found an empty B+tree node");
  if (node.height == 0) {
    auto keys = decode_keys(d, n, nullptr);
    std::vector<uint64_t> lengths(n);
    std::vector<size_t> length_at(n);
    for (uint64_t i = 0; i < n; ++i) {
      length_at[i] = d.offset();
      lengths[i] = d.varint64("value_length");
    }
    std::vector<uint8_t> kinds(n);
    size_t indirect = 0;
    for (auto& k : kinds) {
      size_t k_at = d.offset();
      k = d.u8("value_kind");
      if (k > 1) d.fail_at(k_at, "expected value_kind 0 (inline) or 1 (indirect), found {}", k);
      indirect += k;
    }
    std::vector<const DataFileId*> files;
    files.reserve(indirect);
    for (size_t i = 0; i < indirect; ++i) files.push_back(&decode_data_file_index(d, table));
    node.leaf_entries.resize(n);
    size_t j = 0;
    for (uint64_t i = 0; i < n; ++i) {
      if (kinds[i] != 1) continue;
      size_t o_at = d.offset();
      IndirectDataReference r{*files[j++], d.varint64("data_file_offset"), lengths[i]};
      check_reference_range(d, o_at, r.offset, r.length, false);
      node.leaf_entries[i].value = std::move(r);
    }
    for (uint64_t i = 0; i < n; ++i) {
      node.leaf_entries[i].key = std::move(keys[i]);
      if (kinds[i] != 0) continue;
      if (lengths[i] > kMaxInlineValueBytes)
        d.fail_at(length_at[i], "expected an inline value_length <= {}, found {}",
                  kMaxInlineValueBytes, lengths[i]);
      auto b = d.bytes(lengths[i], "inline value");
      node.leaf_entries[i].value = Bytes(b.begin(), b.end());
    }
  } else {
    std::vector<uint16_t> common;
    auto keys = decode_keys(d, n, &common);
    node.interior_entries.resize(n);
    for (auto& e : node.interior_entries) e.node.location.file = decode_data_file_index(d, table);
    std::vector<size_t> ref_at(n);
    for (uint64_t i = 0; i < n; ++i) {
      ref_at[i] = d.offset();
      node.interior_entries[i].node.location.offset = d.varint64("child offset");
    }
    for (auto& e : node.interior_entries) e.node.location.length = d.varint64("child length");
    for (uint64_t i = 0; i < n; ++i) {
      auto& e = node.interior_entries[i];
      check_reference_range(d, ref_at[i], e.node.location.offset, e.node.location.length, false);
      e.key = std::move(keys[i]);
      e.subtree_common_prefix_length = common[i];
    }
    for (auto& e : node.interior_entries) e.node.statistics.num_keys = d.varint64("num_keys");
    for (auto& e : node.interior_entries)
      e.node.statistics.num_tree_bytes = d.varint64("num_tree_bytes");
    for (auto& e : node.interior_entries)
      e.node.statistics.num_indirect_value_bytes = d.varint64("num_indirect_value_bytes");
  }
  d.expect_end("the node's entries");
  return node;
}

namespace {

template <typename Entries>
void encode_keys(Encoder& e, const Entries& entries, bool with_common) {
  std::vector<size_t> prefix(entries.size(), 0);
  for (size_t i = 1; i < entries.size(); ++i) {
    const std::string &a = entries[i - 1].key, &b = entries[i].key;
    size_t n = std::min(a.size(), b.size()), k = 0;
    while (k < n && a[k] == b[k]) ++k;
    prefix[i] = k;
  }
  for (size_t i = 1; i < entries.size(); ++i) e.varint(prefix[i]);
  for (size_t i = 0; i < entries.size(); ++i) e.varint(entries[i].key.size() - prefix[i]);
  if constexpr (std::is_same_v<typename Entries::value_type, InteriorNodeEntry>) {
    if (with_common)
      for (auto& x : entries) e.varint(x.subtree_common_prefix_length);
  }
  for (size_t i = 0; i < entries.size(); ++i)
    e.bytes(std::string_view(entries[i].key).substr(prefix[i]));
}

}  // namespace

Bytes encode_btree_node(const BtreeNode& node) {
  Encoder e;
  e.u8(node.height);
  DataFileTable table;
  if (node.height == 0) {
    for (auto& x : node.leaf_entries)
      if (auto* r = std::get_if<IndirectDataReference>(&x.value)) table.push_back(r->file);
  } else {
    for (auto& x : node.interior_entries) table.push_back(x.node.location.file);
  }
  std::sort(table.begin(), table.end());
  table.erase(std::unique(table.begin(), table.end()), table.end());
  encode_data_file_table(e, table);
  if (node.height == 0) {
    auto& v = node.leaf_entries;
    e.varint(v.size());
    encode_keys(e, v, false);
    for (auto& x : v) e.varint(x.value_length());
    for (auto& x : v) e.u8(std::holds_alternative<IndirectDataReference>(x.value) ? 1 : 0);
    for (auto& x : v)
      if (auto* r = std::get_if<IndirectDataReference>(&x.value))
        e.varint(data_file_index(table, r->file));
    for (auto& x : v)
      if (auto* r = std::get_if<IndirectDataReference>(&x.value)) e.varint(r->offset);
    for (auto& x : v)
      if (auto* b = std::get_if<Bytes>(&x.value)) e.bytes(*b);
  } else {
    auto& v = node.interior_entries;
    e.varint(v.size());
    encode_keys(e, v, true);
    for (auto& x : v) e.varint(data_file_index(table, x.node.location.file));
    for (auto& x : v) e.varint(x.node.location.offset);
    for (auto& x : v) e.varint(x.node.location.length);
    for (auto& x : v) e.varint(x.node.statistics.num_keys);
    for (auto& x : v) e.varint(x.node.statistics.num_tree_bytes);
    for (auto& x : v) e.varint(x.node.statistics.num_indirect_value_bytes);
  }
  return std::move(e.out());
}

}  // namespace te::ocdbt
