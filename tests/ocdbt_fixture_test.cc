// The OCDBT reader on real databases: TensorStore-written ones (tests/fixtures/ocdbt: default
// config, out-of-line values with interior nodes, 200 generations with version trees of arity 16
// and 2) and Orbax-written checkpoints (merged roots and per-process databases, zarr v2 and
// zarr3 keys). Expected contents come from the fixtures' files/ folder and the known arrays.
#include "kvstore/file/file_store.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "kvstore/open_spec.h"
#include "test_util.h"

namespace te::kv {
namespace {

using namespace te::testing;

const fs::path kOcdbt = kFixtureRoot / "ocdbt";

std::shared_ptr<OcdbtStore> open_db(const fs::path& dir, OcdbtOpenOptions o = {}) {
  return OcdbtStore::open(std::make_shared<FileStore>(dir), o);
}

TEST(OcdbtFixtures, FilesDatabasesHoldExactlyTheFiles) {
  FileStore files(kOcdbt / "files");
  auto expected = files.list();
  ASSERT_EQ(expected.size(), 8u);
  for (const char* name : {"files_high_arity.ocdbt", "files_min_arity.ocdbt"}) {
    SCOPED_TRACE(name);
    auto db = open_db(kOcdbt / name);
    EXPECT_EQ(db->list(), expected);
    for (auto& e : expected) EXPECT_EQ(db->read_all(e.key), files.read_all(e.key)) << e.key;
  }
}

TEST(OcdbtFixtures, MinArityDatabaseHasInteriorNodesAndIndirectValues) {
  auto db = open_db(kOcdbt / "files_min_arity.ocdbt");
  EXPECT_GT(db->version().root_height, 0);
  EXPECT_FALSE(db->files().empty());
  EXPECT_NE(db->describe("a").find("data file d/"), std::string::npos) << db->describe("a");
  EXPECT_NE(db->describe("a").find("offset"), std::string::npos);
  auto high = open_db(kOcdbt / "files_high_arity.ocdbt");
  EXPECT_EQ(high->version().root_height, 0);
  EXPECT_NE(high->describe("a").find("inline"), std::string::npos);
}

void expect_generation(const fs::path& dir, std::optional<uint64_t> generation, int keys) {
  OcdbtOpenOptions o;
  o.generation = generation;
  auto db = open_db(dir, o);
  auto entries = db->list();
  ASSERT_EQ(entries.size(), static_cast<size_t>(keys));
  for (int i = 1; i <= keys; ++i)
    EXPECT_EQ(to_string(db->read_all("key" + std::to_string(i))), "version " + std::to_string(i));
  EXPECT_EQ(db->version().generation_number, static_cast<uint64_t>(keys));
}

TEST(OcdbtFixtures, TwoHundredGenerationsLatestAndOlder) {
  for (const char* name : {"multi_version_high_arity.ocdbt", "multi_version_low_arity.ocdbt"}) {
    SCOPED_TRACE(name);
    fs::path dir = kOcdbt / name;
    expect_generation(dir, std::nullopt, 200);
    auto db = open_db(dir);
    EXPECT_FALSE(db->manifest().version_nodes.empty()) << "older generations live in nodes";
    for (int g : {1, 2, 15, 16, 17, 64, 100, 128, 191, 192, 193, 199, 200})
      expect_generation(dir, static_cast<uint64_t>(g), g);
    OcdbtOpenOptions o;
    o.generation = 201;
    EXPECT_TE_ERROR(open_db(dir, o), "no generation 201", "latest: 200");
    o.generation = 0;
    EXPECT_TE_ERROR(open_db(dir, o), "no generation 0");
  }
}

// The three Orbax checkpoints: tree {'a': int32 0..7, 'b': {'c': int32 1,2,3}}.
TEST(OcdbtFixtures, OrbaxMergedRootsAndPerProcessDatabases) {
  const fs::path orbax = kFixtureRoot / "orbax";
  struct Case {
    fs::path dir;
    bool zarr3;
  };
  for (const Case& c :
       {Case{orbax / "zarr2_direct", false}, Case{orbax / "zarr2_composite/state", false},
        Case{orbax / "zarr3_composite/state", true}}) {
    SCOPED_TRACE(c.dir.string());
    for (const fs::path& dir : {c.dir, c.dir / "ocdbt.process_0"}) {
      auto db = open_db(dir);
      std::vector<std::string> keys;
      for (auto& e : db->list()) keys.push_back(e.key);
      if (c.zarr3) {
        EXPECT_EQ(keys,
                  (std::vector<std::string>{"a/c/0", "a/zarr.json", "b.c/c/0", "b.c/zarr.json"}));
        // a/c/0: zstd frame of int32 0..7, then the 16-byte shard index and its CRC.
        Bytes v = db->read_all("a/c/0");
        ASSERT_EQ(v.size(), 61u);
        EXPECT_EQ(hex(std::span(v).subspan(9, 32)),
                  "0000000001000000020000000300000004000000050000000600000007000000");
        EXPECT_NE(to_string(db->read_all("a/zarr.json")).find("\"shape\":[8]"), std::string::npos);
      } else {
        EXPECT_EQ(keys, (std::vector<std::string>{"a/.zarray", "a/0", "b.c/.zarray", "b.c/0"}));
        EXPECT_NE(to_string(db->read_all("a/.zarray")).find("\"shape\":[8]"), std::string::npos);
        // b.c/0: a zstd frame without content size holding int32 1,2,3.
        EXPECT_EQ(hex(db->read_all("b.c/0")),
                  "28b52ffd0000610000"
                  "010000000200000003000000");
      }
    }
  }
}

TEST(OcdbtFixtures, EveryOrbaxCompatDatabaseReadsOrFailsClearly) {
  int read = 0, missing_d = 0;
  for (auto& e : fs::recursive_directory_iterator(kFixtureRoot / "orbax-compat")) {
    if (e.path().filename() != "manifest.ocdbt") continue;
    fs::path dir = e.path().parent_path();
    SCOPED_TRACE(dir.string());
    if (dir.string().find("missing_pytree_data_dir_d") != std::string::npos &&
        dir.filename() != "ocdbt.process_0") {
      EXPECT_TE_ERROR(open_db(dir), "B+tree node", "not found", "/d/");
      ++missing_d;
      continue;
    }
    auto db = open_db(dir);
    bool zarr3 = db->size("a/zarr.json").has_value();
    EXPECT_TRUE(zarr3 || db->size("a/.zarray").has_value());
    EXPECT_EQ(db->list().size(), 4u);
    ++read;
  }
  EXPECT_EQ(read, 80);
  EXPECT_EQ(missing_d, 3);
}

// ---------------------------------------------------------------------------------------------
// Specs

TEST(KvStoreSpec, OpensFileAndOcdbtSpecs) {
  fs::path root = kFixtureRoot / "orbax" / "zarr2_direct";
  auto db = open_kvstore_spec(nlohmann::json::parse(R"({"driver":"ocdbt","base":"file://)" +
                                                    root.string() + R"(","path":"a"})"),
                              "/");
  EXPECT_EQ(db->size(".zarray"), std::optional<uint64_t>(164));
  EXPECT_EQ(db->size("0"), std::optional<uint64_t>(41));
  auto rel = open_kvstore_spec(
      nlohmann::json::parse(R"({"driver":"ocdbt","base":{"driver":"file","path":"zarr2_direct"}})"),
      kFixtureRoot / "orbax");
  EXPECT_EQ(rel->list().size(), 4u);
  auto files =
      open_kvstore_spec(nlohmann::json::parse(R"({"driver":"file","path":"files"})"), kOcdbt);
  EXPECT_EQ(files->list().size(), 8u);
  auto gfile =
      open_kvstore_spec(nlohmann::json::parse(R"({"driver":"gfile","path":"files"})"), kOcdbt);
  EXPECT_EQ(gfile->list().size(), 8u);
}

TEST(KvStoreSpec, RefusesRemoteAndUnknownDrivers) {
  using nlohmann::json;
  EXPECT_TE_ERROR(
      open_kvstore_spec(json::parse(R"({"driver":"gcs","bucket":"b","path":"x"})"), "/tmp"),
      "'gcs'", "remote");
  EXPECT_TE_ERROR(open_kvstore_spec(json::parse(R"({"driver":"s3","bucket":"b"})"), "/tmp"),
                  "'s3'");
  EXPECT_TE_ERROR(
      open_kvstore_spec(json::parse(R"({"driver":"gfile","path":"gs://b/ckpt"})"), "/tmp"),
      "'gfile'", "gs://b/ckpt", "remote");
  EXPECT_TE_ERROR(open_kvstore_spec(json::parse(R"({"driver":"ocdbt","base":"gs://b/x"})"), "/tmp"),
                  "gs://b/x");
  EXPECT_TE_ERROR(open_kvstore_spec(json::parse(R"({"driver":"tiledb","path":"x"})"), "/tmp"),
                  "unknown kvstore driver 'tiledb'");
  EXPECT_TE_ERROR(open_kvstore_spec(json::parse(R"({"path":"x"})"), "/tmp"), "no \"driver\"");
}

TEST(KvStoreSpec, LocalStoreDetectsOcdbt) {
  auto db = open_local_store(kOcdbt / "files_min_arity.ocdbt");
  EXPECT_NE(dynamic_cast<const OcdbtStore*>(db.get()), nullptr);
  auto files = open_local_store(kOcdbt / "files");
  EXPECT_NE(dynamic_cast<const FileStore*>(files.get()), nullptr);
  OcdbtOpenOptions o;
  o.generation = 3;
  EXPECT_TE_ERROR(open_local_store(kOcdbt / "files", o), "--generation", "manifest.ocdbt");
}

}  // namespace
}  // namespace te::kv
