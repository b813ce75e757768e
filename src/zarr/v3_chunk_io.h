#pragma once
// Chunk-level I/O of a zarr3 array for ZarrArray (array.h), in executor chunks
// (v3_array_metadata.h): reading decodes one executor chunk whole, an inner chunk read through
// the shard index by byte ranges of the shard (memory bounded by the inner chunk), and writing
// encodes one executor chunk into its own stored value (a shard of one inner chunk, or an
// unsharded chunk).
#include <memory>
#include <optional>
#include <string>

#include "kvstore/kvstore.h"
#include "util/bytes.h"
#include "zarr/metadata.h"

namespace te::zarr::v3 {

// The key of the stored value holding executor chunk `chunk_index` (its shard when sharded).
std::string stored_value_key(const ArrayMetadata& m, const std::string& prefix,
                             const Shape& chunk_index);

// The decoded bytes of executor chunk `chunk_index` (C order, padded to `m.chunks`, the fill value
// where a shard or an inner chunk is missing). Errors (a shard index whose CRC-32C is wrong, a
// corrupt chunk) name the key.
Bytes read_v3_chunk(const kv::KvStore& store, const std::string& prefix, const ArrayMetadata& m,
                    const Shape& chunk_index);

// The stored value of executor chunk `decoded` (m.chunks, C order). The array must store one
// executor chunk per value (new arrays do); otherwise te::Error naming `what`.
Bytes encode_v3_chunk(const ArrayMetadata& m, std::span<const std::byte> decoded,
                      const std::string& what);

// The payload (chunk_payload.h) of executor chunk `chunk_index`: the stored value, or the inner
// chunk's byte range of its shard; nullopt when the chunk (or its shard) is missing.
std::optional<Bytes> read_v3_payload(const kv::KvStore& store, const std::string& prefix,
                                     const ArrayMetadata& m, const Shape& chunk_index);

// The stored value holding `payload` as one executor chunk (sharded: a shard of that one inner
// chunk and its index). Same requirement on `m` as encode_v3_chunk.
Bytes v3_value_of_payload(const ArrayMetadata& m, std::span<const std::byte> payload,
                          const std::string& what);

}  // namespace te::zarr::v3
