#pragma once
// A zarr v3 array in a key-value store (a folder through the file driver, or an OCDBT database
// where Orbax keeps `<name>/zarr.json` and `<name>/c/0/0`): its metadata, its chunk keys, and the
// decoded bytes of chunks, regions and the whole array. Only the KvStore interface is used.
//
// Decoded bytes are C order, each element in its DType's little-endian form, edge chunks padded
// to the full chunk shape with the fill value (as stored), regions cropped. A missing chunk reads
// as the fill value (zarr semantics); callers that require every chunk (Orbax writes them all)
// check chunk_exists(). Each stored value is read and decoded whole in memory.
#include <optional>
#include <span>
#include <string>

#include "kvstore/kvstore.h"
#include "util/bytes.h"
#include "zarr/sharding.h"
#include "zarr/v3_metadata.h"

namespace te::zarr::v3 {

class V3Array {
 public:
  // Reads and parses `<prefix>/zarr.json` ("zarr.json" for an empty prefix). `store` must
  // outlive the array. Errors name the store's description of the key.
  static V3Array open(const kv::KvStore& store, std::string prefix);
  // Writes `<prefix>/zarr.json` in TensorStore's byte form; returns the array over `store`.
  static V3Array create(kv::KvStore& store, std::string prefix, V3Metadata metadata);

  V3Array(const kv::KvStore& store, std::string prefix, V3Metadata metadata);

  const V3Metadata& metadata() const { return metadata_; }
  const DType& dtype() const { return metadata_.dtype; }
  const Shape& shape() const { return metadata_.shape; }
  // "a/" for prefix "a" (or "a/"), "" for the empty prefix.
  const std::string& prefix() const { return prefix_; }
  std::string metadata_key() const { return prefix_ + "zarr.json"; }
  // `<prefix>c/0/1` (default encoding), `<prefix>c` for rank 0, `<prefix>0.1` (v2 encoding).
  std::string chunk_key(std::span<const int64_t> pos) const;
  Shape grid_shape() const { return metadata_.grid_shape(); }

  bool chunk_exists(std::span<const int64_t> pos) const;
  // The whole chunk at grid position `pos` (chunk_shape, padded); the fill value when missing.
  Bytes read_chunk(std::span<const int64_t> pos) const;
  // The box [origin, origin + extent) of the array, C order; must lie inside the array.
  Bytes read_region(const Shape& origin, const Shape& extent) const;
  Bytes read_all() const { return read_region(Shape(shape().size(), 0), shape()); }

  // The index of the shard at `pos` from a byte-range read of the index alone (the inner chunks
  // are then byte ranges of the value, e.g. for streaming or copying them); nullopt when the
  // chunk is missing. Requires sharding_indexed with no bytes-to-bytes codec after it.
  std::optional<std::vector<ShardIndexEntry>> read_shard_index(std::span<const int64_t> pos) const;

  // Decodes / encodes one stored chunk value (`what` names it in errors).
  Bytes decode_chunk_value(std::span<const std::byte> stored, const std::string& what) const;
  Bytes encode_chunk_value(std::span<const std::byte> decoded, const std::string& what,
                           const EncodeOptions& options = {}) const;

  // Encodes and writes the whole chunk `decoded` (chunk_shape, padded) at `pos` into `store`.
  void write_chunk(kv::KvStore& store, std::span<const int64_t> pos,
                   std::span<const std::byte> decoded, const EncodeOptions& options = {}) const;
  // Writes every chunk of the whole array `data` (shape, C order), edge chunks padded with the
  // fill value.
  void write_all(kv::KvStore& store, std::span<const std::byte> data,
                 const EncodeOptions& options = {}) const;

 private:
  const kv::KvStore* store_;
  std::string prefix_;
  V3Metadata metadata_;
};

}  // namespace te::zarr::v3
