#include "kvstore/ocdbt/format/decoder.h"

namespace te::ocdbt {

uint64_t Decoder::varint(const char* field, VarintWidth width) {
  auto r = decode_varint(data_.subspan(pos_), width);
  if (!r) {
    const char* bits = width == VarintWidth::k64 ? "64" : width == VarintWidth::k32 ? "32" : "16";
    if (remaining() == 0) fail("expected {} (varint), found the end of the data", field);
    fail("expected {} (a {}-bit varint), found an invalid, overlong or too large varint", field,
         bits);
  }
  pos_ += r->length;
  return r->value;
}

std::span<const std::byte> Decoder::bytes(uint64_t n, const char* field) {
  if (n > remaining())
    fail("expected {} ({} bytes), only {} bytes are left", field, n, remaining());
  auto out = data_.subspan(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

uint8_t Decoder::u8(const char* field) {
  return static_cast<uint8_t>(bytes(1, field)[0]);
}

uint32_t Decoder::u32le(const char* field) {
  auto b = bytes(4, field);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[static_cast<size_t>(i)]);
  return v;
}

uint64_t Decoder::u64le(const char* field) {
  auto b = bytes(8, field);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[static_cast<size_t>(i)]);
  return v;
}

int32_t Decoder::i32le(const char* field) {
  return static_cast<int32_t>(u32le(field));
}

uint64_t Decoder::count(const char* field, uint64_t min_item_bytes, uint64_t max) {
  size_t at = pos_;
  uint64_t n = varint64(field);
  if (n > max) fail_at(at, "expected {} <= {}, found {}", field, max, n);
  if (min_item_bytes > 0 && n > remaining() / min_item_bytes)
    fail_at(at, "expected {} items of at least {} bytes each ({}), only {} bytes are left", n,
            min_item_bytes, field, remaining());
  return n;
}

void Decoder::expect_end(const char* after) {
  if (remaining() != 0) fail("expected the end after {}, found {} more bytes", after, remaining());
}

}  // namespace te::ocdbt
