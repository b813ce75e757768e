// The store verify writes its expected conversion through (exec/comparing_store.h): chunks are
// compared with the converted checkpoint's array and dropped, metadata is kept, and a difference
// names its element; zarr v2 (both separators) and zarr3 shards (written and copied).
#include "exec/comparing_store.h"

#include <gtest/gtest.h>

#include <cstring>

#include "kvstore/memory/memory_store.h"
#include "test_util.h"
#include "util/error.h"
#include "zarr/array.h"
#include "zarr/codec.h"
#include "zarr/v3_array.h"
#include "zarr/v3_array_metadata.h"
#include "zarr/v3_data_type.h"

namespace te::exec {
namespace {

using zarr::ArrayMetadata;
using zarr::ZarrArray;

// A checkpoint holding the array `name` of `store` (its metadata read from there).
checkpoint::Checkpoint holding(std::shared_ptr<kv::MemoryStore> store, const std::string& name) {
  checkpoint::Checkpoint c;
  c.format = checkpoint::Format::kOrbax;
  checkpoint::ArrayEntry e;
  e.name = name;
  e.metadata = ZarrArray::open(store, name + "/").metadata();
  e.store = store;
  e.prefix = name + "/";
  c.arrays.push_back(std::move(e));
  return c;
}

size_t chunk_keys(const kv::KvStore& store) {
  size_t n = 0;
  for (const auto& e : store.list("")) {
    if (e.key.find(".zarray") == std::string::npos && e.key.find("zarr.json") == std::string::npos)
      ++n;
  }
  return n;
}

ArrayMetadata v2_int32(Shape shape, Shape chunks, char separator) {
  ArrayMetadata m =
      ArrayMetadata::make(std::move(shape), std::move(chunks), zarr::parse_zarr_dtype("<i4", "t"),
                          zarr::make_zstd_codec(1));
  m.dimension_separator = separator;
  return m;
}

TEST(ComparingStore, ChunksWrittenThroughAreComparedAndDropped) {
  for (char separator : {'.', '/'}) {
    auto converted = std::make_shared<kv::MemoryStore>();
    const Bytes data = testing::int32_ramp(35);
    ZarrArray::create(converted, "w/", v2_int32({5, 7}, {2, 3}, '.')).write_all(data);
    const checkpoint::Checkpoint actual = holding(converted, "w");

    auto inner = std::make_shared<kv::MemoryStore>();
    ComparingStore comparing(inner, actual, {});
    // The expected array in another chunk grid and separator: compared by values.
    ArrayMetadata expected_meta = v2_int32({5, 7}, {5, 2}, separator);
    auto expected = std::shared_ptr<kv::KvStore>(&comparing, [](kv::KvStore*) {});
    ZarrArray::create(expected, "w/", expected_meta).write_all(data);

    const ComparedChunks r = comparing.results();
    EXPECT_TRUE(r.problems.empty());
    ASSERT_EQ(r.chunks.count("w"), 1u);
    EXPECT_EQ(r.chunks.at("w").size(), 4u);  // a 1 x 4 grid
    EXPECT_EQ(r.bytes, data.size());
    EXPECT_EQ(chunk_keys(*inner), 0u);  // no chunk stored
    EXPECT_TRUE(inner->size("w/.zarray"));
  }
}

TEST(ComparingStore, ADifferenceNamesItsElement) {
  auto converted = std::make_shared<kv::MemoryStore>();
  Bytes data = testing::int32_ramp(35);
  ZarrArray::create(converted, "w/", v2_int32({5, 7}, {2, 3}, '.')).write_all(data);
  const checkpoint::Checkpoint actual = holding(converted, "w");
  data[4 * (3 * 7 + 4)] ^= std::byte{0x10};  // element [3,4] flipped in the expected values

  auto inner = std::make_shared<kv::MemoryStore>();
  ComparingStore comparing(inner, actual, {});
  auto expected = std::shared_ptr<kv::KvStore>(&comparing, [](kv::KvStore*) {});
  ZarrArray::create(expected, "w/", v2_int32({5, 7}, {5, 7}, '.')).write_all(data);
  const ComparedChunks r = comparing.results();
  ASSERT_EQ(r.problems.count("w"), 1u);
  EXPECT_EQ(r.problems.at("w"), "w: element [3,4] differs: 0x000000b0, expected 0x000000a0");
  EXPECT_EQ(r.chunks.count("w"), 0u);  // left to nobody: the problem is reported
}

TEST(ComparingStore, EqualChunkGridsAreStreamedSlabBySlab) {
  // One chunk of 2.4 MB (three 1 MiB slabs), the same grid on both sides: a difference in the
  // third slab is found at its element.
  const Shape shape{600, 1000};
  for (bool flip : {false, true}) {
    auto converted = std::make_shared<kv::MemoryStore>();
    const Bytes data = testing::int32_ramp(600 * 1000);
    Bytes values = data;
    if (flip) values[4 * (500 * 1000 + 7) + 1] ^= std::byte{2};  // element [500,7]
    ZarrArray::create(converted, "w/", v2_int32(shape, shape, '.')).write_all(values);
    const checkpoint::Checkpoint actual = holding(converted, "w");
    auto inner = std::make_shared<kv::MemoryStore>();
    ComparingStore comparing(inner, actual, {});
    auto expected = std::shared_ptr<kv::KvStore>(&comparing, [](kv::KvStore*) {});
    ZarrArray::create(expected, "w/", v2_int32(shape, shape, '.')).write_all(data);
    const ComparedChunks r = comparing.results();
    EXPECT_EQ(r.bytes, data.size());
    if (flip) {
      ASSERT_EQ(r.problems.count("w"), 1u);
      EXPECT_NE(r.problems.at("w").find("w: element [500,7] differs: "), std::string::npos)
          << r.problems.at("w");
    } else {
      EXPECT_TRUE(r.problems.empty());
      EXPECT_EQ(r.chunks.at("w"), (std::set<Shape>{{0, 0}}));
    }
  }
}

TEST(ComparingStore, CopiedShardsAreComparedInnerChunkByInnerChunk) {
  // A zarr3 array with shards [4,6] of inner chunks [2,3], copied key by key (zarr.json last,
  // so its metadata comes from the plan).
  zarr::DType i32 = zarr::v3::dtype_from_v3_name("int32", "test");
  zarr::v3::V3Metadata v3m = zarr::v3::orbax_v3_metadata(i32, {6, 6}, {4, 6}, 3);
  const zarr::v3::ShardingConfig old = *v3m.codecs.codecs[0].sharding;
  v3m.codecs.codecs[0] = zarr::v3::sharding_codec({2, 3}, *old.codecs, *old.index_codecs);
  auto source = std::make_shared<kv::MemoryStore>();
  const Bytes data = testing::int32_ramp(36);
  zarr::v3::V3Array::create(*source, "a", v3m).write_all(*source, data);
  const ArrayMetadata meta = ZarrArray::open(source, "a/").metadata();

  for (bool flip : {false, true}) {
    auto converted = std::make_shared<kv::MemoryStore>();
    Bytes values = data;
    if (flip) values[4 * (5 * 6 + 1)] ^= std::byte{1};  // element [5,1]
    ZarrArray::create(converted, "a/", v2_int32({6, 6}, {3, 3}, '.')).write_all(values);
    const checkpoint::Checkpoint actual = holding(converted, "a");

    auto inner = std::make_shared<kv::MemoryStore>();
    ComparingStore comparing(inner, actual, {{"a", meta}});
    for (const auto& e : source->list("a/")) comparing.copy_from(*source, e.key, e.key);
    const ComparedChunks r = comparing.results();
    if (flip) {
      ASSERT_EQ(r.problems.count("a"), 1u);
      EXPECT_NE(r.problems.at("a").find("element [5,1] differs"), std::string::npos);
    } else {
      EXPECT_TRUE(r.problems.empty());
      EXPECT_EQ(r.chunks.at("a").size(), 6u);  // every inner chunk of both shards
      EXPECT_EQ(r.bytes, data.size());
    }
    EXPECT_EQ(chunk_keys(*inner), 0u);
    EXPECT_TRUE(inner->size("a/zarr.json"));
  }
}

TEST(ComparingStore, AValueOfNoArrayIsAnInternalError) {
  auto converted = std::make_shared<kv::MemoryStore>();
  ZarrArray::create(converted, "w/", v2_int32({2}, {2}, '.')).write_all(testing::int32_ramp(2));
  const checkpoint::Checkpoint actual = holding(converted, "w");
  ComparingStore comparing(std::make_shared<kv::MemoryStore>(), actual, {});
  auto sink = comparing.write("nobody/0", {});
  EXPECT_THROW(sink->close(), te::Error);
}

}  // namespace
}  // namespace te::exec
