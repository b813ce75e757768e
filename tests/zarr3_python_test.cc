// The independent Python zarr v3 writer/reader (tests/py/zarr3gen.py: numpy, zstandard, crc32c)
// against V3Array over the file driver, both ways: Python writes sharded arrays (several inner
// chunks, one missing, index at the start, big endian, gzip, transpose) that V3Array reads, and
// V3Array writes arrays that the Python reader checks.
#include <cstring>

#include "kvstore/file/file_store.h"
#include "test_util.h"
#include "zarr/v3_array.h"
#include "zarr/v3_data_type.h"

namespace te::zarr::v3 {
namespace {

using te::testing::read_bytes;
using te::testing::run_shell;
using te::testing::shell_quote;
using te::testing::TempDir;

const std::string kGenerator = std::string(TE_CKPT_SOURCE_DIR) + "/tests/py/zarr3gen.py";

te::testing::RunResult generator(const std::string& command, const std::filesystem::path& dir) {
  return run_shell("/usr/bin/python3 " + shell_quote(kGenerator) + " " + command + " " +
                   shell_quote(dir.string()));
}

TEST(Zarr3Python, PythonWrittenArraysReadBack) {
  TempDir dir;
  auto gen = generator("write", dir.path());
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  kv::FileStore files(dir.path());
  auto names = nlohmann::json::parse(to_string(read_bytes(dir / "arrays.json")));
  ASSERT_EQ(names.size(), 4u);
  for (const auto& name : names) {
    SCOPED_TRACE(name.get<std::string>());
    V3Array array = V3Array::open(files, name.get<std::string>());
    EXPECT_EQ(array.read_all(), read_bytes(dir / (name.get<std::string>() + ".expected")));
    // Python's compact sorted JSON is also TensorStore's form: the emission agrees.
    EXPECT_EQ(array.metadata().to_text(), to_string(files.read_all(array.metadata_key())));
  }
  // The missing inner chunk is really missing from the shard.
  V3Array several = V3Array::open(files, "several_missing");
  EXPECT_TRUE(several.metadata().codecs.codecs[0].sharding->index_at_end);
}

struct CppCase {
  std::string name;
  V3Metadata metadata;
  Bytes data;
  EncodeOptions options;
};

TEST(Zarr3Python, ArraysWrittenByV3ArrayPassThePythonReader) {
  TempDir dir;
  kv::FileStore files(dir.path());
  const DType i32 = dtype_from_v3_name("int32", "t"), f32 = dtype_from_v3_name("float32", "t");
  const DType i64 = dtype_from_v3_name("int64", "t");
  std::vector<CppCase> cases;
  {
    std::vector<int32_t> v(6 * 8);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i % 5 == 0 ? 0 : i);
    cases.push_back(
        {"orbax", orbax_v3_metadata(i32, {6, 8}, {3, 8}), te::testing::bytes_of_values(v), {}});
    // Several inner chunks, zero chunks skipped (index 2^64-1), index at the start.
    V3Metadata m = orbax_v3_metadata(i32, {6, 8}, {6, 4});
    m.codecs = CodecChain{{sharding_codec({1, 2}, CodecChain{{bytes_codec(i32), zstd_codec(1)}},
                                          default_index_codecs(), false)}};
    std::vector<int32_t> w(v.size(), 0);
    for (size_t i = 0; i < w.size(); i += 3) w[i] = static_cast<int32_t>(i);
    cases.push_back({"start_skipped", m, te::testing::bytes_of_values(w), {true}});
  }
  {
    std::vector<float> v(5 * 7);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f - 3.0f;
    V3Metadata m = orbax_v3_metadata(f32, {5, 7}, {2, 3});
    m.codecs = CodecChain{
        {transpose_codec({1, 0}), bytes_codec(f32, Endian::kBig), gzip_codec(4), crc32c_codec()}};
    m.fill_value = float_element_from_double(1.5, f32);
    cases.push_back({"transposed_gzip", m, te::testing::bytes_of_values(v), {}});
  }
  {
    std::vector<int64_t> v(4 * 4);
    for (size_t i = 0; i < v.size(); ++i) v[i] = -static_cast<int64_t>(i) * 1000003;
    V3Metadata m = orbax_v3_metadata(i64, {4, 4}, {4, 4});
    m.codecs = CodecChain{
        {sharding_codec({2, 2}, CodecChain{{bytes_codec(i64, Endian::kBig), zstd_codec(7, true)}},
                        default_index_codecs())}};
    cases.push_back({"big_sharded", m, te::testing::bytes_of_values(v), {}});
  }
  nlohmann::json names = nlohmann::json::array();
  for (const auto& c : cases) {
    V3Array array = V3Array::create(files, c.name, c.metadata);
    array.write_all(files, c.data, c.options);
    te::testing::write_bytes(dir / (c.name + ".expected"), c.data);
    ASSERT_EQ(array.read_all(), c.data) << c.name;
    names.push_back(c.name);
  }
  // The skipped inner chunks leave holes in the index that the Python reader must fill.
  Bytes shard = files.read_all("start_skipped/c/0/0");
  EXPECT_LT(shard.size(), 4u + 16 * 24 + 24 * 8);
  te::testing::write_text(dir / "arrays.json", names.dump());
  auto check = generator("check", dir.path());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("ok"), std::string::npos);
}

}  // namespace
}  // namespace te::zarr::v3
