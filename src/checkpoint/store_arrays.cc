#include "checkpoint/store_arrays.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "zarr/metadata.h"

namespace te::checkpoint {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kZarray = ".zarray", kZarrJson = "zarr.json";

bool is_metadata_key(std::string_view rest) {
  return rest == kZarray || rest == ".zattrs" || rest == ".zgroup" || rest == kZarrJson;
}

Shape json_dims(const nlohmann::json& j, const std::string& where, const char* what) {
  if (!j.is_array()) fail("{}: \"{}\" is not a list of integers", where, what);
  Shape out;
  for (const auto& d : j) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      fail("{}: \"{}\" holds {}, not a non-negative integer", where, what, d.dump());
    out.push_back(d.get<int64_t>());
  }
  return out;
}

// "bytes+zstd/3", sharding as "sharding_indexed(bytes+zstd/3)".
std::string v3_codec_chain(const nlohmann::json& codecs, const std::string& where) {
  if (!codecs.is_array()) fail("{}: \"codecs\" is not a list", where);
  std::vector<std::string> names;
  for (const auto& c : codecs) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string())
      fail("{}: a codec without a \"name\": {}", where, c.dump());
    std::string name = c["name"].get<std::string>();
    const auto config = c.value("configuration", nlohmann::json::object());
    if (name == "sharding_indexed" && config.contains("codecs"))
      name = fmt::format("{}({})", name, v3_codec_chain(config["codecs"], where));
    else if (config.is_object() && config.contains("level") && config["level"].is_number_integer())
      name += fmt::format("/{}", config["level"].get<int>());
    names.push_back(name);
  }
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += '+';
    out += n;
  }
  return out.empty() ? "none" : out;
}

StoreArray v3_array(const kv::KvStore& store, const std::string& name, const std::string& key) {
  std::string where = store.describe(key);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(to_string(store.read_all(key)));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed JSON ({})", where, e.what());
  }
  if (!j.is_object() || j.value("zarr_format", 0) != 3)
    fail("{}: not zarr3 array metadata (\"zarr_format\": 3 expected)", where);
  StoreArray a;
  a.name = name;
  a.zarr_format = 3;
  if (j.value("node_type", "array") != "array") return a;
  a.shape = json_dims(j.value("shape", nlohmann::json()), where, "shape");
  if (!j.contains("data_type") || !j["data_type"].is_string())
    fail("{}: \"data_type\" is missing or not a string", where);
  a.dtype = j["data_type"].get<std::string>();
  const auto grid = j.value("chunk_grid", nlohmann::json::object());
  a.chunks = json_dims(
      grid.value("configuration", nlohmann::json::object()).value("chunk_shape", nlohmann::json()),
      where, "chunk_grid.configuration.chunk_shape");
  a.codec = v3_codec_chain(j.value("codecs", nlohmann::json::array()), where);
  // The stored form's inner chunk: a sharding_indexed codec's chunk_shape.
  for (const auto& c : j.value("codecs", nlohmann::json::array())) {
    if (c.value("name", "") != "sharding_indexed") continue;
    a.inner_chunks = json_dims(
        c.value("configuration", nlohmann::json::object()).value("chunk_shape", nlohmann::json()),
        where, "sharding_indexed chunk_shape");
  }
  return a;
}

bool holds_manifest(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "manifest.ocdbt", ec);
}

}  // namespace

std::vector<StoreArray> list_store_arrays(const kv::KvStore& store) {
  std::vector<StoreArray> arrays;
  auto keys = store.list();
  for (const auto& e : keys) {
    std::string_view key = e.key;
    size_t slash = key.rfind('/');
    if (slash == std::string_view::npos) continue;  // top-level values are not arrays
    std::string_view rest = key.substr(slash + 1);
    if (rest != kZarray && rest != kZarrJson) continue;
    std::string name(key.substr(0, slash));
    std::string prefix = name + "/";
    if (rest == kZarray) {
      auto m = zarr::ArrayMetadata::parse(to_string(store.read_all(e.key)), store.describe(e.key));
      StoreArray a;
      a.name = name;
      a.shape = m.shape;
      a.chunks = m.chunks;
      a.dtype = m.dtype.name();
      a.codec = v2_codec_name(m);
      arrays.push_back(std::move(a));
    } else {
      arrays.push_back(v3_array(store, name, e.key));
    }
    auto& a = arrays.back();
    // Chunks are the keys under the prefix that are not metadata; the listing is sorted, so
    // they follow the prefix contiguously.
    auto it =
        std::lower_bound(keys.begin(), keys.end(), prefix,
                         [](const kv::KeyEntry& k, const std::string& p) { return k.key < p; });
    for (; it != keys.end() && it->key.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (!is_metadata_key(std::string_view(it->key).substr(prefix.size())))
        a.stored_bytes += it->size;
    }
  }
  std::sort(arrays.begin(), arrays.end(),
            [](const StoreArray& x, const StoreArray& y) { return x.name < y.name; });
  return arrays;
}

std::vector<std::pair<std::string, fs::path>> find_ocdbt_databases(const fs::path& path) {
  if (holds_manifest(path)) return {{"", path}};
  std::vector<std::pair<std::string, fs::path>> out;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return out;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("ocdbt.process_", 0) == 0) continue;
    if (e.is_directory(ec) && holds_manifest(e.path())) out.emplace_back(name + "/", e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::pair<fs::path, std::string>> split_ocdbt_array_path(const fs::path& path) {
  fs::path folder = path.lexically_normal();
  if (!folder.empty() && folder.filename().empty()) folder = folder.parent_path();  // trailing '/'
  // Walk up: the array name is what lies below the innermost folder holding a manifest.
  for (fs::path p = folder; !p.empty(); p = p.parent_path()) {
    if (holds_manifest(p) && p != folder) {
      return std::make_pair(p, folder.lexically_relative(p).generic_string());
    }
    if (p == p.parent_path()) break;
  }
  return std::nullopt;
}

std::string v2_codec_name(const zarr::ArrayMetadata& m) {
  auto j = m.codec->to_json();
  if (j.is_null()) return "raw";
  std::string s = j["id"].get<std::string>();
  if (j.contains("level")) s += fmt::format("/{}", j["level"].get<int>());
  if (j.contains("cname")) s += fmt::format("/{}", j["cname"].get<std::string>());
  return s;
}

}  // namespace te::checkpoint
