#include "kvstore/ocdbt/format/data_file_table.h"

#include <algorithm>

namespace te::ocdbt {
namespace {

constexpr size_t kMaxPathLength = 65535;

size_t common_prefix(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

DataFileTable decode_data_file_table(Decoder& d, const std::string& transitive_path) {
  uint64_t n = d.count("data-file count", 2, UINT64_MAX);
  std::vector<uint16_t> prefix(n, 0), suffix(n), base(n);
  std::vector<size_t> prefix_at(n, 0), base_at(n);
  for (uint64_t i = 1; i < n; ++i) {
    prefix_at[i] = d.offset();
    prefix[i] = d.varint16("data-file path_prefix_length");
  }
  for (uint64_t i = 0; i < n; ++i) suffix[i] = d.varint16("data-file path_suffix_length");
  for (uint64_t i = 0; i < n; ++i) {
    base_at[i] = d.offset();
    base[i] = d.varint16("data-file base_path_length");
  }
  DataFileTable table;
  table.reserve(n);
  std::string prev_path;
  for (uint64_t i = 0; i < n; ++i) {
    if (prefix[i] > prev_path.size())
      d.fail_at(
          prefix_at[i],
          "expected data-file path_prefix_length[{}] <= {} (the previous path's length), found {}",
          i, prev_path.size(), prefix[i]);
    size_t length = size_t{prefix[i]} + suffix[i];
    if (length + transitive_path.size() > kMaxPathLength)
      d.fail_at(prefix_at[i], "expected data-file path {} to be at most {} bytes, found {}", i,
                kMaxPathLength, length + transitive_path.size());
    if (base[i] > length)
      d.fail_at(base_at[i],
                "expected data-file base_path_length[{}] <= the path length {}, found {}", i,
                length, base[i]);
    if (i > 0 && prefix[i] > std::min(base[i - 1], base[i]) && base[i] != base[i - 1])
      d.fail_at(prefix_at[i],
                "data-file path_prefix_length[{}] = {} extends past differing base paths ({} and "
                "{} bytes)",
                i, prefix[i], base[i - 1], base[i]);
    std::string path = prev_path.substr(0, prefix[i]);
    path += to_string(d.bytes(suffix[i], "data-file path suffix"));
    DataFileId id;
    id.base_path = transitive_path + path.substr(0, base[i]);
    id.relative_path = path.substr(base[i]);
    table.push_back(std::move(id));
    prev_path = std::move(path);
  }
  return table;
}

void encode_data_file_table(Encoder& e, const DataFileTable& files) {
  e.varint(files.size());
  std::vector<size_t> prefix(files.size(), 0);
  for (size_t i = 1; i < files.size(); ++i) {
    const auto &a = files[i - 1], &b = files[i];
    prefix[i] = a.base_path == b.base_path ? common_prefix(a.path(), b.path())
                                           : common_prefix(a.base_path, b.base_path);
  }
  for (size_t i = 1; i < files.size(); ++i) e.varint(prefix[i]);
  for (size_t i = 0; i < files.size(); ++i) e.varint(files[i].path().size() - prefix[i]);
  for (const auto& f : files) e.varint(f.base_path.size());
  for (size_t i = 0; i < files.size(); ++i)
    e.bytes(std::string_view(files[i].path()).substr(prefix[i]));
}

const DataFileId& decode_data_file_index(Decoder& d, const DataFileTable& table) {
  size_t at = d.offset();
  uint64_t index = d.varint64("data-file index");
  if (index >= table.size())
    d.fail_at(at, "expected a data-file index < {} (the table's size), found {}", table.size(),
              index);
  return table[static_cast<size_t>(index)];
}

}  // namespace te::ocdbt
