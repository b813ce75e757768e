#pragma once
// Pax's `metadata/metadata` (checkpoint version 1.1): {"version": 1.1, "train_state_metadata":
// {"mdl_vars": TREE}}, TREE nesting the mdl_vars array names split at '.', each leaf
// {"_array_metadata_tag": true, "dtype": ..., "is_optax_masked_node": false, "unpadded_shape":
// [...]}. Pax compares it with the model on restore, so a conversion regenerates it for its output.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/bytes.h"

namespace te::checkpoint {

struct PaxMetadataLeaf {
  std::string name;   // the full array name, e.g. "mdl_vars.params.lm.final_ln.scale"
  std::string dtype;  // the model variable's dtype name
  Shape shape;
  bool masked = false;  // is_optax_masked_node
};

// Reads a `metadata/metadata` file: a JSON object, or te::Error naming the file.
nlohmann::json read_pax_metadata_file(const std::filesystem::path& file);

// The leaves recorded in a metadata document (flattened back to full names).
std::vector<PaxMetadataLeaf> pax_metadata_leaves(const nlohmann::json& metadata);

// The document describing `leaves` (only names under "mdl_vars." are recorded), keeping the
// source document's version.
nlohmann::ordered_json make_pax_metadata(const nlohmann::json& source,
                                         const std::vector<PaxMetadataLeaf>& leaves);

// Serialises as Python's json.dumps does (", " and ": " separators, one line).
std::string python_json_dumps(const nlohmann::ordered_json& value);

}  // namespace te::checkpoint
