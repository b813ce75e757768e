#pragma once
// zarr.json of a zarr v3 array (zarr-specs v3 core; TensorStore driver/zarr3/metadata.cc):
// parsed into V3Metadata and emitted in TensorStore's exact byte form (compact, keys sorted,
// defaults filled in, no trailing newline), e.g. the Orbax fixture's
//   {"chunk_grid":{"configuration":{"chunk_shape":[8]},"name":"regular"},
//    "chunk_key_encoding":{"name":"default"},"codecs":[…],"data_type":"int32","fill_value":0,
//    "node_type":"array","shape":[8],"zarr_format":3}
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.h"
#include "zarr/dtype.h"
#include "zarr/v3_codecs.h"

namespace te::zarr::v3 {

// chunk_key_encoding: "default" (keys c/0/1, rank 0 "c"; separator "/" unless configured ".")
// or "v2" (keys 0.1, rank 0 "0"; separator "." unless configured "/").
struct ChunkKeyEncoding {
  enum class Kind { kDefault, kV2 };
  Kind kind = Kind::kDefault;
  char separator = '/';
  // The key of the chunk at grid position `pos` (relative to the array's prefix).
  std::string key(std::span<const int64_t> pos) const;
  nlohmann::json to_json() const;
};

struct V3Metadata {
  Shape shape;
  DType dtype;        // little-endian form ("<i4"); the bytes codec says how it is stored
  Shape chunk_shape;  // chunk_grid "regular"
  ChunkKeyEncoding chunk_key_encoding;
  Bytes fill_value;  // one element, little-endian
  CodecChain codecs;
  // Tolerated and kept: dimension_names (written only when one is non-null), attributes
  // (written when non-empty), and unknown members (kept verbatim).
  nlohmann::json dimension_names;  // null or a list of strings / nulls
  nlohmann::json attributes;       // null or an object
  nlohmann::json extra_members = nlohmann::json::object();

  // The zarr.json value as TensorStore writes it.
  nlohmann::json to_json() const;
  std::string to_text() const { return to_json().dump(); }

  // Number of chunks along each dimension (ceil(shape / chunk_shape)).
  Shape grid_shape() const;
  size_t chunk_bytes() const;  // decoded bytes of one (full, padded) chunk
};

// Parses zarr.json text; throws te::Error naming `where` (e.g. the key) for anything invalid:
// zarr_format ≠ 3, node_type ≠ "array", an unknown data_type or codec, a chunk grid that is not
// regular, a sharding chunk_shape that does not divide the chunk.
V3Metadata parse_v3_metadata(std::string_view text, const std::string& where);
V3Metadata v3_metadata_from_json(const nlohmann::json& j, const std::string& where);

// The metadata Orbax asks TensorStore for (orbax-format.md §6): one sharding_indexed codec whose
// inner chunk is the whole chunk, inner codecs bytes little + zstd (level; nullopt: no
// compression), index bytes + crc32c at the end, fill value zero, default chunk key encoding.
V3Metadata orbax_v3_metadata(const DType& dtype, Shape shape, Shape chunk_shape,
                             std::optional<int> zstd_level = 3);

}  // namespace te::zarr::v3
