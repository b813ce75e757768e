#pragma once
// The .zarray file: parsed from any valid zarr v2 variant, emitted exactly as TensorStore writes
// it (compact JSON, sorted keys, no trailing newline).
#include <memory>
#include <string>

#include "util/bytes.h"
#include "zarr/codec.h"
#include "zarr/dtype.h"

namespace te::zarr {

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

  // Parses .zarray text; `where` (the file path) prefixes every error.
  static ArrayMetadata parse(const std::string& text, const std::string& where);
  static ArrayMetadata from_json(const nlohmann::json& j, const std::string& where);

  // A new C-order array as TensorStore creates it (fill_value null, separator ".").
  static ArrayMetadata make(Shape shape, Shape chunks, DType dtype,
                            std::shared_ptr<const Codec> codec);

  // TensorStore's exact .zarray bytes for this metadata.
  std::string to_json_string() const;

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
