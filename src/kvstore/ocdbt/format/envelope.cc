#include "kvstore/ocdbt/format/envelope.h"

#include <zstd.h>

#include <memory>
#include <optional>

#include "kvstore/ocdbt/format/crc32c.h"
#include "kvstore/ocdbt/format/decoder.h"
#include "util/error.h"

namespace te::ocdbt {
namespace {

constexpr size_t kHeaderBytes = 12;  // magic + length
constexpr size_t kMinObjectBytes = kHeaderBytes + 2 + 4;

// Decompresses exactly one zstd frame that must fill `compressed` completely.
Bytes zstd_decompress(std::span<const std::byte> compressed, size_t max_bytes, const Decoder& at,
                      size_t body_offset) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) te::fail("out of memory creating a zstd decoder");
  Bytes out;
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  size_t rc = 1;
  while (true) {
    if (out.size() >= max_bytes)
      at.fail_at(body_offset, "expected a zstd body of at most {} bytes, it decompresses to more",
                 max_bytes);
    size_t grow = std::min<size_t>(std::max<size_t>(out.size(), 1 << 16), max_bytes - out.size());
    size_t old = out.size();
    out.resize(old + grow);
    ZSTD_outBuffer ob{out.data() + old, grow, 0};
    rc = ZSTD_decompressStream(ctx.get(), &ob, &in);
    out.resize(old + ob.pos);
    if (ZSTD_isError(rc))
      at.fail_at(body_offset + in.pos, "expected zstd-compressed data, zstd says: {}",
                 ZSTD_getErrorName(rc));
    if (rc == 0) break;  // frame complete
    if (in.pos == in.size && ob.pos < grow)
      at.fail_at(body_offset + in.pos, "expected the rest of the zstd frame, found the CRC");
  }
  if (in.pos != in.size)
    at.fail_at(body_offset + in.pos,
               "expected the CRC right after the zstd frame, found {} more bytes",
               in.size - in.pos);
  return out;
}

}  // namespace

const char* object_kind(uint32_t magic) {
  switch (magic) {
    case kManifestMagic:
      return "manifest";
    case kVersionTreeNodeMagic:
      return "version-tree node";
    case kBtreeNodeMagic:
      return "B+tree node";
  }
  return "object";
}

Bytes decode_envelope(std::span<const std::byte> object, uint32_t magic, const std::string& source,
                      size_t max_body_bytes) {
  Decoder d(object, source, "object");
  if (object.size() < kMinObjectBytes)
    d.fail_at(0, "expected a {} of at least {} bytes, found {} bytes", object_kind(magic),
              kMinObjectBytes, object.size());
  uint32_t found = 0;
  for (int i = 0; i < 4; ++i)
    found = (found << 8) | static_cast<uint8_t>(object[static_cast<size_t>(i)]);
  if (found != magic)
    d.fail_at(0, "expected the {} magic 0x{:08X}, found 0x{:08X}", object_kind(magic), magic,
              found);
  d.bytes(4, "magic");
  uint64_t length = d.u64le("length");
  if (length != object.size())
    d.fail_at(4, "expected the length field to equal the object's size {}, found {}", object.size(),
              length);
  Decoder crc_at(object, source, "object");
  size_t crc_offset = object.size() - 4;
  uint32_t stored = 0;
  for (int i = 3; i >= 0; --i)
    stored = (stored << 8) | static_cast<uint8_t>(object[crc_offset + static_cast<size_t>(i)]);
  uint32_t computed = crc32c(object.first(crc_offset));
  if (stored != computed)
    crc_at.fail_at(crc_offset, "expected CRC-32C 0x{:08X} of bytes [0, {}), found 0x{:08X}",
                   computed, crc_offset, stored);
  Decoder header(object.first(crc_offset), source, "object");
  header.bytes(kHeaderBytes, "header");
  size_t at = header.offset();
  uint32_t version = header.varint32("version");
  if (version != 0) header.fail_at(at, "expected format version 0, found {}", version);
  at = header.offset();
  uint32_t compression = header.varint32("compression format");
  size_t body_offset = header.offset();
  auto body = object.subspan(body_offset, crc_offset - body_offset);
  if (compression == 0) {
    if (body.size() > max_body_bytes)
      header.fail_at(body_offset, "expected a body of at most {} bytes, found {}", max_body_bytes,
                     body.size());
    return Bytes(body.begin(), body.end());
  }
  if (compression != 1)
    header.fail_at(at, "expected compression format 0 (raw) or 1 (zstd), found {}", compression);
  return zstd_decompress(body, max_body_bytes, header, body_offset);
}

Bytes encode_envelope(uint32_t magic, std::span<const std::byte> body,
                      std::optional<int> zstd_level) {
  Encoder e;
  for (int i = 3; i >= 0; --i) e.u8(static_cast<uint8_t>(magic >> (8 * i)));
  e.u64le(0);  // length, patched below
  e.varint(0);
  e.varint(zstd_level ? 1 : 0);
  if (zstd_level) {
    size_t bound = ZSTD_compressBound(body.size());
    size_t start = e.size();
    e.out().resize(start + bound);
    size_t n = ZSTD_compress(e.out().data() + start, bound, body.data(), body.size(), *zstd_level);
    if (ZSTD_isError(n)) te::fail("zstd compression failed: {}", ZSTD_getErrorName(n));
    e.out().resize(start + n);
  } else {
    e.bytes(body);
  }
  uint64_t length = e.size() + 4;
  for (int i = 0; i < 8; ++i)
    e.out()[4 + static_cast<size_t>(i)] = static_cast<std::byte>(length >> (8 * i));
  e.u32le(crc32c(e.out()));
  return std::move(e.out());
}

}  // namespace te::ocdbt
