// V3Array over a KvStore: the real TensorStore-written zarr3 arrays inside the Orbax OCDBT
// fixtures, chunk keys, regions, edge chunks, missing chunks, and write → read round trips.
#include <cstring>

#include "kvstore/file/file_store.h"
#include "kvstore/memory/memory_store.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "test_util.h"
#include "zarr/v3_array.h"
#include "zarr/v3_data_type.h"

namespace te::zarr::v3 {
namespace {

using te::testing::bytes_of_values;
using te::testing::hex;
using te::testing::kFixtureRoot;

namespace fs = std::filesystem;

std::vector<int32_t> int32s(const Bytes& b) {
  std::vector<int32_t> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), b.size());
  return v;
}

// Every zarr3 `state` database of the fixtures that holds its data files.
std::vector<fs::path> zarr3_databases() {
  std::vector<fs::path> dbs{kFixtureRoot / "orbax" / "zarr3_composite" / "state"};
  for (const auto& e :
       fs::recursive_directory_iterator(kFixtureRoot / "orbax-compat" / "v1_checkpoints")) {
    if (e.path().filename() == "manifest.ocdbt" && e.path().parent_path().filename() == "state" &&
        fs::exists(e.path().parent_path() / "d")) {
      dbs.push_back(e.path().parent_path());
    }
  }
  return dbs;
}

TEST(Zarr3Array, RealOrbaxFixturesReadThroughOcdbt) {
  auto dbs = zarr3_databases();
  ASSERT_GE(dbs.size(), 5u);
  for (const auto& db : dbs) {
    SCOPED_TRACE(db.string());
    auto store = kv::OcdbtStore::open(std::make_shared<kv::FileStore>(db));
    V3Array a = V3Array::open(*store, "a");
    EXPECT_EQ(a.shape(), Shape{8});
    EXPECT_EQ(v3_name(a.dtype()), "int32");
    EXPECT_EQ(a.chunk_key(std::vector<int64_t>{0}), "a/c/0");
    EXPECT_TRUE(a.chunk_exists(std::vector<int64_t>{0}));
    EXPECT_EQ(int32s(a.read_all()), (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
    EXPECT_EQ(int32s(a.read_region({2}, {3})), (std::vector<int32_t>{2, 3, 4}));
    V3Array bc = V3Array::open(*store, "b.c");
    EXPECT_EQ(int32s(bc.read_all()), (std::vector<int32_t>{1, 2, 3}));
    // zarr.json re-emitted from the parsed metadata is the stored value byte for byte.
    for (const V3Array* arr : {&a, &bc}) {
      EXPECT_EQ(arr->metadata().to_text(), to_string(store->read_all(arr->metadata_key())));
    }
    // The chunk value re-encoded from its decoded bytes is TensorStore's value byte for byte.
    Bytes stored = store->read_all("a/c/0");
    EXPECT_EQ(stored.size(), 61u);
    EXPECT_EQ(hex(a.encode_chunk_value(a.read_chunk(std::vector<int64_t>{0}), "a/c/0")),
              hex(stored));
    auto index = a.read_shard_index(std::vector<int64_t>{0});
    ASSERT_TRUE(index.has_value());
    ASSERT_EQ(index->size(), 1u);
    EXPECT_EQ((*index)[0], (ShardIndexEntry{0, 41}));
    EXPECT_EQ(hex(Bytes(stored.end() - 20, stored.end())),
              "000000000000000029000000000000008e867744");
  }
}

TEST(Zarr3Array, FixtureShardWithBrokenCrcNamesTheOcdbtKey) {
  auto store = kv::OcdbtStore::open(
      std::make_shared<kv::FileStore>(kFixtureRoot / "orbax" / "zarr3_composite" / "state"));
  V3Array a = V3Array::open(*store, "a");
  Bytes stored = store->read_all("a/c/0");
  stored[stored.size() - 2] ^= std::byte{1};
  EXPECT_TE_ERROR(a.decode_chunk_value(stored, store->describe("a/c/0")), "a/c/0",
                  "CRC-32C mismatch");
}

TEST(Zarr3Array, WriteAndReadEdgeChunksRegionsAndMissingChunks) {
  kv::MemoryStore store;
  DType f32 = dtype_from_v3_name("float32", "t");
  V3Metadata m = orbax_v3_metadata(f32, {5, 7}, {2, 3});
  m.fill_value = bytes_of_values<float>({-0.5f});
  V3Array arr = V3Array::create(store, "layer/w", m);
  std::vector<float> values(35);
  for (int i = 0; i < 35; ++i) values[i] = static_cast<float>(i) * 1.5f;
  Bytes data = bytes_of_values(values);
  arr.write_all(store, data);
  EXPECT_EQ(arr.grid_shape(), (Shape{3, 3}));
  EXPECT_EQ(store.list("layer/w/").size(), 10u);  // zarr.json + 9 chunks
  EXPECT_TRUE(store.size("layer/w/c/2/2").has_value());
  V3Array back = V3Array::open(store, "layer/w/");
  EXPECT_EQ(back.metadata().to_text(), m.to_text());
  EXPECT_EQ(back.read_all(), data);
  // A region across chunk borders.
  Bytes region = back.read_region({1, 2}, {3, 4});
  std::vector<float> expect;
  for (int r = 1; r < 4; ++r)
    for (int c = 2; c < 6; ++c) expect.push_back(values[r * 7 + c]);
  EXPECT_EQ(region, bytes_of_values(expect));
  // The edge chunk [2,2] is stored padded with the fill value: rows 4-5, columns 6-8.
  Bytes edge = back.read_chunk(std::vector<int64_t>{2, 2});
  EXPECT_EQ(edge, bytes_of_values<float>({values[34], -0.5f, -0.5f, -0.5f, -0.5f, -0.5f}));
  // A missing chunk reads as the fill value.
  ASSERT_TRUE(store.erase("layer/w/c/0/1"));
  EXPECT_FALSE(back.chunk_exists(std::vector<int64_t>{0, 1}));
  EXPECT_FALSE(back.read_shard_index(std::vector<int64_t>{0, 1}).has_value());
  EXPECT_TRUE(back.read_shard_index(std::vector<int64_t>{0, 0}).has_value());
  Bytes hole = back.read_region({0, 3}, {2, 3});
  EXPECT_EQ(hole, bytes_of_values<float>(std::vector<float>(6, -0.5f)));
  EXPECT_TE_ERROR(back.read_region({0, 0}, {6, 1}), "layer/w/zarr.json", "outside the array");
  EXPECT_TE_ERROR(V3Array::open(store, "nothing"), "nothing/zarr.json", "missing");
}

TEST(Zarr3Array, RankZeroV2KeysAndAFolderStore) {
  te::testing::TempDir tmp;
  kv::FileStore files(tmp.path());
  DType u16 = dtype_from_v3_name("uint16", "t");
  V3Metadata scalar = orbax_v3_metadata(u16, {}, {});
  V3Array s = V3Array::create(files, "", scalar);
  EXPECT_EQ(s.chunk_key({}), "c");
  s.write_all(files, bytes_of_values<uint16_t>({513}));
  EXPECT_TRUE(fs::exists(tmp / "c"));
  EXPECT_TRUE(fs::exists(tmp / "zarr.json"));
  EXPECT_EQ(V3Array::open(files, "").read_all(), bytes_of_values<uint16_t>({513}));

  V3Metadata m = orbax_v3_metadata(u16, {4}, {2}, std::nullopt);
  m.chunk_key_encoding = {ChunkKeyEncoding::Kind::kV2, '.'};
  m.codecs = CodecChain{{transpose_codec({0}), bytes_codec(u16, Endian::kBig), gzip_codec(1)}};
  V3Array v = V3Array::create(files, "v2keys", m);
  v.write_all(files, bytes_of_values<uint16_t>({1, 2, 3, 4}));
  EXPECT_TRUE(fs::exists(tmp / "v2keys" / "1"));
  EXPECT_EQ(v.chunk_key(std::vector<int64_t>{1}), "v2keys/1");
  EXPECT_EQ(V3Array::open(files, "v2keys").read_all(), bytes_of_values<uint16_t>({1, 2, 3, 4}));
}

}  // namespace
}  // namespace te::zarr::v3
