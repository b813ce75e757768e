#pragma once
// The T5X msgpack index (`checkpoint_N/checkpoint`): {"version": 3, "optimizer": {...}} whose
// leaves are TensorStore spec dicts (arrays in folders), inline arrays, or plain values. T5X finds
// every array through this index, so a conversion rewrites it: remove the leaves of arrays that
// were merged or split away, add spec leaves for new arrays, keep everything else byte for byte.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/inline_array.h"
#include "msgpack/value.h"
#include "zarr/metadata.h"

namespace te::checkpoint {

namespace fs = std::filesystem;

// A TensorStore spec leaf, as far as te-ckpt needs it.
struct TensorStoreSpec {
  // kvstore.path without a trailing '/': for the file drivers the array folder relative to the
  // checkpoint folder; for ocdbt the array's key prefix inside the database.
  std::string folder;
  std::string dtype_name;
  Shape shape;
  Shape chunks;
  nlohmann::json compressor;  // null when the spec does not say
  // The spec's kvstore (null for TensorStore < 0.1.14's top-level "path"); its driver, "file"
  // when the spec does not say.
  nlohmann::json kvstore;
  std::string driver = "file";

  // The metadata TensorStore would find in the folder's .zarray (used when .zarray is absent).
  zarr::ArrayMetadata to_metadata(const std::string& where) const;
};

struct T5xLeaf {
  std::string
      path;  // dotted key path below "optimizer", e.g. "target.encoder.layers_0.mlp.wo.kernel"
  std::optional<TensorStoreSpec> spec;
  std::optional<InlineArray> inline_array;
  const msgpack::Value* value = nullptr;  // the raw leaf (valid while the index is unchanged)
};

class T5xIndex {
 public:
  // Decodes an index; throws te::Error naming `where` if it is not a T5X index.
  static T5xIndex parse(std::span<const std::byte> data, const std::string& where);
  // True when the document's top-level keys are exactly {version, optimizer} (T5X's own test).
  static bool is_t5x_document(const msgpack::Value& root);

  // Every leaf below "optimizer" in document order. Empty maps are nodes, not leaves.
  std::vector<T5xLeaf> leaves() const;
  const msgpack::Value& root() const { return root_; }

  // Removes the leaf at `path`, then every map that the removal left empty.
  void remove(const std::string& path);
  // Sets the leaf at `path`, creating maps as needed.
  void set(const std::string& path, msgpack::Value leaf);
  // Sorts map keys below "optimizer" as T5X writes them (code-point order); leaves are untouched.
  void sort_keys();
  Bytes encode() const { return msgpack::encode(root_); }

  // The spec leaf T5X writes for an array stored in `folder`.
  static msgpack::Value make_spec_leaf(const std::string& folder, const zarr::ArrayMetadata& m);

 private:
  std::string where_;
  msgpack::Value root_;
};

}  // namespace te::checkpoint
