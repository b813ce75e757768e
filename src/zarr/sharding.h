#pragma once
// The zarr v3 `sharding_indexed` codec (zarr-specs codecs/sharding-indexed, TensorStore
// driver/zarr3/codec/sharding_indexed.cc). A shard = the encoded inner chunks, in C order of the
// inner grid, plus the index: an array of shape inner-grid + [2] of uint64 (offset, nbytes) per
// inner chunk, encoded with the index codecs (bytes little + crc32c: 16 bytes per inner chunk + 4),
// at the end (default) or the start. Offsets count from the start of the shard value. A missing
// inner chunk has offset = nbytes = 2^64-1 and reads as the fill value. The whole shard is held in
// memory.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "zarr/v3_codecs.h"

namespace te::zarr::v3 {

struct ShardIndexEntry {
  static constexpr uint64_t kMissing = UINT64_MAX;
  uint64_t offset = kMissing;
  uint64_t nbytes = kMissing;
  bool missing() const { return offset == kMissing && nbytes == kMissing; }
  bool operator==(const ShardIndexEntry&) const = default;
};

// The inner chunk grid of a shard of `shard_shape`; throws te::Error naming `what` when the inner
// chunk shape does not divide the shard shape.
Shape inner_grid_shape(const ShardingConfig& config, const Shape& shard_shape,
                       const std::string& what);

// Reads and checks the index of a stored shard (its CRC-32C, every range inside the shard).
std::vector<ShardIndexEntry> read_shard_index(const ShardingConfig& config,
                                              const Shape& shard_shape,
                                              std::span<const std::byte> stored,
                                              const std::string& what);

// The encoded size of the index of a shard of `shard_shape` (16 bytes per inner chunk, + 4 per
// crc32c index codec), and where it lies in a stored shard of `shard_size` bytes.
uint64_t shard_index_size(const ShardingConfig& config, const Shape& shard_shape,
                          const std::string& what);
uint64_t shard_index_offset(const ShardingConfig& config, const Shape& shard_shape,
                            uint64_t shard_size, const std::string& what);
// Decodes and checks an index read on its own (e.g. by a byte-range read of the value).
std::vector<ShardIndexEntry> decode_shard_index(const ShardingConfig& config,
                                                const Shape& shard_shape,
                                                std::span<const std::byte> index_bytes,
                                                uint64_t shard_size, const std::string& what);

// Byte copies between zarr v2 chunks and Orbax's zarr3 shards of one inner chunk: the stored
// bytes of the single inner chunk (nullopt when it is missing), and a shard built around given
// encoded inner chunk bytes (copied as they are) with its index.
std::optional<std::span<const std::byte>> single_inner_chunk(const ShardingConfig& config,
                                                             const Shape& shard_shape,
                                                             std::span<const std::byte> stored,
                                                             const std::string& what);
Bytes shard_of_single_inner_chunk(const ShardingConfig& config, const Shape& shard_shape,
                                  std::span<const std::byte> inner, const std::string& what);

// Decodes a whole shard into the C-order little-endian bytes of `shard_shape`.
Bytes decode_shard(const ShardingConfig& config, const DType& dtype, const Shape& shard_shape,
                   std::span<const std::byte> stored, std::span<const std::byte> fill,
                   const std::string& what);

// Encodes a whole shard: every inner chunk (or, with skip_fill_inner_chunks, those that differ
// from the fill value) in C order, then the index (or the index first with index_location start).
Bytes encode_shard(const ShardingConfig& config, const DType& dtype, const Shape& shard_shape,
                   std::span<const std::byte> decoded, std::span<const std::byte> fill,
                   const std::string& what, const EncodeOptions& options);

}  // namespace te::zarr::v3
