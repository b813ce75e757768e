// One OCDBT database written by several writers (a distributed conversion): each writer's key
// index exported (export_index) and imported by the one that commits (import_index). The merged
// database holds every writer's values, reads back through OcdbtStore like one written by a single
// writer, with the same statistics; duplicate keys, malformed indexes and writes after the export
// are refused by name.
#include "kvstore/file/file_store.h"
#include "kvstore/ocdbt/format/manifest.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "kvstore/ocdbt/ocdbt_writer.h"
#include "test_util.h"

namespace te::kv {
namespace {

using namespace te::testing;

void put(KvStore& s, const std::string& key, const Bytes& value) {
  auto sink = s.write(key);
  sink->write(value);
  sink->close();
}

// Values of every kind: inline (short), in data files (past the inline limit), empty.
std::map<std::string, Bytes> values_of_writer(int writer, int count) {
  std::map<std::string, Bytes> out;
  for (int i = 0; i < count; ++i) {
    const size_t n = i % 3 == 0 ? 0 : i % 3 == 1 ? 100 : 5000 + static_cast<size_t>(i);
    out[fmt::format("array.{}/{}.0", writer, i)] =
        random_bytes(n, static_cast<uint32_t>(writer * 1000 + i));
  }
  return out;
}

std::vector<KeyEntry> listing(const KvStore& s) {
  return s.list();
}

TEST(OcdbtIndexMerge, ImportedIndexesMakeOneDatabaseLikeASingleWriters) {
  TempDir tmp;
  auto merged_base = std::make_shared<FileStore>(tmp.path() / "merged");
  auto single_base = std::make_shared<FileStore>(tmp.path() / "single");
  // Small nodes, so that the merged tree has several levels.
  OcdbtWriterOptions o;
  o.max_node_entries = 8;
  std::map<std::string, Bytes> all;
  OcdbtWriter root(merged_base, o), single(single_base, o);
  std::vector<std::string> exported;
  for (int w = 0; w < 3; ++w) {
    auto values = values_of_writer(w, 40);
    all.insert(values.begin(), values.end());
    for (auto& [k, v] : values) put(single, k, v);
    if (w == 0) {
      for (auto& [k, v] : values) put(root, k, v);
      continue;
    }
    OcdbtWriter other(merged_base, o);
    for (auto& [k, v] : values) put(other, k, v);
    exported.push_back(other.export_index());
    EXPECT_TE_ERROR(put(other, "late", bytes_of("x")), "after its index was exported");
    EXPECT_TE_ERROR(other.commit(), "exported");
  }
  for (size_t i = 0; i < exported.size(); ++i)
    root.import_index(exported[i], fmt::format("rank {}", i + 1));
  const ocdbt::Manifest merged_manifest = root.commit();
  const ocdbt::Manifest single_manifest = single.commit();

  auto merged = OcdbtStore::open(merged_base);
  ASSERT_EQ(merged->list().size(), all.size());
  for (auto& [k, v] : all) EXPECT_EQ(merged->read_all(k), v) << k;
  EXPECT_EQ(listing(*merged), listing(*OcdbtStore::open(single_base)));
  const auto& a = merged_manifest.versions.at(0).root;
  const auto& b = single_manifest.versions.at(0).root;
  EXPECT_EQ(a.statistics.num_keys, b.statistics.num_keys);
  EXPECT_EQ(a.statistics.num_indirect_value_bytes, b.statistics.num_indirect_value_bytes);
  EXPECT_EQ(merged_manifest.versions.at(0).root_height, single_manifest.versions.at(0).root_height);
}

TEST(OcdbtIndexMerge, ExportOfNothingAndIntoNothing) {
  TempDir tmp;
  auto base = std::make_shared<FileStore>(tmp.path() / "db");
  OcdbtWriter root(base), empty(base), other(base);
  root.import_index(empty.export_index(), "rank 1");
  put(other, "only", random_bytes(4000, 1));
  root.import_index(other.export_index(), "rank 2");
  root.commit();
  auto r = OcdbtStore::open(base);
  ASSERT_EQ(r->list().size(), 1u);
  EXPECT_EQ(r->read_all("only"), random_bytes(4000, 1));
}

TEST(OcdbtIndexMerge, AKeyWrittenByTwoWritersIsAnErrorNamingItAndTheWriter) {
  TempDir tmp;
  auto base = std::make_shared<FileStore>(tmp.path() / "db");
  OcdbtWriter root(base), other(base);
  put(root, "w/.zarray", bytes_of("{}"));
  put(other, "w/0.0", random_bytes(3000, 2));
  put(other, "w/.zarray", bytes_of("{}"));
  EXPECT_TE_ERROR(root.import_index(other.export_index(), "rank 3"), "'w/.zarray'", "twice",
                  "rank 3");
  // Nothing of the refused index was added.
  EXPECT_EQ(root.list().size(), 1u);
}

TEST(OcdbtIndexMerge, MalformedIndexesAreRefusedAndAddNothing) {
  TempDir tmp;
  auto base = std::make_shared<FileStore>(tmp.path() / "db");
  OcdbtWriter other(base);
  put(other, "a", random_bytes(10, 3));
  put(other, "b", random_bytes(3000, 4));
  const std::string good = other.export_index();
  OcdbtWriter root(base);
  EXPECT_TE_ERROR(root.import_index("not an index", "rank 1"), "rank 1", "malformed");
  for (size_t cut : {good.size() - 1, good.size() / 2, good.size() - 3})
    EXPECT_TE_ERROR(root.import_index(good.substr(0, cut), "rank 1"), "rank 1", "malformed");
  EXPECT_TE_ERROR(root.import_index(good + "x", "rank 1"), "bytes follow");
  EXPECT_TRUE(root.list().empty());
  root.import_index(good, "rank 1");
  EXPECT_EQ(root.list().size(), 2u);
  EXPECT_TE_ERROR(other.export_index(), "already");
}

}  // namespace
}  // namespace te::kv
