#pragma once
// Decoder: a cursor over the bytes of one OCDBT object (or its decompressed body) that reads the
// format's primitives. Every failure throws te::Error naming the object (`source`), the byte
// offset and what was expected. Counts are bounded by the bytes left, so a forged count never
// causes a large allocation.
#include <fmt/format.h>

#include <span>
#include <string>

#include "kvstore/ocdbt/format/varint.h"
#include "util/bytes.h"
#include "util/error.h"

namespace te::ocdbt {

class Decoder {
 public:
  // `source` names the object for messages ("manifest /x/manifest.ocdbt", "B+tree node d/ab…
  // [100, +95)"); `what` says which bytes these are ("body", "decompressed body").
  Decoder(std::span<const std::byte> data, std::string source, std::string what = "body")
      : data_(data), source_(std::move(source)), what_(std::move(what)) {}

  uint64_t varint64(const char* field) { return varint(field, VarintWidth::k64); }
  uint32_t varint32(const char* field) {
    return static_cast<uint32_t>(varint(field, VarintWidth::k32));
  }
  uint16_t varint16(const char* field) {
    return static_cast<uint16_t>(varint(field, VarintWidth::k16));
  }
  uint8_t u8(const char* field);
  uint32_t u32le(const char* field);
  uint64_t u64le(const char* field);
  int32_t i32le(const char* field);
  std::span<const std::byte> bytes(uint64_t n, const char* field);

  // A count of items, each at least `min_item_bytes` long, bounded by the bytes left and `max`.
  uint64_t count(const char* field, uint64_t min_item_bytes, uint64_t max);

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  // Throws unless every byte has been consumed.
  void expect_end(const char* after);

  // Throws te::Error: "<source>, <what> byte <offset>: <message>".
  template <typename... Args>
  [[noreturn]] void fail_at(size_t offset, fmt::format_string<Args...> format,
                            Args&&... args) const {
    te::fail("corrupt OCDBT {}, {} byte {}: {}", source_, what_, offset,
             fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    fail_at(pos_, format, std::forward<Args>(args)...);
  }
  const std::string& source() const { return source_; }

 private:
  uint64_t varint(const char* field, VarintWidth width);
  std::span<const std::byte> data_;
  size_t pos_ = 0;
  std::string source_, what_;
};

// Appends the format's primitives (the encoder side of Decoder).
class Encoder {
 public:
  void varint(uint64_t v) { append_varint(out_, v); }
  void u8(uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void u32le(uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void u64le(uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void i32le(int32_t v) { u32le(static_cast<uint32_t>(v)); }
  void bytes(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void bytes(std::string_view s) { bytes(std::as_bytes(std::span(s.data(), s.size()))); }
  Bytes& out() { return out_; }
  size_t size() const { return out_.size(); }

 private:
  Bytes out_;
};

}  // namespace te::ocdbt
