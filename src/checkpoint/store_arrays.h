#pragma once
// The zarr arrays of a key-value store (an OCDBT database, e.g. an Orbax item folder): found by
// their metadata keys, `<name>/.zarray` (zarr v2) and `<name>/zarr.json` (zarr3, listed from its
// JSON). Names are derived from the keys for now; Orbax's
// `_METADATA` tree will name them later.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvstore/kvstore.h"
#include "util/bytes.h"
#include "zarr/metadata.h"

namespace te::checkpoint {

struct StoreArray {
  std::string name;                   // the key prefix without its trailing '/'
  int zarr_format = 2;                // 2 or 3
  Shape shape, chunks;                // zarr3: chunks = the chunk_grid chunk (a shard when sharded)
  std::optional<Shape> inner_chunks;  // zarr3 with sharding_indexed: its inner chunk shape
  std::string dtype;  // zarr v2: the te-ckpt dtype name (float32, bfloat16, ...); zarr3: data_type
  std::string codec;  // "raw", "zstd/1", "gzip/1", ...; zarr3: the codec chain, e.g. "bytes+zstd"
  uint64_t stored_bytes = 0;  // values under the prefix other than metadata keys
};

// Every array of `store`, sorted by name. Throws te::Error naming the key for malformed metadata.
std::vector<StoreArray> list_store_arrays(const kv::KvStore& store);

// An OCDBT database at `path` (a folder holding manifest.ocdbt), or the databases of the item
// folders directly inside it (an Orbax step folder: `state/manifest.ocdbt`), as (name prefix,
// database folder): "" for `path` itself, "state/" for an item. Per-process databases
// (`ocdbt.process_<i>`) belong to their merged root and are not listed. Empty when there are none.
std::vector<std::pair<std::string, std::filesystem::path>> find_ocdbt_databases(
    const std::filesystem::path& path);

// `path` split into an OCDBT database folder and the name of an array inside it: the longest
// leading folder of `path` that holds manifest.ocdbt, and the rest. nullopt when no leading
// folder holds one.
std::optional<std::pair<std::filesystem::path, std::string>> split_ocdbt_array_path(
    const std::filesystem::path& path);

// A zarr v2 array's codec for listings: "raw", "zstd/1", "gzip/1", "blosc/5/lz4".
std::string v2_codec_name(const zarr::ArrayMetadata& metadata);

}  // namespace te::checkpoint
