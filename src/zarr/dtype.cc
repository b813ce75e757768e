#include "zarr/dtype.h"

#include <array>
#include <string_view>

#include "util/error.h"

namespace te::zarr {
namespace {

// Bare extension names written without an endian prefix (TensorStore dtype.cc).
struct BareType {
  std::string_view name;
  size_t itemsize;
};
constexpr std::array kBareTypes = {
    BareType{"bfloat16", 2},
    BareType{"float8_e3m4", 1},
    BareType{"float8_e4m3fn", 1},
    BareType{"float8_e4m3fnuz", 1},
    BareType{"float8_e4m3b11fnuz", 1},
    BareType{"float8_e5m2", 1},
    BareType{"float8_e5m2fnuz", 1},
    BareType{"float8_e8m0fnu", 1},
    BareType{"float4_e2m1fn", 1},
    BareType{"int4", 1},
    BareType{"int2", 1},
    BareType{"uint4", 1},
};

bool parse_size(std::string_view digits, size_t& out) {
  if (digits.empty() || digits.size() > 6) return false;
  out = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<size_t>(c - '0');
  }
  return out > 0;
}

}  // namespace

std::string DType::name() const {
  if (zarr.empty() || (zarr[0] != '<' && zarr[0] != '>' && zarr[0] != '|')) return zarr;
  switch (kind) {
    case 'b':
      return "bool";
    case 'i':
      return "int" + std::to_string(itemsize * 8);
    case 'u':
      return "uint" + std::to_string(itemsize * 8);
    case 'f':
      return "float" + std::to_string(itemsize * 8);
    case 'c':
      return "complex" + std::to_string(itemsize * 8);
    default:
      return zarr;
  }
}

DType parse_zarr_dtype(const std::string& text, const std::string& where) {
  for (const auto& bare : kBareTypes) {
    if (text == bare.name) {
      char kind = text.starts_with("int") ? 'i' : text.starts_with("uint") ? 'u' : 'f';
      return DType{text, kind, bare.itemsize, Endian::kLittle};
    }
  }
  size_t size = 0;
  if (text.size() < 3 || !parse_size(std::string_view(text).substr(2), size)) {
    fail("{}: unsupported dtype \"{}\" (expected a zarr v2 type such as \"<f4\" or \"bfloat16\")",
         where, text);
  }
  char endian_char = text[0];
  char kind = text[1];
  if (endian_char != '<' && endian_char != '>' && endian_char != '|') {
    fail("{}: invalid dtype \"{}\": the byte order must be '<', '>' or '|'", where, text);
  }
  bool size_ok = false;
  switch (kind) {
    case 'b':
      size_ok = size == 1;
      break;
    case 'i':
    case 'u':
      size_ok = size == 1 || size == 2 || size == 4 || size == 8;
      break;
    case 'f':
      size_ok = size == 2 || size == 4 || size == 8;
      break;
    case 'c':
      size_ok = size == 8 || size == 16;
      break;
    case 'S':
    case 'V':
      size_ok = true;
      break;
    default:
      fail("{}: unsupported dtype \"{}\" (kind '{}' is not supported)", where, text, kind);
  }
  if (!size_ok)
    fail("{}: invalid dtype \"{}\": kind '{}' has no {}-byte type", where, text, kind, size);
  bool one_byte = size == 1 || kind == 'S' || kind == 'V';
  if (endian_char == '|' && !one_byte) {
    fail("{}: invalid dtype \"{}\": '|' is only valid for 1-byte types", where, text);
  }
  Endian endian = one_byte             ? Endian::kNotApplicable
                  : endian_char == '<' ? Endian::kLittle
                                       : Endian::kBig;
  return DType{text, kind, size, endian};
}

DType dtype_from_name(const std::string& name, const std::string& where) {
  for (const auto& bare : kBareTypes) {
    if (name == bare.name) return parse_zarr_dtype(name, where);
  }
  struct Named {
    std::string_view name, zarr;
  };
  static constexpr std::array kNamed = {
      Named{"bool", "|b1"},      Named{"int8", "|i1"},        Named{"uint8", "|u1"},
      Named{"int16", "<i2"},     Named{"uint16", "<u2"},      Named{"int32", "<i4"},
      Named{"uint32", "<u4"},    Named{"int64", "<i8"},       Named{"uint64", "<u8"},
      Named{"float16", "<f2"},   Named{"float32", "<f4"},     Named{"float64", "<f8"},
      Named{"complex64", "<c8"}, Named{"complex128", "<c16"},
  };
  for (const auto& n : kNamed) {
    if (name == n.name) return parse_zarr_dtype(std::string(n.zarr), where);
  }
  fail("{}: unsupported dtype name \"{}\"", where, name);
}

}  // namespace te::zarr
