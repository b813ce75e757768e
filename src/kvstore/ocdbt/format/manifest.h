#pragma once
// The manifest (orbax-format.md §2.3): config, then (single kind only) the data-file table, the
// newest generations inline and references to version-tree nodes for older ones. A numbered
// database's manifest.ocdbt holds only the config; its versions are in manifest.<16 hex>.
#include <span>
#include <string>
#include <vector>

#include "kvstore/ocdbt/format/config.h"
#include "kvstore/ocdbt/format/version_tree.h"

namespace te::ocdbt {

struct Manifest {
  Config config;
  std::vector<BtreeGenerationReference> versions;   // empty for a numbered kind's config file
  std::vector<VersionNodeReference> version_nodes;  // decreasing height, increasing generation
  bool operator==(const Manifest&) const = default;
};

// Decodes a whole manifest object (envelope included).
Manifest decode_manifest(std::span<const std::byte> object, const std::string& source);
// Encodes a single-kind manifest (compressed as the config says).
Bytes encode_manifest(const Manifest& manifest);

}  // namespace te::ocdbt
