#include "checkpoint/inline_array.h"

#include "util/checked_math.h"
#include "util/error.h"

namespace te::checkpoint {
namespace {

constexpr int8_t kNdarrayExt = 1;
constexpr int8_t kNpScalarExt = 3;

InlineArray decode_ndarray_payload(const msgpack::Extension& ext, const std::string& where) {
  msgpack::Value payload = msgpack::decode(ext.data, where + " (inline array)");
  const auto* parts = std::get_if<msgpack::Array>(&payload.v);
  if (!parts || parts->size() != 3) fail("{}: inline array is not [shape, dtype, data]", where);
  InlineArray a;
  a.ext_type = ext.type;
  const auto* dims = std::get_if<msgpack::Array>(&(*parts)[0].v);
  if (!dims) fail("{}: inline array shape is not a list", where);
  for (const auto& d : *dims) {
    if (const auto* u = std::get_if<uint64_t>(&d.v)) {
      a.shape.push_back(static_cast<int64_t>(*u));
    } else {
      fail("{}: inline array shape holds a non-integer", where);
    }
  }
  std::string dtype_name;
  if (const auto* s = std::get_if<std::string>(&(*parts)[1].v)) {
    dtype_name = *s;
  } else if (const auto* b = std::get_if<msgpack::Binary>(&(*parts)[1].v)) {
    dtype_name = to_string(b->data);
  } else {
    fail("{}: inline array dtype is not a string", where);
  }
  a.dtype = zarr::dtype_from_name(dtype_name, where);
  const auto* data = std::get_if<msgpack::Binary>(&(*parts)[2].v);
  if (!data) fail("{}: inline array data is not binary", where);
  a.data = data->data;
  auto bytes = checked_product(a.shape, static_cast<int64_t>(a.dtype.itemsize));
  if (!bytes) fail("{}: inline array shape {} is too large", where, shape_string(a.shape));
  size_t expected = static_cast<size_t>(*bytes);
  if (a.data.size() != expected) {
    fail("{}: inline array {} {} holds {} bytes, expected {}", where, dtype_name,
         shape_string(a.shape), a.data.size(), expected);
  }
  return a;
}

}  // namespace

std::optional<InlineArray> decode_inline_array(const msgpack::Value& value,
                                               const std::string& where) {
  if (const auto* ext = std::get_if<msgpack::Extension>(&value.v)) {
    if (ext->type == kNdarrayExt || ext->type == kNpScalarExt)
      return decode_ndarray_payload(*ext, where);
    return std::nullopt;
  }
  const auto* flag = value.find("__msgpack_chunked_array__");
  if (!flag) return std::nullopt;
  const auto* shape = value.find("shape");
  const auto* chunks = value.find("chunks");
  if (!shape || !chunks || !shape->is_map() || !chunks->is_map()) {
    fail("{}: chunked inline array lacks \"shape\" or \"chunks\"", where);
  }
  InlineArray a;
  for (size_t i = 0; i < shape->map().size(); ++i) {
    const auto* d = shape->find(std::to_string(i));
    const auto* u = d ? std::get_if<uint64_t>(&d->v) : nullptr;
    if (!u) fail("{}: chunked inline array shape entry {} is missing", where, i);
    a.shape.push_back(static_cast<int64_t>(*u));
  }
  for (size_t i = 0; i < chunks->map().size(); ++i) {
    const auto* c = chunks->find(std::to_string(i));
    const auto* ext = c ? std::get_if<msgpack::Extension>(&c->v) : nullptr;
    if (!ext) fail("{}: chunked inline array chunk {} is missing", where, i);
    InlineArray part = decode_ndarray_payload(*ext, where);
    if (i == 0) a.dtype = part.dtype;
    if (!(part.dtype == a.dtype)) fail("{}: chunked inline array mixes dtypes", where);
    a.data.insert(a.data.end(), part.data.begin(), part.data.end());
  }
  auto bytes = checked_product(a.shape, static_cast<int64_t>(a.dtype.itemsize));
  if (!bytes) fail("{}: chunked inline array shape {} is too large", where, shape_string(a.shape));
  size_t expected = static_cast<size_t>(*bytes);
  if (a.data.size() != expected) {
    fail("{}: chunked inline array holds {} bytes, expected {}", where, a.data.size(), expected);
  }
  return a;
}

msgpack::Value encode_inline_array(const InlineArray& array) {
  msgpack::Array dims;
  for (int64_t d : array.shape) dims.emplace_back(static_cast<uint64_t>(d));
  msgpack::Array parts;
  parts.emplace_back(std::move(dims));
  parts.emplace_back(array.dtype.name());
  parts.emplace_back(msgpack::Binary{array.data});
  return msgpack::Extension{array.ext_type, msgpack::encode(msgpack::Value(std::move(parts)))};
}

}  // namespace te::checkpoint
