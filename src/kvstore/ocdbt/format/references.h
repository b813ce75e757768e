#pragma once
// The values that OCDBT objects use to point at each other (orbax-format.md §2.4-§2.7).
#include <cstdint>
#include <string>

namespace te::ocdbt {

// A data file, relative to the database folder: base_path + relative_path. For tables inside
// nodes, base_path already includes the table's transitive path.
struct DataFileId {
  std::string base_path;
  std::string relative_path;
  std::string path() const { return base_path + relative_path; }
  bool operator==(const DataFileId&) const = default;
  auto operator<=>(const DataFileId&) const = default;
};

// Bytes [offset, offset + length) of a data file.
struct IndirectDataReference {
  DataFileId file;
  uint64_t offset = 0;
  uint64_t length = 0;
  // The reference of an empty generation's root: offset = length = 2^64-1.
  bool is_missing() const { return offset == UINT64_MAX && length == UINT64_MAX; }
  bool operator==(const IndirectDataReference&) const = default;
};

struct BtreeNodeStatistics {
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;
  bool operator==(const BtreeNodeStatistics&) const = default;
};

struct BtreeNodeReference {
  IndirectDataReference location;
  BtreeNodeStatistics statistics;
  bool operator==(const BtreeNodeReference&) const = default;
};

}  // namespace te::ocdbt
