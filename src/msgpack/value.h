#pragma once
// A msgpack document as a tree that keeps map order, so a T5X index can be read, edited and
// written back. Encoding always picks the smallest form, exactly as msgpack-python (and therefore
// flax and T5X) does, so decoding and re-encoding an unchanged document gives the same bytes.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "util/bytes.h"

namespace te::msgpack {

struct Value;
using Array = std::vector<Value>;
// Map keys are strings: flax state dicts only have string keys.
using Map = std::vector<std::pair<std::string, Value>>;

struct Nil {
  bool operator==(const Nil&) const = default;
};
struct Binary {
  Bytes data;
  bool operator==(const Binary&) const = default;
};
struct Extension {
  int8_t type = 0;
  Bytes data;
  bool operator==(const Extension&) const = default;
};

struct Value {
  std::variant<Nil, bool, int64_t, uint64_t, double, std::string, Binary, Array, Map, Extension> v;

  Value() = default;
  template <typename T>
  Value(T x) : v(std::move(x)) {}  // NOLINT: implicit by design, like a JSON value

  bool is_map() const { return std::holds_alternative<Map>(v); }
  const Map& map() const { return std::get<Map>(v); }
  Map& map() { return std::get<Map>(v); }
  // The member `key` of a map, or nullptr.
  const Value* find(const std::string& key) const;
  Value* find(const std::string& key);
  bool operator==(const Value&) const = default;
};

// Parses one msgpack document that must span all of `data`. Throws te::Error naming `where`.
Value decode(std::span<const std::byte> data, const std::string& where);
Bytes encode(const Value& value);

}  // namespace te::msgpack
