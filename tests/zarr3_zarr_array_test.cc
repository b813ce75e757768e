// zarr3 arrays through ZarrArray (the interface the executor uses): the executor chunk of an
// Orbax-style shard is its inner chunk, read by byte ranges through the shard index; derived and
// equivalent metadata; writes of one inner chunk per shard read back by V3Array.
#include <gtest/gtest.h>

#include <cstring>

#include "kvstore/memory/memory_store.h"
#include "test_util.h"
#include "util/error.h"
#include "zarr/array.h"
#include "zarr/v3_array.h"
#include "zarr/v3_array_metadata.h"
#include "zarr/v3_data_type.h"

namespace te::zarr {
namespace {

v3::V3Metadata sharded_int32(Shape shape, Shape shard, Shape inner) {
  DType i32 = v3::dtype_from_v3_name("int32", "test");
  v3::V3Metadata m = v3::orbax_v3_metadata(i32, std::move(shape), std::move(shard), 3);
  const v3::ShardingConfig old = *m.codecs.codecs[0].sharding;
  m.codecs.codecs[0] = v3::sharding_codec(std::move(inner), *old.codecs, *old.index_codecs);
  return m;
}

TEST(Zarr3ZarrArray, ReadsInnerChunksOfAShardWrittenByV3Array) {
  auto store = std::make_shared<kv::MemoryStore>();
  // Shards [4,6] of inner chunks [2,3]; the array [6,6] has a partial last shard row.
  auto v3m = sharded_int32({6, 6}, {4, 6}, {2, 3});
  Bytes data = testing::int32_ramp(36);
  v3::V3Array::create(*store, "a", v3m).write_all(*store, data);
  ZarrArray a = ZarrArray::open(store, "a/");
  ASSERT_TRUE(a.metadata().is_zarr3());
  EXPECT_EQ(a.metadata().chunks, (Shape{2, 3}));
  EXPECT_EQ(a.metadata().stored_chunk_shape(), (Shape{4, 6}));
  EXPECT_EQ(a.metadata().grid_shape(), (Shape{3, 2}));
  EXPECT_EQ(a.chunk_key({2, 1}), "a/c/1/0");  // inner chunk [2,1] lies in shard [1,0]
  EXPECT_EQ(a.read_all(), data);
  // One inner chunk through the streaming reader: rows 2..3, columns 3..5.
  auto reader = a.open_chunk({1, 1});
  Bytes chunk(24);
  reader->read(chunk);
  reader->finish();
  Bytes want(24);
  for (int r = 0; r < 2; ++r)
    std::memcpy(want.data() + r * 12, data.data() + ((2 + r) * 6 + 3) * 4, 12);
  EXPECT_EQ(chunk, want);
}

TEST(Zarr3ZarrArray, AMissingShardReadsAsTheFillValue) {
  auto store = std::make_shared<kv::MemoryStore>();
  auto v3m = sharded_int32({4}, {2}, {1});
  v3m.fill_value = Bytes{std::byte{9}, std::byte{0}, std::byte{0}, std::byte{0}};
  v3::V3Array::create(*store, "a", v3m);
  ZarrArray a = ZarrArray::open(store, "a/");
  Bytes all = a.read_all();
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(all[4 * i], std::byte{9});
}

TEST(Zarr3ZarrArray, DerivedArrayWritesOneInnerChunkPerShard) {
  auto like = sharded_int32({4, 8}, {4, 8}, {2, 4});
  auto out = v3::derive_v3_array(like, {8, 4}, {4, 2}, nullptr, "out");
  ASSERT_TRUE(out.v3);
  EXPECT_EQ(out.v3->chunk_shape, (Shape{4, 2}));
  EXPECT_EQ(out.chunks, (Shape{4, 2}));
  EXPECT_EQ(out.v3->codecs.codecs[0].sharding->chunk_shape, (Shape{4, 2}));
  auto store = std::make_shared<kv::MemoryStore>();
  ZarrArray a = ZarrArray::create(store, "o/", out);
  Bytes data = testing::int32_ramp(32);
  a.write_all(data);
  auto back = v3::V3Array::open(*store, "o");
  EXPECT_EQ(back.read_all(), data);
  EXPECT_EQ(back.metadata().to_text(), out.v3->to_text());
}

TEST(Zarr3ZarrArray, RecodeReplacesTheCompression) {
  auto like = sharded_int32({4}, {4}, {4});
  auto gzip = make_deflate_codec(true, 5);
  auto out = v3::derive_v3_array(like, {4}, {4}, gzip.get(), "out");
  const auto& inner = out.v3->codecs.codecs[0].sharding->codecs->codecs;
  ASSERT_EQ(inner.size(), 2u);
  EXPECT_EQ(inner[1].kind, v3::V3Codec::Kind::kGzip);
  EXPECT_EQ(inner[1].level, 5);
  auto zlib = make_deflate_codec(false, 1);
  EXPECT_THROW(v3::derive_v3_array(like, {4}, {4}, zlib.get(), "out"), Error);
}

TEST(Zarr3ZarrArray, EquivalentOfAV2ArrayHoldsTheSameValues) {
  auto v2 = ArrayMetadata::make({5, 3}, {2, 3}, parse_zarr_dtype("<i4", "t"), make_zstd_codec(1));
  auto v3m = v3::v3_equivalent_of(v2, "x");
  EXPECT_EQ(v3m.chunks, v2.chunks);
  EXPECT_EQ(v3m.stored_chunk_shape(), v2.chunks);
  EXPECT_EQ(v3::describe_v3_codecs(*v3m.v3),
            "sharding_indexed(bytes+zstd/1) shard [2,3] inner [2,3]");
  auto store = std::make_shared<kv::MemoryStore>();
  Bytes data = testing::int32_ramp(15);
  ZarrArray::create(store, "v/", v3m).write_all(data);
  EXPECT_EQ(ZarrArray::open(store, "v/").read_all(), data);
  auto big = ArrayMetadata::make({2}, {2}, parse_zarr_dtype(">i4", "t"), make_null_codec());
  EXPECT_THROW(v3::v3_equivalent_of(big, "x"), Error);
}

}  // namespace
}  // namespace te::zarr
