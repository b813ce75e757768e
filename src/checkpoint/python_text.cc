#include "checkpoint/python_text.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "util/error.h"

namespace te::checkpoint {
namespace {

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

void append_hex(std::string& out, uint32_t value, int digits) {
  static const char* kDigits = "0123456789abcdef";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kDigits[(value >> shift) & 15];
}

void dump(const nlohmann::ordered_json& v, std::string& out) {
  switch (v.type()) {
    case nlohmann::ordered_json::value_t::null:
      out += "null";
      return;
    case nlohmann::ordered_json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case nlohmann::ordered_json::value_t::number_integer:
      out += std::to_string(v.get<int64_t>());
      return;
    case nlohmann::ordered_json::value_t::number_unsigned:
      out += std::to_string(v.get<uint64_t>());
      return;
    case nlohmann::ordered_json::value_t::number_float:
      out += python_float_repr(v.get<double>());
      return;
    case nlohmann::ordered_json::value_t::string:
      out += python_json_string(v.get_ref<const std::string&>());
      return;
    case nlohmann::ordered_json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v) {
        if (!first) out += ", ";
        first = false;
        dump(item, out);
      }
      out += ']';
      return;
    }
    case nlohmann::ordered_json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ", ";
        first = false;
        out += python_json_string(key);
        out += ": ";
        dump(item, out);
      }
      out += '}';
      return;
    }
    default:
      fail("json.dumps form: a binary or discarded JSON value cannot be written");
  }
}

}  // namespace

std::u32string decode_utf8(std::string_view text, std::string_view where) {
  std::u32string out;
  size_t i = 0;
  auto bad = [&]() { fail("{}: invalid UTF-8 at byte {} of the text", where, i); };
  while (i < text.size()) {
    auto b0 = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t c = 0;
    if (b0 < 0x80) {
      c = b0;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      extra = 1;
      c = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      extra = 2;
      c = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      extra = 3;
      c = b0 & 0x07;
    } else {
      bad();
    }
    if (extra > 0 && i + static_cast<size_t>(extra) >= text.size()) bad();
    for (int k = 1; k <= extra; ++k) {
      auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) bad();
      c = (c << 6) | (b & 0x3F);
    }
    if ((extra == 2 && c < 0x800) || (extra == 3 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF)) {
      bad();
    }
    out += c;
    i += 1 + extra;
  }
  return out;
}

std::string python_str_repr(std::string_view utf8) {
  std::u32string text = decode_utf8(utf8, "Python repr of a key name");
  bool has_single = text.find(U'\'') != std::u32string::npos;
  bool has_double = text.find(U'"') != std::u32string::npos;
  char32_t quote = (has_single && !has_double) ? U'"' : U'\'';
  std::string out;
  out += static_cast<char>(quote);
  for (char32_t c : text) {
    if (c == quote || c == U'\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == U'\t') {
      out += "\\t";
    } else if (c == U'\n') {
      out += "\\n";
    } else if (c == U'\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      append_hex(out, c, 2);
    } else if (c < 0x7F) {
      out += static_cast<char>(c);
    } else if (python_is_printable(c)) {
      append_utf8(out, c);
    } else if (c <= 0xFF) {
      out += "\\x";
      append_hex(out, c, 2);
    } else if (c <= 0xFFFF) {
      out += "\\u";
      append_hex(out, c, 4);
    } else {
      out += "\\U";
      append_hex(out, c, 8);
    }
  }
  out += static_cast<char>(quote);
  return out;
}

std::string python_tuple_repr(const std::vector<std::string>& items) {
  std::string out = "(";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += python_str_repr(items[i]);
  }
  if (items.size() == 1) out += ',';
  out += ')';
  return out;
}

std::string python_float_repr(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  // Shortest round-trip digits, then Python's float_repr_style 'short' layout: positional when
  // the decimal point position n satisfies -4 < n <= 16, else d.ddde±XX; always a '.0' or digits.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  if (ec != std::errc()) fail("cannot format the float {}", x);
  std::string s(buf, end);
  // A string_view, not an assigned std::string: GCC 12 at -O2 with sanitizers reports a false
  // -Wrestrict overlap for `sign = "-"`.
  const bool negative = s[0] == '-';
  if (negative) s.erase(0, 1);
  const std::string_view sign = negative ? "-" : "";
  size_t e = s.find('e');
  std::string mantissa = s.substr(0, e);
  int exponent = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (digits == "0") return std::string(sign) + "0.0";
  int n = exponent + 1;  // value = 0.digits * 10^n
  int k = static_cast<int>(digits.size());
  std::string out(sign);
  if (n > -4 && n <= 16) {
    if (n <= 0) {
      out += "0.";
      out += std::string(static_cast<size_t>(-n), '0');
      out += digits;
    } else if (n >= k) {
      out += digits;
      out += std::string(static_cast<size_t>(n - k), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(n));
      out += '.';
      out += digits.substr(static_cast<size_t>(n));
    }
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    int exp10 = n - 1;
    out += exp10 < 0 ? "e-" : "e+";
    int a = exp10 < 0 ? -exp10 : exp10;
    if (a < 10) out += '0';
    out += std::to_string(a);
  }
  return out;
}

std::string python_json_string(std::string_view utf8) {
  std::u32string text = decode_utf8(utf8, "JSON string");
  std::string out = "\"";
  for (char32_t c : text) {
    switch (c) {
      case U'"':
        out += "\\\"";
        break;
      case U'\\':
        out += "\\\\";
        break;
      case U'\n':
        out += "\\n";
        break;
      case U'\r':
        out += "\\r";
        break;
      case U'\t':
        out += "\\t";
        break;
      case U'\b':
        out += "\\b";
        break;
      case U'\f':
        out += "\\f";
        break;
      default:
        if (c >= 0x20 && c <= 0x7E) {
          out += static_cast<char>(c);
        } else if (c <= 0xFFFF) {
          out += "\\u";
          append_hex(out, c, 4);
        } else {
          char32_t v = c - 0x10000;
          out += "\\u";
          append_hex(out, 0xD800 + (v >> 10), 4);
          out += "\\u";
          append_hex(out, 0xDC00 + (v & 0x3FF), 4);
        }
    }
  }
  out += '"';
  return out;
}

std::string python_json_dumps_ascii(const nlohmann::ordered_json& value) {
  std::string out;
  dump(value, out);
  return out;
}

}  // namespace te::checkpoint
