// `te-ckpt kv ls|get|copy` as a user (and tests/py/ocdbt_ref.py) calls it: output formats, the
// generation option, missing keys, copy into OCDBT and back byte for byte, refusals.
#include <nlohmann/json.hpp>

#include "kvstore/file/file_store.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "test_util.h"

namespace te::kv {
namespace {

using namespace te::testing;

const fs::path kOcdbt = kFixtureRoot / "ocdbt";

std::string q(const fs::path& p) {
  return shell_quote(p.string());
}

TEST(KvCommand, LsPrintsSizeThenKeyAndJson) {
  RunResult r = run_te("kv ls " + q(kOcdbt / "files_min_arity.ocdbt"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0 #\n3 a\n3 b\n0 baz/first\n0 baz/x\n0 baz/z\n3 c\n0 empty\n");
  RunResult plain = run_te("kv ls " + q(kOcdbt / "files"));
  EXPECT_EQ(plain.out, r.out) << "a plain folder lists the same keys";
  RunResult j = run_te("kv ls --json " + q(kOcdbt / "files_high_arity.ocdbt"));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto array = nlohmann::json::parse(j.out);
  ASSERT_TRUE(array.is_array());
  ASSERT_EQ(array.size(), 8u);
  EXPECT_EQ(array[1], (nlohmann::json{{"key", "a"}, {"size", 3}}));
}

TEST(KvCommand, GetAndGenerations) {
  fs::path db = kOcdbt / "multi_version_high_arity.ocdbt";
  RunResult r = run_te("kv get " + q(db) + " key123");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "version 123");
  RunResult ls = run_te("kv ls --generation 7 " + q(db));
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(std::count(ls.out.begin(), ls.out.end(), '\n'), 7);
  RunResult old = run_te("kv get " + q(db) + " key150 --generation 100");
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_NE(old.err.find("key150"), std::string::npos) << old.err;
  RunResult missing = run_te("kv get " + q(kOcdbt / "files") + " nope");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("te-ckpt: error: key 'nope' not found"), std::string::npos)
      << missing.err;
  RunResult gen = run_te("kv ls --generation 2 " + q(kOcdbt / "files"));
  EXPECT_EQ(gen.exit_code, 1);
}

TEST(KvCommand, CopyPacksIntoOcdbtAndBackByteForByte) {
  TempDir tmp;
  fs::path src = kFixtureRoot / "t5x";
  RunResult r = run_te("kv copy " + q(src) + " " + q(tmp / "db"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(tmp / "db/manifest.ocdbt"));
  RunResult back = run_te("kv copy " + q(tmp / "db") + " " + q(tmp / "files"));
  ASSERT_EQ(back.exit_code, 0) << back.err;
  FileStore a(src), b(tmp / "files");
  auto entries = a.list();
  EXPECT_EQ(b.list(), entries);
  for (auto& e : entries) EXPECT_EQ(a.read_all(e.key), b.read_all(e.key)) << e.key;
  // Explicit --to: OCDBT to OCDBT and files to files.
  ASSERT_EQ(run_te("kv copy --to ocdbt " + q(tmp / "db") + " " + q(tmp / "db2")).exit_code, 0);
  EXPECT_EQ(OcdbtStore::open(std::make_shared<FileStore>(tmp / "db2"))->list(), entries);
  ASSERT_EQ(run_te("kv copy --to files " + q(src) + " " + q(tmp / "files2")).exit_code, 0);
  EXPECT_EQ(FileStore(tmp / "files2").list(), entries);
  // An existing non-empty destination is refused and left alone; an empty folder is fine.
  RunResult again = run_te("kv copy " + q(src) + " " + q(tmp / "db"));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("exists and is not an empty folder"), std::string::npos) << again.err;
  fs::create_directory(tmp / "empty");
  EXPECT_EQ(run_te("kv copy " + q(kOcdbt / "files") + " " + q(tmp / "empty")).exit_code, 0);
  EXPECT_TRUE(fs::exists(tmp / "empty/manifest.ocdbt"));
  RunResult bad = run_te("kv copy --to zip " + q(src) + " " + q(tmp / "z"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_FALSE(fs::exists(tmp / "z"));
}

}  // namespace
}  // namespace te::kv
