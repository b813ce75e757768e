#pragma once
// Which Orbax checkpoint a folder is (orbax-format.md §1): a step folder holding items (composite:
// `state/`, `params/`, `default/`, `items/`, ... any subfolder with `_METADATA`, `manifest.ocdbt`
// or a msgpack `checkpoint` of PLACEHOLDER:// leaves) or a step folder that is the item itself
// (direct); T5X (`checkpoint_<N>/state/`, or T5X names), Pax (`checkpoint_%08d/state/` +
// `metadata/metadata` with a version) or generic `<step>/<item>/`; the v1 API (`orbax.checkpoint`
// marker) or v0; arrays in OCDBT (`manifest.ocdbt`) or in per-array zarr folders; zarr v2 or zarr3
// (`use_zarr3` in `_METADATA`, else `zarr.json` keys); the pre-OCDBT msgpack placeholder index.
//
// Pure: the folder is given as its file listing plus a reader for small files, so the caller
// chooses the storage (a local folder through kv::FileStore, a test's memory listing).
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace te::checkpoint {

// A read-only view of a folder: every file's key relative to it ('/'-separated, any order) and a
// reader returning a file's whole content (called only for small metadata files).
struct FolderListing {
  std::vector<std::string> files;
  std::function<std::string(const std::string& key)> read;

  bool has(const std::string& key) const;
  bool has_under(const std::string& prefix) const;  // some key starts with prefix
};

enum class OrbaxProducer { kGeneric, kT5x, kPax };
enum class OrbaxStorage { kOcdbt, kPerArrayFolders };
enum class OrbaxArrayFormat { kUnknown, kZarr2, kZarr3 };

// The temporary-name marker of Orbax's atomic step writes.
inline constexpr const char* kOrbaxTempMarker = ".orbax-checkpoint-tmp";

struct OrbaxItemLayout {
  std::string name;    // "state"; "" when the step folder is the item (direct checkpoint)
  std::string prefix;  // the item's key prefix in the step listing: "state/" or ""
  OrbaxStorage storage = OrbaxStorage::kOcdbt;
  OrbaxArrayFormat array_format = OrbaxArrayFormat::kUnknown;
  bool has_tree_metadata = false;              // _METADATA
  bool has_placeholder_index = false;          // msgpack `checkpoint` with PLACEHOLDER:// leaves
  bool has_sharding = false;                   // _sharding
  bool has_array_metadatas = false;            // array_metadatas/process_*
  bool has_strings = false;                    // _strings.json
  bool has_manifest = false;                   // manifest.ocdbt (the root database)
  bool has_root_data_files = false;            // d/* (the root's B+tree nodes)
  std::vector<std::string> process_databases;  // "ocdbt.process_0", ...
  std::optional<bool> use_ocdbt_flag;          // _METADATA use_ocdbt when present
};

struct OrbaxLayout {
  std::string step_name;  // the folder's own name
  OrbaxProducer producer = OrbaxProducer::kGeneric;
  bool v1_api = false;                     // orbax.checkpoint marker
  bool direct = false;                     // the step folder is the item
  bool has_checkpoint_metadata = false;    // _CHECKPOINT_METADATA
  bool has_commit_success = false;         // commit_success.txt
  std::optional<std::string> pax_version;  // metadata/metadata "version" as written ("1.2")
  std::vector<OrbaxItemLayout> items;      // PyTree items, primary first
  // Top-level files and folders that are not PyTree items (copied unchanged by a conversion):
  // "_CHECKPOINT_METADATA", "orbax.checkpoint", "metadata", "dataset", ...
  std::vector<std::string> other_entries;

  const OrbaxItemLayout* primary() const { return items.empty() ? nullptr : &items.front(); }
  // "T5X, Orbax OCDBT, zarr v2"; "Pax (version 1.2), Orbax OCDBT, zarr v2"; "Orbax v1, OCDBT,
  // zarr3"; "T5X, Orbax per-array folders + msgpack placeholder index, zarr v2".
  std::string description() const;
};

// True when the folder looks like an Orbax step or item: `_METADATA`, `manifest.ocdbt`,
// `_CHECKPOINT_METADATA` or `orbax.checkpoint` at the top or one level down, a msgpack
// `checkpoint` with PLACEHOLDER:// leaves there, or an Orbax temporary name.
bool is_orbax_folder(const std::string& folder_name, const FolderListing& folder);

// Detects the layout. Throws te::Error naming `where` (the folder for messages) when the folder
// is an unfinished step (a name with .orbax-checkpoint-tmp, also for an item), a v1 checkpoint
// without `_CHECKPOINT_METADATA` (Orbax's v1 loader rejects it), or an item's `_METADATA` is not
// a tree metadata document.
OrbaxLayout detect_orbax_layout(const std::string& folder_name, const FolderListing& folder,
                                const std::string& where);

// zarr v2 / zarr3 from an item database's keys (`<name>/.zarray`, `<name>/zarr.json`), for items
// without `_METADATA`; kUnknown when neither occurs.
OrbaxArrayFormat orbax_array_format_from_keys(const std::vector<std::string>& keys);

std::string orbax_producer_name(OrbaxProducer producer);

}  // namespace te::checkpoint
