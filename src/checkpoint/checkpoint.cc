#include "checkpoint/checkpoint.h"

#include <unistd.h>

#include <algorithm>

#include "checkpoint/orbax_checkpoint.h"
#include "checkpoint/pax_metadata.h"
#include "kvstore/file/file_store.h"
#include "kvstore/memory/memory_store.h"
#include "kvstore/open_spec.h"
#include "kvstore/prefixed_store.h"
#include "util/error.h"
#include "util/file.h"
#include "zarr/array.h"

namespace te::checkpoint {
namespace {

uint64_t folder_bytes(const fs::path& folder) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    if (e.is_regular_file(ec) && e.path().filename() != ".zarray") total += e.file_size(ec);
  }
  return total;
}

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

void refuse_te_ckpt_temp(const fs::path& path) {
  std::string name = path.filename().string();
  if (name.empty()) name = path.parent_path().filename().string();
  if (name.find(kTempMarker) != std::string::npos) {
    fail(
        "{}: this is a temporary folder left by an interrupted te-ckpt run, not a checkpoint "
        "(delete it, or rerun the conversion, which removes it)",
        path.string());
  }
}

// Refuses the formats te-ckpt recognises but cannot read (Orbax folders are read before this).
void refuse_unsupported(const fs::path& path) {
  for (const fs::path& dir : {path, path / "state"}) {
    if (path_exists(dir / "manifest.ocdbt")) {
      fail(
          "{}: this is an OCDBT checkpoint ({} exists); OCDBT is not supported yet (te-ckpt reads "
          "per-array zarr v2 checkpoints)",
          path.string(), (dir / "manifest.ocdbt").string());
    }
    if (path_exists(dir / "_METADATA")) {
      fail("{}: this is an Orbax checkpoint ({} exists); Orbax checkpoints are not supported yet",
           path.string(), (dir / "_METADATA").string());
    }
  }
  if (path_exists(path / "zarr.json")) {
    fail("{}: this is a zarr v3 array (zarr.json); zarr v3 is not supported yet", path.string());
  }
}

// An array in its own folder of `root` (a file store at the array root).
ArrayEntry folder_entry(std::string name, const std::shared_ptr<const kv::FileStore>& root,
                        const std::string& folder, zarr::ArrayMetadata metadata) {
  fs::path path = root->root() / folder;
  ArrayEntry e{std::move(name), std::move(metadata), root, folder + "/", path,
               std::nullopt,    folder_bytes(path)};
  return e;
}

// The T5X inline array `a` as a zarr array of one raw chunk in `store` under "<name>/".
ArrayEntry inline_entry(const std::string& name, const InlineArray& a,
                        const std::shared_ptr<kv::MemoryStore>& store) {
  auto metadata = zarr::ArrayMetadata::make(a.shape, a.shape, a.dtype, zarr::make_null_codec());
  std::string prefix = name + "/";
  store->put(prefix + metadata.chunk_key(Shape(a.shape.size(), 0)), a.data);
  return ArrayEntry{name,         std::move(metadata), store,        prefix,
                    std::nullopt, a.ext_type,          a.data.size()};
}

// An array whose spec names a kvstore other than a plain folder (an OCDBT database): opened
// through the spec; the driver's own checks refuse remote and unknown drivers by name. A database
// is opened once for all the arrays in it (`databases`, by the spec without its "path").
ArrayEntry spec_store_entry(const T5xLeaf& leaf, const fs::path& array_root,
                            const std::string& where, zarr::ArrayMetadata from_spec,
                            std::map<std::string, std::shared_ptr<const kv::KvStore>>& databases) {
  std::shared_ptr<const kv::KvStore> store;
  try {
    nlohmann::json base = leaf.spec->kvstore;
    std::string path;
    if (base.is_object() && base.contains("path") && base["path"].is_string()) {
      path = base["path"].get<std::string>();
      base.erase("path");
    }
    auto& db = databases[base.dump()];
    if (!db) db = kv::open_kvstore_spec(base, array_root);
    store = db;
    if (!path.empty()) {
      if (path.back() != '/') path += '/';
      store = std::make_shared<kv::PrefixedStore>(db, path);
    }
  } catch (const Error& e) {
    fail("{}: {}", where, e.what());
  }
  zarr::ArrayMetadata metadata = std::move(from_spec);
  if (store->size(".zarray")) metadata = zarr::ZarrArray::open(store).metadata();
  uint64_t stored = 0;
  for (const auto& k : store->list()) {
    if (k.key != ".zarray") stored += k.size;
  }
  return ArrayEntry{leaf.path, std::move(metadata), store, "", std::nullopt, std::nullopt, stored};
}

void list_t5x_index(Checkpoint& ckpt, const fs::path& index_file) {
  Bytes data = read_file(index_file);
  msgpack::Value root = msgpack::decode(data, index_file.string());
  if (!T5xIndex::is_t5x_document(root)) {
    if (root.find("_optimizer") ||
        (root.is_map() && to_string(data).find("PLACEHOLDER://") != std::string::npos)) {
      fail(
          "{}: this is an Orbax-format T5X checkpoint (PLACEHOLDER:// leaves); Orbax checkpoints "
          "are "
          "not supported yet",
          index_file.string());
    }
    if (root.find("flattened_state")) {
      fail("{}: this is a Pax FLAX (msgpack-only) checkpoint; it is not supported",
           index_file.string());
    }
    fail("{}: not a T5X index (top-level keys must be exactly \"version\" and \"optimizer\")",
         index_file.string());
  }
  ckpt.t5x_index = T5xIndex::parse(data, index_file.string());
  std::vector<std::string> indexed_folders;
  auto files = std::make_shared<const kv::FileStore>(ckpt.array_root);
  auto inline_store = std::make_shared<kv::MemoryStore>("inline arrays of " + index_file.string());
  std::map<std::string, std::shared_ptr<const kv::KvStore>> databases;
  for (const T5xLeaf& leaf : ckpt.t5x_index->leaves()) {
    std::string where = index_file.string() + ": " + leaf.path;
    if (leaf.inline_array) {
      ckpt.arrays.push_back(inline_entry(leaf.path, *leaf.inline_array, inline_store));
      continue;
    }
    if (!leaf.spec) continue;
    const TensorStoreSpec& spec = *leaf.spec;
    zarr::ArrayMetadata from_spec = spec.to_metadata(where);
    if (spec.driver != "file" && spec.driver != "gfile") {
      ckpt.arrays.push_back(spec_store_entry(leaf, ckpt.array_root, where, from_spec, databases));
      continue;
    }
    fs::path folder = ckpt.array_root / spec.folder;
    indexed_folders.push_back(spec.folder);
    if (!path_exists(folder)) {
      ckpt.problems.push_back(fmt::format(
          "index entry {} points at folder {}, which does not exist", leaf.path, folder.string()));
      continue;
    }
    zarr::ArrayMetadata metadata = from_spec;
    if (path_exists(folder / ".zarray")) {
      metadata = zarr::ZarrArray::open(files, spec.folder + "/").metadata();
      if (metadata.shape != from_spec.shape || !(metadata.dtype.name() == spec.dtype_name)) {
        ckpt.problems.push_back(
            fmt::format("index entry {} says {} {} but {} holds {} {}", leaf.path, spec.dtype_name,
                        shape_string(from_spec.shape), (folder / ".zarray").string(),
                        metadata.dtype.name(), shape_string(metadata.shape)));
      }
    }
    ckpt.arrays.push_back(folder_entry(leaf.path, files, spec.folder, metadata));
  }
  if (ckpt.path == ckpt.array_root) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(ckpt.path, ec)) {
      std::string name = e.path().filename().string();
      if (name == "checkpoint") continue;
      bool indexed =
          std::find(indexed_folders.begin(), indexed_folders.end(), name) != indexed_folders.end();
      if (!indexed) {
        ckpt.other_entries.push_back(name);
        if (path_exists(e.path() / ".zarray")) {
          ckpt.problems.push_back(fmt::format(
              "array folder {} is not listed in the index (T5X will never read it)", name));
        }
      }
    }
  }
}

// Lists the array folders of `dir` (names relative to it) and its other entries.
void list_array_folder(Checkpoint& ckpt, const fs::path& dir, const fs::path& relative) {
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e);
  if (ec) fail("cannot list {}: {}", dir.string(), ec.message());
  std::sort(entries.begin(), entries.end());
  auto root = std::make_shared<const kv::FileStore>(dir);
  for (const auto& e : entries) {
    std::string name = e.path().filename().string();
    if (e.is_directory() && path_exists(e.path() / ".zarray")) {
      auto array = zarr::ZarrArray::open(root, name + "/");
      ckpt.arrays.push_back(folder_entry(name, root, name, array.metadata()));
    } else {
      // A folder named like a parameter or optimizer array that lost its .zarray is a broken
      // array, not a file to copy along.
      std::error_code dir_ec;
      bool array_like = name.rfind("mdl_vars.", 0) == 0 || name.rfind("opt_states", 0) == 0;
      if (array_like && fs::is_directory(fs::symlink_status(e.path(), dir_ec))) {
        ckpt.problems.push_back(fmt::format(
            "{}: the folder exists but is not a zarr array (no .zarray in it)", e.path().string()));
      }
      ckpt.other_entries.push_back(relative / name);
    }
  }
}

}  // namespace

std::string format_name(Format format) {
  switch (format) {
    case Format::kT5x:
      return "t5x";
    case Format::kPaxLayout0:
      return "pax-layout-0.0";
    case Format::kPaxLayout1:
      return "pax-layout-1.x";
    case Format::kZarrArray:
      return "zarr-array";
    case Format::kT5xOrbax:
      return "T5X, Orbax OCDBT";
    case Format::kPaxOrbax:
      return "Pax, Orbax OCDBT";
    case Format::kOrbax:
      return "Orbax OCDBT";
  }
  return "unknown";
}

bool is_orbax_format(Format format) {
  return format == Format::kT5xOrbax || format == Format::kPaxOrbax || format == Format::kOrbax;
}

InlineArray ArrayEntry::to_inline_array() const {
  return InlineArray{metadata.shape, metadata.dtype, open().read_all(),
                     inline_ext_type.value_or(1)};
}

const ArrayEntry* Checkpoint::find(const std::string& name) const {
  for (const auto& a : arrays) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

Checkpoint open_checkpoint(const fs::path& path) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail("{}: no such file or folder", path.string());
  Checkpoint ckpt;
  ckpt.path = path;
  if (fs::is_regular_file(status)) {
    ckpt.format = Format::kT5x;
    ckpt.array_root = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    // A file given as the checkpoint can only be a T5X index: say so when it is not one.
    Bytes data = read_file(path);
    try {
      (void)msgpack::decode(data, path.string());
    } catch (const Error& e) {
      fail(
          "{}: not a T5X checkpoint index (a file given as --input-path must be the msgpack "
          "`checkpoint` of a T5X checkpoint; this one does not decode: {})",
          path.string(), e.what());
    }
    list_t5x_index(ckpt, path);
    return ckpt;
  }
  if (!fs::is_directory(status)) fail("{}: not a file or folder", path.string());
  if (::access(path.c_str(), R_OK | X_OK) != 0) fail("{}: permission denied", path.string());
  refuse_te_ckpt_temp(path);
  if (open_orbax_checkpoint(ckpt)) return ckpt;
  refuse_unsupported(path);
  ckpt.array_root = path;
  if (path_exists(path / "checkpoint") && fs::is_regular_file(path / "checkpoint")) {
    ckpt.format = Format::kT5x;
    list_t5x_index(ckpt, path / "checkpoint");
    return ckpt;
  }
  if (path_exists(path / ".zarray")) {
    ckpt.format = Format::kZarrArray;
    auto store = std::make_shared<const kv::FileStore>(path);
    auto array = zarr::ZarrArray::open(store);
    ckpt.arrays.push_back(ArrayEntry{path.filename().string(), array.metadata(), store, "", path,
                                     std::nullopt, folder_bytes(path)});
    return ckpt;
  }
  if (fs::is_directory(path / "state") && path_exists(path / "metadata" / "metadata")) {
    ckpt.format = Format::kPaxLayout1;
    ckpt.array_root = path / "state";
    fs::path metadata_file = path / "metadata" / "metadata";
    ckpt.pax_metadata = read_pax_metadata_file(metadata_file);
    list_array_folder(ckpt, path / "state", "state");
    for (const auto& e : fs::directory_iterator(path)) {
      std::string name = e.path().filename().string();
      if (name == "state") continue;
      if (name == "metadata") {
        for (const auto& m : fs::directory_iterator(e.path())) {
          if (m.path().filename() != "metadata")
            ckpt.other_entries.push_back(fs::path("metadata") / m.path().filename());
        }
        continue;
      }
      ckpt.other_entries.push_back(name);
    }
    return ckpt;
  }
  ckpt.format = Format::kPaxLayout0;
  list_array_folder(ckpt, path, "");
  if (ckpt.arrays.empty()) {
    fail(
        "{}: not a checkpoint: no T5X index (checkpoint), no Pax state/ + metadata/metadata, and "
        "no "
        "array folders with .zarray",
        path.string());
  }
  return ckpt;
}

}  // namespace te::checkpoint
