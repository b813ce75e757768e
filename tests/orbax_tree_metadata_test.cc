// `_METADATA`: every fixture file parses and re-emits byte for byte; names, flags and value
// metadata are read as Orbax reads them; edits (rename, add, remove) give the document that
// Python's json.dumps writes for the edited tree (the oracle builds it the way Orbax does:
// str(tuple(...)) keys, key_metadata lists, JAX flatten order).
#include "checkpoint/orbax_tree_metadata.h"

#include "orbax_test_util.h"

namespace te::checkpoint {
namespace {

using namespace te::testing;

TEST(OrbaxTreeMetadata, EveryFixtureReEmitsItsBytes) {
  int files = 0;
  for (const fs::path& root : {kOrbaxFixtures, kOrbaxCompat}) {
    for (const fs::path& dir : folders_with(root, "_METADATA")) {
      std::string text = read_text(dir / "_METADATA");
      if (text == "dummy") continue;  // the critical "dummy checkpointable" case, tested below
      SCOPED_TRACE(dir.string());
      OrbaxTreeMetadata m = OrbaxTreeMetadata::parse(text, (dir / "_METADATA").string());
      EXPECT_EQ(m.emit(), text);
      ++files;
    }
  }
  EXPECT_EQ(files, 40);  // every _METADATA but the dummy one
}

TEST(OrbaxTreeMetadata, FixtureLeavesAndFlags) {
  for (const auto& [dir, zarr3] :
       std::vector<std::pair<fs::path, bool>>{{kOrbaxFixtures / "zarr2_direct", false},
                                              {kOrbaxFixtures / "zarr3_composite/state", true}}) {
    OrbaxTreeMetadata m = OrbaxTreeMetadata::parse(read_bytes(dir / "_METADATA"), "x");
    ASSERT_EQ(m.entries().size(), 2u);
    EXPECT_EQ(m.entries()[0].name(), "a");
    EXPECT_EQ(m.entries()[1].name(), "b.c");
    EXPECT_EQ(m.entries()[1].tuple_key, "('b', 'c')");
    EXPECT_EQ(m.entries()[1].keys.size(), 2u);
    EXPECT_EQ(m.entries()[1].keys[1].type, OrbaxKeyType::kDict);
    EXPECT_EQ(m.entries()[0].value_type(), "jax.Array");
    EXPECT_FALSE(m.entries()[0].skip_deserialize());
    EXPECT_EQ(m.entries()[0].write_shape(), (Shape{8}));
    EXPECT_EQ(m.entries()[1].write_shape(), (Shape{3}));
    EXPECT_EQ(m.use_zarr3(), zarr3);
    EXPECT_EQ(m.use_ocdbt(), std::optional<bool>(true));
    EXPECT_TRUE(m.store_array_data_equal_to_fill_value());
    EXPECT_EQ(m.leaves().size(), 2u);
    ASSERT_TRUE(m.find("b.c"));
    EXPECT_FALSE(m.find("b"));
  }
}

TEST(OrbaxTreeMetadata, OldOrbaxDefaultsAndEmptyNodes) {
  // Orbax 0.5.6 wrote only tree_metadata and use_zarr3; empty nodes have skip_deserialize.
  std::string text =
      R"J({"tree_metadata": {"('step',)": {"key_metadata": [{"key": "step", "key_type": 2}], )J"
      R"J("value_metadata": {"value_type": "np.ndarray", "skip_deserialize": false}}, )J"
      R"J("('opt', '1')": {"key_metadata": [{"key": "opt", "key_type": 2}, {"key": "1", "key_type": 1}], )J"
      R"J("value_metadata": {"value_type": "None", "skip_deserialize": true}}}, "use_zarr3": false})J";
  OrbaxTreeMetadata m = OrbaxTreeMetadata::parse(text, "old");
  EXPECT_EQ(m.emit(), text);
  EXPECT_EQ(m.use_ocdbt(), std::nullopt);
  EXPECT_FALSE(m.store_array_data_equal_to_fill_value());
  ASSERT_EQ(m.leaves().size(), 1u);
  EXPECT_EQ(m.leaves()[0]->name(), "step");
  EXPECT_EQ(m.entries()[1].name(), "opt.1");
  EXPECT_EQ(m.entries()[1].keys[1].type, OrbaxKeyType::kSequence);
  EXPECT_FALSE(m.entries()[0].write_shape());
}

TEST(OrbaxTreeMetadata, IntegerSequenceKeysKeepTheirForm) {
  std::string text =
      R"J({"tree_metadata": {"('opt_state', '0', 'mu')": {"key_metadata": [{"key": "opt_state", "key_type": 2}, )J"
      R"J({"key": 0, "key_type": 1}, {"key": "mu", "key_type": 2}], "value_metadata": )J"
      R"J({"value_type": "jax.Array", "skip_deserialize": false}}}, "use_ocdbt": true, )J"
      R"J("use_zarr3": true, "store_array_data_equal_to_fill_value": true, "custom_metadata": {"k": [1, 2.5]}, )J"
      R"J("value_metadata_tree": "{\"x\": 1}"})J";
  OrbaxTreeMetadata m = OrbaxTreeMetadata::parse(text, "new");
  EXPECT_EQ(m.emit(), text);
  EXPECT_EQ(m.entries()[0].name(), "opt_state.0.mu");
  EXPECT_TRUE(m.entries()[0].keys[1].stored_as_integer);
  // A new sibling list index copies the integer form.
  m.add("opt_state.1.mu", OrbaxTreeMetadata::array_value_metadata({4}));
  const OrbaxTreeEntry* e = m.find("opt_state.1.mu");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->keys[1].type, OrbaxKeyType::kSequence);
  EXPECT_TRUE(e->keys[1].stored_as_integer);
  EXPECT_NE(m.emit().find(R"J({"key": 1, "key_type": 1})J"), std::string::npos);
  EXPECT_EQ(e->tuple_key, "('opt_state', '1', 'mu')");
  EXPECT_EQ(m.entries()[1].name(), "opt_state.1.mu");
}

// The _METADATA Orbax writes for `leaves` (list of [[[key, key_type], ...], write_shape]), built
// with json.dumps in the given order, with the flags of the zarr v2 fixture.
std::string python_metadata(const nlohmann::json& leaves) {
  TempDir tmp;
  write_text(tmp / "leaves.json", leaves.dump());
  return run_python(R"PY(
import json, sys
leaves = json.load(open(sys.argv[1], encoding='utf-8'))
tree = {}
for path, shape in leaves:
    tree[str(tuple(str(k) for k, _ in path))] = {
        "key_metadata": [{"key": k, "key_type": t} for k, t in path],
        "value_metadata": {"value_type": "jax.Array", "skip_deserialize": False, "write_shape": shape}}
sys.stdout.write(json.dumps({"tree_metadata": tree, "use_ocdbt": True, "use_zarr3": False,
                             "store_array_data_equal_to_fill_value": True, "custom_metadata": None}))
)PY",
                    {(tmp / "leaves.json").string()});
}

TEST(OrbaxTreeMetadata, TrickyNamesRoundTripThroughPython) {
  nlohmann::json leaves = nlohmann::json::parse(R"J([
    [[["params", 2], ["it's", 2], ["kernel", 2]], [2, 3]],
    [[["params", 2], ["say \"x\"", 2]], [1]],
    [[["params", 2], ["a/b.c", 2], ["caf\u00e9\u00a0\u200b\ud83d\ude00", 2]], [4]],
    [[["opt", 2], ["0", 1], ["mu", 2]], []],
    [[["back\\slash\t", 2]], [5, 6]]
  ])J");
  std::string expected = python_metadata(leaves);
  ASSERT_FALSE(expected.empty());
  OrbaxTreeMetadata m = OrbaxTreeMetadata::parse(expected, "python");
  EXPECT_EQ(m.emit(), expected);
  // Each stored tuple key equals the repr te-ckpt computes from the key path.
  for (const auto& e : m.entries()) EXPECT_EQ(orbax_tuple_key(e.keys), e.tuple_key) << e.name();
  EXPECT_TRUE(m.find("params.a/b.c.caf\xc3\xa9\xc2\xa0\xe2\x80\x8b\xf0\x9f\x98\x80"));
  EXPECT_TRUE(m.find("opt.0.mu"));
}

TEST(OrbaxTreeMetadata, EditsGiveWhatOrbaxWouldWrite) {
  nlohmann::json before = nlohmann::json::parse(R"J([
    [[["target", 2], ["encoder", 2], ["layers_0", 2], ["attention", 2], ["key", 2], ["kernel", 2]], [8, 4]],
    [[["target", 2], ["encoder", 2], ["layers_0", 2], ["attention", 2], ["query", 2], ["kernel", 2]], [8, 4]],
    [[["state", 2], ["param_states", 2], ["0", 1], ["m", 2]], [8]],
    [[["state", 2], ["step", 2]], []]
  ])J");
  // The output tree: query+key fused into qkv (a new write_shape), a new FP8 leaf under an
  // existing parent (JAX flatten order: fp8_meta sorts before qkv), a new list element after its
  // sibling, the step kept.
  nlohmann::json after = nlohmann::json::parse(R"J([
    [[["target", 2], ["encoder", 2], ["layers_0", 2], ["attention", 2], ["fp8_meta", 2], ["amax", 2]], [1024]],
    [[["target", 2], ["encoder", 2], ["layers_0", 2], ["attention", 2], ["qkv", 2], ["kernel", 2]], [8, 3, 4]],
    [[["state", 2], ["param_states", 2], ["0", 1], ["m", 2]], [8]],
    [[["state", 2], ["param_states", 2], ["1", 1], ["m", 2]], [8]],
    [[["state", 2], ["step", 2]], []]
  ])J");
  OrbaxTreeMetadata m = OrbaxTreeMetadata::parse(python_metadata(before), "before");
  m.rename("target.encoder.layers_0.attention.query.kernel",
           "target.encoder.layers_0.attention.qkv.kernel");
  m.remove("target.encoder.layers_0.attention.key.kernel");
  m.set_value_metadata("target.encoder.layers_0.attention.qkv.kernel",
                       OrbaxTreeMetadata::array_value_metadata({8, 3, 4}));
  m.add("target.encoder.layers_0.attention.fp8_meta.amax",
        OrbaxTreeMetadata::array_value_metadata({1024}));
  m.add("state.param_states.1.m", OrbaxTreeMetadata::array_value_metadata({8}));
  EXPECT_EQ(m.emit(), python_metadata(after));
  EXPECT_EQ(m.find("state.param_states.1.m")->keys[2].type, OrbaxKeyType::kSequence);
}

TEST(OrbaxTreeMetadata, DerivedKeyTypes) {
  OrbaxTreeMetadata m = OrbaxTreeMetadata::parse(python_metadata(nlohmann::json::parse(R"J([
        [[["opt_states", 2], ["0", 1], ["m", 2]], [2]],
        [[["mdl_vars", 2], ["params", 2], ["7", 2]], [2]]
      ])J")),
                                                 "m");
  auto keys = m.derive_keys("opt_states.3.v");
  EXPECT_EQ(keys[0].type, OrbaxKeyType::kDict);
  EXPECT_EQ(keys[1].type, OrbaxKeyType::kSequence);  // siblings are list indices
  EXPECT_EQ(keys[2].type, OrbaxKeyType::kDict);
  keys = m.derive_keys("mdl_vars.params.8");
  EXPECT_EQ(keys[2].type, OrbaxKeyType::kDict);  // a dict whose key is "7": "8" is a dict key too
  keys = m.derive_keys("fresh.2.x");
  EXPECT_EQ(keys[1].type, OrbaxKeyType::kSequence);  // no siblings: a number is a list index
  // Sequence indices are placed by number: 10 after 3.
  m.add("opt_states.10.m", OrbaxTreeMetadata::array_value_metadata({2}));
  m.add("opt_states.3.m", OrbaxTreeMetadata::array_value_metadata({2}));
  EXPECT_EQ(m.entries()[1].name(), "opt_states.3.m");
  EXPECT_EQ(m.entries()[2].name(), "opt_states.10.m");
  EXPECT_TE_ERROR(m.add("opt_states.0.m", nlohmann::ordered_json::object()), "exists");
  EXPECT_TE_ERROR(m.add("opt_states.0.m.deeper", nlohmann::ordered_json::object()),
                  "both a node and a leaf");
  EXPECT_TE_ERROR(m.remove("nope"), "no leaf named 'nope'");
  EXPECT_TE_ERROR(m.rename("opt_states.0.m", "mdl_vars.params.7"), "exists");
}

TEST(OrbaxTreeMetadata, AddUnderAnEmptyNodeReplacesIt) {
  std::string text =
      R"J({"tree_metadata": {"('target',)": {"key_metadata": [{"key": "target", "key_type": 2}], )J"
      R"J("value_metadata": {"value_type": "Dict", "skip_deserialize": true}}}, "use_zarr3": false})J";
  OrbaxTreeMetadata m = OrbaxTreeMetadata::parse(text, "m");
  m.add("target.w", OrbaxTreeMetadata::array_value_metadata({2}));
  ASSERT_EQ(m.entries().size(), 1u);
  EXPECT_EQ(m.entries()[0].name(), "target.w");
}

TEST(OrbaxTreeMetadata, BadDocumentsAreClearErrors) {
  EXPECT_TE_ERROR(OrbaxTreeMetadata::parse(std::string("dummy"), "x/dummy/_METADATA"),
                  "x/dummy/_METADATA", "not a JSON document");
  EXPECT_TE_ERROR(OrbaxTreeMetadata::parse(std::string("{}"), "m"), "no \"tree_metadata\"");
  EXPECT_TE_ERROR(
      OrbaxTreeMetadata::parse(std::string(R"J({"tree_metadata": {"('a',)": {}}})J"), "m"),
      "entry ('a',)", "key_metadata");
  EXPECT_TE_ERROR(
      OrbaxTreeMetadata::parse(
          std::string(
              R"J({"tree_metadata": {"('a',)": {"key_metadata": [{"key": "a", "key_type": 3}], "value_metadata": {}}}})J"),
          "m"),
      "key_type", "found 3");
}

}  // namespace
}  // namespace te::checkpoint
