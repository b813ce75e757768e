#include "zarr/v3_data_type.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "util/error.h"

namespace te::zarr::v3 {
namespace {

// What an all-ones exponent (or a special bit pattern) means in a small float format.
enum class Specials {
  kIeee,  // all-ones exponent: infinity (mantissa 0) or NaN, as IEEE 754
  kFn,    // no infinity; only all-ones exponent and mantissa is NaN (float8_e4m3fn)
  kFnuz,  // no infinity, no negative zero; the pattern of negative zero is the one NaN
  kNone,  // every pattern is a finite number (float4_e2m1fn)
  kE8m0,  // no sign, no mantissa: 2^(e-127); 0xff is NaN (float8_e8m0fnu)
};

struct FloatFormat {
  std::string_view name;
  int exp_bits, man_bits, bias;
  Specials specials;
};

constexpr std::array kSmallFloats = {
    FloatFormat{"float16", 5, 10, 15, Specials::kIeee},
    FloatFormat{"bfloat16", 8, 7, 127, Specials::kIeee},
    FloatFormat{"float8_e3m4", 3, 4, 3, Specials::kIeee},
    FloatFormat{"float8_e4m3fn", 4, 3, 7, Specials::kFn},
    FloatFormat{"float8_e4m3fnuz", 4, 3, 8, Specials::kFnuz},
    FloatFormat{"float8_e4m3b11fnuz", 4, 3, 11, Specials::kFnuz},
    FloatFormat{"float8_e5m2", 5, 2, 15, Specials::kIeee},
    FloatFormat{"float8_e5m2fnuz", 5, 2, 16, Specials::kFnuz},
    FloatFormat{"float8_e8m0fnu", 8, 0, 127, Specials::kE8m0},
    FloatFormat{"float4_e2m1fn", 2, 1, 1, Specials::kNone},
};

const FloatFormat* small_float(const DType& dtype) {
  std::string name = dtype.name();
  for (const auto& f : kSmallFloats) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

bool is_float(const DType& dtype) {
  return dtype.kind == 'f' && !dtype.name().starts_with("int");
}

uint64_t load_le(std::span<const std::byte> b) {
  uint64_t v = 0;
  for (size_t i = 0; i < b.size() && i < 8; ++i)
    v |= uint64_t(static_cast<uint8_t>(b[i])) << (8 * i);
  return v;
}

Bytes store_le(uint64_t v, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
  return b;
}

uint64_t default_nan_bits(const FloatFormat& f) {
  switch (f.specials) {
    case Specials::kIeee:
      return ((uint64_t(1) << f.exp_bits) - 1) << f.man_bits | uint64_t(1) << (f.man_bits - 1);
    case Specials::kFn:
      return (uint64_t(1) << (f.exp_bits + f.man_bits)) - 1;
    case Specials::kFnuz:
      return uint64_t(1) << (f.exp_bits + f.man_bits);
    case Specials::kE8m0:
      return 0xff;
    case Specials::kNone:
      break;
  }
  return UINT64_MAX;  // no NaN
}

double small_to_double(uint64_t bits, const FloatFormat& f) {
  const uint64_t emask = (uint64_t(1) << f.exp_bits) - 1, mmask = (uint64_t(1) << f.man_bits) - 1;
  if (f.specials == Specials::kE8m0) {
    if (bits == 0xff) return std::numeric_limits<double>::quiet_NaN();
    return std::ldexp(1.0, static_cast<int>(bits) - f.bias);
  }
  const int sign_shift = f.exp_bits + f.man_bits;
  bool negative = (bits >> sign_shift) & 1;
  uint64_t exp = (bits >> f.man_bits) & emask, man = bits & mmask;
  if (f.specials == Specials::kIeee && exp == emask) {
    if (man != 0) return std::numeric_limits<double>::quiet_NaN();
    return negative ? -HUGE_VAL : HUGE_VAL;
  }
  if (f.specials == Specials::kFn && exp == emask && man == mmask) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (f.specials == Specials::kFnuz && negative && exp == 0 && man == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  double v = exp == 0 ? std::ldexp(static_cast<double>(man), 1 - f.bias - f.man_bits)
                      : std::ldexp(static_cast<double>((uint64_t(1) << f.man_bits) + man),
                                   static_cast<int>(exp) - f.bias - f.man_bits);
  return negative ? -v : v;
}

uint64_t small_from_double(double x, const FloatFormat& f) {
  const uint64_t nan = default_nan_bits(f);
  if (std::isnan(x)) {
    if (nan == UINT64_MAX) fail("NaN is not a value of {}", f.name);
    return nan;
  }
  if (f.specials == Specials::kE8m0) {
    if (x <= 0) fail("{} has no value {} (it holds powers of two only)", f.name, x);
    if (std::isinf(x)) return nan;
    int e = 0;
    double m = std::frexp(x, &e);         // x = m * 2^e, m in [0.5, 1)
    int exponent = m > 0.75 ? e : e - 1;  // nearest power of two
    int biased = exponent + f.bias;
    if (biased < 0) biased = 0;
    if (biased > 254) return nan;
    return static_cast<uint64_t>(biased);
  }
  const int sign_shift = f.exp_bits + f.man_bits;
  const uint64_t sign = std::signbit(x) ? uint64_t(1) << sign_shift : 0;
  const uint64_t emask = (uint64_t(1) << f.exp_bits) - 1, mmask = (uint64_t(1) << f.man_bits) - 1;
  uint64_t max_finite = 0;  // the largest finite magnitude's bits
  switch (f.specials) {
    case Specials::kIeee:
      max_finite = ((emask - 1) << f.man_bits) | mmask;
      break;
    case Specials::kFn:
      max_finite = (emask << f.man_bits) | (mmask - 1);
      break;
    case Specials::kFnuz:
    case Specials::kNone:
    case Specials::kE8m0:
      max_finite = (emask << f.man_bits) | mmask;
      break;
  }
  auto overflow = [&]() -> uint64_t {
    if (f.specials == Specials::kIeee) return sign | (emask << f.man_bits);
    if (nan != UINT64_MAX) return nan;
    return sign | max_finite;
  };
  double a = std::fabs(x);
  if (std::isinf(a)) return overflow();
  uint64_t magnitude = 0;
  if (a != 0) {
    const int emin = 1 - f.bias;
    int e = 0;
    std::frexp(a, &e);
    int exponent = e - 1;  // a = 1.xxx * 2^exponent
    if (exponent < emin) {
      // Subnormal: integer multiples of 2^(emin - man_bits); rounding may reach the first normal.
      magnitude = static_cast<uint64_t>(std::nearbyint(std::ldexp(a, f.man_bits - emin)));
    } else {
      double q = std::nearbyint(std::ldexp(a, f.man_bits - exponent));  // in [2^m, 2^(m+1)]
      if (q >= std::ldexp(1.0, f.man_bits + 1)) {
        q /= 2;
        ++exponent;
      }
      uint64_t biased = static_cast<uint64_t>(exponent + f.bias);
      if (biased > emask) return overflow();
      magnitude = (biased << f.man_bits) | (static_cast<uint64_t>(q) & mmask);
    }
  }
  if (magnitude > max_finite) return overflow();
  if (f.specials == Specials::kFnuz && magnitude == 0) return 0;  // no negative zero
  return sign | magnitude;
}

std::optional<double> special_float_string(const std::string& s) {
  if (s == "Infinity") return HUGE_VAL;
  if (s == "-Infinity") return -HUGE_VAL;
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

// The element bytes of one floating-point value of `dtype` (not complex).
Bytes parse_float(const nlohmann::json& j, const DType& dtype, const std::string& where) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (auto special = special_float_string(s)) return float_element_from_double(*special, dtype);
    uint64_t raw = 0;
    if (s.size() < 3 || s.size() > 2 + 2 * dtype.itemsize || s[0] != '0' || s[1] != 'x') {
      fail(
          "{}: fill_value {} for data_type {}: expected a number, \"NaN\", \"Infinity\", "
          "\"-Infinity\" or a hex string of at most {} digits",
          where, j.dump(), v3_name(dtype), 2 * dtype.itemsize);
    }
    auto r = std::from_chars(s.data() + 2, s.data() + s.size(), raw, 16);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) {
      fail("{}: fill_value {} for data_type {} is not a valid hex string", where, j.dump(),
           v3_name(dtype));
    }
    return store_le(raw, dtype.itemsize);
  }
  if (!j.is_number()) {
    fail("{}: fill_value {} for data_type {}: expected a floating-point number", where, j.dump(),
         v3_name(dtype));
  }
  try {
    return float_element_from_double(j.get<double>(), dtype);
  } catch (const Error& e) {
    fail("{}: fill_value {}: {}", where, j.dump(), e.what());
  }
}

nlohmann::json float_json(std::span<const std::byte> element, const DType& dtype) {
  double v = float_element_to_double(element, dtype);
  if (std::isfinite(v)) return v;
  if (v == HUGE_VAL) return "Infinity";
  if (v == -HUGE_VAL) return "-Infinity";
  uint64_t raw = load_le(element);
  if (store_le(raw, dtype.itemsize) == float_element_from_double(NAN, dtype)) return "NaN";
  static const char* digits = "0123456789abcdef";
  std::string hex = "0x";
  for (size_t i = dtype.itemsize * 2; i-- > 0;) hex += digits[(raw >> (4 * i)) & 15];
  return hex;
}

DType component_type(const DType& complex) {
  return dtype_from_name(complex.itemsize == 8 ? "float32" : "float64", "complex component");
}

struct IntRange {
  bool is_signed;
  int bits;
};

std::optional<IntRange> int_range(const DType& dtype) {
  std::string name = dtype.name();
  if (name == "int4") return IntRange{true, 4};
  if (name == "int2") return IntRange{true, 2};
  if (name == "uint4") return IntRange{false, 4};
  if (dtype.kind == 'i') return IntRange{true, static_cast<int>(dtype.itemsize * 8)};
  if (dtype.kind == 'u') return IntRange{false, static_cast<int>(dtype.itemsize * 8)};
  return std::nullopt;
}

}  // namespace

DType dtype_from_v3_name(const std::string& name, const std::string& where) {
  static constexpr std::array kNames = {
      "bool",
      "int2",
      "int4",
      "uint4",
      "int8",
      "uint8",
      "int16",
      "uint16",
      "int32",
      "uint32",
      "int64",
      "uint64",
      "float16",
      "bfloat16",
      "float32",
      "float64",
      "complex64",
      "complex128",
      "float8_e3m4",
      "float8_e4m3fn",
      "float8_e4m3fnuz",
      "float8_e4m3b11fnuz",
      "float8_e5m2",
      "float8_e5m2fnuz",
      "float8_e8m0fnu",
      "float4_e2m1fn",
  };
  for (const char* n : kNames) {
    if (name == n) return dtype_from_name(name, where);
  }
  if (name.size() > 1 && name[0] == 'r') {
    uint64_t bits = 0;
    auto r = std::from_chars(name.data() + 1, name.data() + name.size(), bits);
    if (r.ec == std::errc{} && r.ptr == name.data() + name.size() && bits > 0 && bits % 8 == 0 &&
        bits <= 8 * 999999) {
      return parse_zarr_dtype(fmt::format("|V{}", bits / 8), where);
    }
    fail("{}: data_type \"{}\" is invalid: expected r<N> with N a positive multiple of 8", where,
         name);
  }
  fail(
      "{}: unsupported zarr v3 data_type \"{}\" (expected bool, int8..uint64, float16, bfloat16, "
      "float32, float64, complex64, complex128, a float8 name, int4 or r<N>)",
      where, name);
}

std::string v3_name(const DType& dtype) {
  if (dtype.kind == 'V') return fmt::format("r{}", dtype.itemsize * 8);
  if (dtype.kind == 'S') fail("dtype {} has no zarr v3 data_type", dtype.zarr);
  return dtype.name();
}

double float_element_to_double(std::span<const std::byte> element, const DType& dtype) {
  if (const FloatFormat* f = small_float(dtype)) return small_to_double(load_le(element), *f);
  if (dtype.itemsize == 4) return std::bit_cast<float>(static_cast<uint32_t>(load_le(element)));
  if (dtype.itemsize == 8) return std::bit_cast<double>(load_le(element));
  fail("{} is not a floating-point type", dtype.name());
}

Bytes float_element_from_double(double value, const DType& dtype) {
  if (const FloatFormat* f = small_float(dtype)) {
    // TensorStore converts a double to bfloat16 through float (two roundings), to the other
    // small types directly.
    if (f->name == "bfloat16" && std::fabs(value) <= std::numeric_limits<float>::max()) {
      value = static_cast<float>(value);
    }
    return store_le(small_from_double(value, *f), dtype.itemsize);
  }
  if (dtype.itemsize == 4) {
    float v =
        std::isnan(value) ? std::bit_cast<float>(uint32_t{0x7fc00000}) : static_cast<float>(value);
    return store_le(std::bit_cast<uint32_t>(v), 4);
  }
  if (dtype.itemsize == 8) {
    double v = std::isnan(value) ? std::bit_cast<double>(uint64_t{0x7ff8000000000000}) : value;
    return store_le(std::bit_cast<uint64_t>(v), 8);
  }
  fail("{} is not a floating-point type", dtype.name());
}

Bytes parse_fill_value(const nlohmann::json& j, const DType& dtype, const std::string& where) {
  if (dtype.kind == 'b') {
    if (!j.is_boolean())
      fail("{}: fill_value {} for data_type bool: expected true or false", where, j.dump());
    return Bytes{static_cast<std::byte>(j.get<bool>() ? 1 : 0)};
  }
  if (auto range = int_range(dtype)) {
    if (!j.is_number_integer()) {
      fail("{}: fill_value {} for data_type {}: expected an integer", where, j.dump(),
           v3_name(dtype));
    }
    bool negative = j.is_number_unsigned() ? false : j.get<int64_t>() < 0;
    uint64_t magnitude_limit =
        range->is_signed ? (uint64_t(1) << (range->bits - 1)) - 1
                         : (range->bits == 64 ? UINT64_MAX : (uint64_t(1) << range->bits) - 1);
    bool ok = true;
    uint64_t bits = 0;
    if (negative) {
      int64_t v = j.get<int64_t>();
      ok = range->is_signed && (range->bits == 64 || v >= -(int64_t(1) << (range->bits - 1)));
      bits = static_cast<uint64_t>(v);
    } else {
      uint64_t v = j.get<uint64_t>();
      ok = v <= magnitude_limit;
      bits = v;
    }
    if (!ok) {
      fail("{}: fill_value {} is out of range for data_type {}", where, j.dump(), v3_name(dtype));
    }
    return store_le(bits, dtype.itemsize);  // int2/int4: sign-extended into their byte
  }
  if (dtype.kind == 'c') {
    if (!j.is_array() || j.size() != 2) {
      fail("{}: fill_value {} for data_type {}: expected [real, imaginary]", where, j.dump(),
           v3_name(dtype));
    }
    DType part = component_type(dtype);
    Bytes out = parse_float(j[0], part, where);
    Bytes im = parse_float(j[1], part, where);
    out.insert(out.end(), im.begin(), im.end());
    return out;
  }
  if (is_float(dtype)) return parse_float(j, dtype, where);
  if (dtype.kind == 'V') {
    if (!j.is_array() || j.size() != dtype.itemsize) {
      fail("{}: fill_value {} for data_type {}: expected an array of {} byte values", where,
           j.dump(), v3_name(dtype), dtype.itemsize);
    }
    Bytes out;
    for (const auto& b : j) {
      if (!b.is_number_unsigned() || b.get<uint64_t>() > 255) {
        fail("{}: fill_value {}: byte values must be integers 0..255", where, j.dump());
      }
      out.push_back(static_cast<std::byte>(b.get<uint64_t>()));
    }
    return out;
  }
  fail("{}: data_type {} has no fill_value encoding", where, v3_name(dtype));
}

nlohmann::json fill_value_json(std::span<const std::byte> fill, const DType& dtype) {
  if (dtype.kind == 'b') return fill[0] != std::byte{0};
  if (auto range = int_range(dtype)) {
    uint64_t bits = load_le(fill);
    if (!range->is_signed) return bits;
    int width = static_cast<int>(dtype.itemsize * 8);
    if (width < 64 && (bits >> (width - 1)) & 1) bits |= ~uint64_t(0) << width;  // sign-extend
    return static_cast<int64_t>(bits);
  }
  if (dtype.kind == 'c') {
    DType part = component_type(dtype);
    return nlohmann::json::array({float_json(fill.first(part.itemsize), part),
                                  float_json(fill.subspan(part.itemsize), part)});
  }
  if (is_float(dtype)) return float_json(fill, dtype);
  nlohmann::json bytes = nlohmann::json::array();
  for (std::byte b : fill) bytes.push_back(static_cast<unsigned>(b));
  return bytes;
}

}  // namespace te::zarr::v3
