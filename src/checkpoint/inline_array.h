#pragma once
// Arrays stored inside a T5X msgpack index (flax's ext type 1 ndarray, ext type 3 numpy scalar,
// and the `__msgpack_chunked_array__` map for arrays over 1 GiB).
#include <optional>
#include <string>

#include "msgpack/value.h"
#include "util/bytes.h"
#include "zarr/dtype.h"

namespace te::checkpoint {

struct InlineArray {
  Shape shape;
  zarr::DType dtype;  // always little-endian, as flax writes it
  Bytes data;         // C order
  int8_t ext_type = 1;
};

// Decodes `value` when it is an inline array leaf; nullopt for any other value. Throws te::Error
// naming `where` for a malformed inline array.
std::optional<InlineArray> decode_inline_array(const msgpack::Value& value,
                                               const std::string& where);

// Encodes as flax does: ext 1 (or 3 for a scalar that was ext 3).
msgpack::Value encode_inline_array(const InlineArray& array);

}  // namespace te::checkpoint
