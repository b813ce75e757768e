// The zarr v2 layer: dtype strings, .zarray parsing of every variant and TensorStore's exact bytes,
// chunk keys, chunk and region I/O (edge chunks, missing chunks, Fortran order, "/" keys), and
// errors that name the file.
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "checkpoint/array_folder.h"
#include "kvstore/file/file_store.h"
#include "test_util.h"
#include "util/file.h"
#include "zarr/array.h"
#include "zarr/dtype.h"
#include "zarr/metadata.h"

namespace te::zarr {
namespace {

using namespace te::testing;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// dtype strings

struct DTypeCase {
  std::string text;
  char kind;
  size_t itemsize;
  Endian endian;
  std::string name;
};

TEST(DType, ParsesEveryValidString) {
  const Endian L = Endian::kLittle, B = Endian::kBig, N = Endian::kNotApplicable;
  const std::vector<DTypeCase> cases = {
      {"|b1", 'b', 1, N, "bool"},         {"|i1", 'i', 1, N, "int8"},
      {"<i1", 'i', 1, N, "int8"},         {">i1", 'i', 1, N, "int8"},
      {"|u1", 'u', 1, N, "uint8"},        {"<u1", 'u', 1, N, "uint8"},
      {">u1", 'u', 1, N, "uint8"},        {"<i2", 'i', 2, L, "int16"},
      {">i2", 'i', 2, B, "int16"},        {"<i4", 'i', 4, L, "int32"},
      {">i4", 'i', 4, B, "int32"},        {"<i8", 'i', 8, L, "int64"},
      {">i8", 'i', 8, B, "int64"},        {"<u2", 'u', 2, L, "uint16"},
      {">u2", 'u', 2, B, "uint16"},       {"<u4", 'u', 4, L, "uint32"},
      {">u4", 'u', 4, B, "uint32"},       {"<u8", 'u', 8, L, "uint64"},
      {">u8", 'u', 8, B, "uint64"},       {"<f2", 'f', 2, L, "float16"},
      {">f2", 'f', 2, B, "float16"},      {"<f4", 'f', 4, L, "float32"},
      {">f4", 'f', 4, B, "float32"},      {"<f8", 'f', 8, L, "float64"},
      {">f8", 'f', 8, B, "float64"},      {"<c8", 'c', 8, L, "complex64"},
      {">c8", 'c', 8, B, "complex64"},    {"<c16", 'c', 16, L, "complex128"},
      {">c16", 'c', 16, B, "complex128"}, {"bfloat16", 'f', 2, L, "bfloat16"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    DType d = parse_zarr_dtype(c.text, "x/.zarray");
    EXPECT_EQ(d.zarr, c.text);
    EXPECT_EQ(d.kind, c.kind);
    EXPECT_EQ(d.itemsize, c.itemsize);
    EXPECT_EQ(d.endian, c.endian);
    EXPECT_EQ(d.name(), c.name);
  }
}

TEST(DType, ParsesBareExtensionNames) {
  const std::vector<std::pair<std::string, char>> names = {
      {"float8_e3m4", 'f'},
      {"float8_e4m3fn", 'f'},
      {"float8_e4m3fnuz", 'f'},
      {"float8_e4m3b11fnuz", 'f'},
      {"float8_e5m2", 'f'},
      {"float8_e5m2fnuz", 'f'},
      {"float8_e8m0fnu", 'f'},
      {"float4_e2m1fn", 'f'},
      {"int4", 'i'},
      {"int2", 'i'},
      {"uint4", 'u'},
  };
  for (const auto& [name, kind] : names) {
    SCOPED_TRACE(name);
    DType d = parse_zarr_dtype(name, "x");
    EXPECT_EQ(d.zarr, name);
    EXPECT_EQ(d.itemsize, 1u);
    EXPECT_EQ(d.kind, kind);
    EXPECT_EQ(d.name(), name);
    EXPECT_EQ(dtype_from_name(name, "x").zarr, name);
  }
}

TEST(DType, BytesAndVoid) {
  DType s = parse_zarr_dtype("|S4", "x");
  EXPECT_EQ(s.kind, 'S');
  EXPECT_EQ(s.itemsize, 4u);
  EXPECT_EQ(s.name(), "|S4");
  DType v = parse_zarr_dtype("|V16", "x");
  EXPECT_EQ(v.kind, 'V');
  EXPECT_EQ(v.itemsize, 16u);
}

TEST(DType, RejectsInvalidStringsNamingTheFile) {
  const std::string where = "/ck/arr/.zarray";
  const std::vector<std::string> bad = {
      "<U4",  "<m8",     ">M8",      "|f4",    "|i4",  "|c8",  "|u2", "<f3", "<f1",
      "<f16", "<i3",     "<i16",     "<c4",    "<b2",  "f4",   "<f",  "",    "xf4",
      "=f4",  "float32", "Bfloat16", "bfloat", "<f4 ", " <f4", "<fx", "|S0", "<q8",
  };
  for (const auto& text : bad) {
    SCOPED_TRACE(text);
    EXPECT_TE_ERROR(parse_zarr_dtype(text, where), where, "\"" + text + "\"");
  }
  EXPECT_TE_ERROR(parse_zarr_dtype("|f4", where), where, "|");
  EXPECT_TE_ERROR(parse_zarr_dtype("<U4", where), where, "U");
}

TEST(DType, FromNumpyName) {
  const std::map<std::string, std::string> names = {
      {"bool", "|b1"},      {"int8", "|i1"},        {"uint8", "|u1"},         {"int16", "<i2"},
      {"uint16", "<u2"},    {"int32", "<i4"},       {"uint32", "<u4"},        {"int64", "<i8"},
      {"uint64", "<u8"},    {"float16", "<f2"},     {"float32", "<f4"},       {"float64", "<f8"},
      {"complex64", "<c8"}, {"complex128", "<c16"}, {"bfloat16", "bfloat16"},
  };
  for (const auto& [name, zarr] : names) {
    SCOPED_TRACE(name);
    DType d = dtype_from_name(name, "idx");
    EXPECT_EQ(d.zarr, zarr);
    EXPECT_EQ(d.name(), name);
  }
  EXPECT_TE_ERROR(dtype_from_name("float128", "checkpoint: a.b"), "checkpoint: a.b", "float128");
  EXPECT_TE_ERROR(dtype_from_name("<f4", "checkpoint: a.b"), "checkpoint: a.b");
  EXPECT_TE_ERROR(dtype_from_name("str", "checkpoint: a.b"), "checkpoint: a.b", "str");
}

// ---------------------------------------------------------------------------------------------
// .zarray parsing

const std::string kTensorStoreF4 =
    R"({"chunks":[16064,768],"compressor":{"id":"gzip","level":1},"dimension_separator":".","dtype":"<f4","fill_value":null,"filters":null,"order":"C","shape":[32128,768],"zarr_format":2})";

TEST(Metadata, ParsesTensorStoreFile) {
  ArrayMetadata m = ArrayMetadata::parse(kTensorStoreF4, "a/.zarray");
  EXPECT_EQ(m.shape, (Shape{32128, 768}));
  EXPECT_EQ(m.chunks, (Shape{16064, 768}));
  EXPECT_EQ(m.dtype.zarr, "<f4");
  EXPECT_EQ(m.codec->id(), "gzip");
  EXPECT_EQ(m.codec->to_json().dump(), R"({"id":"gzip","level":1})");
  EXPECT_TRUE(m.fill_value_is_null);
  EXPECT_EQ(m.fill_value, Bytes(4, std::byte{0}));
  EXPECT_EQ(m.order, 'C');
  EXPECT_EQ(m.dimension_separator, '.');
  EXPECT_EQ(m.rank(), 2);
  EXPECT_EQ(m.chunk_bytes(), size_t{16064} * 768 * 4);
  EXPECT_EQ(m.grid_shape(), (Shape{2, 1}));
  EXPECT_EQ(m.num_chunks(), 2);
  EXPECT_EQ(m.to_json_string(), kTensorStoreF4);
}

TEST(Metadata, EmitsTensorStoreBytes) {
  auto f4 = ArrayMetadata::make({32128, 768}, {16064, 768}, parse_zarr_dtype("<f4", "t"),
                                make_deflate_codec(true, 1));
  EXPECT_EQ(f4.to_json_string(), kTensorStoreF4);
  auto bf16 = ArrayMetadata::make({32128, 768}, {16064, 768}, parse_zarr_dtype("bfloat16", "t"),
                                  make_deflate_codec(true, 1));
  EXPECT_EQ(
      bf16.to_json_string(),
      R"({"chunks":[16064,768],"compressor":{"id":"gzip","level":1},"dimension_separator":".","dtype":"bfloat16","fill_value":null,"filters":null,"order":"C","shape":[32128,768],"zarr_format":2})");
  auto zstd = ArrayMetadata::make({4096, 16384}, {4096, 2048}, parse_zarr_dtype("<f4", "t"),
                                  make_zstd_codec(1));
  EXPECT_EQ(
      zstd.to_json_string(),
      R"({"chunks":[4096,2048],"compressor":{"id":"zstd","level":1},"dimension_separator":".","dtype":"<f4","fill_value":null,"filters":null,"order":"C","shape":[4096,16384],"zarr_format":2})");
  auto t5x = ArrayMetadata::make({4096, 3, 4096}, {2048, 3, 2048}, dtype_from_name("float32", "t"),
                                 codec_from_json(json::parse(R"({"id":"gzip"})"), "t"));
  EXPECT_EQ(
      t5x.to_json_string(),
      R"({"chunks":[2048,3,2048],"compressor":{"id":"gzip","level":1},"dimension_separator":".","dtype":"<f4","fill_value":null,"filters":null,"order":"C","shape":[4096,3,4096],"zarr_format":2})");
  auto raw = ArrayMetadata::make({}, {}, parse_zarr_dtype("<i4", "t"), make_null_codec());
  EXPECT_EQ(
      raw.to_json_string(),
      R"({"chunks":[],"compressor":null,"dimension_separator":".","dtype":"<i4","fill_value":null,"filters":null,"order":"C","shape":[],"zarr_format":2})");
  auto blosc = ArrayMetadata::make({7}, {7}, parse_zarr_dtype("|b1", "t"),
                                   codec_from_json(json::parse(R"({"id":"blosc"})"), "t"));
  EXPECT_EQ(
      blosc.to_json_string(),
      R"({"chunks":[7],"compressor":{"blocksize":0,"clevel":5,"cname":"lz4","id":"blosc","shuffle":-1},"dimension_separator":".","dtype":"|b1","fill_value":null,"filters":null,"order":"C","shape":[7],"zarr_format":2})");
  auto big = ArrayMetadata::make({2, 3}, {1, 3}, parse_zarr_dtype(">i8", "t"), make_bz2_codec(1));
  EXPECT_EQ(
      big.to_json_string(),
      R"({"chunks":[1,3],"compressor":{"id":"bz2","level":1},"dimension_separator":".","dtype":">i8","fill_value":null,"filters":null,"order":"C","shape":[2,3],"zarr_format":2})");
  EXPECT_EQ(big.to_json_string().back(), '}');  // no trailing newline
}

TEST(Metadata, ParsesZarrPythonStyle) {
  // Indented, different key order, fill_value 0, no dimension_separator (zarr-python < 2.8 style).
  const std::string text = R"({
    "zarr_format": 2,
    "shape": [
        10,
        7
    ],
    "order": "C",
    "filters": null,
    "fill_value": 0,
    "dtype": "<i2",
    "compressor": {
        "blocksize": 0,
        "clevel": 5,
        "cname": "lz4",
        "id": "blosc",
        "shuffle": 1
    },
    "chunks": [
        3,
        4
    ]
}
)";
  ArrayMetadata m = ArrayMetadata::parse(text, "p/.zarray");
  EXPECT_EQ(m.shape, (Shape{10, 7}));
  EXPECT_EQ(m.chunks, (Shape{3, 4}));
  EXPECT_EQ(m.dtype.zarr, "<i2");
  EXPECT_EQ(m.codec->id(), "blosc");
  EXPECT_FALSE(m.fill_value_is_null);
  EXPECT_EQ(m.fill_value, Bytes(2, std::byte{0}));
  EXPECT_EQ(m.dimension_separator, '.');
  EXPECT_EQ(m.grid_shape(), (Shape{4, 2}));
  EXPECT_EQ(m.num_chunks(), 8);
  EXPECT_EQ(m.chunk_key({3, 1}), "3.1");
}

std::string zarray_with(const std::map<std::string, std::string>& overrides,
                        const std::vector<std::string>& drop = {}) {
  std::map<std::string, std::string> members = {
      {"chunks", "[2,3]"},  {"compressor", "null"}, {"dimension_separator", "\".\""},
      {"dtype", "\"<f4\""}, {"fill_value", "null"}, {"filters", "null"},
      {"order", "\"C\""},   {"shape", "[5,3]"},     {"zarr_format", "2"},
  };
  for (const auto& [k, v] : overrides) members[k] = v;
  for (const auto& k : drop) members.erase(k);
  std::string out = "{";
  for (const auto& [k, v] : members) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += k;
    out += "\":";
    out += v;
  }
  return out + "}";
}

TEST(Metadata, Variants) {
  {
    auto m = ArrayMetadata::parse(zarray_with({}, {"dimension_separator"}), "v");
    EXPECT_EQ(m.dimension_separator, '.');
    EXPECT_EQ(m.chunk_key({1, 0}), "1.0");
  }
  {
    auto m = ArrayMetadata::parse(zarray_with({{"dimension_separator", "\"/\""}}), "v");
    EXPECT_EQ(m.dimension_separator, '/');
    EXPECT_EQ(m.chunk_key({1, 0}), "1/0");
  }
  {
    auto m = ArrayMetadata::parse(zarray_with({{"order", "\"F\""}}), "v");
    EXPECT_EQ(m.order, 'F');
  }
  {
    auto m = ArrayMetadata::parse(zarray_with({{"filters", "[]"}}), "v");
    EXPECT_EQ(m.shape, (Shape{5, 3}));
  }
  {
    auto m = ArrayMetadata::parse(zarray_with({{"attributes", R"({"a":[1,2]})"},
                                               {"zzz_unknown", "17"},
                                               {"metadata_key", "\".zarray\""}}),
                                  "v");
    EXPECT_EQ(m.shape, (Shape{5, 3}));
  }
  {
    auto m = ArrayMetadata::parse(zarray_with({{"shape", "[]"}, {"chunks", "[]"}}), "v");
    EXPECT_EQ(m.rank(), 0);
    EXPECT_EQ(m.grid_shape(), Shape{});
    EXPECT_EQ(m.num_chunks(), 1);
    EXPECT_EQ(m.chunk_key({}), "0");
    EXPECT_EQ(m.chunk_bytes(), 4u);
  }
  {
    auto m = ArrayMetadata::parse(zarray_with({{"shape", "[12]"}, {"chunks", "[5]"}}), "v");
    EXPECT_EQ(m.grid_shape(), Shape{3});
    EXPECT_EQ(m.chunk_key({0}), "0");
    EXPECT_EQ(m.chunk_key({2}), "2");
  }
  {
    auto m = ArrayMetadata::parse(zarray_with({{"shape", "[0,3]"}}), "v");
    EXPECT_EQ(m.grid_shape(), (Shape{0, 1}));
    EXPECT_EQ(m.num_chunks(), 0);
  }
  {
    auto m = ArrayMetadata::parse(zarray_with({{"compressor", R"({"id":"zstd","level":3})"}}), "v");
    EXPECT_EQ(m.codec->to_json().dump(), R"({"id":"zstd","level":3})");
  }
}

// Expected fill bytes for float dtypes, computed by numpy.
TEST(Metadata, FloatFillValuesMatchNumpy) {
  struct FillCase {
    std::string dtype, json_value, py_value;
  };
  const std::vector<FillCase> cases = {
      {"<f4", "\"NaN\"", "float('nan')"},
      {"<f4", "\"Infinity\"", "float('inf')"},
      {"<f4", "\"-Infinity\"", "float('-inf')"},
      {"<f4", "1.5", "1.5"},
      {">f4", "1.5", "1.5"},
      {"<f4", "-0.0", "-0.0"},
      {"<f4", "0.1", "0.1"},
      {"<f4", "\"0.25\"", "0.25"},
      {"<f8", "-2.0", "-2.0"},
      {">f8", "\"NaN\"", "float('nan')"},
      {"<f8", "1e300", "1e300"},
      {"<f8", "3", "3.0"},
      {"<f2", "1.5", "1.5"},
      {">f2", "1.5", "1.5"},
      {"<f2", "\"Infinity\"", "float('inf')"},
      {"<f2", "\"NaN\"", "float('nan')"},
      {"<f2", "65504", "65504.0"},
      {"<f2", "1e-7", "1e-7"},
      {"<f2", "0.1", "0.1"},
      {"<f2", "1.00048828125", "1.00048828125"},
      {"<f2", "2.98023223876953125e-08", "2.98023223876953125e-08"},
      {"<f2", "70000", "70000.0"},
      {"bfloat16", "1.0", "1.0"},
      {"bfloat16", "-2.5", "-2.5"},
      {"bfloat16", "0.1", "0.1"},
      {"bfloat16", "\"-Infinity\"", "float('-inf')"},
      {"bfloat16", "\"NaN\"", "float('nan')"},
      {"<c8", "[1.0,-2.0]", "complex(1.0,-2.0)"},
      {">c16", "[\"NaN\",0.5]", "complex(float('nan'),0.5)"},
      {"<c16", "[\"Infinity\",\"-Infinity\"]", "complex(float('inf'),float('-inf'))"},
  };
  std::string program = R"(
import numpy as np
def bf16(v):
    bits = int(np.array([v], dtype='<f4').view('<u4')[0])
    if v != v:
        return 'c07f'
    return np.array([(bits + 0x7FFF + ((bits >> 16) & 1)) >> 16], dtype='<u2').tobytes().hex()
cases = [
)";
  for (const auto& c : cases) program += "  ('" + c.dtype + "', " + c.py_value + "),\n";
  program += R"(]
for dt, v in cases:
    print(bf16(v) if dt == 'bfloat16' else np.array([v], dtype=dt).tobytes().hex())
)";
  std::string out = run_python(program);
  std::istringstream lines(out);
  for (const auto& c : cases) {
    std::string expected;
    std::getline(lines, expected);
    SCOPED_TRACE(c.dtype + " " + c.json_value);
    auto m = ArrayMetadata::parse(
        zarray_with({{"dtype", "\"" + c.dtype + "\""}, {"fill_value", c.json_value}}), "f");
    EXPECT_FALSE(m.fill_value_is_null);
    EXPECT_EQ(hex(m.fill_value), expected);
  }
}

TEST(Metadata, OtherFillValues) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"<i4", "7", "07000000"},
      {">i4", "7", "00000007"},
      {"<i2", "-1", "ffff"},
      {"|i1", "-128", "80"},
      {"|i1", "127", "7f"},
      {"|u1", "255", "ff"},
      {">u4", "258", "00000102"},
      {"<u2", "65535", "ffff"},
      {"<u8", "18446744073709551615", "ffffffffffffffff"},
      {">u8", "1", "0000000000000001"},
      {"<i8", "-9223372036854775808", "0000000000000080"},
      {"<i8", "9223372036854775807", "ffffffffffffff7f"},
      {"|b1", "true", "01"},
      {"|b1", "false", "00"},
      {"|S3", "\"YWJj\"", "616263"},
      {"|V2", "\"AAE=\"", "0001"},
  };
  for (const auto& [dtype, value, expected] : cases) {
    SCOPED_TRACE(dtype + " " + value);
    auto m = ArrayMetadata::parse(
        zarray_with({{"dtype", "\"" + dtype + "\""}, {"fill_value", value}}), "f");
    EXPECT_EQ(hex(m.fill_value), expected);
  }
}

TEST(Metadata, InvalidFillValues) {
  const std::string where = "fv/.zarray";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"|i1", "128"},
      {"|i1", "-129"},
      {"|u1", "-1"},
      {"|u1", "256"},
      {"<u2", "65536"},
      {"<i4", "1.5"},
      {"<i4", "\"7\""},
      {"<f4", "\"abc\""},
      {"<f4", "true"},
      {"|b1", "1"},
      {"<c8", "1.0"},
      {"<c8", "[1.0]"},
      {"|S3", "\"YWJjZA==\""},
      {"|S3", "7"},
      {"<u8", "-1"},
      {"<i8", "9223372036854775808"},
      {"<i8", "18446744073709551615"},
  };
  for (const auto& [dtype, value] : cases) {
    SCOPED_TRACE(dtype + " " + value);
    EXPECT_TE_ERROR(
        ArrayMetadata::parse(zarray_with({{"dtype", "\"" + dtype + "\""}, {"fill_value", value}}),
                             where),
        where);
  }
}

TEST(Metadata, ErrorsNameTheFile) {
  const std::string where = "/data/ck/layer.kernel/.zarray";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"{\"zarr_format\":2,", {"malformed JSON"}},
      {"", {"malformed JSON"}},
      {"[1,2]", {}},
      {zarray_with({{"zarr_format", "3"}}), {"zarr_format"}},
      {zarray_with({}, {"zarr_format"}), {"zarr_format"}},
      {zarray_with({{"compressor", R"({"id":"lzma"})"}}), {"lzma"}},
      {zarray_with({{"compressor", R"({"id":"gzip","level":12})"}}), {"level"}},
      {zarray_with({{"dtype", "\"<U8\""}}), {"<U8"}},
      {zarray_with({{"dtype", "\"float32\""}}), {"float32"}},
      {zarray_with({{"dtype", R"([["a","<f4"]])"}}), {"dtype"}},
      {zarray_with({}, {"dtype"}), {"dtype"}},
      {zarray_with({{"order", "\"K\""}}), {"order"}},
      {zarray_with({{"filters", R"([{"id":"delta","dtype":"<f4"}])"}}), {"filters"}},
      {zarray_with({{"dimension_separator", "\"-\""}}), {"dimension_separator"}},
      {zarray_with({{"shape", "[5]"}}), {"rank"}},
      {zarray_with({{"shape", "[5,-3]"}}), {"shape"}},
      {zarray_with({{"shape", "[5,3.5]"}}), {"shape"}},
      {zarray_with({{"shape", "\"5,3\""}}), {"shape"}},
      {zarray_with({}, {"shape"}), {"shape"}},
      {zarray_with({{"chunks", "[2,0]"}}), {"chunks"}},
      {zarray_with({}, {"chunks"}), {"chunks"}},
  };
  for (const auto& [text, parts] : cases) {
    SCOPED_TRACE(text);
    std::vector<std::string> all = parts;
    all.push_back(where);
    try {
      ArrayMetadata::parse(text, where);
      ADD_FAILURE() << "accepted";
    } catch (const te::Error& e) {
      for (const auto& p : all)
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Arrays on disk

Shape unravel(int64_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    idx[i] = flat % shape[i];
    flat /= shape[i];
  }
  return idx;
}

int64_t ravel(const Shape& idx, const Shape& shape) {
  int64_t flat = 0;
  for (size_t i = 0; i < shape.size(); ++i) flat = flat * shape[i] + idx[i];
  return flat;
}

// The full (padded) C-order chunk `ci` of a dense C-order array, padding filled with `pad`.
Bytes expected_chunk(const Bytes& data, const Shape& shape, const Shape& chunks, const Shape& ci,
                     size_t item, std::byte pad = std::byte{0}, bool fortran = false) {
  int64_t n = num_elements(chunks);
  Bytes out(static_cast<size_t>(n) * item, pad);
  for (int64_t e = 0; e < n; ++e) {
    Shape p;
    if (fortran) {
      // Element e of a Fortran-order chunk: the first index varies fastest.
      Shape rev(chunks.rbegin(), chunks.rend());
      Shape q = unravel(e, rev);
      p.assign(q.rbegin(), q.rend());
    } else {
      p = unravel(e, chunks);
    }
    Shape g(shape.size());
    bool inside = true;
    for (size_t i = 0; i < shape.size(); ++i) {
      g[i] = ci[i] * chunks[i] + p[i];
      inside &= g[i] < shape[i];
    }
    if (inside) {
      std::memcpy(out.data() + e * static_cast<int64_t>(item),
                  data.data() + ravel(g, shape) * static_cast<int64_t>(item), item);
    }
  }
  return out;
}

Bytes expected_region(const Bytes& data, const Shape& shape, const Box& box, size_t item) {
  int64_t n = num_elements(box.size);
  Bytes out(static_cast<size_t>(n) * item);
  for (int64_t e = 0; e < n; ++e) {
    Shape p = unravel(e, box.size);
    for (size_t i = 0; i < p.size(); ++i) p[i] += box.start[i];
    std::memcpy(out.data() + e * static_cast<int64_t>(item),
                data.data() + ravel(p, shape) * static_cast<int64_t>(item), item);
  }
  return out;
}

std::vector<Shape> grid_indices(const Shape& grid) {
  std::vector<Shape> out;
  int64_t n = num_elements(grid);
  for (int64_t e = 0; e < n; ++e) out.push_back(unravel(e, grid));
  return out;
}

struct ArrayCase {
  Shape shape, chunks;
  std::string dtype;
  std::string compressor;
};

const std::vector<ArrayCase> kArrayCases = {
    {{5, 3}, {2, 2}, "<f4", R"({"id":"gzip","level":1})"},
    {{7, 5, 3}, {3, 2, 3}, "<i2", R"({"id":"zstd","level":1})"},
    {{10}, {4}, "|u1", R"({"id":"zlib","level":1})"},
    {{4, 6}, {4, 6}, "<f8", "null"},
    {{3, 4}, {5, 7}, ">i4", R"({"id":"bz2","level":1})"},  // one chunk bigger than the array
    {{9, 2}, {2, 1}, "<c16", R"({"id":"blosc"})"},
    {{}, {}, "<i8", R"({"id":"gzip","level":1})"},
    {{6, 5}, {3, 5}, "bfloat16", R"({"id":"zstd","level":1})"},
    {{2, 3, 2, 3}, {1, 2, 2, 2}, "|b1", "null"},
};

TEST(ZarrArray, WriteAllStoresEveryPaddedChunkAndReadsBack) {
  for (const auto& c : kArrayCases) {
    SCOPED_TRACE(c.dtype + " " + shape_string(c.shape) + " " + c.compressor);
    TempDir tmp;
    auto meta = ArrayMetadata::make(c.shape, c.chunks, parse_zarr_dtype(c.dtype, "t"),
                                    codec_from_json(json::parse(c.compressor), "t"));
    size_t item = meta.dtype.itemsize;
    Bytes data = random_bytes(static_cast<size_t>(num_elements(c.shape)) * item, 31);
    if (c.dtype == "|b1") {
      for (auto& b : data) b &= std::byte{1};
    }
    fs::path dir = tmp / "arr";
    checkpoint::create_array_folder(dir, meta).write_all(data);
    EXPECT_EQ(to_string(read_bytes(dir / ".zarray")), meta.to_json_string());

    ZarrArray array = checkpoint::open_array_folder(dir);
    EXPECT_EQ(array.metadata().shape, c.shape);
    EXPECT_TRUE(array.read_all() == data);

    // Every chunk of the grid is a file holding the full padded chunk (padding zero).
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) files += e.path().filename() != ".zarray";
    EXPECT_EQ(files, static_cast<size_t>(meta.num_chunks()));
    for (const Shape& ci : grid_indices(meta.grid_shape())) {
      fs::path file = dir / meta.chunk_key(ci);
      ASSERT_TRUE(fs::exists(file)) << file;
      Bytes decoded = meta.codec->decode(read_bytes(file), meta.chunk_bytes(), file.string());
      EXPECT_TRUE(decoded == expected_chunk(data, c.shape, c.chunks, ci, item)) << file;
      EXPECT_TRUE(array.read_chunk(ci) == decoded);
    }
  }
}

TEST(ZarrArray, RegionReadsOfArbitraryBoxes) {
  std::mt19937 rng(5);
  for (const auto& c : kArrayCases) {
    SCOPED_TRACE(c.dtype + " " + shape_string(c.shape));
    TempDir tmp;
    auto meta = ArrayMetadata::make(c.shape, c.chunks, parse_zarr_dtype(c.dtype, "t"),
                                    codec_from_json(json::parse(c.compressor), "t"));
    size_t item = meta.dtype.itemsize;
    Bytes data = random_bytes(static_cast<size_t>(num_elements(c.shape)) * item, 32);
    ZarrArray array = checkpoint::create_array_folder(tmp / "a", meta);
    array.write_all(data);
    for (int trial = 0; trial < 25; ++trial) {
      Box box{Shape(c.shape.size()), Shape(c.shape.size())};
      for (size_t i = 0; i < c.shape.size(); ++i) {
        box.start[i] = static_cast<int64_t>(rng() % static_cast<uint32_t>(c.shape[i]));
        box.size[i] =
            1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(c.shape[i] - box.start[i]));
      }
      Bytes out(static_cast<size_t>(num_elements(box.size)) * item);
      array.read_region(box, out);
      EXPECT_TRUE(out == expected_region(data, c.shape, box, item))
          << shape_string(box.start) << " + " << shape_string(box.size);
    }
  }
}

TEST(ZarrArray, ForEachChunkInBox) {
  auto meta = ArrayMetadata::make({10, 7}, {3, 4}, parse_zarr_dtype("<f4", "t"), make_null_codec());
  std::vector<Shape> seen;
  for_each_chunk_in_box(meta, Box{{2, 3}, {5, 2}}, [&](const Shape& ci) { seen.push_back(ci); });
  EXPECT_EQ(seen, (std::vector<Shape>{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 0}, {2, 1}}));
  seen.clear();
  for_each_chunk_in_box(meta, Box{{9, 6}, {1, 1}}, [&](const Shape& ci) { seen.push_back(ci); });
  EXPECT_EQ(seen, (std::vector<Shape>{{3, 1}}));
  seen.clear();
  for_each_chunk_in_box(meta, Box{{4, 0}, {0, 7}}, [&](const Shape& ci) { seen.push_back(ci); });
  EXPECT_TRUE(seen.empty());
}

// Writes a raw (null-compressor) array by hand; chunk files are given explicitly.
void write_raw_array(const fs::path& dir, const std::string& zarray,
                     const std::map<std::string, Bytes>& chunk_files) {
  fs::create_directories(dir);
  write_text(dir / ".zarray", zarray);
  for (const auto& [key, bytes] : chunk_files) {
    fs::create_directories((dir / key).parent_path());
    write_bytes(dir / key, bytes);
  }
}

TEST(ZarrArray, EdgeChunksAreCroppedWhateverThePaddingHolds) {
  TempDir tmp;
  Shape shape{5, 3}, chunks{2, 2};
  Bytes data = random_bytes(15 * 4, 33);
  std::map<std::string, Bytes> files;
  for (const Shape& ci : grid_indices({3, 2})) {
    files[std::to_string(ci[0]) + "." + std::to_string(ci[1])] =
        expected_chunk(data, shape, chunks, ci, 4, std::byte{0xee});
  }
  write_raw_array(tmp / "a", zarray_with({{"chunks", "[2,2]"}}), files);
  EXPECT_TRUE(checkpoint::open_array_folder(tmp / "a").read_all() == data);
}

TEST(ZarrArray, MissingChunksReadAsFillValue) {
  TempDir tmp;
  Shape shape{5, 3}, chunks{2, 2};
  Bytes data = random_bytes(15 * 4, 34);
  auto write_without = [&](const fs::path& dir, const std::string& zarray,
                           const std::set<std::string>& missing) {
    std::map<std::string, Bytes> files;
    for (const Shape& ci : grid_indices({3, 2})) {
      std::string key = std::to_string(ci[0]) + "." + std::to_string(ci[1]);
      if (!missing.count(key)) files[key] = expected_chunk(data, shape, chunks, ci, 4);
    }
    write_raw_array(dir, zarray, files);
  };
  auto expect_with_fill = [&](const Bytes& got, const std::set<std::string>& missing,
                              std::array<uint8_t, 4> fill) {
    for (int64_t e = 0; e < 15; ++e) {
      Shape g = unravel(e, shape);
      std::string key = std::to_string(g[0] / 2) + "." + std::to_string(g[1] / 2);
      for (int b = 0; b < 4; ++b) {
        uint8_t want = missing.count(key) ? fill[b] : static_cast<uint8_t>(data[e * 4 + b]);
        EXPECT_EQ(static_cast<uint8_t>(got[e * 4 + b]), want) << "element " << e;
      }
    }
  };
  std::set<std::string> missing = {"0.1", "2.0"};
  write_without(tmp / "null", zarray_with({{"chunks", "[2,2]"}}), missing);
  expect_with_fill(checkpoint::open_array_folder(tmp / "null").read_all(), missing, {0, 0, 0, 0});

  write_without(tmp / "nan", zarray_with({{"fill_value", "\"NaN\""}, {"chunks", "[2,2]"}}),
                missing);
  expect_with_fill(checkpoint::open_array_folder(tmp / "nan").read_all(), missing,
                   {0x00, 0x00, 0xc0, 0x7f});

  write_without(tmp / "big",
                zarray_with({{"fill_value", "-2"}, {"dtype", "\">i4\""}, {"chunks", "[2,2]"}}),
                missing);
  expect_with_fill(checkpoint::open_array_folder(tmp / "big").read_all(), missing,
                   {0xff, 0xff, 0xff, 0xfe});

  // All chunks missing: only .zarray (2021-era all-zero arrays).
  std::set<std::string> all = {"0.0", "0.1", "1.0", "1.1", "2.0", "2.1"};
  write_without(tmp / "empty",
                zarray_with({{"compressor", R"({"id":"gzip","level":1})"}, {"chunks", "[2,2]"}}),
                all);
  expect_with_fill(checkpoint::open_array_folder(tmp / "empty").read_all(), all, {0, 0, 0, 0});
  // A streaming reader over a missing chunk yields the fill value too.
  auto reader = checkpoint::open_array_folder(tmp / "nan").open_chunk({0, 1});
  Bytes chunk(16);
  reader->read(std::span(chunk).first(5));
  reader->read(std::span(chunk).subspan(5));
  reader->finish();
  EXPECT_EQ(hex(chunk), "0000c07f0000c07f0000c07f0000c07f");
}

TEST(ZarrArray, FortranOrderChunks) {
  TempDir tmp;
  Shape shape{5, 3, 4}, chunks{2, 3, 3};
  Bytes data = random_bytes(60 * 2, 35);
  std::map<std::string, Bytes> files;
  for (const Shape& ci : grid_indices({3, 1, 2})) {
    files[std::to_string(ci[0]) + "." + std::to_string(ci[1]) + "." + std::to_string(ci[2])] =
        expected_chunk(data, shape, chunks, ci, 2, std::byte{0}, /*fortran=*/true);
  }
  write_raw_array(
      tmp / "f",
      zarray_with(
          {{"order", "\"F\""}, {"dtype", "\"<u2\""}, {"shape", "[5,3,4]"}, {"chunks", "[2,3,3]"}}),
      files);
  ZarrArray array = checkpoint::open_array_folder(tmp / "f");
  EXPECT_TRUE(array.read_all() == data);
  EXPECT_TRUE(array.read_chunk({1, 0, 1}) == expected_chunk(data, shape, chunks, {1, 0, 1}, 2));
  // The streaming reader also serves C order.
  auto reader = array.open_chunk({2, 0, 0});
  Bytes c(array.metadata().chunk_bytes());
  reader->read(c);
  reader->finish();
  EXPECT_TRUE(c == expected_chunk(data, shape, chunks, {2, 0, 0}, 2));
  Bytes region(2 * 2 * 2 * 2);
  array.read_region(Box{{1, 1, 2}, {2, 2, 2}}, region);
  EXPECT_TRUE(region == expected_region(data, shape, Box{{1, 1, 2}, {2, 2, 2}}, 2));
}

TEST(ZarrArray, SlashSeparatedKeys) {
  TempDir tmp;
  Shape shape{5, 3}, chunks{2, 2};
  Bytes data = random_bytes(60, 36);
  std::map<std::string, Bytes> files;
  for (const Shape& ci : grid_indices({3, 2})) {
    files[std::to_string(ci[0]) + "/" + std::to_string(ci[1])] =
        expected_chunk(data, shape, chunks, ci, 4);
  }
  write_raw_array(tmp / "s", zarray_with({{"dimension_separator", "\"/\""}, {"chunks", "[2,2]"}}),
                  files);
  ZarrArray array = checkpoint::open_array_folder(tmp / "s");
  EXPECT_EQ(array.chunk_key({2, 1}), "2/1");
  EXPECT_TRUE(array.read_all() == data);
}

TEST(ZarrArray, ExtraFilesAreIgnored) {
  TempDir tmp;
  Bytes data = random_bytes(15 * 4, 37);
  auto meta = ArrayMetadata::make({5, 3}, {2, 2}, parse_zarr_dtype("<f4", "t"), make_zstd_codec(1));
  checkpoint::create_array_folder(tmp / "a", meta).write_all(data);
  write_text(tmp / "a" / ".zattrs", "{not json at all");
  write_text(tmp / "a" / ".zgroup", "{\"zarr_format\":2}");
  EXPECT_TRUE(checkpoint::open_array_folder(tmp / "a").read_all() == data);
}

TEST(ZarrArray, RankZeroUsesKeyZero) {
  TempDir tmp;
  auto meta =
      ArrayMetadata::make({}, {}, parse_zarr_dtype("<i4", "t"), make_deflate_codec(true, 1));
  Bytes one = bytes_of({1, 0, 0, 0});
  checkpoint::create_array_folder(tmp / "s", meta).write_all(one);
  EXPECT_TRUE(fs::exists(tmp / "s" / "0"));
  EXPECT_TRUE(checkpoint::open_array_folder(tmp / "s").read_all() == one);
  // Written by hand (raw) and read.
  write_raw_array(tmp / "r", zarray_with({{"shape", "[]"}, {"chunks", "[]"}}),
                  {{"0", bytes_of({0, 0, 0x80, 0x3f})}});
  EXPECT_EQ(hex(checkpoint::open_array_folder(tmp / "r").read_all()), "0000803f");
}

TEST(ZarrArray, EmptyArray) {
  TempDir tmp;
  auto meta = ArrayMetadata::make({0, 4}, {2, 2}, parse_zarr_dtype("<f4", "t"), make_zstd_codec(1));
  checkpoint::create_array_folder(tmp / "e", meta).write_all({});
  EXPECT_TRUE(checkpoint::open_array_folder(tmp / "e").read_all().empty());
}

TEST(ZarrArray, BigEndianBytesAreKeptInStoredOrder) {
  TempDir tmp;
  Bytes chunk = bytes_of({0, 0, 0, 1, 0, 0, 1, 0});
  write_raw_array(tmp / "b",
                  zarray_with({{"dtype", "\">i4\""}, {"shape", "[2]"}, {"chunks", "[2]"}}),
                  {{"0", chunk}});
  EXPECT_TRUE(checkpoint::open_array_folder(tmp / "b").read_all() == chunk);
}

TEST(ZarrArray, StreamingChunkWriterAndReader) {
  TempDir tmp;
  auto meta =
      ArrayMetadata::make({8, 1000}, {4, 1000}, parse_zarr_dtype("<f4", "t"), make_zstd_codec(1));
  ZarrArray array = checkpoint::create_array_folder(tmp / "w", meta);
  Bytes c0 = compressible_bytes(meta.chunk_bytes(), 38), c1 = random_bytes(meta.chunk_bytes(), 39);
  auto w = array.open_chunk_writer({0, 0});
  for (size_t pos = 0; pos < c0.size(); pos += 997)
    w->write(std::span(c0).subspan(pos, std::min<size_t>(997, c0.size() - pos)));
  uint64_t stored = w->finish();
  EXPECT_EQ(stored, fs::file_size(tmp / "w" / "0.0"));
  uint64_t stored1 = array.write_chunk({1, 0}, c1);
  EXPECT_EQ(stored1, fs::file_size(tmp / "w" / "1.0"));
  auto r = array.open_chunk({0, 0});
  Bytes back(c0.size());
  for (size_t pos = 0; pos < back.size(); pos += 1001)
    r->read(std::span(back).subspan(pos, std::min<size_t>(1001, back.size() - pos)));
  r->finish();
  EXPECT_TRUE(back == c0);
  Bytes all = checkpoint::open_array_folder(tmp / "w").read_all();
  EXPECT_TRUE(std::equal(c0.begin(), c0.end(), all.begin()));
  EXPECT_TRUE(std::equal(c1.begin(), c1.end(), all.begin() + static_cast<long>(c0.size())));
}

TEST(ZarrArray, OpenWithMetadataWithoutZarray) {
  TempDir tmp;
  fs::create_directories(tmp / "n");
  auto meta =
      ArrayMetadata::make({5}, {5}, parse_zarr_dtype("<f4", "t"), make_deflate_codec(true, 1));
  std::vector<float> ones(5, 1.0f);
  write_bytes(tmp / "n" / "0", meta.codec->encode(bytes_of_values(ones), 4));
  EXPECT_TRUE(ZarrArray::open_with_metadata(std::make_shared<kv::FileStore>(tmp / "n"), "", meta)
                  .read_all() == bytes_of_values(ones));
}

// Whatever metadata an array is created with, what write_all stores must read back unchanged.
TEST(ZarrArray, CreateRoundTripsParsedMetadataVariants) {
  const std::vector<std::map<std::string, std::string>> variants = {
      {{"dimension_separator", "\"/\""}},
      {{"order", "\"F\""}},
      {{"fill_value", "5.5"}},
      {{"compressor", R"({"id":"zstd","level":1})"}},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.begin()->first + "=" + v.begin()->second);
    TempDir tmp;
    auto meta = ArrayMetadata::parse(zarray_with(v), "variant");
    Bytes data = random_bytes(60, 40);
    try {
      checkpoint::create_array_folder(tmp / "a", meta).write_all(data);
      EXPECT_TRUE(checkpoint::open_array_folder(tmp / "a").read_all() == data);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "write/read failed: " << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Errors reading arrays name the file.

class ZarrArrayErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = ArrayMetadata::make({6, 4}, {3, 4}, parse_zarr_dtype("<f4", "t"),
                                make_deflate_codec(true, 1));
    data_ = compressible_bytes(96, 41);
    checkpoint::create_array_folder(dir(), meta_).write_all(data_);
  }
  fs::path dir() const { return tmp_.path() / "arr"; }
  fs::path chunk() const { return dir() / "1.0"; }
  void expect_read_error(const std::vector<std::string>& parts = {}) {
    std::vector<std::string> all = parts;
    all.push_back(chunk().string());
    try {
      checkpoint::open_array_folder(dir()).read_all();
      ADD_FAILURE() << "read succeeded";
    } catch (const te::Error& e) {
      for (const auto& p : all)
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }
  TempDir tmp_;
  ArrayMetadata meta_;
  Bytes data_;
};

TEST_F(ZarrArrayErrors, CorruptChunk) {
  Bytes c = read_bytes(chunk());
  for (size_t i = 10; i < c.size() - 8; ++i) c[i] ^= std::byte{0x5a};
  write_bytes(chunk(), c);
  expect_read_error();
}

TEST_F(ZarrArrayErrors, TruncatedChunk) {
  Bytes c = read_bytes(chunk());
  c.resize(c.size() / 2);
  write_bytes(chunk(), c);
  expect_read_error();
}

TEST_F(ZarrArrayErrors, EmptyChunkFile) {
  write_bytes(chunk(), Bytes{});
  expect_read_error();
}

TEST_F(ZarrArrayErrors, ChunkDecodesTooLong) {
  write_bytes(chunk(), meta_.codec->encode(random_bytes(52, 1), 4));
  expect_read_error({"48"});
}

TEST_F(ZarrArrayErrors, ChunkDecodesTooShort) {
  write_bytes(chunk(), meta_.codec->encode(random_bytes(44, 1), 4));
  expect_read_error({"48"});
}

TEST_F(ZarrArrayErrors, TrailingGarbageAfterGzipMember) {
  Bytes c = read_bytes(chunk());
  Bytes g = bytes_of(std::string("TRAILING"));
  c.insert(c.end(), g.begin(), g.end());
  write_bytes(chunk(), c);
  expect_read_error();
}

TEST_F(ZarrArrayErrors, TrailingGarbageAfterZstdFrame) {
  fs::remove_all(dir());
  meta_ = ArrayMetadata::make({6, 4}, {3, 4}, parse_zarr_dtype("<f4", "t"), make_zstd_codec(1));
  checkpoint::create_array_folder(dir(), meta_).write_all(data_);
  Bytes c = read_bytes(chunk());
  c.push_back(std::byte{0x28});
  c.push_back(std::byte{0xb5});
  write_bytes(chunk(), c);
  expect_read_error();
}

TEST_F(ZarrArrayErrors, MissingZarray) {
  fs::remove(dir() / ".zarray");
  EXPECT_TE_ERROR(checkpoint::open_array_folder(dir()), dir().string(), ".zarray");
}

TEST_F(ZarrArrayErrors, MalformedZarray) {
  write_text(dir() / ".zarray", "{\"zarr_format\": 2, \"shape\": [6,");
  EXPECT_TE_ERROR(checkpoint::open_array_folder(dir()), (dir() / ".zarray").string(), "JSON");
}

TEST_F(ZarrArrayErrors, UnknownCodecAndDtype) {
  write_text(dir() / ".zarray", zarray_with({{"compressor", R"({"id":"lz4"})"}}));
  EXPECT_TE_ERROR(checkpoint::open_array_folder(dir()), (dir() / ".zarray").string(), "lz4");
  write_text(dir() / ".zarray", zarray_with({{"dtype", "\"<m8\""}}));
  EXPECT_TE_ERROR(checkpoint::open_array_folder(dir()), (dir() / ".zarray").string(), "<m8");
}

}  // namespace
}  // namespace te::zarr
