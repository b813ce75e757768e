#include "checkpoint/orbax_consistency.h"

#include <algorithm>
#include <set>

namespace te::checkpoint {
namespace {

std::string metadata_key(const std::string& name, const char* file) {
  return name.empty() ? std::string(file) : name + "/" + file;
}

void add(std::vector<OrbaxFinding>& out, OrbaxSeverity s, OrbaxFindingKind k, std::string m) {
  out.push_back({s, k, std::move(m)});
}

}  // namespace

std::vector<OrbaxFinding> check_orbax_item(const OrbaxItemLayout& item, const std::string& where,
                                           const OrbaxTreeMetadata* tree,
                                           const OrbaxPlaceholderIndex* placeholder,
                                           const OrbaxSharding* sharding,
                                           const OrbaxItemKeys& keys) {
  using S = OrbaxSeverity;
  using K = OrbaxFindingKind;
  std::vector<OrbaxFinding> out;
  bool ocdbt = item.storage == OrbaxStorage::kOcdbt;
  if (ocdbt && !item.has_manifest) {
    add(out, S::kProblem, K::kMissingManifest,
        where +
            "/manifest.ocdbt is missing: Orbax cannot open the item's OCDBT database (its "
            "arrays are unreadable)");
  }
  if (ocdbt && item.has_manifest && !item.has_root_data_files) {
    add(out, S::kProblem, K::kMissingRootDataFiles,
        where +
            "/d/ is missing: the root OCDBT database's B+tree nodes are gone (its arrays "
            "are unreadable)");
  }
  if (!keys.keys && !keys.open_error.empty()) {
    add(out, S::kProblem, K::kDatabaseUnreadable, where + ": " + keys.open_error);
  }
  if (!tree && !placeholder) {
    add(out, S::kProblem, K::kNoLeafList,
        where +
            "/_METADATA is missing (and there is no msgpack placeholder checkpoint): Orbax "
            "restores this item only into a given target tree, and parameter names cannot "
            "be taken from its keys");
  }
  struct Leaf {
    std::string name;
    bool is_string = false;
  };
  std::vector<Leaf> leaves;
  if (tree) {
    for (const auto* e : tree->leaves()) leaves.push_back({e->name(), e->value_type() == "string"});
  } else if (placeholder) {
    for (const auto& l : placeholder->leaves()) leaves.push_back({l.name, false});
  }
  std::string source = tree ? "_METADATA" : "the placeholder checkpoint";
  std::string store = ocdbt ? "the item's OCDBT database" : "the item folder";
  if (keys.keys) {
    std::set<std::string> present(keys.keys->begin(), keys.keys->end());
    std::set<std::string> named;
    bool want_zarr3 = tree && tree->use_zarr3();
    for (const auto& leaf : leaves) {
      named.insert(leaf.name);
      if (leaf.is_string) {
        if (!item.has_strings)
          add(out, S::kProblem, K::kMissingStrings,
              where + "/_strings.json is missing: string leaf '" + leaf.name + "' has no value");
        continue;
      }
      bool v2 = present.count(metadata_key(leaf.name, ".zarray")) > 0;
      bool v3 = present.count(metadata_key(leaf.name, "zarr.json")) > 0;
      if (!v2 && !v3) {
        std::string prefix = leaf.name.empty() ? "" : leaf.name + "/";
        auto it = present.lower_bound(prefix);
        bool chunks = it != present.end() && it->starts_with(prefix) && !prefix.empty();
        if (chunks) {
          add(out, S::kProblem, K::kLeafWithoutMetadataKey,
              "leaf '" + leaf.name + "' of " + source + " has chunks in " + store + " but no '" +
                  metadata_key(leaf.name, ".zarray") + "' or '" +
                  metadata_key(leaf.name, "zarr.json") + "' (" + where +
                  "; TensorStore cannot open it)");
        } else {
          add(out, S::kProblem, K::kLeafWithoutData,
              "leaf '" + leaf.name + "' of " + source + " has no data: no key '" +
                  metadata_key(leaf.name, ".zarray") + "' or '" +
                  metadata_key(leaf.name, "zarr.json") + "' in " + store + " (" + where + ")");
        }
        continue;
      }
      if (tree && (want_zarr3 ? !v3 : !v2)) {
        add(out, S::kProblem, K::kFormatMismatch,
            "leaf '" + leaf.name + "': " + where + "/_METADATA says use_zarr3 " +
                (want_zarr3 ? "true" : "false") + " but the array is stored as " +
                (v3 ? "zarr3 (zarr.json)" : "zarr v2 (.zarray)"));
      }
    }
    for (const auto& key : *keys.keys) {
      std::string name;
      if (key == ".zarray" || key == "zarr.json") {
        name = "";
      } else if (key.ends_with("/.zarray")) {
        name = key.substr(0, key.size() - 8);
      } else if (key.ends_with("/zarr.json")) {
        name = key.substr(0, key.size() - 10);
      } else {
        continue;
      }
      if (!ocdbt && (name.starts_with("ocdbt.process_") || name.starts_with("d/"))) continue;
      if (!named.count(name) && (tree || placeholder)) {
        add(out, S::kProblem, K::kDataWithoutLeaf,
            "array '" + name + "' in " + store + " (" + where + ", key '" + key +
                "') is not a leaf of " + source + " (Orbax never reads it)");
      }
    }
  }
  if (!item.has_sharding) {
    if (tree)
      add(out, S::kNote, K::kMissingSharding,
          where +
              "/_sharding is absent: Orbax restores the arrays only with shardings given by "
              "the caller (T5X, Pax and MaxText give them)");
  } else if (sharding) {
    std::set<std::string> leaf_names;
    for (const auto& l : leaves) leaf_names.insert(l.name);
    std::vector<std::string> missing, extra;
    for (const auto& l : leaves)
      if (!l.is_string && !sharding->find(l.name)) missing.push_back(l.name);
    for (const auto& e : sharding->entries())
      if (!leaf_names.count(e.name)) extra.push_back(e.name);
    if (!missing.empty())
      add(out, S::kNote, K::kShardingMismatch,
          where + "/_sharding has no entry for " + std::to_string(missing.size()) +
              " leaf(s), e.g. '" + missing.front() + "' (they need shardings from the caller)");
    if (!extra.empty())
      add(out, S::kNote, K::kShardingMismatch,
          where + "/_sharding has " + std::to_string(extra.size()) +
              " entry(ies) for names that are no leaf, e.g. '" + extra.front() + "'");
  }
  if (!item.has_array_metadatas && tree && ocdbt) {
    add(out, S::kNote, K::kMissingArrayMetadatas,
        where + "/array_metadatas/ is absent (optional: Orbax before 0.11 did not write it)");
  }
  return out;
}

std::vector<OrbaxFinding> check_orbax_step(const OrbaxLayout& layout, const std::string& where,
                                           const OrbaxCheckpointMetadata* metadata) {
  using S = OrbaxSeverity;
  using K = OrbaxFindingKind;
  std::vector<OrbaxFinding> out;
  if (layout.items.empty()) {
    add(out, S::kNote, K::kNoPyTreeItem,
        where +
            ": no PyTree item (no folder with _METADATA, manifest.ocdbt or a placeholder "
            "checkpoint)");
  }
  if (!metadata) {
    if (!layout.has_checkpoint_metadata)
      add(out, S::kNote, K::kMissingCheckpointMetadata,
          where +
              "/_CHECKPOINT_METADATA is absent (Orbax's v0 API restores without it when the "
              "handlers are given)");
    return out;
  }
  for (const auto& field : metadata->missing_fields()) {
    add(out, S::kNote, K::kMissingCheckpointMetadataField,
        where + "/_CHECKPOINT_METADATA has no \"" + field + "\" (optional)");
  }
  std::set<std::string> on_disk(layout.other_entries.begin(), layout.other_entries.end());
  for (const auto& item : layout.items) on_disk.insert(item.name);
  for (const auto& name : metadata->item_names()) {
    // Orbax v1 lists a "descriptor" handler whose folder is Google-internal and removed.
    if (name == "descriptor") continue;
    if (!on_disk.count(name))
      add(out, S::kNote, K::kItemMissing,
          where + "/_CHECKPOINT_METADATA names item '" + name +
              "', which is not in the step folder (Orbax loads the other items)");
  }
  return out;
}

bool has_problems(const std::vector<OrbaxFinding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const OrbaxFinding& f) { return f.severity == OrbaxSeverity::kProblem; });
}

}  // namespace te::checkpoint
