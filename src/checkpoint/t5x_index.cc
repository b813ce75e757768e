#include "checkpoint/t5x_index.h"

#include <algorithm>
#include <functional>

#include "util/error.h"

namespace te::checkpoint {
namespace {

// T5X's tensorstore_leaf test (driver, kvstore, metadata); TensorStore < 0.1.14 had "path" in
// place of "kvstore".
bool is_spec_map(const msgpack::Value& v) {
  return v.is_map() && v.find("driver") && v.find("metadata") &&
         (v.find("kvstore") || v.find("path"));
}
bool is_chunked_array(const msgpack::Value& v) {
  return v.is_map() && v.find("__msgpack_chunked_array__");
}
bool is_leaf(const msgpack::Value& v) {
  return !v.is_map() || is_spec_map(v) || is_chunked_array(v);
}

const std::string* as_string(const msgpack::Value* v) {
  return v ? std::get_if<std::string>(&v->v) : nullptr;
}

Shape as_dims(const msgpack::Value* v, const std::string& where, const char* what) {
  const auto* a = v ? std::get_if<msgpack::Array>(&v->v) : nullptr;
  if (!a) fail("{}: spec has no metadata.{} list", where, what);
  Shape dims;
  for (const auto& d : *a) {
    const auto* u = std::get_if<uint64_t>(&d.v);
    if (!u) fail("{}: spec metadata.{} holds a non-integer", where, what);
    dims.push_back(static_cast<int64_t>(*u));
  }
  return dims;
}

nlohmann::json to_json(const msgpack::Value& v) {
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, msgpack::Map>) {
          nlohmann::json j = nlohmann::json::object();
          for (const auto& [k, item] : x) j[k] = to_json(item);
          return j;
        } else if constexpr (std::is_same_v<T, msgpack::Array>) {
          nlohmann::json j = nlohmann::json::array();
          for (const auto& item : x) j.push_back(to_json(item));
          return j;
        } else if constexpr (std::is_same_v<T, msgpack::Nil> ||
                             std::is_same_v<T, msgpack::Binary> ||
                             std::is_same_v<T, msgpack::Extension>) {
          return nullptr;
        } else {
          return x;
        }
      },
      v.v);
}

msgpack::Value from_json(const nlohmann::json& j) {
  if (j.is_object()) {
    msgpack::Map m;
    for (const auto& [k, item] : j.items()) m.emplace_back(k, from_json(item));  // sorted: std::map
    return m;
  }
  if (j.is_array()) {
    msgpack::Array a;
    for (const auto& item : j) a.push_back(from_json(item));
    return a;
  }
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    int64_t i = j.get<int64_t>();
    return i >= 0 ? msgpack::Value(static_cast<uint64_t>(i)) : msgpack::Value(i);
  }
  if (j.is_number_float()) return j.get<double>();
  return msgpack::Nil{};
}

msgpack::Value dims_value(const Shape& dims) {
  msgpack::Array a;
  for (int64_t d : dims) a.emplace_back(static_cast<uint64_t>(d));
  return a;
}

TensorStoreSpec parse_spec(const msgpack::Value& v, const std::string& where) {
  TensorStoreSpec s;
  const msgpack::Value* kvstore = v.find("kvstore");
  const std::string* path = kvstore ? as_string(kvstore->find("path")) : nullptr;
  if (!path) path = as_string(v.find("path"));  // TensorStore < 0.1.14 put it at the top
  if (!path) fail("{}: spec has no kvstore.path", where);
  s.folder = *path;
  while (!s.folder.empty() && s.folder.back() == '/') s.folder.pop_back();
  if (s.folder.empty() || s.folder.find("..") != std::string::npos || s.folder[0] == '/') {
    fail("{}: spec kvstore.path \"{}\" is not a folder inside the checkpoint", where, *path);
  }
  const std::string* dtype = as_string(v.find("dtype"));
  const msgpack::Value* metadata = v.find("metadata");
  if (!dtype && metadata) dtype = as_string(metadata->find("dtype"));
  if (!dtype) fail("{}: spec has no dtype", where);
  s.dtype_name = *dtype;
  if (!metadata || !metadata->is_map()) fail("{}: spec has no metadata", where);
  s.shape = as_dims(metadata->find("shape"), where, "shape");
  const msgpack::Value* chunks = metadata->find("chunks");
  s.chunks = chunks ? as_dims(chunks, where, "chunks") : s.shape;
  if (const msgpack::Value* c = metadata->find("compressor")) s.compressor = to_json(*c);
  if (kvstore) {
    s.kvstore = to_json(*kvstore);
    if (const std::string* driver = as_string(kvstore->find("driver"))) s.driver = *driver;
  }
  return s;
}

// "a.b.c" -> {"a", "b", "c"}: index paths are dotted keys.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> keys;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
    keys.push_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  keys.push_back(path.substr(start));
  return keys;
}

void sort_nodes(msgpack::Value& v) {
  if (!v.is_map() || is_leaf(v)) return;
  auto& m = v.map();
  std::stable_sort(m.begin(), m.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [k, child] : m) sort_nodes(child);
}

}  // namespace

zarr::ArrayMetadata TensorStoreSpec::to_metadata(const std::string& where) const {
  auto dtype = zarr::dtype_from_name(dtype_name, where);
  auto codec =
      zarr::codec_from_json(compressor.is_null() ? nlohmann::json(nullptr) : compressor, where);
  if (shape.size() != chunks.size()) fail("{}: spec shape and chunks differ in rank", where);
  Shape c = chunks;
  for (auto& d : c) d = std::max<int64_t>(d, 1);
  auto m = zarr::ArrayMetadata::make(shape, c, dtype, codec);
  m.check_sizes(where);
  return m;
}

bool T5xIndex::is_t5x_document(const msgpack::Value& root) {
  return root.is_map() && root.map().size() == 2 && root.find("version") && root.find("optimizer");
}

T5xIndex T5xIndex::parse(std::span<const std::byte> data, const std::string& where) {
  T5xIndex index;
  index.where_ = where;
  index.root_ = msgpack::decode(data, where);
  if (!is_t5x_document(index.root_)) {
    fail("{}: not a T5X index (top-level keys must be exactly \"version\" and \"optimizer\")",
         where);
  }
  return index;
}

std::vector<T5xLeaf> T5xIndex::leaves() const {
  std::vector<T5xLeaf> out;
  std::function<void(const msgpack::Value&, const std::string&)> walk =
      [&](const msgpack::Value& v, const std::string& path) {
        if (v.is_map() && !is_leaf(v)) {
          for (const auto& [k, child] : v.map()) walk(child, path.empty() ? k : path + "." + k);
          return;
        }
        T5xLeaf leaf;
        leaf.path = path;
        leaf.value = &v;
        std::string leaf_where = where_ + ": " + path;
        if (is_spec_map(v)) {
          leaf.spec = parse_spec(v, leaf_where);
        } else {
          leaf.inline_array = decode_inline_array(v, leaf_where);
        }
        out.push_back(std::move(leaf));
      };
  walk(*root_.find("optimizer"), "");
  return out;
}

void T5xIndex::remove(const std::string& path) {
  // Walk down, remembering the chain, then erase and prune the maps the removal empties.
  std::vector<std::string> keys = split_path(path);
  std::vector<msgpack::Value*> parents{root_.find("optimizer")};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    msgpack::Value* child = parents.back()->find(keys[i]);
    if (!child || !child->is_map()) return;
    parents.push_back(child);
  }
  for (size_t i = keys.size(); i-- > 0;) {
    auto& m = parents[i]->map();
    auto it = std::find_if(m.begin(), m.end(), [&](const auto& kv) { return kv.first == keys[i]; });
    if (it == m.end()) return;
    bool leaf = i + 1 == keys.size();
    if (!leaf && !(it->second.is_map() && it->second.map().empty())) return;
    m.erase(it);
  }
}

void T5xIndex::set(const std::string& path, msgpack::Value leaf) {
  std::vector<std::string> keys = split_path(path);
  msgpack::Value* node = root_.find("optimizer");
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    msgpack::Value* child = node->find(keys[i]);
    if (!child) {
      node->map().emplace_back(keys[i], msgpack::Map{});
      child = &node->map().back().second;
    }
    if (!child->is_map() || is_leaf(*child)) {
      fail("{}: cannot add \"{}\": \"{}\" is a leaf", where_, path, keys[i]);
    }
    node = child;
  }
  if (msgpack::Value* existing = node->find(keys.back())) {
    *existing = std::move(leaf);
  } else {
    node->map().emplace_back(keys.back(), std::move(leaf));
  }
}

void T5xIndex::sort_keys() {
  sort_nodes(*root_.find("optimizer"));
}

msgpack::Value T5xIndex::make_spec_leaf(const std::string& folder, const zarr::ArrayMetadata& m) {
  msgpack::Map kvstore{{"driver", std::string("file")}, {"path", folder + "/"}};
  msgpack::Map metadata{{"chunks", dims_value(m.chunks)},
                        {"compressor", from_json(m.codec->to_json())},
                        {"shape", dims_value(m.shape)}};
  return msgpack::Map{{"driver", std::string("zarr")},
                      {"dtype", m.dtype.name()},
                      {"kvstore", std::move(kvstore)},
                      {"metadata", std::move(metadata)}};
}

}  // namespace te::checkpoint
