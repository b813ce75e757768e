#include "zarr/v3_array.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"
#include "util/strided_copy.h"

namespace te::zarr::v3 {
namespace {

std::string normalized_prefix(std::string prefix) {
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  return prefix;
}

void write_value(kv::KvStore& store, const std::string& key, std::span<const std::byte> value) {
  auto sink = store.write(key);
  sink->write(value);
  sink->close();
}

bool next_position(std::vector<int64_t>& pos, const Shape& lo, const Shape& hi) {
  for (size_t d = pos.size(); d-- > 0;) {
    if (++pos[d] < hi[d]) return true;
    pos[d] = lo[d];
  }
  return false;
}

}  // namespace

V3Array::V3Array(const kv::KvStore& store, std::string prefix, V3Metadata metadata)
    : store_(&store),
      prefix_(normalized_prefix(std::move(prefix))),
      metadata_(std::move(metadata)) {}

V3Array V3Array::open(const kv::KvStore& store, std::string prefix) {
  prefix = normalized_prefix(std::move(prefix));
  const std::string key = prefix + "zarr.json";
  if (!store.size(key)) fail("{}: missing (no zarr v3 array here)", store.describe(key));
  Bytes text = store.read_all(key);
  return V3Array(store, prefix, parse_v3_metadata(to_string(text), store.describe(key)));
}

V3Array V3Array::create(kv::KvStore& store, std::string prefix, V3Metadata metadata) {
  V3Array array(store, std::move(prefix), std::move(metadata));
  write_value(store, array.metadata_key(), as_bytes(array.metadata_.to_text()));
  return array;
}

std::string V3Array::chunk_key(std::span<const int64_t> pos) const {
  return prefix_ + metadata_.chunk_key_encoding.key(pos);
}

bool V3Array::chunk_exists(std::span<const int64_t> pos) const {
  return store_->size(chunk_key(pos)).has_value();
}

Bytes V3Array::decode_chunk_value(std::span<const std::byte> stored,
                                  const std::string& what) const {
  return decode_chunk(metadata_.codecs, metadata_.dtype, metadata_.chunk_shape, stored,
                      metadata_.fill_value, what);
}

Bytes V3Array::encode_chunk_value(std::span<const std::byte> decoded, const std::string& what,
                                  const EncodeOptions& options) const {
  return encode_chunk(metadata_.codecs, metadata_.dtype, metadata_.chunk_shape, decoded,
                      metadata_.fill_value, what, options);
}

Bytes V3Array::read_chunk(std::span<const int64_t> pos) const {
  const Shape grid = grid_shape();
  if (pos.size() != grid.size()) {
    fail("{}: chunk position of rank {} for an array of rank {}", store_->describe(metadata_key()),
         pos.size(), grid.size());
  }
  for (size_t d = 0; d < grid.size(); ++d) {
    if (pos[d] < 0 || pos[d] >= grid[d]) {
      fail("{}: chunk position {} is outside the chunk grid {}", store_->describe(metadata_key()),
           shape_string(Shape(pos.begin(), pos.end())), shape_string(grid));
    }
  }
  const std::string key = chunk_key(pos);
  if (!store_->size(key)) {
    Bytes out(metadata_.chunk_bytes());
    const size_t item = metadata_.dtype.itemsize;
    for (size_t i = 0; i < out.size(); i += item) {
      std::memcpy(out.data() + i, metadata_.fill_value.data(), item);
    }
    return out;
  }
  return decode_chunk_value(store_->read_all(key), store_->describe(key));
}

std::optional<std::vector<ShardIndexEntry>> V3Array::read_shard_index(
    std::span<const int64_t> pos) const {
  const auto& codecs = metadata_.codecs.codecs;
  const std::string key = chunk_key(pos);
  if (codecs.empty() || codecs.back().kind != V3Codec::Kind::kSharding) {
    fail("{}: the array's codecs end in no sharding_indexed codec, so the value has no index",
         store_->describe(key));
  }
  auto size = store_->size(key);
  if (!size) return std::nullopt;
  const ShardingConfig& config = *codecs.back().sharding;
  const Shape shard_shape = metadata_.codecs.encoded_shape(metadata_.chunk_shape);
  const std::string what = store_->describe(key);
  const uint64_t at = shard_index_offset(config, shard_shape, *size, what);
  const uint64_t length = shard_index_size(config, shard_shape, what);
  Bytes index = store_->read_all(key, kv::ByteRange{at, length});
  return decode_shard_index(config, shard_shape, index, *size, what);
}

Bytes V3Array::read_region(const Shape& origin, const Shape& extent) const {
  const Shape& shape = metadata_.shape;
  const Shape& chunk = metadata_.chunk_shape;
  const size_t item = metadata_.dtype.itemsize;
  if (origin.size() != shape.size() || extent.size() != shape.size()) {
    fail("{}: region of rank {} for an array of rank {}", store_->describe(metadata_key()),
         origin.size(), shape.size());
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (origin[d] < 0 || extent[d] < 0 || origin[d] + extent[d] > shape[d]) {
      fail("{}: region at {} of extent {} lies outside the array shape {}",
           store_->describe(metadata_key()), shape_string(origin), shape_string(extent),
           shape_string(shape));
    }
  }
  Bytes out(static_cast<size_t>(num_elements(extent)) * item);
  if (out.empty()) return out;
  const auto out_strides = c_order_strides(extent, item);
  const auto chunk_strides = c_order_strides(chunk, item);
  Shape lo, hi;
  for (size_t d = 0; d < shape.size(); ++d) {
    lo.push_back(origin[d] / chunk[d]);
    hi.push_back((origin[d] + extent[d] - 1) / chunk[d] + 1);
  }
  std::vector<int64_t> pos = lo;
  do {
    Bytes data = read_chunk(pos);
    // Overlap of this chunk with the region, in array coordinates.
    int64_t src_off = 0, dst_off = 0;
    Shape box;
    for (size_t d = 0; d < shape.size(); ++d) {
      int64_t begin = std::max(origin[d], pos[d] * chunk[d]);
      int64_t end = std::min(origin[d] + extent[d], (pos[d] + 1) * chunk[d]);
      box.push_back(end - begin);
      src_off += (begin - pos[d] * chunk[d]) * chunk_strides[d];
      dst_off += (begin - origin[d]) * out_strides[d];
    }
    strided_copy(data.data() + src_off, chunk_strides, out.data() + dst_off, out_strides, box,
                 item);
  } while (next_position(pos, lo, hi));
  return out;
}

void V3Array::write_chunk(kv::KvStore& store, std::span<const int64_t> pos,
                          std::span<const std::byte> decoded, const EncodeOptions& options) const {
  const std::string key = chunk_key(pos);
  write_value(store, key, encode_chunk_value(decoded, store.describe(key), options));
}

void V3Array::write_all(kv::KvStore& store, std::span<const std::byte> data,
                        const EncodeOptions& options) const {
  const Shape& shape = metadata_.shape;
  const Shape& chunk = metadata_.chunk_shape;
  const size_t item = metadata_.dtype.itemsize;
  if (data.size() != static_cast<size_t>(num_elements(shape)) * item) {
    fail("{}: {} bytes given for an array of shape {} ({} bytes)", store.describe(metadata_key()),
         data.size(), shape_string(shape), num_elements(shape) * static_cast<int64_t>(item));
  }
  const Shape grid = grid_shape();
  if (num_elements(grid) == 0) return;
  const auto array_strides = c_order_strides(shape, item);
  const auto chunk_strides = c_order_strides(chunk, item);
  Bytes buffer(metadata_.chunk_bytes());
  std::vector<int64_t> pos(grid.size(), 0);
  const Shape lo(grid.size(), 0);
  do {
    for (size_t i = 0; i < buffer.size(); i += item) {
      std::memcpy(buffer.data() + i, metadata_.fill_value.data(), item);
    }
    int64_t src_off = 0;
    Shape box;
    for (size_t d = 0; d < shape.size(); ++d) {
      box.push_back(std::min(chunk[d], shape[d] - pos[d] * chunk[d]));
      src_off += pos[d] * chunk[d] * array_strides[d];
    }
    strided_copy(data.data() + src_off, array_strides, buffer.data(), chunk_strides, box, item);
    write_chunk(store, pos, buffer, options);
  } while (next_position(pos, lo, grid));
}

}  // namespace te::zarr::v3
