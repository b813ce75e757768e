// Layout detection on the real Orbax fixtures (direct and composite, v0 and v1, zarr v2 and
// zarr3), T5X's tiny_orbax (pre-OCDBT per-array folders + msgpack placeholders), and
// constructed T5X, Pax and generic step folders; the refused forms (an unfinished
// .orbax-checkpoint-tmp step, a v1 checkpoint without _CHECKPOINT_METADATA, a bad _METADATA).
#include "checkpoint/orbax_layout.h"

#include "orbax_test_util.h"

namespace te::checkpoint {
namespace {

using namespace te::testing;

OrbaxLayout detect(const fs::path& dir) {
  return detect_orbax_layout(dir.filename().string(), listing_of(dir), dir.string());
}

TEST(OrbaxLayout, RealFixtures) {
  OrbaxLayout direct = detect(kOrbaxFixtures / "zarr2_direct");
  EXPECT_EQ(direct.description(), "Orbax OCDBT, zarr v2");
  EXPECT_TRUE(direct.direct);
  EXPECT_FALSE(direct.v1_api);
  ASSERT_EQ(direct.items.size(), 1u);
  const OrbaxItemLayout& item = direct.items[0];
  EXPECT_EQ(item.name, "");
  EXPECT_EQ(item.prefix, "");
  EXPECT_EQ(item.storage, OrbaxStorage::kOcdbt);
  EXPECT_TRUE(item.has_tree_metadata && item.has_sharding && item.has_array_metadatas &&
              item.has_manifest && item.has_root_data_files);
  EXPECT_FALSE(item.has_placeholder_index);
  EXPECT_EQ(item.process_databases, (std::vector<std::string>{"ocdbt.process_0"}));
  EXPECT_EQ(item.use_ocdbt_flag, std::optional<bool>(true));
  EXPECT_TRUE(direct.has_checkpoint_metadata);
  EXPECT_EQ(direct.other_entries, (std::vector<std::string>{"_CHECKPOINT_METADATA"}));

  OrbaxLayout composite = detect(kOrbaxFixtures / "zarr2_composite");
  EXPECT_EQ(composite.description(), "Orbax OCDBT, zarr v2");
  EXPECT_FALSE(composite.direct);
  ASSERT_EQ(composite.items.size(), 1u);
  EXPECT_EQ(composite.items[0].name, "state");
  EXPECT_EQ(composite.items[0].prefix, "state/");
  EXPECT_EQ(composite.producer, OrbaxProducer::kGeneric);  // metadata/metadata has no version
  EXPECT_EQ(composite.other_entries,
            (std::vector<std::string>{"_CHECKPOINT_METADATA", "metadata"}));

  OrbaxLayout v1 = detect(kOrbaxFixtures / "zarr3_composite");
  EXPECT_EQ(v1.description(), "Orbax v1 OCDBT, zarr3");
  EXPECT_TRUE(v1.v1_api);
  EXPECT_EQ(v1.items[0].array_format, OrbaxArrayFormat::kZarr3);
  EXPECT_EQ(v1.other_entries,
            (std::vector<std::string>{"_CHECKPOINT_METADATA", "metadata", "orbax.checkpoint"}));
  EXPECT_TRUE(is_orbax_folder("zarr3_composite", listing_of(kOrbaxFixtures / "zarr3_composite")));
}

TEST(OrbaxLayout, TinyOrbaxIsT5xPlaceholderForm) {
  fs::path dir = kFixtureRoot / "t5x/tiny_orbax/1";
  EXPECT_TRUE(is_orbax_folder("1", listing_of(dir)));
  OrbaxLayout layout = detect(dir);
  EXPECT_EQ(layout.description(),
            "T5X, Orbax per-array folders + msgpack placeholder index, zarr v2");
  EXPECT_TRUE(layout.direct);
  ASSERT_EQ(layout.items.size(), 1u);
  EXPECT_EQ(layout.items[0].storage, OrbaxStorage::kPerArrayFolders);
  EXPECT_TRUE(layout.items[0].has_placeholder_index);
  EXPECT_FALSE(layout.items[0].has_tree_metadata);
}

TEST(OrbaxLayout, LegacyT5xAndPlainFoldersAreNotOrbax) {
  EXPECT_FALSE(
      is_orbax_folder("checkpoint_1", listing_of(kFixtureRoot / "t5x/tiny_t5/checkpoint_1")));
  TempDir tmp;
  fs::create_directories(tmp / "w");
  write_text(tmp / "w/.zarray", "{}");
  EXPECT_FALSE(is_orbax_folder("x", listing_of(tmp.path())));
}

// A step folder built from a fixture item: `<step>/state/` plus extra files.
void copy_tree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

TEST(OrbaxLayout, T5xAndPaxStepFolders) {
  TempDir tmp;
  fs::path t5x = tmp / "checkpoint_100";
  copy_tree(kOrbaxFixtures / "zarr2_direct", t5x / "state");
  fs::create_directories(t5x / "dataset");
  write_text(t5x / "dataset/train_ds-000-of-001.index", "x");
  OrbaxLayout l = detect(t5x);
  EXPECT_EQ(l.description(), "T5X, Orbax OCDBT, zarr v2");
  EXPECT_EQ(l.other_entries, (std::vector<std::string>{"dataset"}));

  fs::path pax = tmp / "checkpoint_00000100";
  copy_tree(kOrbaxFixtures / "zarr2_direct", pax / "state");
  fs::create_directories(pax / "metadata");
  write_text(pax / "metadata/metadata", R"J({"version": 1.2, "train_state_metadata": {}})J");
  l = detect(pax);
  EXPECT_EQ(l.producer, OrbaxProducer::kPax);
  EXPECT_EQ(l.pax_version, "1.2");
  EXPECT_EQ(l.description(), "Pax (version 1.2), Orbax OCDBT, zarr v2");
}

TEST(OrbaxLayout, ProducerFromNamesInAGenericStep) {
  auto metadata = [](const std::string& top) {
    return "{\"tree_metadata\": {\"('" + top + "', 'w')\": {\"key_metadata\": [{\"key\": \"" + top +
           "\", \"key_type\": 2}, {\"key\": \"w\", \"key_type\": 2}], \"value_metadata\": " +
           "{\"value_type\": \"jax.Array\", \"skip_deserialize\": false}}}, \"use_zarr3\": true}";
  };
  for (const auto& [top, producer] :
       std::vector<std::pair<std::string, OrbaxProducer>>{{"mdl_vars", OrbaxProducer::kPax},
                                                          {"target", OrbaxProducer::kT5x},
                                                          {"params", OrbaxProducer::kGeneric}}) {
    FolderListing listing;
    listing.files = {"items/_METADATA", "items/manifest.ocdbt", "items/d/00", "assets/x"};
    std::string text = metadata(top);
    listing.read = [text](const std::string&) { return text; };
    OrbaxLayout l = detect_orbax_layout("1000", listing, "/ckpt/1000");
    EXPECT_EQ(l.producer, producer) << top;
    ASSERT_EQ(l.items.size(), 1u);
    EXPECT_EQ(l.items[0].name, "items");
    EXPECT_EQ(l.items[0].array_format, OrbaxArrayFormat::kZarr3);
    EXPECT_EQ(l.other_entries, (std::vector<std::string>{"assets"}));
  }
}

TEST(OrbaxLayout, PrimaryItemFirst) {
  FolderListing listing;
  listing.files = {"aux/_METADATA", "params/_METADATA", "state/_METADATA"};
  listing.read = [](const std::string&) {
    return std::string(R"J({"tree_metadata": {}, "use_zarr3": false})J");
  };
  OrbaxLayout l = detect_orbax_layout("7", listing, "7");
  ASSERT_EQ(l.items.size(), 3u);
  EXPECT_EQ(l.items[0].name, "state");
  EXPECT_EQ(l.items[1].name, "params");
  EXPECT_EQ(l.items[2].name, "aux");
}

TEST(OrbaxLayout, ArrayFormatFromKeys) {
  EXPECT_EQ(orbax_array_format_from_keys({"a/.zarray", "a/0"}), OrbaxArrayFormat::kZarr2);
  EXPECT_EQ(orbax_array_format_from_keys({"a/c/0", "a/zarr.json"}), OrbaxArrayFormat::kZarr3);
  EXPECT_EQ(orbax_array_format_from_keys({"zarr.json", "c"}), OrbaxArrayFormat::kZarr3);
  EXPECT_EQ(orbax_array_format_from_keys({"a/0"}), OrbaxArrayFormat::kUnknown);
}

TEST(OrbaxLayout, RefusedForms) {
  fs::path direct = kOrbaxFixtures / "zarr2_direct";
  EXPECT_TE_ERROR(
      detect_orbax_layout("checkpoint_5.orbax-checkpoint-tmp-1712345", listing_of(direct),
                          "/x/checkpoint_5.orbax-checkpoint-tmp-1712345"),
      "/x/checkpoint_5.orbax-checkpoint-tmp-1712345", "unfinished Orbax step",
      ".orbax-checkpoint-tmp");
  EXPECT_TRUE(is_orbax_folder("5.orbax-checkpoint-tmp-1", listing_of(direct)));
  // An item still under its temporary name.
  FolderListing item;
  item.files = {"state.orbax-checkpoint-tmp-3/_METADATA"};
  item.read = [](const std::string&) { return std::string("{}"); };
  EXPECT_TE_ERROR(detect_orbax_layout("5", item, "/x/5"), "/x/5/state.orbax-checkpoint-tmp-3",
                  "unfinished Orbax item");
  fs::path v1_without = kOrbaxCompat /
                        "v1_checkpoints/composite_checkpoint/checkpoint_metadata_missing/"
                        "pytree_checkpointable_has_metadata";
  EXPECT_TE_ERROR(detect(v1_without), "Orbax v1 checkpoint", "without _CHECKPOINT_METADATA",
                  v1_without.string());
  fs::path dummy = kOrbaxCompat /
                   "v1_checkpoints/composite_checkpoint/critical_general_alterations/"
                   "dummy_checkpointable_added";
  EXPECT_TE_ERROR(detect(dummy), "dummy/_METADATA", "not a JSON document");
}

}  // namespace
}  // namespace te::checkpoint
