// OCDBT writer → reader round trips: empty database, one key, long shared prefixes, 100k keys
// with a small node limit (several B+tree levels), values of 0 bytes, exactly the inline limit,
// one byte over and several MiB, compression on and off; Orbax's config, statistics, data-file
// sizes, entry limits, and refusals.
#include <thread>

#include "kvstore/file/file_store.h"
#include "kvstore/memory/memory_store.h"
#include "kvstore/ocdbt/format/envelope.h"
#include "kvstore/ocdbt/format/manifest.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "kvstore/ocdbt/ocdbt_writer.h"
#include "test_util.h"

namespace te::kv {
namespace {

using namespace te::testing;

struct Db {
  TempDir tmp;
  std::shared_ptr<FileStore> base = std::make_shared<FileStore>(tmp.path() / "db");
};

void put(KvStore& s, const std::string& key, const Bytes& value) {
  auto sink = s.write(key);
  sink->write(value);
  sink->close();
}

std::shared_ptr<OcdbtStore> write_and_open(Db& db, const std::map<std::string, Bytes>& values,
                                           OcdbtWriterOptions o = {}) {
  OcdbtWriter w(db.base, o);
  for (auto& [k, v] : values) put(w, k, v);
  w.commit();
  auto r = OcdbtStore::open(db.base);
  EXPECT_EQ(r->list().size(), values.size());
  for (auto& [k, v] : values) EXPECT_EQ(r->read_all(k), v) << k;
  return r;
}

uint64_t folder_bytes(const fs::path& dir) {
  uint64_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

TEST(OcdbtRoundTrip, EmptyDatabase) {
  Db db;
  auto r = write_and_open(db, {});
  EXPECT_TRUE(r->list().empty());
  EXPECT_TRUE(r->version().root.location.is_missing());
  EXPECT_EQ(r->version().generation_number, 1u);
  EXPECT_EQ(r->version().root.statistics, ocdbt::BtreeNodeStatistics{});
}

TEST(OcdbtRoundTrip, ConfigIsOrbaxs) {
  Db db, db2;
  auto r = write_and_open(db, {{"k", bytes_of("v")}});
  auto r2 = write_and_open(db2, {{"k", bytes_of("v")}});
  const auto& c = r->manifest().config;
  EXPECT_EQ(c.manifest_kind, ocdbt::ManifestKind::kSingle);
  EXPECT_EQ(c.max_inline_value_bytes, 1024u);
  EXPECT_EQ(c.max_decoded_node_bytes, 100000000u);
  EXPECT_EQ(c.version_tree_arity_log2, 4);
  EXPECT_EQ(c.zstd_level, std::optional<int32_t>(0));
  EXPECT_NE(c.uuid, r2->manifest().config.uuid) << "a fresh random uuid per database";
  EXPECT_TRUE(r->manifest().version_nodes.empty());
  EXPECT_EQ(r->manifest().versions.size(), 1u);
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  EXPECT_NEAR(static_cast<double>(r->version().commit_time), static_cast<double>(now), 60e9);
  // Data files are d/<32 lowercase hex>; nothing else beside manifest.ocdbt.
  for (auto& e : db.base->list()) {
    if (e.key == "manifest.ocdbt") continue;
    EXPECT_EQ(e.key.size(), 34u) << e.key;
    EXPECT_EQ(e.key.substr(0, 2), "d/");
    EXPECT_EQ(e.key.find_first_not_of("0123456789abcdef", 2), std::string::npos) << e.key;
  }
}

TEST(OcdbtRoundTrip, InlineLimitBoundaries) {
  Db db;
  Bytes limit = random_bytes(1024, 1), over = random_bytes(1025, 2),
        big = random_bytes(5 * 1024 * 1024 + 3, 3);
  auto r = write_and_open(db, {{"empty", {}}, {"limit", limit}, {"over", over}, {"big", big}});
  EXPECT_NE(r->describe("empty").find("inline"), std::string::npos);
  EXPECT_NE(r->describe("limit").find("inline"), std::string::npos);
  EXPECT_NE(r->describe("over").find("data file d/"), std::string::npos) << r->describe("over");
  EXPECT_NE(r->describe("big").find("data file d/"), std::string::npos);
  EXPECT_EQ(r->version().root.statistics.num_indirect_value_bytes, 1025u + big.size());
  EXPECT_EQ(r->version().root.statistics.num_keys, 4u);
  // A range in the middle of an out-of-line value, streamed in pieces.
  auto source = r->read("big", {1000000, 3000000});
  uint64_t total = 0;
  size_t pieces = 0;
  for (auto p = source->next(); !p.empty(); p = source->next()) {
    EXPECT_TRUE(std::equal(p.begin(), p.end(), big.begin() + 1000000 + static_cast<long>(total)));
    total += p.size();
    ++pieces;
  }
  EXPECT_EQ(total, 3000000u);
  EXPECT_GT(pieces, 1u) << "a large value is streamed, not read whole";
}

TEST(OcdbtRoundTrip, CompressionOnAndOff) {
  for (bool compress : {true, false}) {
    SCOPED_TRACE(compress);
    Db db;
    OcdbtWriterOptions o;
    o.compress = compress;
    std::map<std::string, Bytes> values;
    for (int i = 0; i < 300; ++i)
      values[fmt::format("params/layer_{:03}/kernel/0.0", i)] = compressible_bytes(200, i);
    auto r = write_and_open(db, values, o);
    Bytes manifest = db.base->read_all("manifest.ocdbt");
    EXPECT_EQ(static_cast<int>(manifest[13]), compress ? 1 : 0);
    EXPECT_EQ(r->manifest().config.zstd_level.has_value(), compress);
    Bytes root =
        db.base->read_all(r->version().root.location.file.path(),
                          {r->version().root.location.offset, r->version().root.location.length});
    EXPECT_EQ(static_cast<int>(root[13]), compress ? 1 : 0);
  }
}

TEST(OcdbtRoundTrip, HundredThousandKeysMakeAMultiLevelTree) {
  Db db;
  OcdbtWriterOptions o;
  o.max_decoded_node_bytes = 4096;
  std::map<std::string, Bytes> values;
  for (int i = 0; i < 100000; ++i)
    values[fmt::format("state/param_states/layer_{}/kernel/{}.0", i % 977, i)] =
        bytes_of(std::to_string(i));
  auto r = write_and_open(db, values, o);
  EXPECT_GE(r->version().root_height, 2);
  const auto& stats = r->version().root.statistics;
  EXPECT_EQ(stats.num_keys, 100000u);
  EXPECT_EQ(stats.num_indirect_value_bytes, 0u);
  // All values are inline, so the data files hold exactly the tree's nodes.
  EXPECT_EQ(stats.num_tree_bytes, folder_bytes(db.base->root() / "d"));
}

TEST(OcdbtRoundTrip, EntryLimitGivesTheExpectedHeight) {
  Db db;
  OcdbtWriterOptions o;
  o.max_node_entries = 16;
  std::map<std::string, Bytes> values;
  for (int i = 0; i < 1000; ++i) values[fmt::format("k{:04}", i)] = bytes_of("v");
  auto r = write_and_open(db, values, o);
  // 1000 leaves' entries → 63 leaves → 4 interior nodes → 1 root.
  EXPECT_EQ(r->version().root_height, 2);
}

TEST(OcdbtRoundTrip, LongSharedPrefixes) {
  Db db;
  OcdbtWriterOptions o;
  o.max_decoded_node_bytes = 20000;
  std::string prefix(5000, 'p');
  std::map<std::string, Bytes> values;
  for (int i = 0; i < 200; ++i)
    values[prefix + "/" + std::to_string(i * 7919 % 1000)] = random_bytes(i, i);
  values[prefix.substr(0, 4000)] = bytes_of("short");
  values[prefix + "q"] = bytes_of("after");
  auto r = write_and_open(db, values, o);
  EXPECT_GE(r->version().root_height, 1);
  // Prefix stripping keeps the tree far smaller than 200 full keys per level.
  EXPECT_LT(r->version().root.statistics.num_tree_bytes, 200u * 5000u);
}

TEST(OcdbtRoundTrip, DataFilesRespectTheTargetSizeAndThreadsWriteInParallel) {
  Db db;
  OcdbtWriterOptions o;
  o.target_data_file_size = 100000;
  o.max_inline_value_bytes = 100;
  OcdbtWriter w(db.base, o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        put(w, fmt::format("t{}/{}", t, i), random_bytes(30000, t * 100 + i));
    });
  for (auto& t : threads) t.join();
  w.commit();
  auto r = OcdbtStore::open(db.base);
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 50; ++i)
      ASSERT_EQ(r->read_all(fmt::format("t{}/{}", t, i)), random_bytes(30000, t * 100 + i));
  size_t files = 0;
  for (auto& e : db.base->list("d/")) {
    ++files;
    EXPECT_LT(e.size, 100000u + 30000u) << e.key;
  }
  EXPECT_GE(files, 6000000u / 130000u);
  // The writer reads like the database after its commit.
  EXPECT_EQ(w.list().size(), 200u);
  EXPECT_EQ(w.read_all("t3/49"), random_bytes(30000, 349));
}

TEST(OcdbtRoundTrip, CopyBetweenDatabasesKeepsValues) {
  Db a, b;
  auto src = write_and_open(a, {{"x", random_bytes(5000, 1)}, {"y", bytes_of("inline")}});
  OcdbtWriter w(b.base);
  for (auto& e : src->list()) EXPECT_EQ(w.copy_from(*src, e.key, e.key), e.size);
  w.commit();
  auto r = OcdbtStore::open(b.base);
  EXPECT_EQ(r->read_all("x"), random_bytes(5000, 1));
  EXPECT_EQ(r->read_all("y"), bytes_of("inline"));
  // The copy stands alone: it references none of the source's files.
  for (auto& f : r->files()) EXPECT_TRUE(b.base->size(f).has_value()) << f;
}

TEST(OcdbtRoundTrip, RefusesDuplicateKeysWritesAfterCommitAndReadsBefore) {
  Db db;
  OcdbtWriter w(db.base);
  put(w, "k", bytes_of("1"));
  EXPECT_TE_ERROR(put(w, "k", bytes_of("2")), "'k'", "twice");
  EXPECT_TE_ERROR(w.read("k"), "before the database is committed");
  EXPECT_FALSE(db.base->size("manifest.ocdbt")) << "no manifest before the commit";
  w.commit();
  EXPECT_TE_ERROR(put(w, "j", bytes_of("3")), "after the commit");
  EXPECT_TE_ERROR(w.commit(), "already committed");
}

TEST(OcdbtRoundTrip, MemoryBaseWorksToo) {
  auto base = std::make_shared<MemoryStore>();
  OcdbtWriter w(base);
  put(w, "a", random_bytes(3000, 4));
  w.commit();
  EXPECT_EQ(OcdbtStore::open(base)->read_all("a"), random_bytes(3000, 4));
}

}  // namespace
}  // namespace te::kv
