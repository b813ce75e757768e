// `_CHECKPOINT_METADATA` and `array_metadatas/process_<i>`: every fixture re-emits its bytes,
// fields are read, a fresh commit time lands where Orbax writes it; the msgpack placeholder
// `checkpoint` (T5X's tiny_orbax) is read, written for a leaf set and rewritten, and checked
// against Python's msgpack (the oracle).
#include "checkpoint/orbax_step_metadata.h"

#include "checkpoint/orbax_placeholder_index.h"
#include "orbax_test_util.h"

namespace te::checkpoint {
namespace {

using namespace te::testing;

TEST(OrbaxCheckpointMetadata, EveryFixtureReEmitsItsBytes) {
  int files = 0;
  for (const fs::path& root : {kOrbaxFixtures, kOrbaxCompat}) {
    for (const fs::path& dir : folders_with(root, "_CHECKPOINT_METADATA")) {
      SCOPED_TRACE(dir.string());
      std::string text = read_text(dir / "_CHECKPOINT_METADATA");
      auto m = OrbaxCheckpointMetadata::parse(text, "x");
      EXPECT_EQ(m.emit(), text);
      ++files;
    }
  }
  EXPECT_EQ(files, 41);
}

TEST(OrbaxCheckpointMetadata, FieldsAndFreshCommitTime) {
  auto direct = OrbaxCheckpointMetadata::parse(
      read_bytes(kOrbaxFixtures / "zarr2_direct/_CHECKPOINT_METADATA"), "d");
  EXPECT_EQ(direct.single_handler(),
            "orbax.checkpoint._src.handlers.standard_checkpoint_handler.StandardCheckpointHandler");
  EXPECT_TRUE(direct.item_names().empty());
  EXPECT_TRUE(direct.missing_fields().empty());
  EXPECT_EQ(direct.commit_timestamp_nsecs(), 1778718340783462133);
  auto composite = OrbaxCheckpointMetadata::parse(
      read_bytes(kOrbaxFixtures / "zarr2_composite/_CHECKPOINT_METADATA"), "c");
  EXPECT_EQ(composite.item_names(), (std::vector<std::string>{"metadata", "state"}));

  int64_t before = unix_time_nsecs();
  std::string text = read_text(kOrbaxFixtures / "zarr2_direct/_CHECKPOINT_METADATA");
  direct.set_commit_timestamp_nsecs(before);
  std::string expected = text;
  expected.replace(expected.find("1778718340783462133"), 19, std::to_string(before));
  EXPECT_EQ(direct.emit(), expected);  // in place, everything else unchanged
  EXPECT_GT(before, 1700000000000000000);
}

TEST(OrbaxCheckpointMetadata, MissingCommitTimeIsInsertedInOrbaxOrder) {
  fs::path dir = kOrbaxCompat /
                 "v0_checkpoints/direct_checkpoint/non_critical_metadata_alterations/"
                 "missing_commit_timestamp_nsecs_metadata";
  auto m = OrbaxCheckpointMetadata::parse(read_bytes(dir / "_CHECKPOINT_METADATA"), "m");
  EXPECT_EQ(m.missing_fields(), (std::vector<std::string>{"commit_timestamp_nsecs"}));
  m.set_commit_timestamp_nsecs(42);
  std::vector<std::string> order;
  for (const auto& [k, v] : m.document().items()) order.push_back(k);
  EXPECT_EQ(order, kCheckpointMetadataFields);
  auto only_custom =
      OrbaxCheckpointMetadata::parse(std::string(R"J({"custom_metadata": {}})J"), "o");
  only_custom.set_commit_timestamp_nsecs(7);
  EXPECT_EQ(only_custom.emit(), R"J({"commit_timestamp_nsecs": 7, "custom_metadata": {}})J");
  EXPECT_TE_ERROR(OrbaxCheckpointMetadata::parse(std::string("[]"), "x/_CHECKPOINT_METADATA"),
                  "x/_CHECKPOINT_METADATA", "JSON object");
}

TEST(OrbaxArrayMetadatas, FixturesAndEdits) {
  int files = 0;
  for (const fs::path& root : {kOrbaxFixtures, kOrbaxCompat}) {
    for (const fs::path& dir : folders_with(root, "process_0")) {
      if (dir.filename() != "array_metadatas") continue;
      std::string text = read_text(dir / "process_0");
      EXPECT_EQ(OrbaxArrayMetadatas::parse(text, "x").emit(), text) << dir;
      ++files;
    }
  }
  EXPECT_EQ(files, 43);
  auto m = OrbaxArrayMetadatas::parse(
      read_bytes(kOrbaxFixtures / "zarr2_direct/array_metadatas/process_0"), "m");
  auto entries = m.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].param_name, "b.c");
  EXPECT_EQ(entries[1].write_shape, (Shape{3}));
  EXPECT_EQ(entries[1].chunk_shape, (Shape{3}));
  EXPECT_TRUE(entries[1].ext_metadata.is_null());
  m.rename("a", "x.a");
  m.remove("b.c");
  m.set({"y", {4, 2}, {2, 2}, nullptr});
  EXPECT_EQ(
      m.emit(),
      R"J({"array_metadatas": [{"array_metadata": {"param_name": "x.a", "write_shape": [8], )J"
      R"J("chunk_shape": [8], "ext_metadata": null}}, {"array_metadata": {"param_name": "y", )J"
      R"J("write_shape": [4, 2], "chunk_shape": [2, 2], "ext_metadata": null}}]})J");
  EXPECT_TE_ERROR(m.rename("gone", "z"), "no array metadata for 'gone'");
  EXPECT_TE_ERROR(OrbaxArrayMetadatas::parse(std::string("{}"), "p"), "no \"array_metadatas\"");
}

const fs::path kTinyOrbax = kFixtureRoot / "t5x/tiny_orbax/1";

TEST(OrbaxPlaceholderIndex, TinyOrbaxLeaves) {
  auto index = OrbaxPlaceholderIndex::parse(read_bytes(kTinyOrbax / "checkpoint"), "c");
  std::vector<std::string> names;
  for (const auto& l : index.leaves()) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "_optimizer.state.param_states.bias", "_optimizer.state.param_states.kernel",
                       "_optimizer.state.param_states.step", "_optimizer.state.step"}));
  EXPECT_EQ(index.leaves()[0].path,
            (std::vector<std::string>{"_optimizer", "state", "param_states", "bias"}));
  // Decoding and encoding unchanged gives the file back.
  EXPECT_EQ(index.encode(), read_bytes(kTinyOrbax / "checkpoint"));
  EXPECT_TRUE(OrbaxPlaceholderIndex::has_placeholders(index.root()));
}

// The oracle: Python's msgpack decodes te-ckpt's bytes to the expected tree.
std::string python_tree(const Bytes& data) {
  TempDir tmp;
  write_bytes(tmp / "c", data);
  return run_python(R"J(
import json, msgpack, sys
print(json.dumps(msgpack.unpackb(open(sys.argv[1], 'rb').read(), raw=False)))
)J",
                    {(tmp / "c").string()});
}

TEST(OrbaxPlaceholderIndex, RewriteKeepsOtherMembers) {
  auto index = OrbaxPlaceholderIndex::parse(read_bytes(kTinyOrbax / "checkpoint"), "c");
  index.rewrite({{"_optimizer", "state", "param_states", "kernel"},
                 {"_optimizer", "state", "param_states", "kernel_fp8"},
                 {"_optimizer", "state", "step"},
                 {"_optimizer", "target", "w"}});
  EXPECT_EQ(
      python_tree(index.encode()),
      R"J({"_optimizer": {"state": {"param_states": {"kernel": "PLACEHOLDER://_optimizer.state.param_states.kernel", )J"
      R"J("kernel_fp8": "PLACEHOLDER://_optimizer.state.param_states.kernel_fp8"}, )J"
      R"J("step": "PLACEHOLDER://_optimizer.state.step"}, "target": {"w": "PLACEHOLDER://_optimizer.target.w"}}, )J"
      R"J("flax_mutables": null, "flax_mutables_axes": null, "params_axes": null})J"
      "\n");
  // Removing every leaf of a map removes the map, but not maps that were empty before.
  auto again = OrbaxPlaceholderIndex::parse(read_bytes(kTinyOrbax / "checkpoint"), "c");
  again.rewrite({{"_optimizer", "state", "step"}});
  EXPECT_EQ(
      python_tree(again.encode()),
      R"J({"_optimizer": {"state": {"step": "PLACEHOLDER://_optimizer.state.step"}, )J"
      R"J("target": {}}, "flax_mutables": null, "flax_mutables_axes": null, "params_axes": null})J"
      "\n");
}

TEST(OrbaxPlaceholderIndex, FromLeaves) {
  auto index = OrbaxPlaceholderIndex::from_leaves(
      {{"mdl_vars", "params", "w"}, {"opt_states", "0", "m"}, {"opt_states", "1", "m"}, {"step"}});
  EXPECT_EQ(
      python_tree(index.encode()),
      R"J({"mdl_vars": {"params": {"w": "PLACEHOLDER://mdl_vars.params.w"}}, )J"
      R"J("opt_states": {"0": {"m": "PLACEHOLDER://opt_states.0.m"}, "1": {"m": "PLACEHOLDER://opt_states.1.m"}}, )J"
      R"J("step": "PLACEHOLDER://step"})J"
      "\n");
  EXPECT_TE_ERROR(OrbaxPlaceholderIndex::from_leaves({{"a"}, {"a", "b"}}), "'a' is a leaf");
}

}  // namespace
}  // namespace te::checkpoint
