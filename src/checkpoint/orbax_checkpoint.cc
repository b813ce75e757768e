#include "checkpoint/orbax_checkpoint.h"

#include "checkpoint/orbax_consistency.h"
#include "checkpoint/orbax_layout.h"
#include "checkpoint/orbax_placeholder_index.h"
#include "checkpoint/orbax_sharding.h"
#include "checkpoint/orbax_step_metadata.h"
#include "checkpoint/orbax_tree_metadata.h"
#include "checkpoint/pax_metadata.h"
#include "kvstore/file/file_store.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "util/error.h"
#include "util/file.h"

namespace te::checkpoint {
namespace {

std::string folder_name(const fs::path& path) {
  std::string name = path.filename().string();
  if (name.empty()) name = path.parent_path().filename().string();
  return name;
}

Format format_of(OrbaxProducer producer) {
  switch (producer) {
    case OrbaxProducer::kT5x:
      return Format::kT5xOrbax;
    case OrbaxProducer::kPax:
      return Format::kPaxOrbax;
    case OrbaxProducer::kGeneric:
      break;
  }
  return Format::kOrbax;
}

void add_findings(Checkpoint& ckpt, const std::vector<OrbaxFinding>& findings) {
  for (const auto& f : findings) {
    (f.severity == OrbaxSeverity::kProblem ? ckpt.problems : ckpt.notes).push_back(f.message);
  }
}

// A cheap test before the full listing: an Orbax name, or an Orbax file at the top or one level
// down (a legacy checkpoint of many chunk files is not listed recursively for nothing).
bool might_be_orbax(const fs::path& path, const std::string& name) {
  if (name.find(kOrbaxTempMarker) != std::string::npos) return true;
  auto holds_marker = [](const fs::path& dir) {
    std::error_code ec;
    for (const char* f : {"_METADATA", "_CHECKPOINT_METADATA", "orbax.checkpoint", "manifest.ocdbt",
                          "checkpoint"}) {
      if (fs::exists(dir / f, ec)) return true;
    }
    return false;
  };
  if (holds_marker(path)) return true;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.is_directory(ec) && holds_marker(e.path())) return true;
  }
  return false;
}

// A T5X checkpoint (msgpack index `checkpoint` with "version" and "optimizer"), whatever else the
// folder holds (e.g. the OCDBT database its specs point at).
bool is_t5x_index_folder(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path / "checkpoint", ec)) return false;
  try {
    Bytes data = read_file(path / "checkpoint");
    return T5xIndex::is_t5x_document(msgpack::decode(data, (path / "checkpoint").string()));
  } catch (const Error&) {
    return false;
  }
}

// Top-level entries copied unchanged (everything but the regenerated step metadata and the
// items after the primary one).
void add_other_entries(Checkpoint& ckpt, const OrbaxLayout& layout) {
  for (const auto& e : layout.other_entries) {
    if (e != "_CHECKPOINT_METADATA") ckpt.other_entries.push_back(e);
  }
  for (size_t i = 1; i < layout.items.size(); ++i)
    ckpt.other_entries.push_back(layout.items[i].name);
}

// The pre-OCDBT layout (orbax-format.md §1, §4.5): the msgpack placeholder `checkpoint` names the
// leaves (PLACEHOLDER://<name>), and each is a zarr v2 folder `<item>/<name>/` with its .zarray.
void open_per_array_folders(Checkpoint& ckpt, const OrbaxLayout& layout,
                            const OrbaxItemLayout& item, const FolderListing& listing,
                            const std::string& item_where) {
  if (!item.has_placeholder_index) {
    fail(
        "{}: an Orbax item with per-array zarr folders but no msgpack `checkpoint` of "
        "PLACEHOLDER:// leaves ({}); te-ckpt takes the leaves of this pre-OCDBT layout from that "
        "file",
        item_where, layout.description());
  }
  const fs::path item_dir = item.name.empty() ? ckpt.path : ckpt.path / item.name;
  const std::string index_where = item_where + "/checkpoint";
  const auto index = OrbaxPlaceholderIndex::parse(read_file(item_dir / "checkpoint"), index_where);
  auto store = std::make_shared<const kv::FileStore>(item_dir);
  for (const auto& leaf : index.leaves()) {
    const std::string& name = leaf.name;
    if (name.empty() || name.find("..") != std::string::npos || name.front() == '/' ||
        name.find('/') != std::string::npos) {
      fail("{}: leaf PLACEHOLDER://{} does not name an array folder of the item", index_where,
           name);
    }
    const std::string zarray = item.prefix + name + "/.zarray";
    if (!listing.has(zarray)) {
      fail(
          "{}/{}: no .zarray: the array folder of leaf '{}' (named by {}) holds chunk files "
          "only, so the array's shape and dtype are unknown without it (pre-OCDBT Orbax writes a "
          ".zarray into every array folder; T5X's tiny_orbax test fixture lacks them because "
          "T5X keeps it only for format detection)",
          item_where, name, name, index_where);
    }
    const fs::path folder = item_dir / name;
    zarr::ArrayMetadata metadata =
        zarr::ArrayMetadata::parse(listing.read(zarray), (folder / ".zarray").string());
    uint64_t stored = 0;
    for (const auto& k : store->list(name + "/")) {
      if (k.key != name + "/.zarray") stored += k.size;
    }
    ckpt.arrays.push_back(
        ArrayEntry{name, std::move(metadata), store, name + "/", folder, std::nullopt, stored});
  }
  ckpt.format = format_of(layout.producer);
  ckpt.layout_description = layout.description();
  ckpt.orbax_item = item.name;
  ckpt.array_root = item_dir;
  ckpt.orbax_placeholder_index = true;
  ckpt.orbax_per_array_folders = true;
  add_other_entries(ckpt, layout);
}

}  // namespace

bool open_orbax_checkpoint(Checkpoint& ckpt) {
  const fs::path& path = ckpt.path;
  const std::string name = folder_name(path);
  if (!might_be_orbax(path, name) || is_t5x_index_folder(path)) return false;
  auto files = std::make_shared<const kv::FileStore>(path);
  FolderListing listing;
  for (const auto& k : files->list()) listing.files.push_back(k.key);
  listing.read = [files](const std::string& key) { return to_string(files->read_all(key)); };
  if (!is_orbax_folder(name, listing)) return false;
  const std::string where = path.string();
  OrbaxLayout layout = detect_orbax_layout(name, listing, where);
  const OrbaxItemLayout* item = layout.primary();
  if (!item) {
    fail(
        "{}: this Orbax step holds no PyTree item (no item folder with _METADATA or "
        "manifest.ocdbt), so it has no arrays to convert",
        where);
  }
  const std::string item_where = item->name.empty() ? where : (path / item->name).string();
  if (item->storage == OrbaxStorage::kPerArrayFolders) {
    open_per_array_folders(ckpt, layout, *item, listing, item_where);
    return true;
  }
  if (!item->has_tree_metadata) {
    fail(
        "{}/_METADATA: missing; te-ckpt takes the names of the arrays of an Orbax OCDBT item from "
        "its _METADATA (this item has {})",
        item_where,
        item->has_placeholder_index ? "only the msgpack placeholder `checkpoint`" : "no leaf list");
  }
  ckpt.format = format_of(layout.producer);
  ckpt.layout_description = layout.description();
  ckpt.orbax_item = item->name;
  ckpt.array_root = item->name.empty() ? path : path / item->name;

  const std::string p = item->prefix;
  auto tree = OrbaxTreeMetadata::parse(listing.read(p + "_METADATA"), item_where + "/_METADATA");
  std::optional<OrbaxSharding> sharding;
  if (item->has_sharding) {
    try {
      sharding = OrbaxSharding::parse(listing.read(p + "_sharding"), item_where + "/_sharding");
    } catch (const Error& e) {
      ckpt.notes.push_back(e.what());
    }
  }
  std::optional<OrbaxCheckpointMetadata> step_metadata;
  if (layout.has_checkpoint_metadata) {
    step_metadata = OrbaxCheckpointMetadata::parse(listing.read("_CHECKPOINT_METADATA"),
                                                   where + "/_CHECKPOINT_METADATA");
  }
  if (layout.producer == OrbaxProducer::kPax && listing.has("metadata/metadata")) {
    fs::path metadata_file = path / "metadata" / "metadata";
    ckpt.pax_metadata = read_pax_metadata_file(metadata_file);
  }

  // The root database only (restore opens it with process_id=None, §5.1).
  std::shared_ptr<const kv::OcdbtStore> database;
  OrbaxItemKeys keys;
  try {
    database = kv::OcdbtStore::open(std::make_shared<const kv::FileStore>(ckpt.array_root));
    std::vector<std::string> names;
    for (const auto& k : database->list()) names.push_back(k.key);
    keys.keys = std::move(names);
  } catch (const Error& e) {
    keys.open_error = e.what();
    database.reset();
  }
  add_findings(ckpt, check_orbax_item(*item, item_where, &tree, nullptr,
                                      sharding ? &*sharding : nullptr, keys));
  add_findings(ckpt, check_orbax_step(layout, where, step_metadata ? &*step_metadata : nullptr));

  if (database) {
    for (const OrbaxTreeEntry* leaf : tree.leaves()) {
      if (leaf->value_type() == "string") continue;  // in _strings.json, copied with the item
      const std::string leaf_name = leaf->name();
      const std::string prefix = leaf_name.empty() ? "" : leaf_name + "/";
      // zarr v2 or zarr3 (ZarrArray opens either); neither is a problem check_orbax_item reported.
      const std::string metadata_key =
          prefix + (item->array_format == OrbaxArrayFormat::kZarr3 ? "zarr.json" : ".zarray");
      if (!database->size(metadata_key)) continue;
      zarr::ArrayMetadata metadata = zarr::ZarrArray::open(database, prefix).metadata();
      uint64_t stored = 0;
      for (const auto& k : database->list(prefix)) {
        if (k.key != metadata_key) stored += k.size;
      }
      ckpt.arrays.push_back(ArrayEntry{leaf_name, std::move(metadata), database, prefix,
                                       std::nullopt, std::nullopt, stored, leaf->value_type()});
    }
  }
  ckpt.orbax_placeholder_index = item->has_placeholder_index;
  // Regenerated by a conversion, so not copied: _CHECKPOINT_METADATA and Pax's metadata/metadata.
  for (const auto& e : layout.other_entries) {
    if (e == "_CHECKPOINT_METADATA") continue;
    if (e == "metadata" && ckpt.pax_metadata) {
      for (const auto& k : listing.files) {
        if (k.starts_with("metadata/") && k != "metadata/metadata") ckpt.other_entries.push_back(k);
      }
      continue;
    }
    ckpt.other_entries.push_back(e);
  }
  if (item->has_strings) ckpt.other_entries.push_back(fs::path(p) / "_strings.json");
  for (size_t i = 1; i < layout.items.size(); ++i)
    ckpt.other_entries.push_back(layout.items[i].name);
  return true;
}

}  // namespace te::checkpoint
