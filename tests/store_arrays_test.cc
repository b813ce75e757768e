// checkpoint::list_store_arrays over a memory store: zarr v2 and zarr3 arrays found by their
// metadata keys, stored bytes from the other values under each prefix, and malformed metadata
// named by key.
#include "checkpoint/store_arrays.h"

#include <gtest/gtest.h>

#include "kvstore/memory/memory_store.h"
#include "test_util.h"
#include "zarr/array.h"
#include "zarr/dtype.h"

namespace te::checkpoint {
namespace {

Bytes text_bytes(const std::string& s) {
  return Bytes(reinterpret_cast<const std::byte*>(s.data()),
               reinterpret_cast<const std::byte*>(s.data()) + s.size());
}

TEST(StoreArrays, ListsZarr2AndZarr3ArraysWithTheirStoredBytes) {
  auto store = std::make_shared<kv::MemoryStore>("db");
  auto meta = zarr::ArrayMetadata::make({6, 4}, {3, 4}, zarr::parse_zarr_dtype("<f4", "t"),
                                        zarr::codec_from_name("gzip", 1));
  zarr::ZarrArray::create(store, "params/w/", meta).write_all(Bytes(6 * 4 * 4, std::byte{1}));
  store->put("z3/zarr.json", text_bytes(R"({"zarr_format":3,"node_type":"array","shape":[8],
    "data_type":"bfloat16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4]}},
    "codecs":[{"name":"bytes","configuration":{"endian":"little"}},
              {"name":"zstd","configuration":{"level":3}}]})"));
  store->put("z3/c/0", Bytes(11));
  store->put("z3/c/1", Bytes(13));
  store->put("_METADATA", text_bytes("{}"));  // a top-level value is no array
  store->put("group/.zattrs", text_bytes("{}"));

  auto arrays = list_store_arrays(*store);
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays[0].name, "params/w");
  EXPECT_EQ(arrays[0].zarr_format, 2);
  EXPECT_EQ(arrays[0].shape, (Shape{6, 4}));
  EXPECT_EQ(arrays[0].chunks, (Shape{3, 4}));
  EXPECT_EQ(arrays[0].dtype, "float32");
  EXPECT_EQ(arrays[0].codec, "gzip/1");
  EXPECT_EQ(arrays[0].stored_bytes, *store->size("params/w/0.0") + *store->size("params/w/1.0"));
  EXPECT_EQ(arrays[1].name, "z3");
  EXPECT_EQ(arrays[1].zarr_format, 3);
  EXPECT_EQ(arrays[1].shape, Shape{8});
  EXPECT_EQ(arrays[1].chunks, Shape{4});
  EXPECT_EQ(arrays[1].dtype, "bfloat16");
  EXPECT_EQ(arrays[1].codec, "bytes+zstd/3");
  EXPECT_EQ(arrays[1].stored_bytes, 24u);
}

TEST(StoreArrays, MalformedZarr3MetadataNamesTheKey) {
  auto store = std::make_shared<kv::MemoryStore>("db");
  store->put("x/zarr.json", text_bytes(R"({"zarr_format":3,"shape":[2,"a"],"data_type":"int8"})"));
  EXPECT_TE_ERROR(list_store_arrays(*store), "key 'x/zarr.json'", "shape");
  store->put("x/zarr.json", text_bytes("{not json"));
  EXPECT_TE_ERROR(list_store_arrays(*store), "key 'x/zarr.json'", "malformed JSON");
}

}  // namespace
}  // namespace te::checkpoint
