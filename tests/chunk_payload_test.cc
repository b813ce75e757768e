// Chunk payloads moved between zarr v2 and zarr3 without decoding (zarr/chunk_payload.h): which
// pairs of arrays allow it, and that a moved payload reads back as the same elements, through
// ZarrArray and through V3Array's whole-shard decoder (an independent read path).
#include "zarr/chunk_payload.h"

#include <gtest/gtest.h>

#include <cstring>

#include "kvstore/memory/memory_store.h"
#include "test_util.h"
#include "util/error.h"
#include "zarr/array.h"
#include "zarr/codec.h"
#include "zarr/v3_array.h"
#include "zarr/v3_array_metadata.h"
#include "zarr/v3_codecs.h"
#include "zarr/v3_data_type.h"

namespace te::zarr {
namespace {

Bytes ramp(size_t count) {
  Bytes b(count * 4);
  for (size_t i = 0; i < count; ++i) {
    float v = static_cast<float>(i) * 0.25f - 3.0f;
    std::memcpy(b.data() + 4 * i, &v, 4);
  }
  return b;
}

ArrayMetadata v2_array(std::shared_ptr<const Codec> codec, Shape shape = {6, 8},
                       Shape chunks = {4, 8}) {
  return ArrayMetadata::make(std::move(shape), std::move(chunks), parse_zarr_dtype("<f4", "test"),
                             std::move(codec));
}

// Moves every chunk of `from` into `to` as payloads; returns how many were moved.
int move_all(const ZarrArray& from, const ZarrArray& to) {
  int moved = 0;
  const Shape grid = from.metadata().grid_shape();
  for (int64_t i = 0; i < grid[0]; ++i) {
    for (int64_t j = 0; j < grid[1]; ++j) {
      auto payload = from.read_payload({i, j});
      if (!payload) continue;
      to.write_payload({i, j}, *payload);
      ++moved;
    }
  }
  return moved;
}

TEST(ChunkPayload, V2ZstdMovesIntoOrbaxZarr3AndBack) {
  auto store = std::make_shared<kv::MemoryStore>();
  const ArrayMetadata v2 = v2_array(make_zstd_codec(5));
  const Bytes data = ramp(48);
  ZarrArray src = ZarrArray::create(store, "v2/", v2);
  src.write_all(data);
  const ArrayMetadata v3 = v3::v3_equivalent_of(v2, "test");
  ASSERT_FALSE(payload_obstacle(v2, v3)) << *payload_obstacle(v2, v3);
  ZarrArray mid = ZarrArray::create(store, "v3/", v3);
  EXPECT_EQ(move_all(src, mid), 2);
  EXPECT_EQ(mid.read_all(), data);
  // The shard holds the v2 chunk's zstd frame byte for byte, and decodes whole.
  EXPECT_EQ(*mid.read_payload({1, 0}), store->read_all("v2/1.0"));
  EXPECT_EQ(v3::V3Array::open(*store, "v3").read_all(), data);
  // Back into zarr v2: the very bytes of the source chunks.
  ZarrArray back = ZarrArray::create(store, "back/", v2);
  EXPECT_EQ(move_all(mid, back), 2);
  EXPECT_EQ(store->read_all("back/0.0"), store->read_all("v2/0.0"));
  EXPECT_EQ(store->read_all("back/1.0"), store->read_all("v2/1.0"));
}

TEST(ChunkPayload, InnerChunksOfAWideShardMoveOneByOne) {
  auto store = std::make_shared<kv::MemoryStore>();
  DType f32 = v3::dtype_from_v3_name("float32", "test");
  v3::V3Metadata wide = v3::orbax_v3_metadata(f32, {6, 8}, {6, 8}, 3);
  const v3::ShardingConfig old = *wide.codecs.codecs[0].sharding;
  wide.codecs.codecs[0] = v3::sharding_codec({2, 4}, *old.codecs, *old.index_codecs);
  const Bytes data = ramp(48);
  v3::V3Array::create(*store, "w", wide).write_all(*store, data);
  ZarrArray src = ZarrArray::open(store, "w/");
  ASSERT_EQ(src.metadata().chunks, (Shape{2, 4}));
  const ArrayMetadata v2 = v2_array(make_zstd_codec(1), {6, 8}, {2, 4});
  ASSERT_FALSE(payload_obstacle(src.metadata(), v2)) << *payload_obstacle(src.metadata(), v2);
  ZarrArray out = ZarrArray::create(store, "o/", v2);
  EXPECT_EQ(move_all(src, out), 6);
  EXPECT_EQ(out.read_all(), data);
}

TEST(ChunkPayload, AMissingChunkHasNoPayload) {
  auto store = std::make_shared<kv::MemoryStore>();
  ZarrArray a = ZarrArray::create(store, "a/", v2_array(make_zstd_codec(1)));
  EXPECT_FALSE(a.read_payload({0, 0}).has_value());
  ZarrArray b = ZarrArray::create(store, "b/", v3::v3_equivalent_of(a.metadata(), "test"));
  EXPECT_FALSE(b.read_payload({1, 0}).has_value());
}

TEST(ChunkPayload, ObstaclesNameWhatDiffers) {
  const ArrayMetadata zstd = v2_array(make_zstd_codec(1));
  const ArrayMetadata gzip = v2_array(make_deflate_codec(true, 1));
  auto obstacle = [](const ArrayMetadata& a, const ArrayMetadata& b) {
    auto o = payload_obstacle(a, b);
    return o ? *o : std::string("none");
  };
  EXPECT_NE(obstacle(zstd, v3::v3_equivalent_of(gzip, "t")).find("zstd here, gzip there"),
            std::string::npos);
  EXPECT_NE(obstacle(zstd, v2_array(make_zstd_codec(1), {6, 8}, {2, 8})).find("chunk grid"),
            std::string::npos);
  ArrayMetadata fortran = zstd;
  fortran.order = 'F';
  EXPECT_NE(obstacle(fortran, zstd).find("Fortran order"), std::string::npos);
  ArrayMetadata other_dtype = zstd;
  other_dtype.dtype = parse_zarr_dtype("<i4", "test");
  EXPECT_NE(obstacle(zstd, other_dtype).find("dtype"), std::string::npos);
  // A crc32c after the compressor makes the stored value more than the compressor's output.
  DType f32 = v3::dtype_from_v3_name("float32", "test");
  v3::V3Metadata checked = v3::orbax_v3_metadata(f32, {6, 8}, {4, 8}, 3);
  const v3::ShardingConfig old = *checked.codecs.codecs[0].sharding;
  v3::CodecChain inner = *old.codecs;
  inner.codecs.push_back(v3::crc32c_codec());
  checked.codecs.codecs[0] = v3::sharding_codec({4, 8}, inner, *old.index_codecs);
  const ArrayMetadata checked_view = v3::array_metadata_of(checked, "test");
  EXPECT_NE(obstacle(zstd, checked_view).find("crc32c"), std::string::npos);
  // The same compressor at another level: the frames still decode the same.
  EXPECT_EQ(obstacle(zstd, v3::v3_equivalent_of(v2_array(make_zstd_codec(9)), "t")), "none");
}

}  // namespace
}  // namespace te::zarr
