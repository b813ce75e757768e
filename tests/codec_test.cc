// Chunk codecs: null, gzip, zlib, zstd, blosc, bz2. Round trips (whole and streamed in odd piece
// sizes), the JSON TensorStore persists, byte-format details (zstd frame content size, gzip stored
// blocks, foreign headers), interop with Python's codecs (independent implementations), and every
// error class naming the chunk.
#include "zarr/codec.h"

#include <blosc.h>
#include <zstd.h>

#include <array>
#include <cstring>
#include <map>

#include "test_util.h"
#include "util/file.h"

namespace te::zarr {
namespace {

using namespace te::testing;
using nlohmann::json;

// Serves a buffer in pieces whose sizes cycle through `sizes`.
class PieceSource : public ByteSource {
 public:
  PieceSource(std::span<const std::byte> data, std::vector<size_t> sizes, std::string name)
      : data_(data), sizes_(std::move(sizes)), name_(std::move(name)) {}
  std::span<const std::byte> next() override {
    size_t n = std::min(sizes_[turn_++ % sizes_.size()], data_.size());
    auto piece = data_.first(n);
    data_ = data_.subspan(n);
    return piece;
  }
  const std::string& name() const override { return name_; }

 private:
  std::span<const std::byte> data_;
  std::vector<size_t> sizes_;
  size_t turn_ = 0;
  std::string name_;
};

Bytes encode_in_pieces(const Codec& codec, std::span<const std::byte> data, size_t itemsize,
                       const std::vector<size_t>& sizes) {
  MemorySink sink("memory");
  auto enc = codec.encoder(sink, data.size(), itemsize);
  size_t turn = 0;
  while (!data.empty()) {
    size_t n = std::min(sizes[turn++ % sizes.size()], data.size());
    enc->write(data.first(n));
    data = data.subspan(n);
  }
  enc->finish();
  return std::move(sink.bytes);
}

Bytes decode_in_pieces(const Codec& codec, std::span<const std::byte> compressed,
                       size_t decoded_size, const std::vector<size_t>& source_sizes,
                       const std::vector<size_t>& read_sizes, const std::string& name = "chunk") {
  PieceSource source(compressed, source_sizes, name);
  auto dec = codec.decoder(source, decoded_size);
  Bytes out(decoded_size);
  std::span<std::byte> rest(out);
  size_t turn = 0;
  while (!rest.empty()) {
    size_t n = std::min(read_sizes[turn++ % read_sizes.size()], rest.size());
    dec->read(rest.first(n));
    rest = rest.subspan(n);
  }
  dec->finish();
  return out;
}

struct NamedCodec {
  std::string label;
  std::shared_ptr<const Codec> codec;
};

std::vector<NamedCodec> all_codecs() {
  return {
      {"null", make_null_codec()},
      {"gzip1", make_deflate_codec(true, 1)},
      {"gzip0", make_deflate_codec(true, 0)},
      {"gzip6", make_deflate_codec(true, 6)},
      {"gzip9", make_deflate_codec(true, 9)},
      {"zlib1", make_deflate_codec(false, 1)},
      {"zlib9", make_deflate_codec(false, 9)},
      {"zstd1", make_zstd_codec(1)},
      {"zstd3", make_zstd_codec(3)},
      {"zstd-5", make_zstd_codec(-5)},
      {"blosc_lz4_auto", make_blosc_codec("lz4", 5, -1, 0)},
      {"blosc_zstd_bit", make_blosc_codec("zstd", 5, 2, 0)},
      {"blosc_blosclz_byte", make_blosc_codec("blosclz", 9, 1, 0)},
      {"blosc_zlib_none", make_blosc_codec("zlib", 1, 0, 0)},
      {"blosc_lz4hc_block", make_blosc_codec("lz4hc", 5, 1, 4096)},
      {"bz2_1", make_bz2_codec(1)},
      {"bz2_9", make_bz2_codec(9)},
  };
}

struct NamedData {
  std::string label;
  Bytes data;
  size_t itemsize;
};

std::vector<NamedData> all_data() {
  return {
      {"one_byte", bytes_of({0x5a}), 1},
      {"random_1000", random_bytes(1000, 1), 4},
      {"compressible_300k", compressible_bytes(300000 + 6, 2), 2},
      {"random_1M", random_bytes((1 << 20) + 16, 3), 8},
      {"zeros_200k", Bytes(200000, std::byte{0}), 4},
  };
}

TEST(Codec, RoundTripWhole) {
  for (const auto& c : all_codecs()) {
    for (const auto& d : all_data()) {
      SCOPED_TRACE(c.label + " / " + d.label);
      Bytes encoded = c.codec->encode(d.data, d.itemsize);
      Bytes decoded = c.codec->decode(encoded, d.data.size(), "chunk");
      EXPECT_TRUE(decoded == d.data);
      if (c.label == "null") {
        EXPECT_TRUE(encoded == d.data);
      }
    }
  }
}

TEST(Codec, RoundTripStreamedInOddPieces) {
  const std::vector<std::vector<size_t>> write_patterns = {{1}, {7, 4093, 1, 65539}, {300001}};
  const std::vector<std::vector<size_t>> source_patterns = {{1}, {3, 1000, 17}, {1 << 20}};
  const std::vector<std::vector<size_t>> read_patterns = {{5, 1, 8191}, {13}, {1 << 20}};
  for (const auto& c : all_codecs()) {
    for (const auto& d : all_data()) {
      if (d.data.size() > 400000) continue;  // keep 1-byte pieces cheap
      for (size_t p = 0; p < write_patterns.size(); ++p) {
        SCOPED_TRACE(c.label + " / " + d.label + " / pattern " + std::to_string(p));
        Bytes encoded = encode_in_pieces(*c.codec, d.data, d.itemsize, write_patterns[p]);
        Bytes decoded = decode_in_pieces(*c.codec, encoded, d.data.size(), source_patterns[p],
                                         read_patterns[p]);
        EXPECT_TRUE(decoded == d.data);
      }
    }
  }
}

TEST(Codec, DecodesFromFileInSmallPieces) {
  TempDir tmp;
  Bytes data = compressible_bytes(100003, 9);
  for (const auto& c : all_codecs()) {
    SCOPED_TRACE(c.label);
    fs::path file = tmp / c.label;
    write_bytes(file, c.codec->encode(data, 1));
    auto source = open_file_source(file, 7);
    auto dec = c.codec->decoder(*source, data.size());
    Bytes out(data.size());
    dec->read(std::span(out).first(50001));
    dec->read(std::span(out).subspan(50001));
    dec->finish();
    EXPECT_TRUE(out == data);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(Codec, JsonAsTensorStorePersistsIt) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"id":"gzip"})", R"({"id":"gzip","level":1})"},
      {R"({"id":"gzip","level":9})", R"({"id":"gzip","level":9})"},
      {R"({"level":0,"id":"gzip"})", R"({"id":"gzip","level":0})"},
      {R"({"id":"zlib"})", R"({"id":"zlib","level":1})"},
      {R"({"id":"zstd"})", R"({"id":"zstd","level":1})"},
      {R"({"id":"zstd","level":3})", R"({"id":"zstd","level":3})"},
      {R"({"id":"zstd","level":-7})", R"({"id":"zstd","level":-7})"},
      {R"({"id":"bz2"})", R"({"id":"bz2","level":1})"},
      {R"({"id":"bz2","level":9})", R"({"id":"bz2","level":9})"},
      {R"({"id":"blosc"})",
       R"({"blocksize":0,"clevel":5,"cname":"lz4","id":"blosc","shuffle":-1})"},
      {R"({"id":"blosc","cname":"zstd","clevel":3,"shuffle":2,"blocksize":4096})",
       R"({"blocksize":4096,"clevel":3,"cname":"zstd","id":"blosc","shuffle":2})"},
      {"null", "null"},
  };
  for (const auto& [in, out] : cases) {
    SCOPED_TRACE(in);
    auto codec = codec_from_json(json::parse(in), "test");
    EXPECT_EQ(codec->to_json().dump(), out);
  }
  EXPECT_EQ(codec_from_json(json::parse(R"({"id":"gzip"})"), "t")->id(), "gzip");
  EXPECT_EQ(codec_from_json(json::parse(R"({"id":"zlib"})"), "t")->id(), "zlib");
  EXPECT_EQ(codec_from_json(json::parse(R"({"id":"zstd"})"), "t")->id(), "zstd");
  EXPECT_EQ(codec_from_json(json::parse(R"({"id":"blosc"})"), "t")->id(), "blosc");
  EXPECT_EQ(codec_from_json(json::parse(R"({"id":"bz2"})"), "t")->id(), "bz2");
  EXPECT_EQ(codec_from_json(nullptr, "t")->id(), "null");
  EXPECT_TRUE(make_null_codec()->to_json().is_null());
}

TEST(Codec, JsonErrorsNameTheFile) {
  const std::string where = "/ckpt/a/.zarray";
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"lzma"})"), where), where, "lzma");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"lz4"})"), where), where, "lz4");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"level":1})"), where), where);
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"("gzip")"), where), where);
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":5})"), where), where);
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"gzip","level":10})"), where), where,
                  "level");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"gzip","level":-1})"), where), where,
                  "level");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"gzip","level":"1"})"), where), where,
                  "level");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"bz2","level":0})"), where), where, "level");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"zstd","level":23})"), where), where,
                  "level");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"blosc","cname":"brotli"})"), where), where,
                  "brotli");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"blosc","shuffle":3})"), where), where,
                  "shuffle");
  EXPECT_TE_ERROR(codec_from_json(json::parse(R"({"id":"blosc","clevel":10})"), where), where,
                  "clevel");
}

TEST(Codec, FromCommandLineName) {
  EXPECT_EQ(codec_from_name("gzip", std::nullopt)->to_json().dump(), R"({"id":"gzip","level":1})");
  EXPECT_EQ(codec_from_name("zstd", std::nullopt)->to_json().dump(), R"({"id":"zstd","level":1})");
  EXPECT_EQ(codec_from_name("zstd", 5)->to_json().dump(), R"({"id":"zstd","level":5})");
  EXPECT_EQ(codec_from_name("zlib", 3)->to_json().dump(), R"({"id":"zlib","level":3})");
  EXPECT_EQ(codec_from_name("none", std::nullopt)->id(), "null");
  EXPECT_TE_ERROR(codec_from_name("lzma", 1), "lzma");
}

// Levels outside what the format (gzip, zlib: 0..9) or libzstd accepts are refused, never
// written into a .zarray or silently replaced; a level for raw chunks is refused too.
TEST(Codec, CommandLineLevelRange) {
  EXPECT_EQ(codec_from_name("gzip", 0)->to_json().dump(), R"({"id":"gzip","level":0})");
  EXPECT_EQ(codec_from_name("gzip", 9)->to_json().dump(), R"({"id":"gzip","level":9})");
  EXPECT_TE_ERROR(codec_from_name("gzip", 99), "--compression-level=99", "0 to 9");
  EXPECT_TE_ERROR(codec_from_name("zlib", 10), "--compression-level=10", "0 to 9");
  EXPECT_TE_ERROR(codec_from_name("gzip", -1), "--compression-level=-1", "0 to 9");
  auto [lo, hi] = zstd_level_range();
  EXPECT_EQ(codec_from_name("zstd", hi)->to_json()["level"], hi);
  EXPECT_EQ(codec_from_name("zstd", lo)->to_json()["level"], lo);
  EXPECT_TE_ERROR(codec_from_name("zstd", hi + 1), "--compression-level", "out of range");
  EXPECT_TE_ERROR(codec_from_name("zstd", int64_t{lo} - 1), "--compression-level", "out of range");
  EXPECT_TE_ERROR(codec_from_name("none", 1), "--compression-level=1", "raw chunks have no level");
}

// ---------------------------------------------------------------------------------------------
// Byte formats

// Reads the Frame_Content_Size of a zstd frame header (RFC 8878 §3.1.1.1); -1 when absent.
int64_t zstd_frame_content_size(const Bytes& f) {
  EXPECT_GE(f.size(), 6u);
  EXPECT_EQ(hex(std::span(f).first(4)), "28b52ffd");
  unsigned fhd = static_cast<unsigned>(f[4]);
  unsigned fcs_flag = fhd >> 6, single_segment = (fhd >> 5) & 1, dict_flag = fhd & 3;
  size_t fcs_size = fcs_flag == 0 ? (single_segment ? 1 : 0)
                                  : (fcs_flag == 1   ? 2
                                     : fcs_flag == 2 ? 4
                                                     : 8);
  if (fcs_size == 0) return -1;
  static constexpr size_t kDictSize[] = {0, 1, 2, 4};
  size_t pos = 5 + (single_segment ? 0 : 1) + kDictSize[dict_flag];
  uint64_t v = 0;
  for (size_t i = 0; i < fcs_size; ++i) v |= static_cast<uint64_t>(f[pos + i]) << (8 * i);
  if (fcs_size == 2) v += 256;
  return static_cast<int64_t>(v);
}

TEST(Codec, ZstdFrameRecordsContentSize) {
  for (size_t n : {size_t{1}, size_t{100}, size_t{300}, size_t{70000}, size_t{300000},
                   size_t{(1 << 20) + 5}}) {
    SCOPED_TRACE(n);
    Bytes data = compressible_bytes(n, 4);
    for (int level : {1, 3}) {
      auto codec = make_zstd_codec(level);
      Bytes whole = codec->encode(data, 4);
      EXPECT_EQ(zstd_frame_content_size(whole), static_cast<int64_t>(n));
      EXPECT_EQ(ZSTD_getFrameContentSize(whole.data(), whole.size()), n);
      // Streaming in pieces must still record it (the size is pledged up front).
      Bytes streamed = encode_in_pieces(*codec, data, 4, {1000, 7});
      EXPECT_EQ(zstd_frame_content_size(streamed), static_cast<int64_t>(n));
      // Exactly one frame.
      EXPECT_EQ(ZSTD_findFrameCompressedSize(whole.data(), whole.size()), whole.size());
    }
  }
}

// A TensorStore (< v0.1.85) style frame: streaming API, no pledged size, so no content size field.
Bytes zstd_frame_without_content_size(const Bytes& data, bool checksum) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  Bytes out(ZSTD_compressBound(data.size()) + 64);
  ZSTD_outBuffer ob{out.data(), out.size(), 0};
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min<size_t>(4099, data.size() - pos);
    ZSTD_inBuffer in{data.data() + pos, n, 0};
    while (in.pos < in.size)
      EXPECT_FALSE(ZSTD_isError(ZSTD_compressStream2(c, &ob, &in, ZSTD_e_continue)));
    pos += n;
  }
  ZSTD_inBuffer empty{nullptr, 0, 0};
  size_t rc;
  do {
    rc = ZSTD_compressStream2(c, &ob, &empty, ZSTD_e_end);
    EXPECT_FALSE(ZSTD_isError(rc));
  } while (rc != 0 && !ZSTD_isError(rc));
  ZSTD_freeCCtx(c);
  out.resize(ob.pos);
  return out;
}

TEST(Codec, ZstdFrameWithoutContentSizeDecodes) {
  auto codec = make_zstd_codec(1);
  for (size_t n : {size_t{10}, size_t{5000}, size_t{400000}}) {
    for (bool checksum : {false, true}) {
      SCOPED_TRACE(std::to_string(n) + (checksum ? " checksum" : ""));
      Bytes data = compressible_bytes(n, 5);
      Bytes frame = zstd_frame_without_content_size(data, checksum);
      ASSERT_EQ(zstd_frame_content_size(frame), -1);  // the header really lacks the field
      ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);
      EXPECT_TRUE(codec->decode(frame, n, "chunk") == data);
      EXPECT_TRUE(decode_in_pieces(*codec, frame, n, {1, 2, 3}, {7, 4096}) == data);
      // The wrong decoded size is still detected without a content size in the header.
      EXPECT_TE_ERROR(codec->decode(frame, n + 1, "nofcs/0.0"), "nofcs/0.0");
      EXPECT_TE_ERROR(codec->decode(frame, n - 1, "nofcs/0.0"), "nofcs/0.0");
    }
  }
}

TEST(Codec, ZstdChecksumMismatchIsDetected) {
  Bytes data = compressible_bytes(5000, 6);
  Bytes frame = zstd_frame_without_content_size(data, true);
  frame.back() ^= std::byte{0xff};  // the last 4 bytes are the XXH64 checksum
  EXPECT_TE_ERROR(make_zstd_codec(1)->decode(frame, data.size(), "ck/0"), "ck/0");
}

uint32_t crc32(std::span<const std::byte> data, uint32_t crc = 0) {
  crc = ~crc;
  for (std::byte b : data) {
    crc ^= static_cast<uint8_t>(b);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

void put_le(Bytes& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
}

// Deflate data made only of stored blocks of at most `block` bytes.
Bytes deflate_stored(std::span<const std::byte> data, size_t block = 65535) {
  Bytes out;
  size_t pos = 0;
  do {
    size_t n = std::min(block, data.size() - pos);
    bool last = pos + n == data.size();
    out.push_back(std::byte{static_cast<uint8_t>(last ? 1 : 0)});
    put_le(out, n, 2);
    put_le(out, ~n & 0xffff, 2);
    out.insert(out.end(), data.begin() + static_cast<long>(pos),
               data.begin() + static_cast<long>(pos + n));
    pos += n;
  } while (pos < data.size());
  return out;
}

struct GzipHeaderOptions {
  uint32_t mtime = 0;
  uint8_t xfl = 0, os = 3;
  std::string extra, name, comment;
  bool header_crc = false;
};

Bytes gzip_stored(std::span<const std::byte> data, const GzipHeaderOptions& o = {},
                  size_t block = 65535) {
  Bytes out = bytes_of({0x1f, 0x8b, 0x08, 0});
  uint8_t flg = 0;
  if (o.header_crc) flg |= 2;
  if (!o.extra.empty()) flg |= 4;
  if (!o.name.empty()) flg |= 8;
  if (!o.comment.empty()) flg |= 16;
  out[3] = std::byte{flg};
  put_le(out, o.mtime, 4);
  out.push_back(std::byte{o.xfl});
  out.push_back(std::byte{o.os});
  if (!o.extra.empty()) {
    put_le(out, o.extra.size(), 2);
    Bytes e = bytes_of(o.extra);
    out.insert(out.end(), e.begin(), e.end());
  }
  for (const std::string* s : {&o.name, &o.comment}) {
    if (s->empty()) continue;
    Bytes e = bytes_of(*s);
    out.insert(out.end(), e.begin(), e.end());
    out.push_back(std::byte{0});
  }
  if (o.header_crc) put_le(out, crc32(out) & 0xffff, 2);
  Bytes body = deflate_stored(data, block);
  out.insert(out.end(), body.begin(), body.end());
  put_le(out, crc32(data), 4);
  put_le(out, data.size() & 0xffffffffu, 4);
  return out;
}

TEST(Codec, GzipStoredBlocksDecode) {
  auto gzip = make_deflate_codec(true, 1);
  for (size_t n : {size_t{1}, size_t{400}, size_t{70000}}) {
    SCOPED_TRACE(n);
    Bytes data = random_bytes(n, 7);
    Bytes member = gzip_stored(data);
    EXPECT_TRUE(gzip->decode(member, n, "stored") == data);
    EXPECT_TRUE(decode_in_pieces(*gzip, member, n, {1}, {3}) == data);
    // Many small stored blocks.
    Bytes small_blocks = gzip_stored(data, {}, 100);
    EXPECT_TRUE(gzip->decode(small_blocks, n, "stored") == data);
  }
}

TEST(Codec, GzipAnyHeaderFieldsDecode) {
  auto gzip = make_deflate_codec(true, 1);
  Bytes data = random_bytes(3000, 8);
  GzipHeaderOptions numcodecs_like{0x6b0b2b41, 4, 0xff, "", "", "", false};
  EXPECT_TRUE(gzip->decode(gzip_stored(data, numcodecs_like), data.size(), "h") == data);
  GzipHeaderOptions with_name{12345, 2, 0, "", "weights.bin", "", false};
  EXPECT_TRUE(gzip->decode(gzip_stored(data, with_name), data.size(), "h") == data);
  GzipHeaderOptions everything{1, 0, 7, "AB\x04\x00xyzw", "n", "a comment", true};
  EXPECT_TRUE(gzip->decode(gzip_stored(data, everything), data.size(), "h") == data);
}

TEST(Codec, ZlibStoredBlockDecodes) {
  Bytes data = random_bytes(1000, 10);
  Bytes stream = bytes_of({0x78, 0x01});
  Bytes body = deflate_stored(data);
  stream.insert(stream.end(), body.begin(), body.end());
  uint32_t a = 1, b = 0;
  for (std::byte x : data) {
    a = (a + static_cast<uint8_t>(x)) % 65521;
    b = (b + a) % 65521;
  }
  uint32_t adler = (b << 16) | a;
  for (int i = 3; i >= 0; --i) stream.push_back(static_cast<std::byte>((adler >> (8 * i)) & 0xff));
  auto zlib = make_deflate_codec(false, 1);
  EXPECT_TRUE(zlib->decode(stream, data.size(), "z") == data);
  stream[stream.size() - 1] ^= std::byte{1};  // Adler-32 mismatch
  EXPECT_TE_ERROR(zlib->decode(stream, data.size(), "z/0"), "z/0");
}

TEST(Codec, GzipOutputIsOneStandardMember) {
  Bytes data = compressible_bytes(200000, 11);
  for (int level : {0, 1, 9}) {
    SCOPED_TRACE(level);
    Bytes g = make_deflate_codec(true, level)->encode(data, 4);
    ASSERT_GT(g.size(), 18u);
    EXPECT_EQ(hex(std::span(g).first(3)), "1f8b08");
    // Trailer: CRC-32 and ISIZE of the data (computed here independently).
    uint32_t crc = 0, isize = 0;
    for (int i = 0; i < 4; ++i) {
      crc |= static_cast<uint32_t>(g[g.size() - 8 + i]) << (8 * i);
      isize |= static_cast<uint32_t>(g[g.size() - 4 + i]) << (8 * i);
    }
    EXPECT_EQ(crc, crc32(data));
    EXPECT_EQ(isize, data.size());
  }
  Bytes z = make_deflate_codec(false, 1)->encode(data, 4);
  ASSERT_GT(z.size(), 6u);
  unsigned cmf = static_cast<unsigned>(z[0]), flg = static_cast<unsigned>(z[1]);
  EXPECT_EQ(cmf & 0x0f, 8u);  // deflate
  EXPECT_EQ((cmf * 256 + flg) % 31, 0u);
  EXPECT_EQ(flg & 0x20, 0u);  // no preset dictionary
}

TEST(Codec, BloscContainerHeader) {
  Bytes data = compressible_bytes(40000, 12);
  Bytes b = make_blosc_codec("lz4", 5, -1, 0)->encode(data, 4);
  ASSERT_GE(b.size(), 16u);
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[at + i]) << (8 * i);
    return v;
  };
  EXPECT_EQ(static_cast<unsigned>(b[3]), 4u);  // typesize = itemsize
  EXPECT_EQ(u32(4), data.size());              // nbytes
  EXPECT_EQ(u32(12), b.size());                // cbytes
  // Automatic shuffle: byte shuffle for itemsize > 1, bit shuffle for itemsize 1.
  EXPECT_TRUE(static_cast<unsigned>(b[2]) & 0x1);
  Bytes b1 = make_blosc_codec("lz4", 5, -1, 0)->encode(data, 1);
  EXPECT_TRUE(static_cast<unsigned>(b1[2]) & 0x4);
}

// ---------------------------------------------------------------------------------------------
// Interop with Python's codec implementations (stdlib gzip/zlib/bz2, numcodecs Zstd/Blosc).

TEST(Codec, PythonDecodesWhatTeEncodes) {
  TempDir tmp;
  Bytes data = compressible_bytes(150001, 13);
  write_bytes(tmp / "raw", data);
  std::map<std::string, std::shared_ptr<const Codec>> codecs = {
      {"gzip", make_deflate_codec(true, 1)},
      {"gzip9", make_deflate_codec(true, 9)},
      {"zlib", make_deflate_codec(false, 1)},
      {"zstd", make_zstd_codec(1)},
      {"bz2", make_bz2_codec(1)},
      {"blosc", make_blosc_codec("lz4", 5, -1, 0)},
      {"blosc_zstd", make_blosc_codec("zstd", 3, 2, 0)},
  };
  for (const auto& [name, codec] : codecs)
    write_bytes(tmp / (name + ".enc"), codec->encode(data, 1));
  std::string out = run_python(R"(
import sys, os, gzip, zlib, bz2, numcodecs
d = sys.argv[1]
raw = open(os.path.join(d, 'raw'), 'rb').read()
dec = {'gzip': gzip.decompress, 'gzip9': gzip.decompress, 'zlib': zlib.decompress,
       'bz2': bz2.decompress, 'zstd': numcodecs.Zstd().decode,
       'blosc': numcodecs.Blosc().decode, 'blosc_zstd': numcodecs.Blosc().decode}
for name, f in sorted(dec.items()):
    got = bytes(f(open(os.path.join(d, name + '.enc'), 'rb').read()))
    print(name, 'ok' if got == raw else 'MISMATCH')
)",
                               {tmp.path().string()});
  EXPECT_EQ(out, "blosc ok\nblosc_zstd ok\nbz2 ok\ngzip ok\ngzip9 ok\nzlib ok\nzstd ok\n");
}

TEST(Codec, TeDecodesWhatPythonEncodes) {
  TempDir tmp;
  Bytes data = compressible_bytes(150001, 14);
  write_bytes(tmp / "raw", data);
  run_python(R"(
import sys, os, io, gzip, zlib, bz2, numcodecs
d = sys.argv[1]
raw = open(os.path.join(d, 'raw'), 'rb').read()
def named_gzip(b):
    buf = io.BytesIO()
    with gzip.GzipFile(filename='x.bin', mode='wb', fileobj=buf, mtime=1234567) as f:
        f.write(b)
    return buf.getvalue()
enc = {'gzip': numcodecs.GZip(1).encode, 'gzip_named': named_gzip, 'gzip9': lambda b: gzip.compress(b, 9),
       'zlib': zlib.compress, 'zlib9': lambda b: zlib.compress(b, 9),
       'bz2': bz2.compress, 'zstd': numcodecs.Zstd(1).encode, 'zstd19': numcodecs.Zstd(19).encode,
       'blosc_lz4': numcodecs.Blosc('lz4', 5, numcodecs.Blosc.SHUFFLE).encode,
       'blosc_zstd': numcodecs.Blosc('zstd', 5, numcodecs.Blosc.BITSHUFFLE).encode,
       'blosc_blosclz': numcodecs.Blosc('blosclz', 9, numcodecs.Blosc.NOSHUFFLE).encode,
       'blosc_zlib': numcodecs.Blosc('zlib', 1, numcodecs.Blosc.SHUFFLE).encode}
for name, f in enc.items():
    open(os.path.join(d, name + '.enc'), 'wb').write(bytes(f(raw)))
)",
             {tmp.path().string()});
  const std::map<std::string, std::shared_ptr<const Codec>> codecs = {
      {"gzip", make_deflate_codec(true, 1)},
      {"gzip_named", make_deflate_codec(true, 1)},
      {"gzip9", make_deflate_codec(true, 1)},
      {"zlib", make_deflate_codec(false, 1)},
      {"zlib9", make_deflate_codec(false, 1)},
      {"bz2", make_bz2_codec(1)},
      {"zstd", make_zstd_codec(1)},
      {"zstd19", make_zstd_codec(1)},
      {"blosc_lz4", make_blosc_codec("lz4", 5, -1, 0)},
      {"blosc_zstd", make_blosc_codec("lz4", 5, -1, 0)},
      {"blosc_blosclz", make_blosc_codec("lz4", 5, -1, 0)},
      {"blosc_zlib", make_blosc_codec("lz4", 5, -1, 0)},
  };
  for (const auto& [name, codec] : codecs) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(fs::exists(tmp / (name + ".enc")));
    Bytes enc = read_bytes(tmp / (name + ".enc"));
    EXPECT_TRUE(codec->decode(enc, data.size(), name) == data);
    EXPECT_TRUE(decode_in_pieces(*codec, enc, data.size(), {3, 1}, {1001}) == data);
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: every one names the chunk.

struct ErrorCodec {
  std::string label;
  std::shared_ptr<const Codec> codec;
};

std::vector<ErrorCodec> error_codecs() {
  return {{"null", make_null_codec()},
          {"gzip", make_deflate_codec(true, 1)},
          {"zlib", make_deflate_codec(false, 1)},
          {"zstd", make_zstd_codec(1)},
          {"bz2", make_bz2_codec(1)},
          {"blosc", make_blosc_codec("lz4", 5, -1, 0)}};
}

TEST(CodecErrors, DecodedTooLong) {
  const std::string name = "/ckpt/arr/0.1";
  Bytes data = compressible_bytes(10016, 15);
  for (const auto& c : error_codecs()) {
    SCOPED_TRACE(c.label);
    Bytes enc = c.codec->encode(data, 4);
    EXPECT_TE_ERROR(c.codec->decode(enc, 10000, name), name);
    EXPECT_TE_ERROR(decode_in_pieces(*c.codec, enc, 10000, {5}, {999}, name), name);
  }
}

TEST(CodecErrors, DecodedTooShort) {
  const std::string name = "/ckpt/arr/1.0";
  Bytes data = compressible_bytes(9984, 16);
  for (const auto& c : error_codecs()) {
    SCOPED_TRACE(c.label);
    Bytes enc = c.codec->encode(data, 4);
    EXPECT_TE_ERROR(c.codec->decode(enc, 10000, name), name);
    EXPECT_TE_ERROR(decode_in_pieces(*c.codec, enc, 10000, {5}, {999}, name), name);
  }
}

TEST(CodecErrors, Truncated) {
  const std::string name = "/ckpt/arr/2.2";
  Bytes data = random_bytes(20000, 17);
  for (const auto& c : error_codecs()) {
    SCOPED_TRACE(c.label);
    Bytes enc = c.codec->encode(data, 4);
    for (size_t keep : {enc.size() / 2, enc.size() - 1, size_t{5}}) {
      SCOPED_TRACE(keep);
      Bytes cut(enc.begin(), enc.begin() + static_cast<long>(keep));
      EXPECT_TE_ERROR(c.codec->decode(cut, data.size(), name), name);
    }
    Bytes empty;
    EXPECT_TE_ERROR(c.codec->decode(empty, data.size(), name), name);
  }
}

TEST(CodecErrors, Corrupt) {
  const std::string name = "/ckpt/arr/3.0";
  Bytes data = compressible_bytes(20000, 18);
  for (const auto& c : error_codecs()) {
    if (c.label == "null") continue;  // raw bytes cannot be corrupt
    SCOPED_TRACE(c.label);
    Bytes enc = c.codec->encode(data, 4);
    Bytes bad_header = enc;
    bad_header[0] ^= std::byte{0xff};
    bad_header[1] ^= std::byte{0x55};
    EXPECT_TE_ERROR(c.codec->decode(bad_header, data.size(), name), name);
    if (c.label == "zstd" || c.label == "blosc") continue;  // no checksum over the payload
    Bytes bad_body = enc;
    for (size_t i = enc.size() / 3; i < enc.size() / 3 + 8; ++i) bad_body[i] ^= std::byte{0xa5};
    EXPECT_TE_ERROR(c.codec->decode(bad_body, data.size(), name), name);
  }
}

TEST(CodecErrors, GzipTrailerMismatch) {
  Bytes data = random_bytes(500, 19);
  auto gzip = make_deflate_codec(true, 1);
  Bytes bad_crc = gzip_stored(data);
  bad_crc[bad_crc.size() - 8] ^= std::byte{1};
  EXPECT_TE_ERROR(gzip->decode(bad_crc, data.size(), "crc/0"), "crc/0");
  Bytes bad_isize = gzip_stored(data);
  bad_isize[bad_isize.size() - 4] ^= std::byte{1};
  EXPECT_TE_ERROR(gzip->decode(bad_isize, data.size(), "isize/0"), "isize/0");
  // A member whose trailer is cut off.
  Bytes no_trailer = gzip_stored(data);
  no_trailer.resize(no_trailer.size() - 4);
  EXPECT_TE_ERROR(gzip->decode(no_trailer, data.size(), "cut/0"), "cut/0");
}

TEST(CodecErrors, TrailingGarbage) {
  const std::string name = "/ckpt/arr/4.4";
  Bytes data = compressible_bytes(10000, 20);
  const Bytes garbage = bytes_of(std::string("garbage!"));
  for (const auto& c : error_codecs()) {
    SCOPED_TRACE(c.label);
    Bytes enc = c.codec->encode(data, 4);
    Bytes extra = enc;
    extra.insert(extra.end(), garbage.begin(), garbage.end());
    EXPECT_TE_ERROR(c.codec->decode(extra, data.size(), name), name);
    EXPECT_TE_ERROR(decode_in_pieces(*c.codec, extra, data.size(), {1}, {4096}, name), name);
    Bytes one_zero = enc;
    one_zero.push_back(std::byte{0});
    EXPECT_TE_ERROR(c.codec->decode(one_zero, data.size(), name), name);
  }
}

TEST(CodecErrors, SecondMemberOrFrameIsRejected) {
  Bytes data = compressible_bytes(5000, 21);
  for (const auto& c : error_codecs()) {
    if (c.label == "null") continue;
    SCOPED_TRACE(c.label);
    // Two independent encodings of half the data each: valid concatenated streams for gzip, bz2
    // and zstd tools, but TensorStore requires exactly one.
    Bytes half(data.begin(), data.begin() + 2500);
    Bytes first = c.codec->encode(half, 4), second = c.codec->encode(half, 4);
    Bytes both = first;
    both.insert(both.end(), second.begin(), second.end());
    EXPECT_TE_ERROR(c.codec->decode(both, 5000, "two/0"), "two/0");
  }
}

TEST(CodecErrors, StoredGzipWithGarbage) {
  Bytes data = random_bytes(400, 22);
  Bytes g = gzip_stored(data);
  g.push_back(std::byte{0x42});
  EXPECT_TE_ERROR(make_deflate_codec(true, 1)->decode(g, data.size(), "sg/0"), "sg/0");
}

}  // namespace
}  // namespace te::zarr
