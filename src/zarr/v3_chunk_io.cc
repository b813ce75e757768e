#include "zarr/v3_chunk_io.h"

#include <cstring>

#include "util/error.h"
#include "zarr/sharding.h"
#include "zarr/v3_array_metadata.h"
#include "zarr/v3_metadata.h"

namespace te::zarr::v3 {
namespace {

// The shard holding inner chunk `chunk_index`, and the inner chunk's C-order index in it.
struct InnerLocation {
  Shape shard;
  uint64_t inner = 0;
};

InnerLocation locate(const ArrayMetadata& m, const Shape& chunk_index) {
  InnerLocation loc;
  uint64_t linear = 0;
  for (size_t d = 0; d < chunk_index.size(); ++d) {
    const int64_t per_shard = m.v3->chunk_shape[d] / m.chunks[d];
    loc.shard.push_back(chunk_index[d] / per_shard);
    linear = linear * static_cast<uint64_t>(per_shard) +
             static_cast<uint64_t>(chunk_index[d] % per_shard);
  }
  loc.inner = linear;
  return loc;
}

Bytes fill_chunk(const ArrayMetadata& m) {
  Bytes out(m.chunk_bytes());
  const size_t item = m.dtype.itemsize;
  bool zero = std::all_of(m.fill_value.begin(), m.fill_value.end(),
                          [](std::byte b) { return b == std::byte{0}; });
  if (zero || item == 0) return out;
  for (size_t i = 0; i < out.size(); i += item)
    std::memcpy(out.data() + i, m.fill_value.data(), item);
  return out;
}

}  // namespace

std::string stored_value_key(const ArrayMetadata& m, const std::string& prefix,
                             const Shape& chunk_index) {
  if (!reads_inner_chunks(*m.v3)) return prefix + m.v3->chunk_key_encoding.key(chunk_index);
  return prefix + m.v3->chunk_key_encoding.key(locate(m, chunk_index).shard);
}

namespace {

// New arrays store one executor chunk per value (one inner chunk per shard); te::Error naming
// `what` otherwise.
void require_one_executor_chunk_per_value(const ArrayMetadata& m, const std::string& what) {
  if (m.chunks != m.v3->chunk_shape) {
    fail(
        "{}: internal error: te-ckpt writes zarr3 shards of one inner chunk, but this array's "
        "shard {} holds inner chunks {}",
        what, shape_string(m.v3->chunk_shape), shape_string(m.chunks));
  }
}

// Where executor chunk `chunk_index` is stored: the key of its value, and within it the inner
// chunk's byte range (sharded arrays). nullopt when the value or the inner chunk is missing.
struct StoredChunk {
  std::string key;
  std::optional<kv::ByteRange> range;  // nullopt: the whole value
};

std::optional<StoredChunk> find_stored_chunk(const kv::KvStore& store, const std::string& prefix,
                                             const ArrayMetadata& m, const Shape& chunk_index) {
  const V3Metadata& v3 = *m.v3;
  if (!reads_inner_chunks(v3)) {
    std::string key = prefix + v3.chunk_key_encoding.key(chunk_index);
    if (!store.size(key)) return std::nullopt;
    return StoredChunk{std::move(key), std::nullopt};
  }
  const InnerLocation loc = locate(m, chunk_index);
  std::string key = prefix + v3.chunk_key_encoding.key(loc.shard);
  const auto size = store.size(key);
  if (!size) return std::nullopt;
  const ShardingConfig& config = *v3.codecs.codecs[0].sharding;
  const std::string what = store.describe(key);
  const uint64_t at = shard_index_offset(config, v3.chunk_shape, *size, what);
  const uint64_t length = shard_index_size(config, v3.chunk_shape, what);
  const Bytes index_bytes = store.read_all(key, kv::ByteRange{at, length});
  const auto index = decode_shard_index(config, v3.chunk_shape, index_bytes, *size, what);
  const ShardIndexEntry& entry = index.at(loc.inner);
  if (entry.missing()) return std::nullopt;
  return StoredChunk{std::move(key), kv::ByteRange{entry.offset, entry.nbytes}};
}

}  // namespace

Bytes read_v3_chunk(const kv::KvStore& store, const std::string& prefix, const ArrayMetadata& m,
                    const Shape& chunk_index) {
  const auto found = find_stored_chunk(store, prefix, m, chunk_index);
  if (!found) return fill_chunk(m);
  const V3Metadata& v3 = *m.v3;
  const std::string what = store.describe(found->key);
  if (!found->range) {
    return decode_chunk(v3.codecs, v3.dtype, v3.chunk_shape, store.read_all(found->key),
                        v3.fill_value, what);
  }
  const Bytes stored = store.read_all(found->key, *found->range);
  return decode_chunk(*v3.codecs.codecs[0].sharding->codecs, v3.dtype, m.chunks, stored,
                      v3.fill_value, what + " inner chunk " + shape_string(chunk_index));
}

std::optional<Bytes> read_v3_payload(const kv::KvStore& store, const std::string& prefix,
                                     const ArrayMetadata& m, const Shape& chunk_index) {
  const auto found = find_stored_chunk(store, prefix, m, chunk_index);
  if (!found) return std::nullopt;
  return found->range ? store.read_all(found->key, *found->range) : store.read_all(found->key);
}

Bytes v3_value_of_payload(const ArrayMetadata& m, std::span<const std::byte> payload,
                          const std::string& what) {
  const V3Metadata& v3 = *m.v3;
  require_one_executor_chunk_per_value(m, what);
  if (!reads_inner_chunks(v3)) return Bytes(payload.begin(), payload.end());
  return shard_of_single_inner_chunk(*v3.codecs.codecs[0].sharding, v3.chunk_shape, payload, what);
}

Bytes encode_v3_chunk(const ArrayMetadata& m, std::span<const std::byte> decoded,
                      const std::string& what) {
  const V3Metadata& v3 = *m.v3;
  require_one_executor_chunk_per_value(m, what);
  return encode_chunk(v3.codecs, v3.dtype, v3.chunk_shape, decoded, v3.fill_value, what);
}

}  // namespace te::zarr::v3
