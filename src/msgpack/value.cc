// msgpack wire format through msgpack-cxx: its unpacker reads every format family, and its packer
// chooses the smallest encoding of each int, string, bin, array, map and ext, like msgpack-python.
#include "msgpack/value.h"

#include <bit>
#include <msgpack.hpp>

#include "util/error.h"

namespace te::msgpack {
namespace {

constexpr int kMaxDepth = 64;

Bytes to_bytes(const char* p, size_t n) {
  auto* b = reinterpret_cast<const std::byte*>(p);
  return Bytes(b, b + n);
}

Value from_object(const ::msgpack::object& o, const std::string& where, int depth) {
  if (depth > kMaxDepth) fail("{}: msgpack nesting is deeper than {}", where, kMaxDepth);
  switch (o.type) {
    case ::msgpack::type::NIL:
      return Nil{};
    case ::msgpack::type::BOOLEAN:
      return o.via.boolean;
    case ::msgpack::type::POSITIVE_INTEGER:
      return o.via.u64;
    case ::msgpack::type::NEGATIVE_INTEGER:
      return o.via.i64;
    case ::msgpack::type::FLOAT32:
    case ::msgpack::type::FLOAT64:
      return o.via.f64;
    case ::msgpack::type::STR:
      return std::string(o.via.str.ptr, o.via.str.size);
    case ::msgpack::type::BIN:
      return Binary{to_bytes(o.via.bin.ptr, o.via.bin.size)};
    case ::msgpack::type::EXT:
      return Extension{o.via.ext.type(), to_bytes(o.via.ext.data(), o.via.ext.size)};
    case ::msgpack::type::ARRAY: {
      Array a;
      a.reserve(o.via.array.size);
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        a.push_back(from_object(o.via.array.ptr[i], where, depth + 1));
      }
      return a;
    }
    case ::msgpack::type::MAP: {
      Map m;
      m.reserve(o.via.map.size);
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != ::msgpack::type::STR) fail("{}: msgpack map key is not a string", where);
        m.emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                       from_object(kv.val, where, depth + 1));
      }
      return m;
    }
  }
  fail("{}: unsupported msgpack value", where);
}

// msgpack-python writes every float as float64 (0xcb); msgpack-cxx's pack_double would write a
// whole-number double as an integer, so doubles are written by hand.
void pack_float64(::msgpack::sbuffer& buffer, double d) {
  uint64_t bits = std::bit_cast<uint64_t>(d);
  char bytes[9] = {static_cast<char>(0xcb)};
  for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
  buffer.write(bytes, sizeof bytes);
}

template <typename Packer>
void pack_value(::msgpack::sbuffer& buffer, Packer& pk, const Value& value) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Nil>) {
          pk.pack_nil();
        } else if constexpr (std::is_same_v<T, bool>) {
          x ? pk.pack_true() : pk.pack_false();
        } else if constexpr (std::is_same_v<T, int64_t>) {
          pk.pack_int64(x);
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          pk.pack_uint64(x);
        } else if constexpr (std::is_same_v<T, double>) {
          pack_float64(buffer, x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          pk.pack_str(static_cast<uint32_t>(x.size()));
          pk.pack_str_body(x.data(), static_cast<uint32_t>(x.size()));
        } else if constexpr (std::is_same_v<T, Binary>) {
          pk.pack_bin(static_cast<uint32_t>(x.data.size()));
          pk.pack_bin_body(reinterpret_cast<const char*>(x.data.data()),
                           static_cast<uint32_t>(x.data.size()));
        } else if constexpr (std::is_same_v<T, Extension>) {
          pk.pack_ext(x.data.size(), x.type);
          pk.pack_ext_body(reinterpret_cast<const char*>(x.data.data()),
                           static_cast<uint32_t>(x.data.size()));
        } else if constexpr (std::is_same_v<T, Array>) {
          pk.pack_array(static_cast<uint32_t>(x.size()));
          for (const Value& item : x) pack_value(buffer, pk, item);
        } else if constexpr (std::is_same_v<T, Map>) {
          pk.pack_map(static_cast<uint32_t>(x.size()));
          for (const auto& [k, item] : x) {
            pk.pack_str(static_cast<uint32_t>(k.size()));
            pk.pack_str_body(k.data(), static_cast<uint32_t>(k.size()));
            pack_value(buffer, pk, item);
          }
        }
      },
      value.v);
}

}  // namespace

const Value* Value::find(const std::string& key) const {
  if (!is_map()) return nullptr;
  for (const auto& [k, item] : map()) {
    if (k == key) return &item;
  }
  return nullptr;
}

Value* Value::find(const std::string& key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->find(key));
}

Value decode(std::span<const std::byte> data, const std::string& where) {
  std::size_t offset = 0;
  ::msgpack::object_handle handle;
  try {
    // Every element takes at least one byte, so no count can exceed the input size: bounding
    // them by it keeps a forged length from allocating gigabytes.
    size_t n = std::max<size_t>(data.size(), 1);
    ::msgpack::unpack_limit limit(n, n, n, n, n, kMaxDepth);
    handle = ::msgpack::unpack(reinterpret_cast<const char*>(data.data()), data.size(), offset,
                               nullptr, nullptr, limit);
  } catch (const std::exception& e) {
    fail("{}: malformed msgpack ({})", where, e.what());
  }
  if (offset != data.size()) {
    fail("{}: {} unexpected bytes after the msgpack document", where, data.size() - offset);
  }
  return from_object(handle.get(), where, 0);
}

Bytes encode(const Value& value) {
  ::msgpack::sbuffer buffer;
  ::msgpack::packer<::msgpack::sbuffer> pk(buffer);
  pack_value(buffer, pk, value);
  return to_bytes(buffer.data(), buffer.size());
}

}  // namespace te::msgpack
