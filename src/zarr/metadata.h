#pragma once
// The .zarray file: parsed from any valid zarr v2 variant, emitted exactly as TensorStore writes
// it (compact JSON, sorted keys, no trailing newline).
#include <memory>
#include <string>

#include "util/bytes.h"
#include "zarr/codec.h"
#include "zarr/dtype.h"

namespace te::zarr {

namespace v3 {
struct V3Metadata;
}

struct ArrayMetadata {
  Shape shape;
  Shape chunks;
  DType dtype;
  std::shared_ptr<const Codec> codec;
  // One element's bytes, in the array's byte order; zeros when fill_value is null.
  Bytes fill_value;
  bool fill_value_is_null = true;
  char order = 'C';  // 'C' or 'F'
  char dimension_separator = '.';
  // A zarr3 array (zarr.json): its metadata as stored. The members above are then the array as
  // the chunk readers and writers see it (v3_bridge.h): `chunks` is the inner chunk of an
  // Orbax-style sharded array (one sharding_indexed codec), else the stored chunk; `dtype` and
  // `fill_value` are little-endian; `codec` is the zarr v2 codec equivalent to the inner
  // compression (null codec when there is none). Null for zarr v2 arrays.
  std::shared_ptr<const v3::V3Metadata> v3;

  // Parses .zarray text; `where` (the file path) prefixes every error.
  static ArrayMetadata parse(const std::string& text, const std::string& where);
  static ArrayMetadata from_json(const nlohmann::json& j, const std::string& where);

  // A new C-order array as TensorStore creates it (fill_value null, separator ".").
  static ArrayMetadata make(Shape shape, Shape chunks, DType dtype,
                            std::shared_ptr<const Codec> codec);

  // TensorStore's exact .zarray bytes for this metadata.
  std::string to_json_string() const;

  // te-ckpt's limits on one array, so that every element and byte count fits in int64 and no
  // absurd size reaches an allocation: every dimension and the whole array at most 2^50 bytes
  // decoded (1 PiB), one chunk at most 2^40 bytes decoded (1 TiB).
  static constexpr int64_t kMaxArrayBytes = int64_t{1} << 50;
  static constexpr int64_t kMaxChunkBytes = int64_t{1} << 40;
  // Throws te::Error naming `where` (the .zarray or index entry) when a limit is exceeded.
  void check_sizes(const std::string& where) const;

  bool is_zarr3() const { return v3 != nullptr; }
  // The shape of one stored value: the chunk of zarr v2, the chunk_grid chunk (the shard) of
  // zarr3. Orbax records it as the array's write_shape.
  const Shape& stored_chunk_shape() const;

  int rank() const { return static_cast<int>(shape.size()); }
  // Decoded bytes of one (full, padded) chunk.
  size_t chunk_bytes() const { return static_cast<size_t>(num_elements(chunks)) * dtype.itemsize; }
  // Number of chunks along each dimension.
  Shape grid_shape() const;
  int64_t num_chunks() const { return num_elements(grid_shape()); }
  // The chunk's file name: indices joined by the separator; "0" for rank 0.
  std::string chunk_key(const Shape& chunk_index) const;
};

}  // namespace te::zarr
