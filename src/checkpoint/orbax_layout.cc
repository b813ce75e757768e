#include "checkpoint/orbax_layout.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "checkpoint/orbax_placeholder_index.h"
#include "checkpoint/orbax_tree_metadata.h"
#include "util/error.h"

namespace te::checkpoint {
namespace {

// Item names in the order a primary item is chosen.
const std::vector<std::string> kPreferredItems = {"state", "params",      "default",
                                                  "items", "train_state", "pytree"};
const std::set<std::string> kT5xTopNames = {
    "target", "state", "flax_mutables", "_optimizer", "flax_mutables_axes", "params_axes"};

std::string first_component(const std::string& key) {
  return key.substr(0, key.find('/'));
}

bool is_decimal(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool placeholder_file(const FolderListing& folder, const std::string& key) {
  if (!folder.has(key) || !folder.read) return false;
  std::string text = folder.read(key);
  try {
    msgpack::Value root = msgpack::decode(as_bytes(text), key);
    return root.is_map() && OrbaxPlaceholderIndex::has_placeholders(root);
  } catch (const Error&) {
    return false;
  }
}

bool is_item_folder(const FolderListing& folder, const std::string& prefix) {
  return folder.has(prefix + "_METADATA") || folder.has(prefix + "manifest.ocdbt") ||
         placeholder_file(folder, prefix + "checkpoint");
}

// The leaf names of an item (from _METADATA or the placeholder index), for producer detection.
std::vector<std::string> top_names(const std::vector<std::string>& names) {
  std::vector<std::string> tops;
  for (const auto& n : names) {
    std::string top = n.substr(0, n.find('.'));
    if (std::find(tops.begin(), tops.end(), top) == tops.end()) tops.push_back(top);
  }
  return tops;
}

OrbaxItemLayout describe_item(const FolderListing& folder, const std::string& name,
                              const std::string& where, std::vector<std::string>& leaf_names) {
  OrbaxItemLayout item;
  item.name = name;
  item.prefix = name.empty() ? "" : name + "/";
  const std::string& p = item.prefix;
  std::string at = name.empty() ? where : where + "/" + name;
  if (name.find(kOrbaxTempMarker) != std::string::npos) {
    fail(
        "{}: an unfinished Orbax item (its folder name still has '{}'; Orbax renames it only "
        "when the save completes)",
        at, kOrbaxTempMarker);
  }
  item.has_tree_metadata = folder.has(p + "_METADATA");
  item.has_placeholder_index = placeholder_file(folder, p + "checkpoint");
  item.has_sharding = folder.has(p + "_sharding");
  item.has_array_metadatas = folder.has_under(p + "array_metadatas/");
  item.has_strings = folder.has(p + "_strings.json");
  item.has_manifest = folder.has(p + "manifest.ocdbt");
  item.has_root_data_files = folder.has_under(p + "d/");
  std::set<std::string> processes;
  bool zarray_folders = false, zarr3_folders = false;
  for (const auto& key : folder.files) {
    if (!key.starts_with(p)) continue;
    std::string rest = key.substr(p.size());
    std::string top = first_component(rest);
    if (top.starts_with("ocdbt.process_") && rest.size() > top.size()) processes.insert(top);
    if (top.starts_with("ocdbt.process_") || top == "d" || top == "array_metadatas") continue;
    if (rest.ends_with("/.zarray") || rest == ".zarray") zarray_folders = true;
    if (rest.ends_with("/zarr.json") || rest == "zarr.json") zarr3_folders = true;
  }
  item.process_databases.assign(processes.begin(), processes.end());
  std::optional<OrbaxTreeMetadata> tree;
  if (item.has_tree_metadata) {
    tree = OrbaxTreeMetadata::parse(folder.read(p + "_METADATA"), at + "/_METADATA");
    item.use_ocdbt_flag = tree->use_ocdbt();
    item.array_format = tree->use_zarr3() ? OrbaxArrayFormat::kZarr3 : OrbaxArrayFormat::kZarr2;
    for (const auto* e : tree->leaves()) leaf_names.push_back(e->name());
  } else if (item.has_placeholder_index) {
    auto index =
        OrbaxPlaceholderIndex::parse(as_bytes(folder.read(p + "checkpoint")), at + "/checkpoint");
    for (const auto& leaf : index.leaves()) leaf_names.push_back(leaf.name);
  }
  bool ocdbt = item.has_manifest || !item.process_databases.empty() ||
               (item.use_ocdbt_flag && *item.use_ocdbt_flag);
  if (!ocdbt && (zarray_folders || zarr3_folders || item.has_placeholder_index ||
                 (item.use_ocdbt_flag && !*item.use_ocdbt_flag))) {
    item.storage = OrbaxStorage::kPerArrayFolders;
  }
  if (!tree) {
    if (zarr3_folders && !zarray_folders) item.array_format = OrbaxArrayFormat::kZarr3;
    if (zarray_folders && !zarr3_folders) item.array_format = OrbaxArrayFormat::kZarr2;
    // The pre-OCDBT placeholder form is zarr v2 (Orbax wrote zarr3 only with _METADATA).
    if (item.has_placeholder_index && item.array_format == OrbaxArrayFormat::kUnknown)
      item.array_format = OrbaxArrayFormat::kZarr2;
  }
  return item;
}

}  // namespace

bool FolderListing::has(const std::string& key) const {
  return std::find(files.begin(), files.end(), key) != files.end();
}

bool FolderListing::has_under(const std::string& prefix) const {
  return std::any_of(files.begin(), files.end(),
                     [&](const std::string& k) { return k.starts_with(prefix); });
}

std::string orbax_producer_name(OrbaxProducer producer) {
  switch (producer) {
    case OrbaxProducer::kT5x:
      return "T5X";
    case OrbaxProducer::kPax:
      return "Pax";
    case OrbaxProducer::kGeneric:
      break;
  }
  return "generic";
}

OrbaxArrayFormat orbax_array_format_from_keys(const std::vector<std::string>& keys) {
  bool v2 = false, v3 = false;
  for (const auto& k : keys) {
    v2 = v2 || k == ".zarray" || k.ends_with("/.zarray");
    v3 = v3 || k == "zarr.json" || k.ends_with("/zarr.json");
  }
  if (v3 && !v2) return OrbaxArrayFormat::kZarr3;
  if (v2 && !v3) return OrbaxArrayFormat::kZarr2;
  return OrbaxArrayFormat::kUnknown;
}

bool is_orbax_folder(const std::string& folder_name, const FolderListing& folder) {
  if (folder_name.find(kOrbaxTempMarker) != std::string::npos) return true;
  if (folder.has("_CHECKPOINT_METADATA") || folder.has("orbax.checkpoint") ||
      is_item_folder(folder, ""))
    return true;
  std::set<std::string> subfolders;
  for (const auto& k : folder.files)
    if (k.find('/') != std::string::npos) subfolders.insert(first_component(k));
  return std::any_of(subfolders.begin(), subfolders.end(),
                     [&](const std::string& s) { return is_item_folder(folder, s + "/"); });
}

OrbaxLayout detect_orbax_layout(const std::string& folder_name, const FolderListing& folder,
                                const std::string& where) {
  OrbaxLayout layout;
  layout.step_name = folder_name;
  if (folder_name.find(kOrbaxTempMarker) != std::string::npos) {
    fail(
        "{}: an unfinished Orbax step (its name still has '{}': Orbax writes a step under a "
        "temporary name and renames it only when the save completes, so this save was "
        "interrupted); use a finished step",
        where, kOrbaxTempMarker);
  }
  layout.v1_api = folder.has("orbax.checkpoint");
  layout.has_checkpoint_metadata = folder.has("_CHECKPOINT_METADATA");
  layout.has_commit_success = folder.has("commit_success.txt");
  if (layout.v1_api && !layout.has_checkpoint_metadata) {
    fail(
        "{}: an Orbax v1 checkpoint (orbax.checkpoint exists) without _CHECKPOINT_METADATA; "
        "Orbax's v1 loader rejects it (\"Could not recognize the checkpoint as a valid Orbax "
        "checkpoint\")",
        where);
  }
  std::vector<std::string> leaf_names;
  layout.direct = is_item_folder(folder, "");
  std::set<std::string> top_entries;
  for (const auto& k : folder.files) top_entries.insert(first_component(k));
  if (layout.direct) {
    layout.items.push_back(describe_item(folder, "", where, leaf_names));
  } else {
    std::vector<std::string> names;
    for (const auto& top : top_entries) {
      bool is_folder = std::any_of(folder.files.begin(), folder.files.end(),
                                   [&](const std::string& k) { return k.starts_with(top + "/"); });
      if (!is_folder) continue;
      if (top.find(kOrbaxTempMarker) != std::string::npos || is_item_folder(folder, top + "/"))
        names.push_back(top);
    }
    std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      auto rank = [](const std::string& n) {
        auto it = std::find(kPreferredItems.begin(), kPreferredItems.end(), n);
        return static_cast<size_t>(it - kPreferredItems.begin());
      };
      return rank(a) < rank(b);
    });
    for (const auto& n : names) {
      std::vector<std::string> item_leaves;
      layout.items.push_back(describe_item(folder, n, where, item_leaves));
      if (&n == &names.front()) leaf_names = std::move(item_leaves);
    }
  }
  for (const auto& top : top_entries) {
    bool item =
        std::any_of(layout.items.begin(), layout.items.end(),
                    [&](const OrbaxItemLayout& i) { return !i.name.empty() && i.name == top; });
    if (!item && !layout.direct) layout.other_entries.push_back(top);
    if (layout.direct &&
        (top == "_CHECKPOINT_METADATA" || top == "orbax.checkpoint" || top == "commit_success.txt"))
      layout.other_entries.push_back(top);
  }
  // Producer: Pax writes metadata/metadata with a version; T5X names its steps checkpoint_<N>
  // and saves {'target', 'state', ...}; Pax saves {'mdl_vars', 'opt_states', 'step'}.
  if (folder.has("metadata/metadata") && folder.read) {
    try {
      auto md = nlohmann::json::parse(folder.read("metadata/metadata"));
      if (md.is_object() && md.contains("version") && md["version"].is_number()) {
        layout.pax_version = md["version"].dump();
        layout.producer = OrbaxProducer::kPax;
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  std::vector<std::string> tops = top_names(leaf_names);
  bool t5x_names = !tops.empty() && std::all_of(tops.begin(), tops.end(), [](const std::string& t) {
    return kT5xTopNames.count(t) > 0;
  }) && std::any_of(tops.begin(), tops.end(), [](const std::string& t) {
    return t == "target" || t == "_optimizer";
  });
  bool pax_names = std::find(tops.begin(), tops.end(), "mdl_vars") != tops.end();
  bool t5x_step = folder_name.starts_with("checkpoint_") &&
                  is_decimal(std::string_view(folder_name).substr(11)) && !layout.direct;
  if (layout.producer == OrbaxProducer::kGeneric) {
    if (pax_names) {
      layout.producer = OrbaxProducer::kPax;
    } else if (t5x_names ||
               (t5x_step && !pax_names && layout.primary() && layout.primary()->name == "state")) {
      layout.producer = OrbaxProducer::kT5x;
    }
  }
  return layout;
}

std::string OrbaxLayout::description() const {
  std::string s;
  if (producer == OrbaxProducer::kPax) {
    s = pax_version ? "Pax (version " + *pax_version + "), " : "Pax, ";
  } else if (producer == OrbaxProducer::kT5x) {
    s = "T5X, ";
  }
  s += v1_api ? "Orbax v1" : "Orbax";
  const OrbaxItemLayout* item = primary();
  if (!item) return s + ", no PyTree item";
  if (item->storage == OrbaxStorage::kOcdbt) {
    s += " OCDBT";
  } else {
    s += item->has_placeholder_index && !item->has_tree_metadata
             ? " per-array folders + msgpack placeholder index"
             : " per-array folders";
  }
  switch (item->array_format) {
    case OrbaxArrayFormat::kZarr2:
      s += ", zarr v2";
      break;
    case OrbaxArrayFormat::kZarr3:
      s += ", zarr3";
      break;
    case OrbaxArrayFormat::kUnknown:
      break;
  }
  return s;
}

}  // namespace te::checkpoint
