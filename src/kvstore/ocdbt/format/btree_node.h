#pragma once
// B+tree nodes (orbax-format.md §2.6). Keys are stored relative to the node's implied prefix
// (the root's prefix is empty), prefix-compressed against the previous key, strictly increasing.
// Leaves map keys to values held inline or in a data file; interior nodes map each child's first
// key to the child's location and statistics.
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kvstore/ocdbt/format/data_file_table.h"
#include "kvstore/ocdbt/format/references.h"

namespace te::ocdbt {

inline constexpr uint64_t kMaxNodeArity = 1048576;
inline constexpr size_t kMaxKeyLength = 65535;
// Prefix compression lets a few bytes stand for a 64 KiB key; the decoded keys of one node may
// total at most this many bytes (real nodes stay far below), which bounds the memory a forged node
// can claim.
inline constexpr size_t kMaxNodeKeyBytes = size_t{256} << 20;

struct LeafNodeEntry {
  std::string key;  // relative to the node's prefix
  // Inline bytes, or the value's location (its length = value length).
  std::variant<Bytes, IndirectDataReference> value;
  uint64_t value_length() const;
};

struct InteriorNodeEntry {
  std::string key;  // relative to the node's prefix: the child's first key
  // The child's prefix is this node's prefix + key[0, subtree_common_prefix_length).
  uint16_t subtree_common_prefix_length = 0;
  BtreeNodeReference node;
};

struct BtreeNode {
  uint8_t height = 0;  // 0 = leaf
  std::vector<LeafNodeEntry> leaf_entries;
  std::vector<InteriorNodeEntry> interior_entries;
};

// Decodes a node's body; references in its data-file table get `transitive_path` prepended.
BtreeNode decode_btree_node(std::span<const std::byte> body, const std::string& source,
                            const std::string& transitive_path);

// Encodes a node's body (the caller wraps it in the envelope). Entries must be sorted with
// strictly increasing keys; the data-file table is built from the references.
Bytes encode_btree_node(const BtreeNode& node);

}  // namespace te::ocdbt
