// sharding_indexed: several inner chunks, missing inner chunks, the index at the end and at the
// start, index CRC-32C checked with an error naming the key, out-of-range index entries.
#include <cstring>

#include "test_util.h"
#include "zarr/sharding.h"
#include "zarr/v3_data_type.h"

namespace te::zarr::v3 {
namespace {

using te::testing::bytes_of_values;
using te::testing::hex;
using te::testing::unhex;

DType type(const char* name) {
  return dtype_from_v3_name(name, "test");
}

uint64_t u64_at(const Bytes& b, size_t offset) {
  uint64_t v = 0;
  std::memcpy(&v, b.data() + offset, 8);
  return v;
}

// [4,6] int32 values 0..23 in shards of inner chunks [2,3]: a 2x2 inner grid.
struct Fixture {
  DType dtype = type("int32");
  Shape shape{4, 6};
  Bytes data;
  Bytes fill = bytes_of_values<int32_t>({-1});
  Fixture() {
    std::vector<int32_t> v(24);
    for (int i = 0; i < 24; ++i) v[i] = i;
    data = bytes_of_values(v);
  }
  ShardingConfig config(bool at_end, std::vector<V3Codec> inner = {}) const {
    if (inner.empty()) inner = {bytes_codec(dtype), zstd_codec()};
    ShardingConfig c;
    c.chunk_shape = {2, 3};
    c.codecs = std::make_shared<CodecChain>(CodecChain{inner});
    c.index_codecs = std::make_shared<CodecChain>(default_index_codecs());
    c.index_at_end = at_end;
    return c;
  }
};

TEST(Zarr3Sharding, SeveralInnerChunksIndexAtEndAndStart) {
  Fixture f;
  for (bool at_end : {true, false}) {
    ShardingConfig c = f.config(at_end, {bytes_codec(f.dtype)});
    Bytes shard = encode_shard(c, f.dtype, f.shape, f.data, f.fill, "k", {});
    // 4 raw inner chunks of 24 bytes + 4 * 16 index bytes + 4 CRC bytes.
    ASSERT_EQ(shard.size(), 4 * 24 + 64 + 4u);
    const size_t index_at = at_end ? 96 : 0, data_at = at_end ? 0 : 68;
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(u64_at(shard, index_at + 16 * i), data_at + 24 * i);
      EXPECT_EQ(u64_at(shard, index_at + 16 * i + 8), 24u);
    }
    // Inner chunk [0,1] holds rows 0-1, columns 3-5: 3 4 5 9 10 11.
    EXPECT_EQ(hex(Bytes(shard.begin() + data_at + 24, shard.begin() + data_at + 48)),
              hex(bytes_of_values<int32_t>({3, 4, 5, 9, 10, 11})));
    EXPECT_EQ(decode_shard(c, f.dtype, f.shape, shard, f.fill, "k"), f.data);
    auto entries = read_shard_index(c, f.shape, shard, "k");
    ASSERT_EQ(entries.size(), 4u);
    EXPECT_FALSE(entries[3].missing());
  }
}

TEST(Zarr3Sharding, MissingInnerChunksReadAsTheFillValue) {
  Fixture f;
  ShardingConfig c = f.config(true);
  // Inner chunk [1,0] (rows 2-3, columns 0-2) all equal to the fill value: left out.
  Bytes data = f.data;
  for (int r = 2; r < 4; ++r)
    for (int col = 0; col < 3; ++col)
      std::memcpy(data.data() + 4 * (r * 6 + col), f.fill.data(), 4);
  Bytes kept = encode_shard(c, f.dtype, f.shape, data, f.fill, "k", {});
  Bytes skipped = encode_shard(c, f.dtype, f.shape, data, f.fill, "k", {true});
  auto entries = read_shard_index(c, f.shape, skipped, "k");
  EXPECT_TRUE(entries[2].missing());
  EXPECT_FALSE(entries[1].missing());
  EXPECT_FALSE(read_shard_index(c, f.shape, kept, "k")[2].missing());
  EXPECT_LT(skipped.size(), kept.size());
  EXPECT_EQ(decode_shard(c, f.dtype, f.shape, skipped, f.fill, "k"), data);
  EXPECT_EQ(decode_shard(c, f.dtype, f.shape, kept, f.fill, "k"), data);
  // A shard whose every inner chunk is missing is just the index.
  Bytes all_fill(f.data.size());
  for (size_t i = 0; i < all_fill.size(); i += 4)
    std::memcpy(all_fill.data() + i, f.fill.data(), 4);
  Bytes empty = encode_shard(c, f.dtype, f.shape, all_fill, f.fill, "k", {true});
  EXPECT_EQ(empty.size(), 68u);
  EXPECT_EQ(hex(Bytes(empty.begin(), empty.begin() + 64)), std::string(128, 'f'));
  EXPECT_EQ(decode_shard(c, f.dtype, f.shape, empty, f.fill, "k"), all_fill);
}

TEST(Zarr3Sharding, WrongIndexCrcIsAnErrorNamingTheKey) {
  Fixture f;
  for (bool at_end : {true, false}) {
    ShardingConfig c = f.config(at_end);
    Bytes shard = encode_shard(c, f.dtype, f.shape, f.data, f.fill, "k", {});
    size_t crc_at = at_end ? shard.size() - 1 : 64;
    shard[crc_at] ^= std::byte{0x40};
    EXPECT_TE_ERROR(
        decode_shard(c, f.dtype, f.shape, shard, f.fill, "OCDBT /ckpt/state key 'w/c/0/0'"),
        "OCDBT /ckpt/state key 'w/c/0/0'", "shard index", "CRC-32C mismatch");
  }
}

TEST(Zarr3Sharding, BadIndexEntriesAndShortShardsAreErrors) {
  Fixture f;
  ShardingConfig c = f.config(true, {bytes_codec(f.dtype)});
  Bytes shard = encode_shard(c, f.dtype, f.shape, f.data, f.fill, "k", {});
  EXPECT_TE_ERROR(
      decode_shard(c, f.dtype, f.shape, Bytes(shard.begin(), shard.begin() + 20), f.fill, "key s"),
      "key s", "shorter than its index");
  // Rewrite entry 1 to reach past the data and fix the CRC: the range check catches it.
  ShardingConfig no_crc = c;
  no_crc.index_codecs =
      std::make_shared<CodecChain>(CodecChain{{bytes_codec(type("uint64"), Endian::kLittle)}});
  Bytes plain = encode_shard(no_crc, f.dtype, f.shape, f.data, f.fill, "k", {});
  uint64_t far = 90;
  std::memcpy(plain.data() + 96 + 16, &far, 8);
  EXPECT_TE_ERROR(decode_shard(no_crc, f.dtype, f.shape, plain, f.fill, "key r"), "key r",
                  "entry 1", "outside the shard");
  uint64_t missing = UINT64_MAX;
  std::memcpy(plain.data() + 96 + 16, &missing, 8);  // only the offset says missing
  EXPECT_TE_ERROR(decode_shard(no_crc, f.dtype, f.shape, plain, f.fill, "key r"), "entry 1");
  // Inner chunks that do not tile the shard.
  ShardingConfig odd = c;
  odd.chunk_shape = {3, 3};
  EXPECT_TE_ERROR(decode_shard(odd, f.dtype, f.shape, shard, f.fill, "key o"), "key o",
                  "does not divide");
}

TEST(Zarr3Sharding, BigEndianIndexAndNestedShards) {
  Fixture f;
  ShardingConfig c = f.config(true);
  c.index_codecs = std::make_shared<CodecChain>(
      CodecChain{{bytes_codec(type("uint64"), Endian::kBig), crc32c_codec()}});
  Bytes shard = encode_shard(c, f.dtype, f.shape, f.data, f.fill, "k", {});
  // First index entry: offset 0 as big-endian uint64, then its nbytes.
  EXPECT_EQ(hex(Bytes(shard.end() - 68, shard.end() - 60)), "0000000000000000");
  EXPECT_EQ(static_cast<int>(shard[shard.size() - 68 + 8]), 0);
  EXPECT_EQ(decode_shard(c, f.dtype, f.shape, shard, f.fill, "k"), f.data);
  // A shard of [4,6] split into [2,6] shards of [2,3] inner chunks, index at the start inside.
  ShardingConfig inner_cfg = f.config(false);
  V3Codec inner = sharding_codec({2, 3}, *inner_cfg.codecs, default_index_codecs(), false);
  ShardingConfig outer;
  outer.chunk_shape = {2, 6};
  outer.codecs =
      std::make_shared<CodecChain>(CodecChain{{transpose_codec({0, 1}), inner, crc32c_codec()}});
  outer.index_codecs = std::make_shared<CodecChain>(default_index_codecs());
  Bytes nested = encode_shard(outer, f.dtype, f.shape, f.data, f.fill, "k", {});
  EXPECT_EQ(decode_shard(outer, f.dtype, f.shape, nested, f.fill, "k"), f.data);
}

}  // namespace
}  // namespace te::zarr::v3

namespace te::zarr::v3 {
namespace {

TEST(Zarr3Sharding, SingleInnerChunkBytesAreCopiedNotReencoded) {
  // The fixture's a/c/0 (orbax-format.md §6): a zstd frame of int32 0..7 + index + CRC.
  const Bytes frame = te::testing::unhex(
      "28b52ffd2020010100"
      "0000000001000000020000000300000004000000050000000600000007000000");
  const Bytes fixture =
      te::testing::unhex(te::testing::hex(frame) + "000000000000000029000000000000008e867744");
  DType i32 = dtype_from_v3_name("int32", "t");
  ShardingConfig c;
  c.chunk_shape = {8};
  c.codecs = std::make_shared<CodecChain>(CodecChain{{bytes_codec(i32), zstd_codec()}});
  c.index_codecs = std::make_shared<CodecChain>(default_index_codecs());
  EXPECT_EQ(shard_of_single_inner_chunk(c, {8}, frame, "k"), fixture);
  auto inner = single_inner_chunk(c, {8}, fixture, "k");
  ASSERT_TRUE(inner.has_value());
  EXPECT_EQ(Bytes(inner->begin(), inner->end()), frame);
  EXPECT_EQ(shard_index_size(c, {8}, "k"), 20u);
  EXPECT_EQ(shard_index_offset(c, {8}, 61, "k"), 41u);
  // Index at the start: the offset counts the index.
  c.index_at_end = false;
  Bytes start = shard_of_single_inner_chunk(c, {8}, frame, "k");
  EXPECT_EQ(read_shard_index(c, {8}, start, "k")[0], (ShardIndexEntry{20, 41}));
  EXPECT_EQ(decode_shard(c, i32, {8}, start, Bytes(4), "k"),
            te::testing::bytes_of_values<int32_t>({0, 1, 2, 3, 4, 5, 6, 7}));
  // A missing single inner chunk.
  Bytes empty = encode_shard(c, i32, {8}, Bytes(32), Bytes(4), "k", {true});
  EXPECT_FALSE(single_inner_chunk(c, {8}, empty, "k").has_value());
  c.chunk_shape = {4};
  EXPECT_TE_ERROR(single_inner_chunk(c, {8}, fixture, "key m"), "key m", "more than one");
}

}  // namespace
}  // namespace te::zarr::v3
