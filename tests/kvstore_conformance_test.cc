// One conformance suite for every KvStore driver (as TensorStore tests its kvstores): file,
// memory, and the OCDBT writer read back through the OCDBT reader (over a memory base and over a
// file base, with small limits so values go out of line and the tree has several levels).
#include <atomic>
#include <thread>

#include "kvstore/file/file_store.h"
#include "kvstore/memory/memory_store.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "kvstore/ocdbt/ocdbt_writer.h"
#include "test_util.h"

namespace te::kv {
namespace {

using namespace te::testing;

// A driver under test: write through writer(), then finish(), then read through reader().
class Harness {
 public:
  virtual ~Harness() = default;
  virtual KvStore& writer() = 0;
  virtual void finish() {}
  virtual const KvStore& reader() = 0;
};

class FileHarness : public Harness {
 public:
  FileHarness() : store_(tmp_.path() / "root") {}
  KvStore& writer() override { return store_; }
  const KvStore& reader() override { return store_; }

 private:
  TempDir tmp_;
  FileStore store_;
};

class MemoryHarness : public Harness {
 public:
  KvStore& writer() override { return store_; }
  const KvStore& reader() override { return store_; }

 private:
  MemoryStore store_;
};

class OcdbtHarness : public Harness {
 public:
  explicit OcdbtHarness(bool file_base) {
    if (file_base)
      base_ = std::make_shared<FileStore>(tmp_.path() / "db");
    else
      base_ = std::make_shared<MemoryStore>();
    OcdbtWriterOptions o;
    o.max_inline_value_bytes = 8;
    o.max_decoded_node_bytes = 300;
    o.target_data_file_size = 1000;
    writer_ = std::make_unique<OcdbtWriter>(base_, o);
  }
  KvStore& writer() override { return *writer_; }
  void finish() override {
    writer_->commit();
    reader_ = OcdbtStore::open(base_);
  }
  const KvStore& reader() override { return *reader_; }

 private:
  TempDir tmp_;
  std::shared_ptr<KvStore> base_;
  std::unique_ptr<OcdbtWriter> writer_;
  std::shared_ptr<OcdbtStore> reader_;
};

struct Driver {
  std::string name;
  std::function<std::unique_ptr<Harness>()> make;
  friend void PrintTo(const Driver& d, std::ostream* os) { *os << d.name; }
};

class KvStoreConformance : public ::testing::TestWithParam<Driver> {
 protected:
  std::unique_ptr<Harness> make() { return GetParam().make(); }
};

void put(KvStore& s, const std::string& key, const Bytes& value, size_t piece = 0) {
  auto sink = s.write(key);
  if (piece == 0) {
    sink->write(value);
  } else {
    for (size_t i = 0; i < value.size(); i += piece)
      sink->write(std::span(value).subspan(i, std::min(piece, value.size() - i)));
  }
  EXPECT_EQ(sink->close(), value.size());
}

const std::vector<std::pair<std::string, Bytes>>& sample() {
  static const std::vector<std::pair<std::string, Bytes>> s = {
      {"a/.zarray", bytes_of("{\"zarr_format\":2}")},
      {"a/0.0", random_bytes(5000, 1)},
      {"a/0.1", random_bytes(8, 2)},
      {"a/1.0", Bytes()},
      {"b.c/0", random_bytes(9, 3)},
      {"b/0", bytes_of("x")},
      {"deep/er/and/deeper/key", random_bytes(300, 4)},
      {"z", random_bytes(70000, 5)},
  };
  return s;
}

TEST_P(KvStoreConformance, WriteThenSizeReadList) {
  auto h = make();
  for (auto& [k, v] : sample()) put(h->writer(), k, v, 7);
  h->finish();
  const KvStore& s = h->reader();
  std::vector<KeyEntry> expected;
  for (auto& [k, v] : sample()) {
    EXPECT_EQ(s.size(k), std::optional<uint64_t>(v.size())) << k;
    EXPECT_EQ(s.read_all(k), v) << k;
    expected.push_back({k, v.size()});
  }
  std::sort(expected.begin(), expected.end(),
            [](const KeyEntry& a, const KeyEntry& b) { return a.key < b.key; });
  EXPECT_EQ(s.list(), expected);
  // Prefixes are byte prefixes of keys, not folders.
  std::vector<std::string> keys;
  for (auto& e : s.list("a/0")) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a/0.0", "a/0.1"}));
  keys.clear();
  for (auto& e : s.list("b")) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"b.c/0", "b/0"}));
  EXPECT_TRUE(s.list("nothing").empty());
}

TEST_P(KvStoreConformance, RangesAndMissingKeys) {
  auto h = make();
  for (auto& [k, v] : sample()) put(h->writer(), k, v);
  h->finish();
  const KvStore& s = h->reader();
  const Bytes& z = sample().back().second;
  EXPECT_EQ(s.read_all("z", {100, 5000}), Bytes(z.begin() + 100, z.begin() + 5100));
  EXPECT_EQ(s.read_all("z", {69990, std::nullopt}), Bytes(z.end() - 10, z.end()));
  EXPECT_TRUE(s.read_all("z", {70000, 0}).empty());
  EXPECT_EQ(s.read_all("a/0.1", {2, 3}),
            Bytes(sample()[2].second.begin() + 2, sample()[2].second.begin() + 5));
  EXPECT_TE_ERROR(s.read_all("z", {69999, 2}), "z", "too short");
  EXPECT_TE_ERROR(s.read_all("a/0.1", {9, std::nullopt}), "a/0.1");
  EXPECT_EQ(s.size("a/9.9"), std::nullopt);
  EXPECT_TE_ERROR(s.read("a/9.9"), "a/9.9", "not found");
  EXPECT_EQ(s.size("a"), std::nullopt);  // a prefix is not a key
}

TEST_P(KvStoreConformance, ConcurrentWritersAndReaders) {
  auto h = make();
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = fmt::format("t{}/k{:03}", t, i);
        put(h->writer(), key, random_bytes(static_cast<size_t>(i * 37 % 700), t * 1000 + i), 50);
      }
    });
  for (auto& t : threads) t.join();
  threads.clear();
  h->finish();
  const KvStore& s = h->reader();
  EXPECT_EQ(s.list().size(), size_t{kThreads * kPerThread});
  std::atomic<int> mismatches{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int tt = 0; tt < kThreads; ++tt)
        for (int i = 0; i < kPerThread; ++i) {
          std::string key = fmt::format("t{}/k{:03}", tt, i);
          if (s.read_all(key) != random_bytes(static_cast<size_t>(i * 37 % 700), tt * 1000 + i))
            ++mismatches;
        }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, 0);
}

TEST_P(KvStoreConformance, CopyFromAnotherStore) {
  MemoryStore src;
  src.put("x/1", random_bytes(3000, 9));
  src.put("x/2", Bytes());
  auto h = make();
  EXPECT_EQ(h->writer().copy_from(src, "x/1", "y/1"), 3000u);
  EXPECT_EQ(h->writer().copy_from(src, "x/2", "y/2"), 0u);
  EXPECT_TE_ERROR(h->writer().copy_from(src, "x/3", "y/3"), "x/3");
  h->finish();
  EXPECT_EQ(h->reader().read_all("y/1"), src.read_all("x/1"));
  EXPECT_EQ(h->reader().size("y/2"), std::optional<uint64_t>(0));
}

// From a folder of files (zarr chunk files): long values take each store's file fast path
// (OcdbtWriter: copy_file_range into a data file, after an earlier value in the same file).
TEST_P(KvStoreConformance, CopyFromAFileStore) {
  TempDir tmp;
  FileStore src(tmp.path() / "src");
  put(src, "a/0.0", random_bytes(200000, 3));
  put(src, "a/0.1", random_bytes(5000, 4));
  put(src, "a/.zarray", bytes_of("{}"));  // short: inline in OCDBT
  auto h = make();
  put(h->writer(), "before", random_bytes(70000, 5));
  for (const char* k : {"a/0.0", "a/0.1", "a/.zarray"})
    EXPECT_EQ(h->writer().copy_from(src, k, std::string("b/") + (k + 2)), *src.size(k)) << k;
  EXPECT_TE_ERROR(h->writer().copy_from(src, "a/none", "b/none"), "a/none");
  h->finish();
  EXPECT_EQ(h->reader().read_all("before"), random_bytes(70000, 5));
  EXPECT_EQ(h->reader().read_all("b/0.0"), random_bytes(200000, 3));
  EXPECT_EQ(h->reader().read_all("b/0.1"), random_bytes(5000, 4));
  EXPECT_EQ(h->reader().read_all("b/.zarray"), bytes_of("{}"));
  const Bytes small = random_bytes(5000, 4);
  EXPECT_EQ(h->reader().read_all("b/0.1", {100, 50}),
            Bytes(small.begin() + 100, small.begin() + 150));
}

TEST_P(KvStoreConformance, DescribeNamesTheKey) {
  auto h = make();
  put(h->writer(), "k/v", random_bytes(100, 1));
  h->finish();
  EXPECT_NE(h->reader().describe("k/v").find("k/v"), std::string::npos);
  EXPECT_FALSE(h->reader().location().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Drivers, KvStoreConformance,
    ::testing::Values(
        Driver{"file", [] { return std::make_unique<FileHarness>(); }},
        Driver{"memory", [] { return std::make_unique<MemoryHarness>(); }},
        Driver{"ocdbt_memory_base", [] { return std::make_unique<OcdbtHarness>(false); }},
        Driver{"ocdbt_file_base", [] { return std::make_unique<OcdbtHarness>(true); }}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Driver specifics

TEST(FileStore, RejectsKeysThatAreNotRelativePaths) {
  TempDir tmp;
  FileStore s(tmp.path());
  for (std::string key : {"", "/abs", "a//b", "a/../b", "..", "./a", "a/"})
    EXPECT_TE_ERROR(s.write(key), "not a relative file path");
  EXPECT_TE_ERROR(s.size(std::string("a\0b", 3)), "NUL");
}

TEST(FileStore, DurableWriteReplacesAtomicallyAndUnclosedSinkLeavesNothing) {
  TempDir tmp;
  FileStore s(tmp.path());
  put(s, "m", bytes_of("old"));
  {
    auto sink = s.write("m", {.durable = true});
    sink->write(as_bytes(std::string("new!")));
    EXPECT_EQ(s.read_all("m"), bytes_of("old"));  // not visible before close()
    sink->close();
  }
  EXPECT_EQ(s.read_all("m"), bytes_of("new!"));
  {
    auto sink = s.write("n");
    sink->write(as_bytes(std::string("partial")));
  }
  EXPECT_EQ(s.size("n"), std::nullopt);
  std::vector<std::string> keys;
  for (auto& e : s.list()) keys.push_back(e.key);
  EXPECT_EQ(keys, std::vector<std::string>{"m"});  // no temporary left behind
}

TEST(FileStore, CopyFromFileStoreUsesTheFilesBytes) {
  TempDir tmp;
  FileStore a(tmp / "a"), b(tmp / "b");
  put(a, "x/y", random_bytes(200000, 3));
  EXPECT_EQ(b.copy_from(a, "x/y", "q/r"), 200000u);
  EXPECT_EQ(read_bytes(tmp / "b/q/r"), random_bytes(200000, 3));
  EXPECT_TE_ERROR(b.copy_from(a, "x/none", "q/s"), "x/none", "not found");
  EXPECT_EQ(a.describe("x/y"), "local file " + (tmp / "a/x/y").string());
}

TEST(MemoryStore, ReaderKeepsAReplacedValue) {
  MemoryStore s;
  s.put("k", bytes_of("first"));
  auto source = s.read("k");
  s.put("k", bytes_of("second"));
  EXPECT_EQ(to_string(source->next()), "first");
  EXPECT_TRUE(s.erase("k"));
  EXPECT_FALSE(s.erase("k"));
}

}  // namespace
}  // namespace te::kv
