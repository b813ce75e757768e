// zarr v3 metadata: data_type names and sizes, fill values in TensorStore's JSON forms, chunk key
// encodings, and zarr.json emitted in TensorStore's byte form.
#include <cmath>

#include "test_util.h"
#include "zarr/v3_data_type.h"
#include "zarr/v3_metadata.h"

namespace te::zarr::v3 {
namespace {

using te::testing::hex;
using te::testing::unhex;

// The zarr.json of array `a` in the real Orbax fixtures (orbax-format.md §6), 480 bytes.
const std::string kFixtureZarrJson =
    R"({"chunk_grid":{"configuration":{"chunk_shape":[8]},"name":"regular"},)"
    R"("chunk_key_encoding":{"name":"default"},"codecs":[{"configuration":{"chunk_shape":[8],)"
    R"("codecs":[{"configuration":{"endian":"little"},"name":"bytes"},{"configuration":)"
    R"({"checksum":false,"level":3},"name":"zstd"}],"index_codecs":[{"configuration":)"
    R"({"endian":"little"},"name":"bytes"},{"name":"crc32c"}]},"name":"sharding_indexed"}],)"
    R"("data_type":"int32","fill_value":0,"node_type":"array","shape":[8],"zarr_format":3})";

TEST(Zarr3DataType, EveryNameHasItsSizeAndNameBack) {
  struct Row {
    const char* name;
    size_t itemsize;
    char kind;
  };
  const Row rows[] = {
      {"bool", 1, 'b'},
      {"int8", 1, 'i'},
      {"uint8", 1, 'u'},
      {"int16", 2, 'i'},
      {"uint16", 2, 'u'},
      {"int32", 4, 'i'},
      {"uint32", 4, 'u'},
      {"int64", 8, 'i'},
      {"uint64", 8, 'u'},
      {"float16", 2, 'f'},
      {"bfloat16", 2, 'f'},
      {"float32", 4, 'f'},
      {"float64", 8, 'f'},
      {"complex64", 8, 'c'},
      {"complex128", 16, 'c'},
      {"float8_e4m3fn", 1, 'f'},
      {"float8_e5m2", 1, 'f'},
      {"float8_e4m3fnuz", 1, 'f'},
      {"float8_e5m2fnuz", 1, 'f'},
      {"float8_e4m3b11fnuz", 1, 'f'},
      {"float8_e3m4", 1, 'f'},
      {"float8_e8m0fnu", 1, 'f'},
      {"float4_e2m1fn", 1, 'f'},
      {"int4", 1, 'i'},
      {"int2", 1, 'i'},
      {"r8", 1, 'V'},
      {"r48", 6, 'V'},
  };
  for (const auto& r : rows) {
    DType d = dtype_from_v3_name(r.name, "test");
    EXPECT_EQ(d.itemsize, r.itemsize) << r.name;
    EXPECT_EQ(d.kind, r.kind) << r.name;
    EXPECT_EQ(v3_name(d), r.name);
    // Multi-byte numeric types are held in their little-endian v2 form.
    if (r.itemsize > 1 && r.kind != 'V') {
      EXPECT_EQ(d.endian, Endian::kLittle) << r.name;
    }
  }
  EXPECT_EQ(dtype_from_v3_name("int32", "t").zarr, "<i4");
  EXPECT_EQ(dtype_from_v3_name("bfloat16", "t").zarr, "bfloat16");
  EXPECT_TE_ERROR(dtype_from_v3_name("<f4", "a/zarr.json"), "a/zarr.json", "\"<f4\"");
  EXPECT_TE_ERROR(dtype_from_v3_name("float128", "k"), "unsupported zarr v3 data_type");
  EXPECT_TE_ERROR(dtype_from_v3_name("r12", "k"), "multiple of 8");
}

Bytes fill(const nlohmann::json& j, const char* type) {
  return parse_fill_value(j, dtype_from_v3_name(type, "t"), "t");
}

TEST(Zarr3FillValue, NumbersNamesAndHex) {
  EXPECT_EQ(hex(fill(0, "int32")), "00000000");
  EXPECT_EQ(hex(fill(-2, "int16")), "feff");
  EXPECT_EQ(hex(fill(nlohmann::json(UINT64_MAX), "uint64")), "ffffffffffffffff");
  EXPECT_EQ(hex(fill(true, "bool")), "01");
  EXPECT_EQ(hex(fill(1.0, "float32")), "0000803f");
  EXPECT_EQ(hex(fill(1.0, "bfloat16")), "803f");
  EXPECT_EQ(hex(fill(-2.0, "float16")), "00c0");
  EXPECT_EQ(hex(fill(448, "float8_e4m3fn")), "7e");
  EXPECT_EQ(hex(fill(1.0, "float8_e5m2")), "3c");
  EXPECT_EQ(hex(fill(1.0, "float8_e4m3fnuz")), "40");
  EXPECT_EQ(hex(fill(1.0, "float8_e4m3b11fnuz")), "58");
  EXPECT_EQ(hex(fill(1.0, "float8_e5m2fnuz")), "40");
  EXPECT_EQ(hex(fill(6.0, "float4_e2m1fn")), "07");
  EXPECT_EQ(hex(fill(4.0, "float8_e8m0fnu")), "81");
  EXPECT_EQ(hex(fill("NaN", "float32")), "0000c07f");
  EXPECT_EQ(hex(fill("NaN", "bfloat16")), "c07f");
  EXPECT_EQ(hex(fill("NaN", "float16")), "007e");
  EXPECT_EQ(hex(fill("NaN", "float8_e4m3fn")), "7f");
  EXPECT_EQ(hex(fill("NaN", "float8_e4m3fnuz")), "80");
  EXPECT_EQ(hex(fill("NaN", "float8_e5m2")), "7e");
  EXPECT_EQ(hex(fill("Infinity", "float64")), "000000000000f07f");
  EXPECT_EQ(hex(fill("-Infinity", "bfloat16")), "80ff");
  EXPECT_EQ(hex(fill("0x7fc00001", "float32")), "0100c07f");
  EXPECT_EQ(hex(fill("0x3c00", "float16")), "003c");
  EXPECT_EQ(hex(fill(nlohmann::json::array({1.0, "NaN"}), "complex64")), "0000803f0000c07f");
  // Round half to even: bfloat16 1 + 2^-8 lies halfway between 1 and 1 + 2^-7.
  EXPECT_EQ(hex(fill(1.0 + std::ldexp(1.0, -8), "bfloat16")), "803f");
  EXPECT_EQ(hex(fill(1.0 + 3 * std::ldexp(1.0, -8), "bfloat16")), "823f");
  // bfloat16 goes through float as in TensorStore: just above the tie in double, a tie in float.
  EXPECT_EQ(hex(fill(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30), "bfloat16")), "803f");
  EXPECT_EQ(hex(fill(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -20), "bfloat16")), "813f");
  // Subnormals, and overflow: e5m2 has infinity, e4m3fn only NaN.
  EXPECT_EQ(hex(fill(std::ldexp(1.0, -16), "float8_e5m2")), "01");
  EXPECT_EQ(hex(fill(1e6, "float8_e5m2")), "7c");
  EXPECT_EQ(hex(fill(1e6, "float8_e4m3fn")), "7f");
  EXPECT_EQ(hex(fill(-0.0, "float8_e4m3fnuz")), "00");

  EXPECT_TE_ERROR(fill(1.5, "int32"), "expected an integer");
  EXPECT_TE_ERROR(fill(128, "int8"), "out of range");
  EXPECT_TE_ERROR(fill(-1, "uint8"), "out of range");
  EXPECT_TE_ERROR(fill(8, "int4"), "out of range");
  EXPECT_TE_ERROR(fill("0x123", "float8_e5m2"), "hex string");
  EXPECT_TE_ERROR(fill("1.0", "float32"), "hex string");
  EXPECT_TE_ERROR(fill(1, "bool"), "true or false");
}

TEST(Zarr3FillValue, EmittedAsTensorStoreWritesIt) {
  auto json_of = [](const char* type, const std::string& bytes_hex) {
    return fill_value_json(unhex(bytes_hex), dtype_from_v3_name(type, "t")).dump();
  };
  EXPECT_EQ(json_of("int32", "00000000"), "0");
  EXPECT_EQ(json_of("int8", "ff"), "-1");
  EXPECT_EQ(json_of("int4", "f9"), "-7");
  EXPECT_EQ(json_of("uint64", "ffffffffffffffff"), "18446744073709551615");
  EXPECT_EQ(json_of("float32", "00000000"), "0.0");
  EXPECT_EQ(json_of("bfloat16", "0000"), "0.0");
  EXPECT_EQ(json_of("float32", "cdcccc3d"), "0.10000000149011612");
  EXPECT_EQ(json_of("float32", "0000c07f"), "\"NaN\"");
  EXPECT_EQ(json_of("float32", "0100c07f"), "\"0x7fc00001\"");
  EXPECT_EQ(json_of("float16", "00fc"), "\"-Infinity\"");
  EXPECT_EQ(json_of("float8_e4m3fn", "7f"), "\"NaN\"");
  EXPECT_EQ(json_of("float8_e4m3fn", "ff"), "\"0xff\"");
  EXPECT_EQ(json_of("bool", "01"), "true");
  EXPECT_EQ(json_of("complex128", "000000000000f03f000000000000f07f"), "[1.0,\"Infinity\"]");
  EXPECT_EQ(json_of("r16", "0102"), "[1,2]");
}

TEST(Zarr3FillValue, EverySmallFloatPatternRoundTripsThroughDouble) {
  for (const char* type : {"float16", "bfloat16", "float8_e3m4", "float8_e4m3fn", "float8_e4m3fnuz",
                           "float8_e4m3b11fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu",
                           "float4_e2m1fn"}) {
    DType d = dtype_from_v3_name(type, "t");
    uint32_t patterns = d.itemsize == 2 ? 65536 : (std::string(type) == "float4_e2m1fn" ? 16 : 256);
    for (uint32_t bits = 0; bits < patterns; ++bits) {
      Bytes e(d.itemsize);
      e[0] = static_cast<std::byte>(bits & 0xff);
      if (d.itemsize == 2) e[1] = static_cast<std::byte>(bits >> 8);
      double v = float_element_to_double(e, d);
      if (std::isnan(v)) continue;
      ASSERT_EQ(hex(float_element_from_double(v, d)), hex(e)) << type << " bits " << bits;
    }
  }
}

TEST(Zarr3ChunkKeyEncoding, DefaultAndV2) {
  ChunkKeyEncoding def;
  std::vector<int64_t> pos{0, 12};
  EXPECT_EQ(def.key(pos), "c/0/12");
  EXPECT_EQ(def.key({}), "c");
  EXPECT_EQ(def.to_json().dump(), R"({"name":"default"})");
  ChunkKeyEncoding dot{ChunkKeyEncoding::Kind::kDefault, '.'};
  EXPECT_EQ(dot.key(pos), "c.0.12");
  EXPECT_EQ(dot.to_json().dump(), R"({"configuration":{"separator":"."},"name":"default"})");
  ChunkKeyEncoding v2{ChunkKeyEncoding::Kind::kV2, '.'};
  EXPECT_EQ(v2.key(pos), "0.12");
  EXPECT_EQ(v2.key({}), "0");
  EXPECT_EQ(v2.to_json().dump(), R"({"name":"v2"})");
  ChunkKeyEncoding v2slash{ChunkKeyEncoding::Kind::kV2, '/'};
  EXPECT_EQ(v2slash.key(pos), "0/12");
  EXPECT_EQ(v2slash.to_json().dump(), R"({"configuration":{"separator":"/"},"name":"v2"})");
}

TEST(Zarr3Metadata, FixtureTextParsesAndReemitsByteForByte) {
  ASSERT_EQ(kFixtureZarrJson.size(), 480u);
  V3Metadata m = parse_v3_metadata(kFixtureZarrJson, "a/zarr.json");
  EXPECT_EQ(m.shape, Shape{8});
  EXPECT_EQ(m.chunk_shape, Shape{8});
  EXPECT_EQ(m.dtype.zarr, "<i4");
  ASSERT_EQ(m.codecs.codecs.size(), 1u);
  const auto& sharding = *m.codecs.codecs[0].sharding;
  EXPECT_EQ(sharding.chunk_shape, Shape{8});
  EXPECT_TRUE(sharding.index_at_end);
  EXPECT_EQ(sharding.codecs->codecs.at(1).level, 3);
  EXPECT_EQ(m.to_text(), kFixtureZarrJson);
  // What Orbax asks for gives the same bytes.
  EXPECT_EQ(orbax_v3_metadata(m.dtype, {8}, {8}).to_text(), kFixtureZarrJson);
}

TEST(Zarr3Metadata, DefaultsAreFilledInAsTensorStoreStoresThem) {
  std::string text = R"({"zarr_format":3,"node_type":"array","shape":[4,6],"data_type":"uint8",
    "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2,3]}},
    "chunk_key_encoding":{"name":"default","configuration":{"separator":"/"}},
    "fill_value":7,"dimension_names":[null,null],"attributes":{},
    "codecs":[{"name":"transpose","configuration":{"order":"F"}},{"name":"bytes",
    "configuration":{"endian":"big"}},{"name":"gzip"},{"name":"blosc"},{"name":"zstd"},
    {"name":"crc32c","configuration":{}}]})";
  V3Metadata m = parse_v3_metadata(text, "x");
  EXPECT_EQ(m.to_text(),
            R"({"chunk_grid":{"configuration":{"chunk_shape":[2,3]},"name":"regular"},)"
            R"("chunk_key_encoding":{"name":"default"},"codecs":[{"configuration":{"order":)"
            R"([1,0]},"name":"transpose"},{"name":"bytes"},{"configuration":{"level":6},)"
            R"("name":"gzip"},{"configuration":{"blocksize":0,"clevel":5,"cname":"lz4",)"
            R"("shuffle":"bitshuffle","typesize":1},"name":"blosc"},{"configuration":)"
            R"({"checksum":false,"level":3},"name":"zstd"},{"name":"crc32c"}],"data_type":"uint8",)"
            R"("fill_value":7,"node_type":"array","shape":[4,6],"zarr_format":3})");
  EXPECT_EQ(m.grid_shape(), (Shape{2, 2}));
  EXPECT_EQ(m.chunk_bytes(), 6u);
}

TEST(Zarr3Metadata, NamesAttributesAndStartIndexAreKept) {
  std::string text =
      R"({"attributes":{"k":[1]},"chunk_grid":{"configuration":{"chunk_shape":[2]},)"
      R"("name":"regular"},"chunk_key_encoding":{"configuration":{"separator":"/"},"name":"v2"},)"
      R"("codecs":[{"configuration":{"chunk_shape":[1],"codecs":[{"configuration":{"endian":)"
      R"("big"},"name":"bytes"}],"index_codecs":[{"configuration":{"endian":"little"},"name":)"
      R"("bytes"},{"name":"crc32c"}],"index_location":"start"},"name":"sharding_indexed"}],)"
      R"("data_type":"bfloat16","dimension_names":["x"],"fill_value":"NaN","node_type":"array",)"
      R"("shape":[5],"zarr_format":3})";
  V3Metadata m = parse_v3_metadata(text, "x");
  EXPECT_FALSE(m.codecs.codecs[0].sharding->index_at_end);
  EXPECT_EQ(m.to_text(), text);
  EXPECT_EQ(m.grid_shape(), Shape{3});
}

TEST(Zarr3Metadata, BadInputsNameTheKey) {
  auto bad = [](const std::string& replace_from, const std::string& replace_to) {
    std::string text = kFixtureZarrJson;
    auto at = text.find(replace_from);
    EXPECT_NE(at, std::string::npos) << replace_from;
    text.replace(at, replace_from.size(), replace_to);
    return text;
  };
  EXPECT_TE_ERROR(parse_v3_metadata(bad("\"zarr_format\":3", "\"zarr_format\":2"), "k/zarr.json"),
                  "k/zarr.json", "zarr_format is 2");
  EXPECT_TE_ERROR(parse_v3_metadata(bad("\"array\"", "\"group\""), "k"), "node_type");
  EXPECT_TE_ERROR(parse_v3_metadata(bad("\"int32\"", "\"int33\""), "k"), "\"int33\"");
  EXPECT_TE_ERROR(parse_v3_metadata(bad("\"regular\"", "\"rectilinear\""), "k"), "regular");
  EXPECT_TE_ERROR(parse_v3_metadata(bad("\"zstd\"", "\"lz77\""), "k"), "unsupported zarr v3 codec",
                  "lz77");
  EXPECT_TE_ERROR(parse_v3_metadata(bad("\"chunk_shape\":[8],\"codecs\"",
                                        "\"chunk_shape\":[3],"
                                        "\"codecs\""),
                                    "k"),
                  "does not divide");
  EXPECT_TE_ERROR(parse_v3_metadata(bad("{\"endian\":\"little\"},\"name\":\"bytes\"},{\"config",
                                        "{},\"name\":\"bytes\"},{\"config"),
                                    "k"),
                  "needs \"endian\"");
  EXPECT_TE_ERROR(parse_v3_metadata(bad("{\"name\":\"crc32c\"}", "{\"name\":\"zstd\"}"), "k"),
                  "index_codecs");
  EXPECT_TE_ERROR(parse_v3_metadata(bad("\"fill_value\":0", "\"fill_value\":\"0\""), "k"),
                  "expected an integer");
  EXPECT_TE_ERROR(parse_v3_metadata("{", "k"), "not valid JSON");
  EXPECT_TE_ERROR(
      parse_v3_metadata(bad("\"zarr_format\":3", "\"zarr_format\":3,\"ext\":{\"x\":1}"), "k"),
      "must be understood");
  V3Metadata tolerant = parse_v3_metadata(
      bad("\"zarr_format\":3", "\"zarr_format\":3,\"ext\":{\"must_understand\":false}"), "k");
  EXPECT_NE(tolerant.to_text().find("\"ext\":{\"must_understand\":false}"), std::string::npos);
}

}  // namespace
}  // namespace te::zarr::v3
