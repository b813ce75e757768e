#include "zarr/metadata.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "util/checked_math.h"
#include "util/error.h"
#include "zarr/v3_metadata.h"

namespace te::zarr {
namespace {

using nlohmann::json;

Shape parse_dims(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) fail("{}: missing \"{}\"", where, key);
  const json& v = j[key];
  if (!v.is_array()) fail("{}: \"{}\" must be an array of integers", where, key);
  Shape dims;
  for (const json& d : v) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      fail("{}: \"{}\" must be an array of non-negative integers", where, key);
    }
    dims.push_back(d.get<int64_t>());
  }
  return dims;
}

// IEEE half from double, rounding to nearest even (as numpy's astype(float16) does).
uint16_t double_to_half(double d) {
  uint64_t x = std::bit_cast<uint64_t>(d);
  uint32_t sign = static_cast<uint32_t>((x >> 48) & 0x8000);
  int exp = static_cast<int>((x >> 52) & 0x7ff);
  uint64_t mant = x & ((uint64_t{1} << 52) - 1);
  if (exp == 0x7ff) return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 : 0));
  int e = exp - 1023 + 15;  // the half's biased exponent
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  uint64_t sig = exp ? (mant | (uint64_t{1} << 52)) : mant;
  int shift = e > 0 ? 42 : 1051 - exp;  // low bits of `sig` below the half's last mantissa bit
  if (shift > 63) return static_cast<uint16_t>(sign);
  uint64_t half = sig >> shift, rest = sig & ((uint64_t{1} << shift) - 1),
           halfway = uint64_t{1} << (shift - 1);
  if (rest > halfway || (rest == halfway && (half & 1))) ++half;
  if (e <= 0)
    return static_cast<uint16_t>(sign | half);  // subnormal (or rounded up to the smallest normal)
  return static_cast<uint16_t>(
      sign | ((static_cast<uint32_t>(e) << 10) + static_cast<uint32_t>(half) - 0x400));
}

void store(Bytes& out, const void* value, size_t n, Endian endian) {
  out.resize(n);
  std::memcpy(out.data(), value, n);
  if (endian == Endian::kBig) std::reverse(out.begin(), out.end());
}

// Encodes one float into `dtype` (f2, f4, f8, bfloat16).
void store_float(Bytes& out, double v, const DType& dtype, const std::string& where) {
  if (dtype.zarr == "bfloat16") {
    uint32_t bits = std::bit_cast<uint32_t>(static_cast<float>(v));
    uint16_t b = std::isnan(v) ? uint16_t{0x7fc0}
                               : static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
    return store(out, &b, 2, Endian::kLittle);
  }
  switch (dtype.itemsize) {
    case 2: {
      uint16_t h = double_to_half(v);
      return store(out, &h, 2, dtype.endian);
    }
    case 4: {
      float f = static_cast<float>(v);
      return store(out, &f, 4, dtype.endian);
    }
    case 8:
      return store(out, &v, 8, dtype.endian);
    default:
      fail("{}: a numeric fill_value is not supported for dtype \"{}\"", where, dtype.zarr);
  }
}

double parse_float_value(const json& v, const std::string& where) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (const std::exception&) {
    }
  }
  fail("{}: invalid fill_value {} for a floating-point dtype", where, v.dump());
}

Bytes base64_decode(const std::string& text, const std::string& where) {
  auto value = [&](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) fail("{}: fill_value is not valid base64", where);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::byte>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Bytes parse_fill_value(const json& v, const DType& dtype, const std::string& where) {
  Bytes out(dtype.itemsize, std::byte{0});
  switch (dtype.kind) {
    case 'b':
      if (!v.is_boolean()) fail("{}: fill_value must be true or false for dtype \"|b1\"", where);
      out[0] = std::byte{v.get<bool>() ? uint8_t{1} : uint8_t{0}};
      return out;
    case 'i':
    case 'u': {
      if (!v.is_number_integer()) {
        fail("{}: fill_value must be an integer for dtype \"{}\"", where, dtype.zarr);
      }
      const int bits = static_cast<int>(dtype.itemsize * 8);
      const bool is_signed = dtype.kind == 'i';
      auto out_of_range = [&] {
        fail("{}: fill_value {} is out of range for dtype \"{}\"", where, v.dump(), dtype.zarr);
      };
      if (v.is_number_unsigned()) {
        uint64_t x = v.get<uint64_t>();
        uint64_t max = is_signed ? (uint64_t{1} << (bits - 1)) - 1
                                 : (bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1);
        if (x > max) out_of_range();
        store(out, &x, dtype.itemsize, dtype.endian);  // little-endian host: low bytes first
      } else {
        int64_t x = v.get<int64_t>();  // negative
        if (!is_signed || (bits < 64 && x < -(int64_t{1} << (bits - 1)))) out_of_range();
        store(out, &x, dtype.itemsize, dtype.endian);
      }
      return out;
    }
    case 'f':
      if (dtype.itemsize == 1) {
        if (!v.is_string())
          fail("{}: fill_value of dtype \"{}\" must be base64", where, dtype.zarr);
        break;
      }
      store_float(out, parse_float_value(v, where), dtype, where);
      return out;
    case 'c': {
      if (!v.is_array() || v.size() != 2) fail("{}: complex fill_value must be [re, im]", where);
      DType half{dtype.endian == Endian::kBig ? ">f" : "<f", 'f', dtype.itemsize / 2, dtype.endian};
      Bytes re, im;
      store_float(re, parse_float_value(v[0], where), half, where);
      store_float(im, parse_float_value(v[1], where), half, where);
      std::copy(re.begin(), re.end(), out.begin());
      std::copy(im.begin(), im.end(), out.begin() + static_cast<long>(re.size()));
      return out;
    }
    default:
      break;
  }
  if (!v.is_string())
    fail("{}: fill_value of dtype \"{}\" must be a base64 string", where, dtype.zarr);
  Bytes decoded = base64_decode(v.get<std::string>(), where);
  if (decoded.size() != dtype.itemsize) {
    fail("{}: base64 fill_value has {} bytes, dtype \"{}\" needs {}", where, decoded.size(),
         dtype.zarr, dtype.itemsize);
  }
  return decoded;
}

}  // namespace

ArrayMetadata ArrayMetadata::parse(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: malformed JSON ({})", where, e.what());
  }
  try {
    return from_json(j, where);
  } catch (const json::exception& e) {
    fail("{}: invalid .zarray ({})", where, e.what());
  }
}

ArrayMetadata ArrayMetadata::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: expected a JSON object", where);
  if (!j.contains("zarr_format") || j["zarr_format"] != 2) {
    fail("{}: \"zarr_format\" must be 2", where);
  }
  ArrayMetadata m;
  m.shape = parse_dims(j, "shape", where);
  m.chunks = parse_dims(j, "chunks", where);
  if (m.shape.size() != m.chunks.size()) {
    fail("{}: \"shape\" has rank {} but \"chunks\" has rank {}", where, m.shape.size(),
         m.chunks.size());
  }
  for (int64_t c : m.chunks) {
    if (c <= 0) fail("{}: \"chunks\" must be positive", where);
  }
  if (!j.contains("dtype") || !j["dtype"].is_string()) {
    fail("{}: \"dtype\" must be a string (structured dtypes are not supported)", where);
  }
  m.dtype = parse_zarr_dtype(j["dtype"].get<std::string>(), where);
  m.codec = codec_from_json(j.value("compressor", json(nullptr)), where);
  const json fill = j.value("fill_value", json(nullptr));
  m.fill_value_is_null = fill.is_null();
  m.fill_value = m.fill_value_is_null ? Bytes(m.dtype.itemsize, std::byte{0})
                                      : parse_fill_value(fill, m.dtype, where);
  std::string order = j.value("order", std::string("C"));
  if (order != "C" && order != "F")
    fail("{}: \"order\" must be \"C\" or \"F\", not \"{}\"", where, order);
  m.order = order[0];
  if (j.contains("filters") && !j["filters"].is_null() &&
      !(j["filters"].is_array() && j["filters"].empty())) {
    fail("{}: \"filters\" are not supported (expected null)", where);
  }
  if (j.contains("dimension_separator")) {
    const json& sep = j["dimension_separator"];
    if (sep != "." && sep != "/") fail("{}: \"dimension_separator\" must be \".\" or \"/\"", where);
    m.dimension_separator = sep.get<std::string>()[0];
  }
  m.check_sizes(where);
  return m;
}

void ArrayMetadata::check_sizes(const std::string& where) const {
  const auto item = static_cast<int64_t>(dtype.itemsize);
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxArrayBytes) {
      fail("{}: dimension {} of shape {} is out of range (te-ckpt's limit is 2^50)", where, d,
           shape_string(shape));
    }
  }
  auto bytes = checked_product(shape, item);
  if (!bytes || *bytes > kMaxArrayBytes) {
    fail(
        "{}: the array is too large: shape {} of {} ({}-byte elements) is more than 2^50 bytes "
        "(1 PiB), te-ckpt's limit for one array",
        where, shape_string(shape), dtype.name(), item);
  }
  auto chunk = checked_product(chunks, item);
  if (!chunk || *chunk > kMaxChunkBytes) {
    fail(
        "{}: the chunk is too large: chunks {} of {} is more than 2^40 bytes (1 TiB), te-ckpt's "
        "limit for one chunk",
        where, shape_string(chunks), dtype.name());
  }
}

ArrayMetadata ArrayMetadata::make(Shape shape, Shape chunks, DType dtype,
                                  std::shared_ptr<const Codec> codec) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunks = std::move(chunks);
  m.fill_value = Bytes(dtype.itemsize, std::byte{0});
  m.dtype = std::move(dtype);
  m.codec = std::move(codec);
  return m;
}

std::string ArrayMetadata::to_json_string() const {
  // nlohmann's object is a std::map, so dump() gives TensorStore's sorted compact form.
  json j = {{"chunks", chunks},
            {"compressor", codec->to_json()},
            {"dimension_separator", "."},
            {"dtype", dtype.zarr},
            {"fill_value", nullptr},
            {"filters", nullptr},
            {"order", "C"},
            {"shape", shape},
            {"zarr_format", 2}};
  return j.dump();
}

const Shape& ArrayMetadata::stored_chunk_shape() const {
  return v3 ? v3->chunk_shape : chunks;
}

Shape ArrayMetadata::grid_shape() const {
  Shape grid(shape.size());
  for (size_t i = 0; i < shape.size(); ++i)
    grid[i] = shape[i] / chunks[i] + (shape[i] % chunks[i] != 0 ? 1 : 0);
  return grid;
}

std::string ArrayMetadata::chunk_key(const Shape& index) const {
  if (index.empty()) return "0";
  std::string key;
  for (size_t i = 0; i < index.size(); ++i) {
    if (i) key += dimension_separator;
    key += std::to_string(index[i]);
  }
  return key;
}

}  // namespace te::zarr
