#include "zarr/sharding.h"

#include <cstring>

#include "util/error.h"
#include "util/strided_copy.h"
#include "zarr/v3_data_type.h"

namespace te::zarr::v3 {
namespace {

const DType& uint64_dtype() {
  static const DType d = dtype_from_name("uint64", "shard index");
  return d;
}

// Advances a C-order multi-index over `grid`; false after the last position.
bool next_position(std::vector<int64_t>& pos, const Shape& grid) {
  for (size_t d = grid.size(); d-- > 0;) {
    if (++pos[d] < grid[d]) return true;
    pos[d] = 0;
  }
  return false;
}

std::string position_string(const std::vector<int64_t>& pos) {
  return shape_string(pos);
}

// Byte offset of the inner chunk at `pos` inside a C-order shard.
int64_t inner_origin_offset(const std::vector<int64_t>& pos, const Shape& chunk,
                            const std::vector<int64_t>& shard_strides) {
  int64_t off = 0;
  for (size_t d = 0; d < pos.size(); ++d) off += pos[d] * chunk[d] * shard_strides[d];
  return off;
}

uint64_t index_encoded_size(const ShardingConfig& config, uint64_t num_chunks,
                            const std::string& what) {
  auto size = fixed_encoded_size(*config.index_codecs, num_chunks * 16);
  if (!size) fail("{}: shard index codecs have no fixed size", what);
  return *size;
}

}  // namespace

Shape inner_grid_shape(const ShardingConfig& config, const Shape& shard_shape,
                       const std::string& what) {
  if (config.chunk_shape.size() != shard_shape.size()) {
    fail("{}: sharding_indexed chunk_shape {} has another rank than the shard {}", what,
         shape_string(config.chunk_shape), shape_string(shard_shape));
  }
  Shape grid;
  for (size_t d = 0; d < shard_shape.size(); ++d) {
    if (shard_shape[d] % config.chunk_shape[d] != 0) {
      fail("{}: sharding_indexed chunk_shape {} does not divide the shard shape {}", what,
           shape_string(config.chunk_shape), shape_string(shard_shape));
    }
    grid.push_back(shard_shape[d] / config.chunk_shape[d]);
  }
  return grid;
}

uint64_t shard_index_size(const ShardingConfig& config, const Shape& shard_shape,
                          const std::string& what) {
  const Shape grid = inner_grid_shape(config, shard_shape, what);
  return index_encoded_size(config, static_cast<uint64_t>(num_elements(grid)), what);
}

uint64_t shard_index_offset(const ShardingConfig& config, const Shape& shard_shape,
                            uint64_t shard_size, const std::string& what) {
  const uint64_t index_size = shard_index_size(config, shard_shape, what);
  if (shard_size < index_size) {
    fail("{}: shard of {} bytes is shorter than its index ({} bytes)", what, shard_size,
         index_size);
  }
  return config.index_at_end ? shard_size - index_size : 0;
}

std::vector<ShardIndexEntry> decode_shard_index(const ShardingConfig& config,
                                                const Shape& shard_shape,
                                                std::span<const std::byte> index_bytes,
                                                uint64_t shard_size, const std::string& what) {
  const Shape grid = inner_grid_shape(config, shard_shape, what);
  const uint64_t n = static_cast<uint64_t>(num_elements(grid));
  const uint64_t index_size = index_encoded_size(config, n, what);
  if (index_bytes.size() != index_size || shard_size < index_size) {
    fail("{}: shard of {} bytes is shorter than its index ({} bytes for {} inner chunks)", what,
         shard_size, index_size, n);
  }
  Shape index_shape = grid;
  index_shape.push_back(2);
  Bytes zero(8);
  Bytes decoded = decode_chunk(*config.index_codecs, uint64_dtype(), index_shape, index_bytes, zero,
                               what + ": shard index");
  const uint64_t data_begin = config.index_at_end ? 0 : index_size;
  const uint64_t data_end = config.index_at_end ? shard_size - index_size : shard_size;
  std::vector<ShardIndexEntry> entries(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::memcpy(&entries[i].offset, decoded.data() + 16 * i, 8);  // little-endian host
    std::memcpy(&entries[i].nbytes, decoded.data() + 16 * i + 8, 8);
    const auto& e = entries[i];
    if (e.missing()) continue;
    if (e.offset == ShardIndexEntry::kMissing || e.nbytes == ShardIndexEntry::kMissing ||
        e.offset < data_begin || e.offset > data_end || e.nbytes > data_end - e.offset) {
      fail(
          "{}: shard index entry {} (offset {}, {} bytes) lies outside the shard's data "
          "(bytes {}..{})",
          what, i, e.offset, e.nbytes, data_begin, data_end);
    }
  }
  return entries;
}

std::vector<ShardIndexEntry> read_shard_index(const ShardingConfig& config,
                                              const Shape& shard_shape,
                                              std::span<const std::byte> stored,
                                              const std::string& what) {
  const uint64_t at = shard_index_offset(config, shard_shape, stored.size(), what);
  const uint64_t size = shard_index_size(config, shard_shape, what);
  return decode_shard_index(config, shard_shape, stored.subspan(at, size), stored.size(), what);
}

std::optional<std::span<const std::byte>> single_inner_chunk(const ShardingConfig& config,
                                                             const Shape& shard_shape,
                                                             std::span<const std::byte> stored,
                                                             const std::string& what) {
  if (num_elements(inner_grid_shape(config, shard_shape, what)) != 1) {
    fail("{}: shard {} holds more than one inner chunk of {}", what, shape_string(shard_shape),
         shape_string(config.chunk_shape));
  }
  const auto e = read_shard_index(config, shard_shape, stored, what)[0];
  if (e.missing()) return std::nullopt;
  return stored.subspan(e.offset, e.nbytes);
}

Bytes shard_of_single_inner_chunk(const ShardingConfig& config, const Shape& shard_shape,
                                  std::span<const std::byte> inner, const std::string& what) {
  if (num_elements(inner_grid_shape(config, shard_shape, what)) != 1) {
    fail("{}: shard {} holds more than one inner chunk of {}", what, shape_string(shard_shape),
         shape_string(config.chunk_shape));
  }
  const uint64_t index_size = shard_index_size(config, shard_shape, what);
  const uint64_t entry[2] = {config.index_at_end ? 0 : index_size, inner.size()};
  Bytes raw(16);
  std::memcpy(raw.data(), entry, 16);  // little-endian host
  Shape index_shape(shard_shape.size(), 1);
  index_shape.push_back(2);
  Bytes zero(8);
  Bytes index = encode_chunk(*config.index_codecs, uint64_dtype(), index_shape, raw, zero,
                             what + ": shard index");
  Bytes out;
  out.reserve(inner.size() + index.size());
  if (!config.index_at_end) out.insert(out.end(), index.begin(), index.end());
  out.insert(out.end(), inner.begin(), inner.end());
  if (config.index_at_end) out.insert(out.end(), index.begin(), index.end());
  return out;
}

Bytes decode_shard(const ShardingConfig& config, const DType& dtype, const Shape& shard_shape,
                   std::span<const std::byte> stored, std::span<const std::byte> fill,
                   const std::string& what) {
  const Shape grid = inner_grid_shape(config, shard_shape, what);
  const auto entries = read_shard_index(config, shard_shape, stored, what);
  const size_t itemsize = dtype.itemsize;
  const int64_t total = num_elements(shard_shape);
  Bytes out(static_cast<size_t>(total) * itemsize);
  if (fill.size() != itemsize)
    fail("{}: fill value of {} bytes for {}", what, fill.size(), v3_name(dtype));
  for (int64_t i = 0; i < total; ++i) std::memcpy(out.data() + i * itemsize, fill.data(), itemsize);
  if (total == 0) return out;
  const auto shard_strides = c_order_strides(shard_shape, itemsize);
  const auto inner_strides = c_order_strides(config.chunk_shape, itemsize);
  std::vector<int64_t> pos(grid.size(), 0);
  size_t i = 0;
  do {
    const auto& e = entries[i++];
    if (e.missing()) continue;
    Bytes inner =
        decode_chunk(*config.codecs, dtype, config.chunk_shape, stored.subspan(e.offset, e.nbytes),
                     fill, what + ": inner chunk " + position_string(pos));
    strided_copy(inner.data(), inner_strides,
                 out.data() + inner_origin_offset(pos, config.chunk_shape, shard_strides),
                 shard_strides, config.chunk_shape, itemsize);
  } while (next_position(pos, grid));
  return out;
}

Bytes encode_shard(const ShardingConfig& config, const DType& dtype, const Shape& shard_shape,
                   std::span<const std::byte> decoded, std::span<const std::byte> fill,
                   const std::string& what, const EncodeOptions& options) {
  const Shape grid = inner_grid_shape(config, shard_shape, what);
  const uint64_t n = static_cast<uint64_t>(num_elements(grid));
  const uint64_t index_size = index_encoded_size(config, n, what);
  const uint64_t base = config.index_at_end ? 0 : index_size;
  const size_t itemsize = dtype.itemsize;
  std::vector<ShardIndexEntry> entries(n);
  Bytes data;
  if (n > 0 && num_elements(shard_shape) > 0) {
    const auto shard_strides = c_order_strides(shard_shape, itemsize);
    const auto inner_strides = c_order_strides(config.chunk_shape, itemsize);
    Bytes inner(static_cast<size_t>(num_elements(config.chunk_shape)) * itemsize);
    std::vector<int64_t> pos(grid.size(), 0);
    size_t i = 0;
    do {
      strided_copy(decoded.data() + inner_origin_offset(pos, config.chunk_shape, shard_strides),
                   shard_strides, inner.data(), inner_strides, config.chunk_shape, itemsize);
      bool all_fill = options.skip_fill_inner_chunks;
      for (size_t k = 0; all_fill && k < inner.size(); k += itemsize) {
        all_fill = std::memcmp(inner.data() + k, fill.data(), itemsize) == 0;
      }
      auto& e = entries[i++];
      if (all_fill) continue;
      Bytes encoded = encode_chunk(*config.codecs, dtype, config.chunk_shape, inner, fill,
                                   what + ": inner chunk " + position_string(pos), options);
      e.offset = base + data.size();
      e.nbytes = encoded.size();
      data.insert(data.end(), encoded.begin(), encoded.end());
    } while (next_position(pos, grid));
  }
  Bytes index_raw(16 * n);
  for (uint64_t i = 0; i < n; ++i) {
    std::memcpy(index_raw.data() + 16 * i, &entries[i].offset, 8);  // little-endian host
    std::memcpy(index_raw.data() + 16 * i + 8, &entries[i].nbytes, 8);
  }
  Shape index_shape = grid;
  index_shape.push_back(2);
  Bytes zero(8);
  Bytes index = encode_chunk(*config.index_codecs, uint64_dtype(), index_shape, index_raw, zero,
                             what + ": shard index");
  if (config.index_at_end) {
    data.insert(data.end(), index.begin(), index.end());
    return data;
  }
  index.insert(index.end(), data.begin(), data.end());
  return index;
}

}  // namespace te::zarr::v3
