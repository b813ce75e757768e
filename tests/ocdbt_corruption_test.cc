// Corrupt OCDBT databases: one flipped byte in every byte of each kind of object (manifest,
// B+tree leaf and interior nodes, version-tree nodes), truncation at every length, a missing data
// file, data-file paths escaping the database folder, key order and height violations. Each is a
// te::Error naming the file and the byte offset (or the key and file), never a crash or a
// wrong value; the CLI exits 1 and `kv copy` leaves nothing behind.
#include "kvstore/file/file_store.h"
#include "kvstore/memory/memory_store.h"
#include "kvstore/ocdbt/format/btree_node.h"
#include "kvstore/ocdbt/format/envelope.h"
#include "kvstore/ocdbt/format/manifest.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "kvstore/ocdbt/ocdbt_writer.h"
#include "test_util.h"

namespace te::kv {
namespace {

using namespace te::testing;
using namespace te::ocdbt;

void put(KvStore& s, const std::string& key, const Bytes& value) {
  auto sink = s.write(key);
  sink->write(value);
  sink->close();
}

// A small database with interior nodes and out-of-line values, in memory.
std::shared_ptr<MemoryStore> small_database(bool compress) {
  auto base = std::make_shared<MemoryStore>("db");
  OcdbtWriterOptions o;
  o.max_inline_value_bytes = 4;
  o.max_node_entries = 3;
  o.compress = compress;
  OcdbtWriter w(base, o);
  for (int i = 0; i < 10; ++i)
    put(w, fmt::format("key{}", i), bytes_of(fmt::format("value {}", i)));
  put(w, "tiny", bytes_of("ab"));
  w.commit();
  return base;
}

// Opens and reads every value; returns normally only when every value is as written.
void open_and_read_all(const std::shared_ptr<MemoryStore>& base) {
  auto db = OcdbtStore::open(base);
  for (int i = 0; i < 10; ++i)
    if (to_string(db->read_all(fmt::format("key{}", i))) != fmt::format("value {}", i))
      throw std::runtime_error("wrong value");
}

std::shared_ptr<MemoryStore> copy_of(const MemoryStore& s) {
  auto c = std::make_shared<MemoryStore>("db");
  for (auto& e : s.list()) c->put(e.key, s.read_all(e.key));
  return c;
}

std::string node_file(const MemoryStore& base) {
  auto db = OcdbtStore::open(copy_of(base));
  return db->version().root.location.file.path();
}

TEST(OcdbtCorruption, EveryFlippedByteOfTheManifestAndNodesIsAnError) {
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress);
    auto base = small_database(compress);
    ASSERT_NO_THROW(open_and_read_all(base));
    ASSERT_GE(OcdbtStore::open(base)->version().root_height, 2);
    for (std::string key : {std::string("manifest.ocdbt"), node_file(*base)}) {
      Bytes good = base->read_all(key);
      for (size_t i = 0; i < good.size(); ++i) {
        auto bad = copy_of(*base);
        Bytes b = good;
        b[i] ^= std::byte{0x10};
        bad->put(key, b);
        try {
          open_and_read_all(bad);
          ADD_FAILURE() << key << " byte " << i << ": no error";
        } catch (const Error& e) {
          std::string m = e.what();
          EXPECT_TRUE(m.find("byte") != std::string::npos || m.find("offset") != std::string::npos)
              << m;
          if (key == "manifest.ocdbt")
            EXPECT_NE(m.find("manifest"), std::string::npos) << m;
          else
            EXPECT_NE(m.find(key), std::string::npos) << m;
        } catch (const std::exception& e) {
          ADD_FAILURE() << key << " byte " << i << ": " << e.what();
        }
      }
    }
  }
}

TEST(OcdbtCorruption, TruncationAtEveryLengthIsAnError) {
  auto base = small_database(true);
  for (std::string key : {std::string("manifest.ocdbt"), node_file(*base)}) {
    Bytes good = base->read_all(key);
    for (size_t n = 0; n < good.size(); ++n) {
      auto bad = copy_of(*base);
      bad->put(key, Bytes(good.begin(), good.begin() + static_cast<long>(n)));
      EXPECT_THROW(open_and_read_all(bad), Error) << key << " cut at " << n;
    }
  }
}

TEST(OcdbtCorruption, MissingDataFileNamesKeyAndFile) {
  auto base = small_database(true);
  auto db = OcdbtStore::open(base);
  const auto* e = db->find("key3");
  ASSERT_NE(e, nullptr);
  ASSERT_NE(e->file, OcdbtStore::Entry::kInline);
  std::string file = db->files()[e->file];
  base->erase(file);
  EXPECT_TE_ERROR(db->read_all("key3"), "key3", file, "not found");
  // The node file missing: open fails naming it.
  auto base2 = small_database(false);
  std::string nodes = node_file(*base2);
  base2->erase(nodes);
  EXPECT_TE_ERROR(OcdbtStore::open(base2), "B+tree node", nodes, "not found");
  // A data file shorter than a value's range.
  auto base3 = small_database(false);
  auto db3 = OcdbtStore::open(base3);
  std::string f3 = db3->files()[db3->find("key3")->file];
  base3->put(f3, Bytes(3));
  EXPECT_TE_ERROR(db3->read_all("key3"), "key3", "too short");
}

// Writes a database by hand: one leaf (or the given nodes) and a manifest.
void write_manifest(MemoryStore& base, const IndirectDataReference& root, uint8_t height,
                    uint64_t num_keys = 1) {
  Manifest m;
  BtreeGenerationReference v;
  v.generation_number = 1;
  v.root_height = height;
  v.root.location = root;
  v.root.statistics.num_keys = num_keys;
  m.versions.push_back(v);
  base.put("manifest.ocdbt", encode_manifest(m));
}

IndirectDataReference put_node(MemoryStore& base, const std::string& file, const BtreeNode& node) {
  Bytes object = encode_envelope(kBtreeNodeMagic, encode_btree_node(node), std::nullopt);
  Bytes existing = base.size(file) ? base.read_all(file) : Bytes();
  uint64_t offset = existing.size();
  existing.insert(existing.end(), object.begin(), object.end());
  base.put(file, existing);
  return {{"", file}, offset, object.size()};
}

BtreeNode leaf(
    std::vector<std::pair<std::string, std::variant<Bytes, IndirectDataReference>>> entries) {
  BtreeNode n;
  for (auto& [k, v] : entries) n.leaf_entries.push_back({k, v});
  return n;
}

TEST(OcdbtCorruption, DataFilePathsMustStayInsideTheDatabase) {
  for (std::string path : {"../outside", "d/../../x", "/etc/passwd", ""}) {
    SCOPED_TRACE(path);
    // As the root node's file.
    auto base = std::make_shared<MemoryStore>("db");
    write_manifest(*base, {{"", path}, 0, 50}, 0);
    EXPECT_TE_ERROR(OcdbtStore::open(base), "data file path", "inside the database folder");
    // As an out-of-line value's file.
    auto base2 = std::make_shared<MemoryStore>("db");
    auto root = put_node(*base2, "d/n", leaf({{"k", IndirectDataReference{{"", path}, 0, 5}}}));
    write_manifest(*base2, root, 0);
    EXPECT_TE_ERROR(OcdbtStore::open(base2), "data file path", "d/n");
  }
  // A base path that is fine on its own but escapes with the transitive path is caught too.
  auto base = std::make_shared<MemoryStore>("db");
  auto root = put_node(*base, "d/n", leaf({{"k", IndirectDataReference{{"..", "/v"}, 0, 5}}}));
  write_manifest(*base, root, 0);
  EXPECT_TE_ERROR(OcdbtStore::open(base), "'../v'", "'..' component");
}

TEST(OcdbtCorruption, KeyOrderAcrossNodesAndHeights) {
  // Two leaves under one interior node whose second leaf's keys sort before the first's.
  auto base = std::make_shared<MemoryStore>("db");
  auto l1 = put_node(*base, "d/n", leaf({{"m", Bytes{}}, {"n", Bytes{}}}));
  auto l2 = put_node(*base, "d/n", leaf({{"a", Bytes{}}}));
  BtreeNode interior;
  interior.height = 1;
  interior.interior_entries.push_back({"m", 0, {l1, {2, 0, 0}}});
  interior.interior_entries.push_back({"x", 0, {l2, {1, 0, 0}}});
  write_manifest(*base, put_node(*base, "d/n", interior), 1);
  EXPECT_TE_ERROR(OcdbtStore::open(base), "d/n", "sorts before");
  // The same node twice.
  auto base2 = std::make_shared<MemoryStore>("db");
  auto l = put_node(*base2, "d/n", leaf({{"m", Bytes{}}}));
  BtreeNode twice;
  twice.height = 1;
  twice.interior_entries.push_back({"a", 0, {l, {}}});
  twice.interior_entries.push_back({"b", 0, {l, {}}});
  write_manifest(*base2, put_node(*base2, "d/n", twice), 1);
  EXPECT_TE_ERROR(OcdbtStore::open(base2), "referenced twice");
  // Height: the manifest says 1, the root is a leaf.
  auto base3 = std::make_shared<MemoryStore>("db");
  write_manifest(*base3, put_node(*base3, "d/n", leaf({{"k", Bytes{}}})), 1);
  EXPECT_TE_ERROR(OcdbtStore::open(base3), "expected a node of height 1", "found height 0");
  // Keys out of order inside one leaf.
  auto base4 = std::make_shared<MemoryStore>("db");
  write_manifest(*base4, put_node(*base4, "d/n", leaf({{"b", Bytes{}}, {"a", Bytes{}}})), 0);
  EXPECT_TE_ERROR(OcdbtStore::open(base4), "invalid key order", "d/n");
}

TEST(OcdbtCorruption, VersionTreeNodeFlippedByte) {
  TempDir tmp;
  fs::copy(kFixtureRoot / "ocdbt" / "multi_version_low_arity.ocdbt", tmp / "db",
           fs::copy_options::recursive);
  auto base = std::make_shared<FileStore>(tmp / "db");
  auto db = OcdbtStore::open(base);
  ASSERT_FALSE(db->manifest().version_nodes.empty());
  const auto& ref = db->manifest().version_nodes.front().location;
  fs::path file = tmp / "db" / ref.file.path();
  Bytes b = read_bytes(file);
  b[ref.offset + ref.length / 2] ^= std::byte{0x01};
  write_bytes(file, b);
  OcdbtOpenOptions o;
  o.generation = 1;
  EXPECT_TE_ERROR(OcdbtStore::open(base, o), "version-tree node", ref.file.path(), "CRC-32C");
  // The latest generation does not need that node.
  EXPECT_EQ(OcdbtStore::open(base)->list().size(), 200u);
}

TEST(OcdbtCorruption, CliExitsOneAndCopyLeavesNothing) {
  TempDir tmp;
  fs::copy(kFixtureRoot / "ocdbt" / "files_min_arity.ocdbt", tmp / "db",
           fs::copy_options::recursive);
  Bytes m = read_bytes(tmp / "db/manifest.ocdbt");
  m[m.size() / 2] ^= std::byte{0x01};
  write_bytes(tmp / "db/manifest.ocdbt", m);
  RunResult r = run_te("kv ls " + shell_quote((tmp / "db").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("te-ckpt: error: corrupt OCDBT manifest"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("manifest.ocdbt"), std::string::npos) << r.err;
  // A database whose value file is missing: the copy fails and leaves nothing.
  fs::copy(kFixtureRoot / "ocdbt" / "files_min_arity.ocdbt", tmp / "db2",
           fs::copy_options::recursive);
  auto db = OcdbtStore::open(std::make_shared<FileStore>(tmp / "db2"));
  ASSERT_FALSE(db->files().empty());
  // files_min_arity keeps nodes and values in one file; cut it after the last node instead.
  Bytes data = read_bytes(tmp / "db2" / db->files()[0]);
  write_bytes(tmp / "db2" / db->files()[0], Bytes(data.begin(), data.begin() + 1));
  r = run_te("kv copy " + shell_quote((tmp / "db2").string()) + " " +
             shell_quote((tmp / "out").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(tmp / "out"));
  for (auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find("te-ckpt-tmp"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace te::kv
