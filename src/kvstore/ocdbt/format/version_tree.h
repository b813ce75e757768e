#pragma once
// Version entries and version-tree nodes (orbax-format.md §2.5): the generations of a database.
// A manifest holds the newest generations inline and references to version-tree nodes for the
// older ones; a node of height 0 lists generations, a node of height h > 0 lists nodes of height
// h-1.
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kvstore/ocdbt/format/data_file_table.h"
#include "kvstore/ocdbt/format/decoder.h"
#include "kvstore/ocdbt/format/references.h"

namespace te::ocdbt {

// One generation: its B+tree root.
struct BtreeGenerationReference {
  BtreeNodeReference root;
  uint64_t generation_number = 0;
  uint8_t root_height = 0;
  uint64_t commit_time = 0;  // ns since the Unix epoch
  bool operator==(const BtreeGenerationReference&) const = default;
};

// A version-tree node covering the generations up to `generation_number`.
struct VersionNodeReference {
  IndirectDataReference location;
  uint64_t generation_number = 0;
  uint64_t num_generations = 0;
  uint64_t commit_time = 0;  // earliest in the subtree
  uint8_t height = 0;        // of the referenced node
  bool operator==(const VersionNodeReference&) const = default;
};

struct VersionTreeNode {
  uint8_t height = 0;
  uint8_t version_tree_arity_log2 = 0;
  std::vector<BtreeGenerationReference> versions;  // height 0
  std::vector<VersionNodeReference> children;      // height > 0
};

// Reads a reference's (file, offset, length) and checks it (offset + length <= 2^63-1;
// `allow_missing`: the empty root offset = length = 2^64-1).
IndirectDataReference decode_reference_location(Decoder& d, const DataFileTable& table,
                                                bool allow_missing);
void check_reference_range(Decoder& d, size_t at, uint64_t offset, uint64_t length,
                           bool allow_missing);

// The leaf entry array (a height-0 node's entries, a manifest's inline versions). Generation
// numbers must be non-zero, strictly increasing and within one group of 2^arity_log2.
std::vector<BtreeGenerationReference> decode_version_entries(Decoder& d, const DataFileTable& table,
                                                             uint8_t arity_log2);
// The interior entry array of a node of height `height`, or (`height` nullopt) a manifest's
// version_nodes, which carry an extra height column.
std::vector<VersionNodeReference> decode_version_node_entries(Decoder& d,
                                                              const DataFileTable& table,
                                                              uint8_t arity_log2,
                                                              std::optional<uint8_t> height);

VersionTreeNode decode_version_tree_node(std::span<const std::byte> body, const std::string& source,
                                         const std::string& transitive_path);

// Encoders for the leaf entry array (the writer writes single-generation databases, so it never
// needs version-tree nodes).
void encode_version_entries(Encoder& e, const DataFileTable& table,
                            const std::vector<BtreeGenerationReference>& versions);
// Index of `file` in a sorted table (which must contain it).
size_t data_file_index(const DataFileTable& table, const DataFileId& file);

}  // namespace te::ocdbt
