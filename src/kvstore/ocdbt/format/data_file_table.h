#pragma once
// The data-file table at the start of every manifest, version-tree node and B+tree node
// (orbax-format.md §2.4): the files that the object's references name, by index, with prefix
// compression of consecutive paths and a base/relative split.
#include <string>
#include <vector>

#include "kvstore/ocdbt/format/decoder.h"
#include "kvstore/ocdbt/format/references.h"

namespace te::ocdbt {

using DataFileTable = std::vector<DataFileId>;

// Decodes a table; every entry's base_path is prefixed with `transitive_path` (the base path of
// the reference through which this object was reached; "" for a manifest).
DataFileTable decode_data_file_table(Decoder& d, const std::string& transitive_path);
// Encodes `files`, which must be sorted and unique (DataFileId's order: base, then relative).
void encode_data_file_table(Encoder& e, const DataFileTable& files);

// Reads a data-file index and returns that entry.
const DataFileId& decode_data_file_index(Decoder& d, const DataFileTable& table);

}  // namespace te::ocdbt
