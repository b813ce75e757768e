// `_sharding`: fixture bytes reproduced, base64url keys checked against Python's
// base64.urlsafe_b64encode, edits, and the rule for a new leaf's entry (copy when rank and
// sharded dimensions allow, else replicated with "partition_spec": []).
#include "checkpoint/orbax_sharding.h"

#include "checkpoint/python_text.h"
#include "orbax_test_util.h"

namespace te::checkpoint {
namespace {

using namespace te::testing;

TEST(OrbaxSharding, EveryFixtureReEmitsItsBytes) {
  int files = 0;
  for (const fs::path& root : {kOrbaxFixtures, kOrbaxCompat}) {
    for (const fs::path& dir : folders_with(root, "_sharding")) {
      SCOPED_TRACE(dir.string());
      std::string text = read_text(dir / "_sharding");
      OrbaxSharding s = OrbaxSharding::parse(text, "x");
      EXPECT_EQ(s.emit(), text);
      ASSERT_EQ(s.entries().size(), 2u);
      EXPECT_EQ(s.entries()[0].name, "a");
      EXPECT_EQ(s.entries()[1].name, "b.c");
      ++files;
    }
  }
  EXPECT_EQ(files, 43);
}

TEST(OrbaxSharding, Base64MatchesPython) {
  std::vector<std::string> names = {"",
                                    "a",
                                    "b.c",
                                    "ab",
                                    "abc",
                                    "target.encoder.layers_0.mlp",
                                    "caf\xc3\xa9/x?y>z",
                                    std::string("\xff\xfe\x00", 3)};
  std::vector<std::string> hexes;
  for (const auto& n : names) hexes.push_back(hex(as_bytes(n)));
  std::string out = run_python(R"J(
import base64, sys
for h in sys.argv[1:]:
    print(base64.urlsafe_b64encode(bytes.fromhex(h)).decode())
)J",
                               hexes);
  std::istringstream lines(out);
  std::string line;
  for (const auto& n : names) {
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(base64url_encode(n), line);
    EXPECT_EQ(base64url_decode(line), n);
  }
  EXPECT_EQ(base64url_decode("YQ"), std::nullopt);    // unpadded
  EXPECT_EQ(base64url_decode("Y+=="), std::nullopt);  // standard alphabet
  EXPECT_EQ(base64url_decode("YR=="), std::nullopt);  // non-canonical bits
  EXPECT_EQ(base64url_decode("Y=Q="), std::nullopt);  // data after padding
}

std::string named(const std::string& spec) {
  return python_json_dumps_ascii(nlohmann::ordered_json::parse(
      R"J({"sharding_type": "NamedSharding", "shape": [2, 4], "axis_names": ["data", "model"], )J"
      R"J("partition_spec": )J" +
      spec + "}"));
}

TEST(OrbaxSharding, EditsAndEmitSortsKeys) {
  OrbaxSharding s = OrbaxSharding::parse(read_text(kOrbaxFixtures / "zarr2_direct/_sharding"), "s");
  s.rename("a", "z.w");
  s.remove("b.c");
  s.set("m", named("[null, \"model\"]"));
  std::string expected =
      "{\"bQ==\":" + nlohmann::json(named("[null, \"model\"]")).dump() + ",\"ei53\":" +
      nlohmann::json("{\"sharding_type\": \"SingleDeviceSharding\", \"device_str\": \"cpu:0\"}")
          .dump() +
      "}";
  EXPECT_EQ(s.emit(), expected);
  EXPECT_TE_ERROR(s.rename("nope", "x"), "no sharding entry for 'nope'");
}

TEST(OrbaxSharding, OldRawNameKeys) {
  OrbaxSharding s = OrbaxSharding::parse(
      std::string(
          R"J({"params.w":"{\"sharding_type\": \"SingleDeviceSharding\", \"device_str\": \"cpu:0\"}"})J"),
      "s");
  EXPECT_EQ(s.entries()[0].name, "params.w");
  EXPECT_EQ(s.entries()[0].key, "params.w");
}

TEST(OrbaxSharding, DerivedEntries) {
  OrbaxSharding s = OrbaxSharding::parse(std::string("{}"), "s");
  s.set("w", named("[null, \"model\"]"));
  s.set("both", named("[[\"data\", \"model\"], null]"));
  s.set("one", "{\"sharding_type\": \"SingleDeviceSharding\", \"device_str\": \"cpu:0\"}");
  s.set("odd", "{\"sharding_type\": \"GSPMDSharding\"}");
  // Same rank, sharded dimension still divisible by the 'model' axis (4): copied.
  EXPECT_EQ(s.derive_entry("w", {8, 16}, {8, 48}), named("[null, \"model\"]"));
  // Sharded dimension no longer divisible: replicated on the same mesh.
  EXPECT_EQ(s.derive_entry("w", {8, 16}, {8, 6}), named("[]"));
  // Rank changed (e.g. fused q/k/v): replicated.
  EXPECT_EQ(s.derive_entry("w", {8, 16}, {8, 3, 16}), named("[]"));
  // Two axes over one dimension: 2*4 = 8 must divide it.
  EXPECT_EQ(s.derive_entry("both", {16, 2}, {24, 2}), named("[[\"data\", \"model\"], null]"));
  EXPECT_EQ(s.derive_entry("both", {16, 2}, {12, 2}), named("[]"));
  EXPECT_EQ(s.derive_entry("one", {3}, {3, 3}), s.find("one")->value);
  EXPECT_EQ(s.derive_entry("odd", {3}, {3}), s.find("odd")->value);
  EXPECT_EQ(s.derive_entry("odd", {3}, {4}), std::nullopt);
  EXPECT_EQ(s.derive_entry("absent", {3}, {4}), std::nullopt);
  EXPECT_TRUE(s.add_derived("w2", "w", {8, 16}, {8, 6}));
  EXPECT_EQ(s.find("w2")->key, base64url_encode("w2"));
  EXPECT_FALSE(s.add_derived("o2", "odd", {3}, {4}));
  EXPECT_FALSE(s.find("o2"));
}

TEST(OrbaxSharding, BadFilesAreClearErrors) {
  EXPECT_TE_ERROR(OrbaxSharding::parse(std::string("[1]"), "x/_sharding"), "x/_sharding",
                  "JSON object");
  EXPECT_TE_ERROR(OrbaxSharding::parse(std::string(R"J({"YQ==": 1})J"), "x/_sharding"), "'YQ=='",
                  "not a JSON string");
}

}  // namespace
}  // namespace te::checkpoint
