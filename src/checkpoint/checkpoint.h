#pragma once
// A checkpoint on disk, detected and listed: which format it is, its arrays (in folders or inline
// in a T5X index), and every other file that a conversion copies unchanged. Formats te-ckpt cannot
// read (Pax's msgpack-only FLAX type, ...) are named and refused here, before any work is
// planned. Orbax checkpoints with zarr v2 or zarr3 arrays in OCDBT are read (orbax_checkpoint.h).
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/inline_array.h"
#include "checkpoint/t5x_index.h"
#include "kvstore/file/output_transaction.h"
#include "kvstore/kvstore.h"
#include "zarr/array.h"
#include "zarr/metadata.h"

namespace te::checkpoint {

namespace fs = std::filesystem;

enum class Format {
  kT5x,         // T5X folder with a msgpack `checkpoint` index (or that index file alone)
  kPaxLayout0,  // a folder that directly holds the array folders (Pax checkpoint version 0.0)
  kPaxLayout1,  // a Pax step folder: state/ holds the arrays, metadata/metadata describes mdl_vars
  kZarrArray,   // a single zarr v2 array folder
  // Orbax steps (or items) whose primary item keeps zarr v2 or zarr3 arrays in OCDBT; the
  // arrays are the `_METADATA` leaves, read from the item's root database.
  kT5xOrbax,  // T5X `checkpoint_<N>/state/` (leaf names `target.…`, `state.param_states.…`)
  kPaxOrbax,  // Pax `checkpoint_%08d/state/` + `metadata/metadata` (`mdl_vars.…`, `opt_states.…`)
  kOrbax,     // any other Orbax step or item folder
};
bool is_orbax_format(Format format);
std::string format_name(Format format);

struct ArrayEntry {
  std::string name;  // folder name (Pax) or dotted index path below "optimizer" (T5X)
  zarr::ArrayMetadata metadata;
  // Where the array lives: its chunks are the keys `prefix + chunk key` of `store` (a file store
  // at the array root with prefix "<folder>/", or the checkpoint's memory store of inline arrays).
  std::shared_ptr<const kv::KvStore> store;
  std::string prefix;
  std::optional<fs::path> folder;  // arrays in a local folder: that folder (copies, link checks)
  // T5X arrays stored inside the index: the flax ext type they had (1 ndarray, 3 numpy scalar).
  // Their bytes are one raw chunk in the memory store, so they read like any other array.
  std::optional<int8_t> inline_ext_type;
  uint64_t stored_bytes = 0;  // bytes of chunk values (or inline data)
  // An Orbax leaf: its _METADATA value_type ("jax.Array", "np.ndarray", "scalar"); else "".
  std::string orbax_value_type = "";

  bool is_inline() const { return inline_ext_type.has_value(); }
  zarr::ZarrArray open() const {
    return zarr::ZarrArray::open_with_metadata(store, prefix, metadata);
  }
  // An inline array as the index holds it (shape, dtype, data, ext type).
  InlineArray to_inline_array() const;
};

struct Checkpoint {
  Format format;
  fs::path path;        // as given (a folder, or a T5X index file)
  fs::path array_root;  // the folder that holds the array folders
  std::vector<ArrayEntry> arrays;
  // Files and folders (relative to `path`) that are neither arrays nor regenerated metadata.
  std::vector<fs::path> other_entries;
  std::optional<T5xIndex> t5x_index;
  std::optional<nlohmann::json> pax_metadata;  // layout 1 and Pax Orbax: metadata/metadata
  // Orbax formats: what the layout is ("T5X, Orbax OCDBT, zarr v2") and the primary item's
  // folder relative to `path` ("state", or "" for a direct checkpoint).
  std::string layout_description;
  fs::path orbax_item;
  bool orbax_placeholder_index = false;  // the item also has a msgpack PLACEHOLDER:// `checkpoint`
  // The pre-OCDBT Orbax layout: one zarr v2 folder per leaf in the item (`<item>/<name>/`), the
  // leaves named by the placeholder `checkpoint` (no `_METADATA`, no database).
  bool orbax_per_array_folders = false;
  // Things Orbax itself tolerates (a missing `_sharding`, `array_metadatas/`, ...): shown by
  // `inspect`, never a reason to refuse.
  std::vector<std::string> notes;
  // Inconsistencies found while listing (index entry without folder, index/.zarray mismatch,
  // array folder not in the index). `inspect` shows them; `convert` refuses the checkpoint.
  std::vector<std::string> problems;

  const ArrayEntry* find(const std::string& name) const;
  // Whether the arrays are the ones an index file names (some kept inline in it), not the zarr
  // array folders found under array_root: a folder there that is not a listed array is then no
  // sign of a broken array.
  bool arrays_listed_by_index() const { return t5x_index.has_value(); }
};

// Detects and lists the checkpoint at `path`. Throws te::Error with a message that names what the
// path is when te-ckpt cannot read it.
Checkpoint open_checkpoint(const fs::path& path);

// The marker te-ckpt puts in the name of its temporary output folders.
inline constexpr const char* kTempMarker = kv::kTempMarker;

}  // namespace te::checkpoint
