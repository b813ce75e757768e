// ZarrArray over stores other than a folder: the memory store (no files at all) and an OCDBT
// database written with the OCDBT writer and read back with the reader.
#include <gtest/gtest.h>

#include <cstring>

#include "kvstore/memory/memory_store.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "kvstore/ocdbt/ocdbt_writer.h"
#include "test_util.h"
#include "zarr/array.h"
#include "zarr/dtype.h"
#include "zarr/metadata.h"

namespace te::zarr {
namespace {

using namespace te::testing;

// Distinct int32 values 0..n-1.
Bytes iota_bytes(int64_t n) {
  Bytes out(static_cast<size_t>(n) * 4);
  for (int32_t i = 0; i < n; ++i) std::memcpy(&out[static_cast<size_t>(i) * 4], &i, 4);
  return out;
}

ArrayMetadata zstd_metadata(Shape shape, Shape chunks) {
  return ArrayMetadata::make(std::move(shape), std::move(chunks), parse_zarr_dtype("<i4", "t"),
                             codec_from_name("zstd", std::nullopt));
}

TEST(ZarrArrayInMemoryStore, WritesKeysUnderItsPrefixAndReadsThemBack) {
  auto store = std::make_shared<kv::MemoryStore>();
  Bytes data = iota_bytes(5 * 7);
  ZarrArray::create(store, "w/", zstd_metadata({5, 7}, {2, 3})).write_all(data);

  std::vector<std::string> keys;
  for (const auto& e : store->list()) keys.push_back(e.key);
  // .zarray plus a 3 x 3 chunk grid, every key under the prefix.
  ASSERT_EQ(keys.size(), 10u);
  EXPECT_EQ(keys.front(), "w/.zarray");
  for (const auto& k : keys) EXPECT_EQ(k.rfind("w/", 0), 0u) << k;
  EXPECT_TRUE(store->size("w/2.2"));

  ZarrArray array = ZarrArray::open(store, "w/");
  EXPECT_EQ(array.metadata().shape, (Shape{5, 7}));
  EXPECT_EQ(array.chunk_key({2, 1}), "w/2.1");
  EXPECT_TRUE(array.read_all() == data);
  // The .zarray is TensorStore's compact sorted JSON of the metadata.
  EXPECT_EQ(to_string(store->read_all("w/.zarray")), array.metadata().to_json_string());
}

TEST(ZarrArrayInMemoryStore, MissingChunkReadsAsFillValueAndOpenedArraysAreReadOnly) {
  auto store = std::make_shared<kv::MemoryStore>();
  auto meta = ArrayMetadata::make({4}, {2}, parse_zarr_dtype("<i4", "t"), make_null_codec());
  ZarrArray::create(store, "", meta).write_all(iota_bytes(4));
  ASSERT_TRUE(store->erase("1"));
  ZarrArray array = ZarrArray::open(store);
  Bytes all = array.read_all();
  EXPECT_EQ(hex(all),
            "00000000"
            "01000000"
            "00000000"
            "00000000");
  EXPECT_TE_ERROR(array.write_chunk({0}, Bytes(8)), "memory store", "'0'", "opened for reading");
}

TEST(ZarrArrayInMemoryStore, NoZarrayNamesTheStore) {
  auto store = std::make_shared<kv::MemoryStore>("test store");
  EXPECT_TE_ERROR(ZarrArray::open(store, "x/"), "test store", "x/", "no .zarray");
}

TEST(ZarrArrayInMemoryStore, CorruptChunkNamesTheKey) {
  auto store = std::make_shared<kv::MemoryStore>("test store");
  ZarrArray::create(store, "a/", zstd_metadata({4}, {4})).write_all(iota_bytes(4));
  store->put("a/0", Bytes(16, std::byte{0x5a}));
  EXPECT_TE_ERROR(ZarrArray::open(store, "a/").read_all(), "test store", "'a/0'",
                  "corrupt zstd chunk");
}

// Writes arrays through the OCDBT writer (chunks out of line: 16-byte inline limit), commits,
// and reads them back through the reader.
TEST(ZarrArrayInOcdbt, WrittenWithTheWriterReadBackWithTheReader) {
  auto base = std::make_shared<kv::MemoryStore>("db");
  kv::OcdbtWriterOptions options;
  options.max_inline_value_bytes = 16;
  auto writer = std::make_shared<kv::OcdbtWriter>(base, options);
  Bytes a = iota_bytes(8), b = iota_bytes(300);
  ZarrArray::create(writer, "a/",
                    ArrayMetadata::make({8}, {8}, parse_zarr_dtype("<i4", "t"), make_null_codec()))
      .write_all(a);
  ZarrArray::create(writer, "b.c/", zstd_metadata({30, 10}, {7, 4})).write_all(b);
  writer->commit();

  auto db = kv::OcdbtStore::open(base);
  ZarrArray ra = ZarrArray::open(db, "a/");
  EXPECT_TRUE(ra.read_all() == a);
  const auto* chunk = db->find("a/0");
  ASSERT_NE(chunk, nullptr);
  EXPECT_NE(chunk->file, kv::OcdbtStore::Entry::kInline);  // 32 bytes: in a data file
  ZarrArray rb = ZarrArray::open(db, "b.c/");
  EXPECT_EQ(rb.metadata().chunks, (Shape{7, 4}));
  EXPECT_TRUE(rb.read_all() == b);
  // A region across chunk boundaries.
  Bytes region(3 * 5 * 4);
  rb.read_region(Box{{6, 3}, {3, 5}}, region);
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      int32_t v;
      std::memcpy(&v, &region[static_cast<size_t>((i * 5 + j) * 4)], 4);
      EXPECT_EQ(v, (6 + i) * 10 + 3 + j);
    }
  }
}

TEST(ZarrArrayInOcdbt, CorruptChunkNamesTheOcdbtKeyAndDataFile) {
  auto base = std::make_shared<kv::MemoryStore>("db");
  kv::OcdbtWriterOptions options;
  options.max_inline_value_bytes = 4;
  auto writer = std::make_shared<kv::OcdbtWriter>(base, options);
  auto meta = zstd_metadata({4}, {4});
  ZarrArray::create(writer, "x/", meta);
  auto sink = writer->write("x/0");
  Bytes garbage(40, std::byte{0x5a});
  sink->write(garbage);
  sink->close();
  writer->commit();
  auto db = kv::OcdbtStore::open(base);
  EXPECT_TE_ERROR(ZarrArray::open(db, "x/").read_all(), "OCDBT", "key 'x/0'", "data file d/",
                  "corrupt zstd chunk");
}

}  // namespace
}  // namespace te::zarr
