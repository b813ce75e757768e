// zarr v3 codecs: each round trips, and the stored bytes are what the spec says (byte order of
// `bytes`, element order of `transpose`, CRC-32C trailer, zstd frame options).
#include <zstd.h>

#include "test_util.h"
#include "zarr/v3_codecs.h"
#include "zarr/v3_data_type.h"

namespace te::zarr::v3 {
namespace {

using te::testing::bytes_of_values;
using te::testing::hex;
using te::testing::random_bytes;
using te::testing::unhex;

DType type(const char* name) {
  return dtype_from_v3_name(name, "test");
}

CodecChain chain(std::vector<V3Codec> codecs) {
  return CodecChain{std::move(codecs)};
}

Bytes roundtrip(const CodecChain& c, const DType& d, const Shape& shape, const Bytes& data) {
  Bytes fill(d.itemsize);
  Bytes stored = encode_chunk(c, d, shape, data, fill, "chunk");
  return decode_chunk(c, d, shape, stored, fill, "chunk");
}

TEST(Zarr3Codecs, BytesLittleAndBigEndian) {
  DType i32 = type("int32");
  Bytes data = bytes_of_values<int32_t>({1, 0x01020304});
  Bytes fill(4);
  EXPECT_EQ(hex(encode_chunk(chain({bytes_codec(i32)}), i32, {2}, data, fill, "k")),
            "0100000004030201");
  CodecChain big = chain({bytes_codec(i32, Endian::kBig)});
  EXPECT_EQ(hex(encode_chunk(big, i32, {2}, data, fill, "k")), "0000000101020304");
  EXPECT_EQ(decode_chunk(big, i32, {2}, unhex("0000000101020304"), fill, "k"), data);
  // complex: each component swapped on its own; bfloat16 as 2 bytes; 1-byte types untouched.
  DType c64 = type("complex64");
  Bytes c = unhex("0000803f00000040");  // 1 + 2i
  EXPECT_EQ(hex(encode_chunk(chain({bytes_codec(c64, Endian::kBig)}), c64, {1}, c, Bytes(8), "k")),
            "3f80000040000000");
  DType bf = type("bfloat16");
  EXPECT_EQ(hex(encode_chunk(chain({bytes_codec(bf, Endian::kBig)}), bf, {1}, unhex("803f"),
                             Bytes(2), "k")),
            "3f80");
  DType f8 = type("float8_e4m3fn");
  EXPECT_EQ(bytes_codec(f8, Endian::kBig).to_json().dump(), R"({"name":"bytes"})");
  EXPECT_EQ(bytes_codec(i32, Endian::kBig).to_json().dump(),
            R"({"configuration":{"endian":"big"},"name":"bytes"})");
  EXPECT_TE_ERROR(decode_chunk(big, i32, {2}, unhex("00000001"), fill, "key c/0"), "key c/0",
                  "holds 4 bytes, expected 8");
}

TEST(Zarr3Codecs, TransposeStoresThePermutedArray) {
  DType u8 = type("uint8");
  // decoded [2,3] = 0 1 2 / 3 4 5; order [1,0] stores the [3,2] array 0 3 / 1 4 / 2 5.
  CodecChain t = chain({transpose_codec({1, 0}), bytes_codec(u8)});
  Bytes data = unhex("000102030405");
  Bytes stored = encode_chunk(t, u8, {2, 3}, data, Bytes(1), "k");
  EXPECT_EQ(hex(stored), "000301040205");
  EXPECT_EQ(decode_chunk(t, u8, {2, 3}, stored, Bytes(1), "k"), data);
  // Rank 3, a non-involutive permutation, two transposes in a row, multi-byte elements.
  DType i16 = type("int16");
  Bytes cube = random_bytes(4 * 3 * 5 * 2, 7);
  CodecChain t3 = chain({transpose_codec({2, 0, 1}), transpose_codec({1, 2, 0}),
                         bytes_codec(i16, Endian::kBig), zstd_codec()});
  EXPECT_EQ(roundtrip(t3, i16, {4, 3, 5}, cube), cube);
  // Element (i, j, k) of a [2,3,4] array lands at (k, i, j) of the stored [4,2,3] array.
  DType u8b = type("uint8");
  Bytes ramp(24);
  for (int i = 0; i < 24; ++i) ramp[i] = static_cast<std::byte>(i);
  Bytes s = encode_chunk(chain({transpose_codec({2, 0, 1}), bytes_codec(u8b)}), u8b, {2, 3, 4},
                         ramp, Bytes(1), "k");
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(s[(k * 2 + i) * 3 + j], ramp[(i * 3 + j) * 4 + k]);
}

TEST(Zarr3Codecs, EveryBytesCodecRoundTrips) {
  DType f32 = type("float32");
  Bytes data = te::testing::compressible_bytes(4 * 1000, 3);
  const std::vector<std::vector<V3Codec>> chains = {
      {bytes_codec(f32)},
      {bytes_codec(f32), zstd_codec(1)},
      {bytes_codec(f32), zstd_codec(19, true)},
      {bytes_codec(f32), gzip_codec(0)},
      {bytes_codec(f32), gzip_codec(9)},
      {bytes_codec(f32), blosc_codec(f32)},
      {bytes_codec(f32), blosc_codec(f32, "zstd", 9, V3Codec::Shuffle::kBit)},
      {bytes_codec(f32), blosc_codec(f32, "blosclz", 1, V3Codec::Shuffle::kNone)},
      {bytes_codec(f32), crc32c_codec()},
      {bytes_codec(f32, Endian::kBig), crc32c_codec(), zstd_codec(), crc32c_codec()},
      // Sizes unknown to the decoder: gzip after zstd (ISIZE), zstd after gzip (streamed).
      {bytes_codec(f32), zstd_codec(), gzip_codec(), zstd_codec(3, true)},
      {transpose_codec({0}), bytes_codec(f32), blosc_codec(f32), gzip_codec(1)},
  };
  for (const auto& codecs : chains) {
    CodecChain c = chain(codecs);
    EXPECT_EQ(roundtrip(c, f32, {1000}, data), data) << c.to_json().dump();
    // And through its JSON form.
    CodecChain reparsed = parse_codec_chain(c.to_json(), f32, 1, "json");
    EXPECT_EQ(reparsed.to_json(), c.to_json());
    EXPECT_EQ(roundtrip(reparsed, f32, {1000}, data), data);
  }
}

TEST(Zarr3Codecs, Crc32cTrailerIsCheckedAndNamesTheKey) {
  DType u8 = type("uint8");
  CodecChain c = chain({bytes_codec(u8), crc32c_codec()});
  Bytes stored = encode_chunk(c, u8, {9}, te::testing::bytes_of("123456789"), Bytes(1), "k");
  // CRC-32C("123456789") = 0xE3069283, stored little-endian.
  EXPECT_EQ(hex(stored), hex(te::testing::bytes_of("123456789")) + "839206e3");
  stored[2] ^= std::byte{1};
  EXPECT_TE_ERROR(decode_chunk(c, u8, {9}, stored, Bytes(1), "local file /x/a/c/0"),
                  "local file /x/a/c/0", "CRC-32C mismatch");
}

TEST(Zarr3Codecs, ZstdFramesCarryTheirOptions) {
  DType u8 = type("uint8");
  Bytes data = random_bytes(100, 1);
  Bytes plain =
      encode_chunk(chain({bytes_codec(u8), zstd_codec()}), u8, {100}, data, Bytes(1), "k");
  Bytes checked =
      encode_chunk(chain({bytes_codec(u8), zstd_codec(3, true)}), u8, {100}, data, Bytes(1), "k");
  EXPECT_EQ(ZSTD_getFrameContentSize(plain.data(), plain.size()), 100u);
  EXPECT_EQ(checked.size(), plain.size() + 4);  // the frame checksum
  // A frame without Frame_Content_Size (as the v2 driver writes) decodes too: raw block of 3.
  Bytes no_fcs = unhex(
      "28b52ffd0000190000"
      "616263");
  EXPECT_EQ(decode_chunk(chain({bytes_codec(u8), zstd_codec()}), u8, {3}, no_fcs, Bytes(1), "k"),
            te::testing::bytes_of("abc"));
  EXPECT_TE_ERROR(
      decode_chunk(chain({bytes_codec(u8), zstd_codec()}), u8, {4}, no_fcs, Bytes(1), "key q"),
      "key q", "expected 4");
  Bytes corrupt = plain;
  corrupt.resize(corrupt.size() - 3);
  EXPECT_TE_ERROR(
      decode_chunk(chain({bytes_codec(u8), zstd_codec()}), u8, {100}, corrupt, Bytes(1), "key z"),
      "key z");
}

TEST(Zarr3Codecs, ChainOrderIsValidated) {
  DType u8 = type("uint8");
  auto parse = [&](const std::string& text) {
    return parse_codec_chain(nlohmann::json::parse(text), u8, 1, "a/zarr.json");
  };
  EXPECT_TE_ERROR(parse(R"([{"name":"zstd"}])"), "a/zarr.json", "before the array-to-bytes");
  EXPECT_TE_ERROR(parse(R"([])"), "no array-to-bytes codec");
  EXPECT_TE_ERROR(parse(R"([{"name":"bytes"},{"name":"bytes"}])"), "more than one");
  EXPECT_TE_ERROR(parse(R"([{"name":"bytes"},{"name":"transpose","configuration":{"order":[0]}}])"),
                  "after the array-to-bytes");
  EXPECT_TE_ERROR(parse(R"([{"name":"transpose","configuration":{"order":[1]}},{"name":"bytes"}])"),
                  "not a permutation");
  EXPECT_TE_ERROR(parse(R"([{"name":"bytes"},{"name":"gzip","configuration":{"level":10}}])"),
                  "level", "0..9");
  EXPECT_TE_ERROR(parse(R"([{"name":"bytes"},{"name":"zstd","configuration":{"lvl":1}}])"),
                  "unknown configuration member \"lvl\"");
  EXPECT_TE_ERROR(parse(R"([{"name":"bytes"},{"name":"blosc","configuration":{"cname":"x"}}])"),
                  "cname");
}

}  // namespace
}  // namespace te::zarr::v3
