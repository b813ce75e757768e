#pragma once
// A checkpoint on disk, detected and listed: which format it is, its arrays (in folders or inline
// in a T5X index), and every other file that a conversion copies unchanged. Formats te-ckpt cannot
// read (Orbax, OCDBT, zarr3, Pax's msgpack-only FLAX type) are named and refused here, before any
// work is planned.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/inline_array.h"
#include "checkpoint/t5x_index.h"
#include "zarr/metadata.h"

namespace te::checkpoint {

namespace fs = std::filesystem;

enum class Format {
  kT5x,         // T5X folder with a msgpack `checkpoint` index (or that index file alone)
  kPaxLayout0,  // a folder that directly holds the array folders (Pax checkpoint version 0.0)
  kPaxLayout1,  // a Pax step folder: state/ holds the arrays, metadata/metadata describes mdl_vars
  kZarrArray,   // a single zarr v2 array folder
};
std::string format_name(Format format);

struct ArrayEntry {
  std::string name;  // folder name (Pax) or dotted index path below "optimizer" (T5X)
  zarr::ArrayMetadata metadata;
  std::optional<fs::path> folder;           // stored arrays: the zarr folder
  std::optional<InlineArray> inline_array;  // T5X arrays stored inside the index
  uint64_t stored_bytes = 0;                // bytes of chunk files (or inline data)
};

struct Checkpoint {
  Format format;
  fs::path path;        // as given (a folder, or a T5X index file)
  fs::path array_root;  // the folder that holds the array folders
  std::vector<ArrayEntry> arrays;
  // Files and folders (relative to `path`) that are neither arrays nor regenerated metadata.
  std::vector<fs::path> other_entries;
  std::optional<T5xIndex> t5x_index;
  std::optional<nlohmann::json> pax_metadata;  // layout 1: metadata/metadata
  // Inconsistencies found while listing (index entry without folder, index/.zarray mismatch,
  // array folder not in the index). `inspect` shows them; `convert` refuses the checkpoint.
  std::vector<std::string> problems;

  const ArrayEntry* find(const std::string& name) const;
};

// Detects and lists the checkpoint at `path`. Throws te::Error with a message that names what the
// path is when te-ckpt cannot read it.
Checkpoint open_checkpoint(const fs::path& path);

// The marker te-ckpt puts in the name of its temporary output folders.
inline constexpr const char* kTempMarker = ".te-ckpt-tmp-";

}  // namespace te::checkpoint
