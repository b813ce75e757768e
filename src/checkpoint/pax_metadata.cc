#include "checkpoint/pax_metadata.h"

#include <functional>

#include "util/error.h"
#include "util/file.h"

namespace te::checkpoint {

nlohmann::json read_pax_metadata_file(const std::filesystem::path& file) {
  nlohmann::json metadata;
  try {
    metadata = nlohmann::json::parse(read_text_file(file));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed JSON ({})", file.string(), e.what());
  }
  if (!metadata.is_object()) fail("{}: expected a JSON object", file.string());
  return metadata;
}

std::vector<PaxMetadataLeaf> pax_metadata_leaves(const nlohmann::json& metadata) {
  std::vector<PaxMetadataLeaf> leaves;
  if (!metadata.is_object() || !metadata.contains("train_state_metadata")) return leaves;
  const auto& tsm = metadata["train_state_metadata"];
  if (!tsm.is_object()) return leaves;
  std::function<void(const nlohmann::json&, const std::string&)> walk =
      [&](const nlohmann::json& node, const std::string& path) {
        if (!node.is_object()) return;
        if (node.contains("_array_metadata_tag")) {
          PaxMetadataLeaf leaf;
          leaf.name = path;
          if (node.contains("dtype") && node["dtype"].is_string())
            leaf.dtype = node["dtype"].get<std::string>();
          if (node.contains("is_optax_masked_node") && node["is_optax_masked_node"].is_boolean()) {
            leaf.masked = node["is_optax_masked_node"].get<bool>();
          }
          if (node.contains("unpadded_shape") && node["unpadded_shape"].is_array()) {
            for (const auto& d : node["unpadded_shape"]) {
              if (d.is_number_integer()) leaf.shape.push_back(d.get<int64_t>());
            }
          }
          leaves.push_back(std::move(leaf));
          return;
        }
        for (const auto& [k, child] : node.items()) walk(child, path.empty() ? k : path + "." + k);
      };
  for (const auto& [k, child] : tsm.items()) walk(child, k);
  return leaves;
}

nlohmann::ordered_json make_pax_metadata(const nlohmann::json& source,
                                         const std::vector<PaxMetadataLeaf>& leaves) {
  // Sorted nesting (JAX flattens dicts in sorted key order): build with std::map-backed json.
  nlohmann::json tree = nlohmann::json::object();
  for (const auto& leaf : leaves) {
    if (leaf.name.rfind("mdl_vars.", 0) != 0) continue;
    nlohmann::json* node = &tree;
    size_t start = std::string("mdl_vars.").size();
    for (;;) {
      size_t dot = leaf.name.find('.', start);
      std::string key =
          leaf.name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (dot == std::string::npos) {
        (*node)[key] = {{"_array_metadata_tag", true},
                        {"dtype", leaf.dtype},
                        {"is_optax_masked_node", leaf.masked},
                        {"unpadded_shape", leaf.shape}};
        break;
      }
      node = &(*node)[key];
      start = dot + 1;
    }
  }
  nlohmann::ordered_json out;
  out["version"] = source.contains("version") ? source["version"] : nlohmann::json(1.1);
  nlohmann::ordered_json tsm;
  if (source.contains("train_state_metadata") && source["train_state_metadata"].is_object()) {
    for (const auto& [k, v] : source["train_state_metadata"].items()) {
      if (k != "mdl_vars") tsm[k] = v;
    }
  }
  tsm["mdl_vars"] = tree;
  out["train_state_metadata"] = tsm;
  return out;
}

std::string python_json_dumps(const nlohmann::ordered_json& v) {
  if (v.is_object()) {
    std::string s = "{";
    bool first = true;
    for (const auto& [k, child] : v.items()) {
      if (!first) s += ", ";
      first = false;
      s += nlohmann::ordered_json(k).dump() + ": " + python_json_dumps(child);
    }
    return s + "}";
  }
  if (v.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + python_json_dumps(v[i]);
    return s + "]";
  }
  return v.dump();
}

}  // namespace te::checkpoint
