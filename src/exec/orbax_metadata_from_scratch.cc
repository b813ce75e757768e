#include "exec/orbax_metadata_from_scratch.h"

#include <algorithm>
#include <optional>

#include "checkpoint/orbax_placeholder_index.h"
#include "checkpoint/orbax_sharding.h"
#include "checkpoint/orbax_step_metadata.h"
#include "checkpoint/orbax_tree_metadata.h"
#include "util/error.h"
#include "util/file.h"

namespace te::exec {
namespace {

namespace fs = std::filesystem;
using namespace te::checkpoint;

constexpr const char* kPyTreeHandler =
    "orbax.checkpoint._src.handlers.pytree_checkpoint_handler.PyTreeCheckpointHandler";
constexpr const char* kSingleDeviceSharding =
    R"({"sharding_type": "SingleDeviceSharding", "device_str": "cpu:0"})";

struct Leaf {
  std::string name;
  zarr::ArrayMetadata metadata;
  const ArrayEntry* source;  // the array it was made from; nullptr for FP8 metadata
  // _METADATA's value_type: a copy of an array inline in an index is numpy (an ext type 3
  // scalar "scalar", else "np.ndarray"), as flax restores it; every other leaf a jax.Array.
  std::string value_type = "jax.Array";
};

std::vector<Leaf> output_leaves(const plan::Plan& plan,
                                const std::vector<WrittenArray>& fp8_arrays) {
  std::vector<Leaf> out;
  for (const auto& job : plan.jobs) {
    for (const auto& o : job.outputs) out.push_back({o.name, o.metadata, job.inputs[0]});
  }
  for (const auto& c : plan.copies) {
    std::string type = "jax.Array";
    if (c.source->inline_ext_type) type = *c.source->inline_ext_type == 3 ? "scalar" : "np.ndarray";
    out.push_back({c.target_name, c.metadata(), c.source, type});
  }
  for (const auto& [name, metadata] : fp8_arrays) out.push_back({name, metadata, nullptr});
  return out;
}

// The legacy input's `<array root>/_sharding` (Orbax's ArrayHandler writes it there too), when it
// parses; nullopt otherwise.
std::optional<OrbaxSharding> source_sharding(const plan::Plan& plan) {
  const fs::path file = plan.source->array_root / "_sharding";
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  try {
    return OrbaxSharding::parse(read_file(file), file.string());
  } catch (const Error&) {
    return std::nullopt;
  }
}

// A list index as Python's str() writes one: digits without a leading zero.
bool is_decimal(const std::string& s) {
  return !s.empty() && (s == "0" || s[0] != '0') &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `decimal_is_index`: a decimal component is a list index; otherwise every component is a dict
// key (OrbaxTreeStyle::decimal_components_are_list_indices).
std::vector<OrbaxTreeKey> key_path(const std::string& name, bool decimal_is_index) {
  std::vector<OrbaxTreeKey> keys;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string part =
        name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool index = decimal_is_index && is_decimal(part);
    keys.push_back({part, index ? OrbaxKeyType::kSequence : OrbaxKeyType::kDict, index});
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return keys;
}

// JAX flatten order of two key paths: dict keys by code point, list indices by number.
bool flatten_before(const std::vector<OrbaxTreeKey>& a, const std::vector<OrbaxTreeKey>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].name == b[i].name) continue;
    if (a[i].type == OrbaxKeyType::kSequence && b[i].type == OrbaxKeyType::kSequence &&
        a[i].name.size() != b[i].name.size()) {
      return a[i].name.size() < b[i].name.size();
    }
    return a[i].name < b[i].name;
  }
  return a.size() < b.size();
}

}  // namespace

void write_orbax_metadata_from_scratch(const plan::Plan& plan, const fs::path& out_dir,
                                       const fs::path& item, const OrbaxTreeStyle& style,
                                       const std::vector<WrittenArray>& fp8_arrays) {
  const fs::path out_item = out_dir / item;
  const bool list_indices = style.decimal_components_are_list_indices;
  auto leaves = output_leaves(plan, fp8_arrays);
  std::sort(leaves.begin(), leaves.end(), [list_indices](const Leaf& a, const Leaf& b) {
    return flatten_before(key_path(a.name, list_indices), key_path(b.name, list_indices));
  });

  // zarr3 (--output-format=ocdbt-zarr3): write_shape is the shape of one stored value (a shard),
  // as te-ckpt writes zarr3 shards; zarr v2: the whole array (one process writes one shard).
  bool zarr3 = false;
  for (const auto& l : leaves) zarr3 = zarr3 || l.metadata.is_zarr3();
  auto tree = OrbaxTreeMetadata::parse(
      std::string(R"({"tree_metadata": {}, "use_ocdbt": true, "use_zarr3": )") +
          (zarr3 ? "true" : "false") +
          R"(, "store_array_data_equal_to_fill_value": false, "custom_metadata": null})",
      "the new _METADATA");
  for (const auto& l : leaves) {
    auto value = OrbaxTreeMetadata::array_value_metadata(
        l.metadata.is_zarr3() ? l.metadata.stored_chunk_shape() : l.metadata.shape, l.value_type);
    tree.add(key_path(l.name, list_indices), std::move(value));
  }
  write_text_file(out_item / "_METADATA", tree.emit());

  const auto from = source_sharding(plan);
  auto sharding = OrbaxSharding::parse(std::string("{}"), "the new _sharding");
  for (const auto& l : leaves) {
    std::optional<std::string> entry;
    if (from && l.source) {
      entry = from->derive_entry(l.source->name, l.source->metadata.shape, l.metadata.shape);
    } else if (from) {
      entry = from->replicated_entry();
    }
    sharding.set(l.name, entry ? *entry : std::string(kSingleDeviceSharding));
  }
  write_text_file(out_item / "_sharding", sharding.emit());

  auto arrays = OrbaxArrayMetadatas::parse(std::string(R"({"array_metadatas": []})"),
                                           "the new array_metadatas/process_0");
  for (const auto* e : tree.leaves()) {
    auto it = std::find_if(leaves.begin(), leaves.end(),
                           [&](const Leaf& l) { return l.name == e->name(); });
    arrays.set({it->name, it->metadata.shape, it->metadata.chunks, nullptr});
  }
  fs::create_directories(out_item / "array_metadatas");
  write_text_file(out_item / "array_metadatas" / "process_0", arrays.emit());

  if (style.placeholder_index) {
    std::vector<std::vector<std::string>> paths;
    for (const auto* e : tree.leaves()) {
      std::vector<std::string> path;
      for (const auto& k : e->keys) path.push_back(k.name);
      paths.push_back(std::move(path));
    }
    write_file(out_item / "checkpoint", OrbaxPlaceholderIndex::from_leaves(paths).encode());
  }

  const int64_t now = unix_time_nsecs();
  nlohmann::ordered_json step;
  step["item_handlers"] = nlohmann::ordered_json::object({{item.string(), kPyTreeHandler}});
  step["metrics"] = nlohmann::ordered_json::object();
  step["performance_metrics"] = nlohmann::ordered_json::object();
  step["init_timestamp_nsecs"] = now;
  step["commit_timestamp_nsecs"] = now;
  step["custom_metadata"] = nlohmann::ordered_json::object();
  auto md = OrbaxCheckpointMetadata::parse(step.dump(), "the new _CHECKPOINT_METADATA");
  write_text_file(out_dir / "_CHECKPOINT_METADATA", md.emit());
  write_text_file(out_dir / "commit_success.txt", "Checkpoint commit was successful.");
}

}  // namespace te::exec
