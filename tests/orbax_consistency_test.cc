// Orbax's own compatibility variants (tests/fixtures/orbax-compat), each inspected the way
// `inspect` will: detect the layout, parse the item files, open the item's root OCDBT database
// with the OCDBT reader and list its keys, then check. Every variant must land in its class:
// critical alterations and items without a leaf list are problems (or refused outright), the
// non-critical ones read with notes, the intact ones are clean.
#include "checkpoint/orbax_consistency.h"

#include "kvstore/ocdbt/ocdbt_store.h"
#include "orbax_test_util.h"

namespace te::checkpoint {
namespace {

using namespace te::testing;

struct Inspection {
  bool refused = false;
  std::string error;
  std::vector<OrbaxFinding> findings;
  std::vector<std::string> leaves;  // names of the primary item's leaves, when readable
};

Inspection inspect(const fs::path& dir) {
  Inspection r;
  FolderListing listing = listing_of(dir);
  OrbaxLayout layout;
  try {
    layout = detect_orbax_layout(dir.filename().string(), listing, dir.string());
  } catch (const Error& e) {
    r.refused = true;
    r.error = e.what();
    return r;
  }
  std::optional<OrbaxCheckpointMetadata> step_metadata;
  if (layout.has_checkpoint_metadata)
    step_metadata = OrbaxCheckpointMetadata::parse(listing.read("_CHECKPOINT_METADATA"), "cm");
  auto step = check_orbax_step(layout, dir.string(), step_metadata ? &*step_metadata : nullptr);
  r.findings.insert(r.findings.end(), step.begin(), step.end());
  for (const OrbaxItemLayout& item : layout.items) {
    fs::path item_dir = item.name.empty() ? dir : dir / item.name;
    std::optional<OrbaxTreeMetadata> tree;
    std::optional<OrbaxPlaceholderIndex> placeholder;
    std::optional<OrbaxSharding> sharding;
    if (item.has_tree_metadata)
      tree = OrbaxTreeMetadata::parse(listing.read(item.prefix + "_METADATA"), "m");
    if (item.has_placeholder_index)
      placeholder =
          OrbaxPlaceholderIndex::parse(as_bytes(listing.read(item.prefix + "checkpoint")), "c");
    if (item.has_sharding)
      sharding = OrbaxSharding::parse(listing.read(item.prefix + "_sharding"), "s");
    OrbaxItemKeys keys;
    if (item.storage == OrbaxStorage::kOcdbt) {
      try {
        auto db = kv::OcdbtStore::open(std::make_shared<kv::FileStore>(item_dir));
        std::vector<std::string> k;
        for (const auto& e : db->list()) k.push_back(e.key);
        keys.keys = std::move(k);
      } catch (const Error& e) {
        keys.open_error = e.what();
      }
    } else {
      std::vector<std::string> k;
      for (const auto& e : kv::FileStore(item_dir).list()) k.push_back(e.key);
      keys.keys = std::move(k);
    }
    auto found = check_orbax_item(item, item_dir.string(), tree ? &*tree : nullptr,
                                  placeholder ? &*placeholder : nullptr,
                                  sharding ? &*sharding : nullptr, keys);
    r.findings.insert(r.findings.end(), found.begin(), found.end());
    if (&item == layout.primary() && tree)
      for (const auto* e : tree->leaves()) r.leaves.push_back(e->name());
  }
  return r;
}

bool has_kind(const Inspection& r, OrbaxFindingKind kind) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [&](const OrbaxFinding& f) { return f.kind == kind; });
}

std::string describe(const Inspection& r) {
  std::string s = r.refused ? "refused: " + r.error + "\n" : "";
  for (const auto& f : r.findings)
    s += (f.severity == OrbaxSeverity::kProblem ? "problem: " : "note: ") + f.message + "\n";
  return s;
}

// The variant folders: <version>/<direct|composite>/<group>/<case>.
std::vector<fs::path> variants() {
  std::vector<fs::path> out;
  for (const char* version : {"v0_checkpoints", "v1_checkpoints"})
    for (const auto& kind : fs::directory_iterator(kOrbaxCompat / version))
      for (const auto& group : fs::directory_iterator(kind.path()))
        for (const auto& c : fs::directory_iterator(group.path())) out.push_back(c.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(OrbaxConsistency, EveryCompatibilityVariantIsToldApart) {
  int critical = 0, non_critical = 0, intact = 0, no_leaf_list = 0, refused_v1 = 0;
  const std::vector<std::string> kExpectedLeaves = {"a", "b.c"};
  for (const fs::path& dir : variants()) {
    SCOPED_TRACE(dir.string());
    std::string version = dir.parent_path().parent_path().parent_path().filename().string();
    std::string group = dir.parent_path().filename().string();
    std::string name = dir.filename().string();
    Inspection r = inspect(dir);
    std::string what = describe(r);
    if (group == "critical_metadata_alterations") {
      ++critical;
      EXPECT_FALSE(r.refused) << what;
      EXPECT_TRUE(has_problems(r.findings)) << what;
      EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kDatabaseUnreadable)) << what;
      if (name == "missing_pytree_data_dir_d") {
        EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kMissingRootDataFiles)) << what;
      } else {
        EXPECT_EQ(name, "missing_pytree_data_file_manifest.ocdbt");
        EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kMissingManifest)) << what;
      }
    } else if (group == "critical_general_alterations") {
      ++critical;
      EXPECT_EQ(name, "dummy_checkpointable_added");
      EXPECT_TRUE(r.refused) << what;
      EXPECT_NE(r.error.find("dummy/_METADATA"), std::string::npos) << r.error;
    } else if (group == "non_critical_metadata_alterations" ||
               group == "non_critical_general_alterations") {
      ++non_critical;
      EXPECT_FALSE(r.refused) << what;
      EXPECT_FALSE(has_problems(r.findings)) << what;
      EXPECT_FALSE(r.findings.empty()) << "a removed file or field must be noted";
      if (name == "deleted_checkpointable") {
        EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kItemMissing)) << what;
        EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kNoPyTreeItem)) << what;
        continue;
      }
      EXPECT_EQ(r.leaves, kExpectedLeaves);
      if (name == "missing_pytree_data_file__sharding")
        EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kMissingSharding)) << what;
      else if (name == "missing_pytree_data_dir_array_metadatas")
        EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kMissingArrayMetadatas)) << what;
      else
        EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kMissingCheckpointMetadataField)) << what;
    } else if (version == "v1_checkpoints" && group == "checkpoint_metadata_missing") {
      ++refused_v1;
      EXPECT_TRUE(r.refused) << what;
      EXPECT_NE(r.error.find("without _CHECKPOINT_METADATA"), std::string::npos) << r.error;
    } else if (name == "pytree_checkpointable_missing_metadata") {
      ++no_leaf_list;
      EXPECT_FALSE(r.refused) << what;
      EXPECT_TRUE(has_kind(r, OrbaxFindingKind::kNoLeafList)) << what;
      EXPECT_TRUE(has_problems(r.findings));
    } else {
      ++intact;
      EXPECT_EQ(name, "pytree_checkpointable_has_metadata");
      EXPECT_FALSE(r.refused) << what;
      EXPECT_FALSE(has_problems(r.findings)) << what;
      EXPECT_EQ(r.leaves, kExpectedLeaves);
      EXPECT_EQ(has_kind(r, OrbaxFindingKind::kMissingCheckpointMetadata),
                group == "checkpoint_metadata_missing")
          << what;
    }
  }
  EXPECT_EQ(critical, 7);
  EXPECT_EQ(non_critical, 25);
  EXPECT_EQ(intact, 5);
  EXPECT_EQ(no_leaf_list, 5);
  EXPECT_EQ(refused_v1, 2);
}

TEST(OrbaxConsistency, RealFixturesAreClean) {
  for (const char* name : {"zarr2_direct", "zarr2_composite", "zarr3_composite"}) {
    Inspection r = inspect(kOrbaxFixtures / name);
    EXPECT_FALSE(r.refused) << name;
    EXPECT_TRUE(r.findings.empty()) << name << "\n" << describe(r);
    EXPECT_EQ(r.leaves, (std::vector<std::string>{"a", "b.c"}));
  }
}

TEST(OrbaxConsistency, TinyOrbaxLacksArrayMetadata) {
  // The upstream fixture never committed its .zarray files (t5x-format.md §1.9): every leaf has
  // chunks but no array metadata, which the check names.
  Inspection r = inspect(kFixtureRoot / "t5x/tiny_orbax/1");
  EXPECT_FALSE(r.refused);
  int without_metadata = 0;
  for (const auto& f : r.findings)
    if (f.kind == OrbaxFindingKind::kLeafWithoutMetadataKey) ++without_metadata;
  EXPECT_EQ(without_metadata, 4) << describe(r);
}

// Constructed cases on one item: a leaf without data, data without a leaf, zarr version
// mismatch, sharding entries that do not match, names with '/' and '.'.
TEST(OrbaxConsistency, LeafAndDataMismatches) {
  std::string text =
      R"J({"tree_metadata": {"('a/b.c',)": {"key_metadata": [{"key": "a/b.c", "key_type": 2}], )J"
      R"J("value_metadata": {"value_type": "jax.Array", "skip_deserialize": false}}, )J"
      R"J("('gone',)": {"key_metadata": [{"key": "gone", "key_type": 2}], )J"
      R"J("value_metadata": {"value_type": "jax.Array", "skip_deserialize": false}}, )J"
      R"J("('v3',)": {"key_metadata": [{"key": "v3", "key_type": 2}], )J"
      R"J("value_metadata": {"value_type": "jax.Array", "skip_deserialize": false}}, )J"
      R"J("('empty',)": {"key_metadata": [{"key": "empty", "key_type": 2}], )J"
      R"J("value_metadata": {"value_type": "Dict", "skip_deserialize": true}}}, "use_zarr3": false})J";
  OrbaxTreeMetadata tree = OrbaxTreeMetadata::parse(text, "m");
  OrbaxItemLayout item;
  item.name = "state";
  item.prefix = "state/";
  item.has_tree_metadata = item.has_manifest = item.has_root_data_files = true;
  item.has_sharding = item.has_array_metadatas = true;
  OrbaxSharding sharding = OrbaxSharding::parse(std::string("{}"), "s");
  sharding.set("a/b.c", "{}");
  sharding.set("old", "{}");
  OrbaxItemKeys keys;
  keys.keys = std::vector<std::string>{"a/b.c/.zarray", "a/b.c/0", "orphan/.zarray",
                                       "orphan/0",      "v3/c/0",  "v3/zarr.json"};
  auto findings = check_orbax_item(item, "/x/state", &tree, nullptr, &sharding, keys);
  std::map<OrbaxFindingKind, std::string> by_kind;
  for (const auto& f : findings) by_kind[f.kind] += f.message + "\n";
  ASSERT_TRUE(by_kind.count(OrbaxFindingKind::kLeafWithoutData));
  EXPECT_NE(by_kind[OrbaxFindingKind::kLeafWithoutData].find("'gone'"), std::string::npos);
  EXPECT_NE(by_kind[OrbaxFindingKind::kLeafWithoutData].find("'gone/.zarray'"), std::string::npos);
  EXPECT_NE(by_kind[OrbaxFindingKind::kDataWithoutLeaf].find("'orphan'"), std::string::npos);
  EXPECT_NE(by_kind[OrbaxFindingKind::kFormatMismatch].find("'v3'"), std::string::npos);
  EXPECT_NE(by_kind[OrbaxFindingKind::kShardingMismatch].find("'old'"), std::string::npos);
  EXPECT_EQ(by_kind[OrbaxFindingKind::kShardingMismatch].find("'a/b.c'"), std::string::npos);
  EXPECT_NE(by_kind[OrbaxFindingKind::kShardingMismatch].find("'gone'"), std::string::npos);
  // 'a/b.c' is found through its full name, never by splitting keys; the empty node needs no data.
  for (const auto& f : findings) {
    EXPECT_EQ(f.message.find("'a/b.c' of"), std::string::npos) << f.message;
    EXPECT_EQ(f.message.find("'empty'"), std::string::npos) << f.message;
  }
  EXPECT_TRUE(has_problems(findings));
  EXPECT_EQ(findings.size(), 5u);
}

}  // namespace
}  // namespace te::checkpoint
