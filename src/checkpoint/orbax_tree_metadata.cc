#include "checkpoint/orbax_tree_metadata.h"

#include <algorithm>

#include "checkpoint/python_text.h"
#include "util/error.h"

namespace te::checkpoint {
namespace {

using ojson = nlohmann::ordered_json;

bool is_decimal(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> split_dotted(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
    parts.push_back(name.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(name.substr(start));
  return parts;
}

OrbaxTreeKey parse_key(const ojson& j, const std::string& where) {
  if (!j.is_object() || !j.contains("key") || !j.contains("key_type")) {
    fail("{}: a key_metadata element is not {{\"key\": ..., \"key_type\": ...}}: {}", where,
         j.dump());
  }
  OrbaxTreeKey key;
  const ojson& k = j["key"];
  if (k.is_string()) {
    key.name = k.get<std::string>();
  } else if (k.is_number_integer()) {
    key.name = std::to_string(k.get<int64_t>());
    key.stored_as_integer = true;
  } else {
    fail("{}: key_metadata key must be a string or an integer, found {}", where, k.dump());
  }
  const ojson& t = j["key_type"];
  if (!t.is_number_integer() || (t.get<int64_t>() != 1 && t.get<int64_t>() != 2)) {
    fail("{}: key_type of key '{}' must be 1 (sequence) or 2 (dict), found {}", where, key.name,
         t.dump());
  }
  key.type = static_cast<OrbaxKeyType>(t.get<int>());
  return key;
}

ojson key_json(const OrbaxTreeKey& k) {
  ojson j = ojson::object();
  if (k.stored_as_integer && is_decimal(k.name)) {
    j["key"] = std::stoll(k.name);
  } else {
    j["key"] = k.name;
  }
  j["key_type"] = static_cast<int>(k.type);
  return j;
}

std::string join_names(const std::vector<OrbaxTreeKey>& keys) {
  std::string name;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) name += '.';
    name += keys[i].name;
  }
  return name;
}

// Number of leading key names two paths share.
size_t shared_prefix(const std::vector<OrbaxTreeKey>& a, const std::vector<OrbaxTreeKey>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n].name == b[n].name) ++n;
  return n;
}

}  // namespace

std::string OrbaxTreeEntry::name() const {
  return join_names(keys);
}

std::string OrbaxTreeEntry::value_type() const {
  auto it = value_metadata.find("value_type");
  return it != value_metadata.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool OrbaxTreeEntry::skip_deserialize() const {
  auto it = value_metadata.find("skip_deserialize");
  return it != value_metadata.end() && it->is_boolean() && it->get<bool>();
}

std::optional<Shape> OrbaxTreeEntry::write_shape() const {
  auto it = value_metadata.find("write_shape");
  if (it == value_metadata.end() || !it->is_array()) return std::nullopt;
  Shape shape;
  for (const auto& d : *it) {
    if (!d.is_number_integer()) return std::nullopt;
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

std::string orbax_tuple_key(const std::vector<OrbaxTreeKey>& keys) {
  std::vector<std::string> names;
  for (const auto& k : keys) names.push_back(k.name);
  return python_tuple_repr(names);
}

OrbaxTreeMetadata OrbaxTreeMetadata::parse(std::span<const std::byte> data,
                                           const std::string& where) {
  return parse(to_string(data), where);
}

OrbaxTreeMetadata OrbaxTreeMetadata::parse(const std::string& text, const std::string& where) {
  OrbaxTreeMetadata m;
  m.where_ = where;
  try {
    m.document_ = ojson::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a JSON document ({}); Orbax cannot read this item", where, e.what());
  }
  if (!m.document_.is_object()) fail("{}: expected a JSON object", where);
  auto tree = m.document_.find("tree_metadata");
  if (tree == m.document_.end() || !tree->is_object()) {
    fail("{}: no \"tree_metadata\" object (not an Orbax PyTree _METADATA)", where);
  }
  for (const auto& [tuple_key, body] : tree->items()) {
    std::string at = where + ": entry " + tuple_key;
    if (!body.is_object() || !body.contains("key_metadata") || !body["key_metadata"].is_array() ||
        !body.contains("value_metadata") || !body["value_metadata"].is_object()) {
      fail("{}: expected {{\"key_metadata\": [...], \"value_metadata\": {{...}}}}", at);
    }
    OrbaxTreeEntry e;
    e.tuple_key = tuple_key;
    for (const auto& k : body["key_metadata"]) e.keys.push_back(parse_key(k, at));
    e.value_metadata = body["value_metadata"];
    m.entries_.push_back(std::move(e));
  }
  return m;
}

std::string OrbaxTreeMetadata::emit() const {
  ojson doc = document_;
  ojson tree = ojson::object();
  for (const auto& e : entries_) {
    ojson keys = ojson::array();
    for (const auto& k : e.keys) keys.push_back(key_json(k));
    ojson body = ojson::object();
    body["key_metadata"] = std::move(keys);
    body["value_metadata"] = e.value_metadata;
    tree[e.tuple_key] = std::move(body);
  }
  doc["tree_metadata"] = std::move(tree);
  return python_json_dumps_ascii(doc);
}

const OrbaxTreeEntry* OrbaxTreeMetadata::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name() == name) return &e;
  return nullptr;
}

std::vector<const OrbaxTreeEntry*> OrbaxTreeMetadata::leaves() const {
  std::vector<const OrbaxTreeEntry*> out;
  for (const auto& e : entries_)
    if (!e.skip_deserialize()) out.push_back(&e);
  return out;
}

std::optional<bool> OrbaxTreeMetadata::use_ocdbt() const {
  auto it = document_.find("use_ocdbt");
  if (it == document_.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

bool OrbaxTreeMetadata::use_zarr3() const {
  auto it = document_.find("use_zarr3");
  return it != document_.end() && it->is_boolean() && it->get<bool>();
}

bool OrbaxTreeMetadata::store_array_data_equal_to_fill_value() const {
  auto it = document_.find("store_array_data_equal_to_fill_value");
  return it != document_.end() && it->is_boolean() && it->get<bool>();
}

void OrbaxTreeMetadata::set_flag(const std::string& member, nlohmann::ordered_json value) {
  if (member == "tree_metadata") fail("{}: tree_metadata is not a flag", where_);
  document_[member] = std::move(value);
}

void OrbaxTreeMetadata::rename(const std::string& from, std::vector<OrbaxTreeKey> to) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const OrbaxTreeEntry& e) { return e.name() == from; });
  if (it == entries_.end()) fail("{}: no leaf named '{}' to rename", where_, from);
  std::string new_name = join_names(to);
  if (new_name != from && find(new_name)) {
    fail("{}: cannot rename '{}' to '{}': that leaf exists", where_, from, new_name);
  }
  it->keys = std::move(to);
  it->tuple_key = orbax_tuple_key(it->keys);
}

void OrbaxTreeMetadata::rename(const std::string& from, const std::string& new_name) {
  if (!find(from)) fail("{}: no leaf named '{}' to rename", where_, from);
  // Derive the key types with the old leaf out of the way, so it does not count as a sibling.
  OrbaxTreeMetadata probe = *this;
  probe.entries_.erase(std::find_if(probe.entries_.begin(), probe.entries_.end(),
                                    [&](const OrbaxTreeEntry& e) { return e.name() == from; }));
  std::vector<OrbaxTreeKey> keys = probe.derive_keys(new_name);
  // Components the old path shares keep their old types.
  const OrbaxTreeEntry* old = find(from);
  for (size_t i = 0; i < keys.size() && i < old->keys.size() && keys[i].name == old->keys[i].name;
       ++i) {
    keys[i] = old->keys[i];
  }
  rename(from, std::move(keys));
}

void OrbaxTreeMetadata::remove(const std::string& name) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const OrbaxTreeEntry& e) { return e.name() == name; });
  if (it == entries_.end()) fail("{}: no leaf named '{}' to remove", where_, name);
  entries_.erase(it);
}

std::vector<OrbaxTreeKey> OrbaxTreeMetadata::derive_keys(const std::string& name) const {
  std::vector<std::string> parts = split_dotted(name);
  std::vector<OrbaxTreeKey> keys;
  for (size_t i = 0; i < parts.size(); ++i) {
    // Entries below the same parent (their first i names equal parts[0..i)).
    std::vector<const OrbaxTreeKey*> siblings;
    const OrbaxTreeKey* same = nullptr;
    for (const auto& e : entries_) {
      if (e.keys.size() <= i) continue;
      bool under_parent = true;
      for (size_t j = 0; j < i && under_parent; ++j) under_parent = e.keys[j].name == parts[j];
      if (!under_parent) continue;
      siblings.push_back(&e.keys[i]);
      if (e.keys[i].name == parts[i] && !same) same = &e.keys[i];
    }
    OrbaxTreeKey k;
    k.name = parts[i];
    if (same) {
      k.type = same->type;
      k.stored_as_integer = same->stored_as_integer;
    } else if (!siblings.empty()) {
      bool all_sequence = std::all_of(siblings.begin(), siblings.end(), [](const OrbaxTreeKey* s) {
        return s->type == OrbaxKeyType::kSequence;
      });
      k.type = all_sequence && is_decimal(parts[i]) ? OrbaxKeyType::kSequence : OrbaxKeyType::kDict;
      k.stored_as_integer = k.type == OrbaxKeyType::kSequence && siblings[0]->stored_as_integer;
    } else {
      k.type = is_decimal(parts[i]) ? OrbaxKeyType::kSequence : OrbaxKeyType::kDict;
      // The integer form exists only in newer files; use it when the file uses it elsewhere.
      bool integers = false;
      for (const auto& e : entries_)
        for (const auto& ek : e.keys) integers = integers || ek.stored_as_integer;
      k.stored_as_integer = k.type == OrbaxKeyType::kSequence && integers;
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

void OrbaxTreeMetadata::add(std::vector<OrbaxTreeKey> keys, nlohmann::ordered_json value_metadata) {
  std::string name = join_names(keys);
  if (keys.empty()) fail("{}: cannot add a leaf with an empty key path", where_);
  // An empty node (skip_deserialize) that is a strict prefix of the new leaf is no longer empty.
  std::erase_if(entries_, [&](const OrbaxTreeEntry& e) {
    return e.skip_deserialize() && e.keys.size() < keys.size() &&
           shared_prefix(e.keys, keys) == e.keys.size();
  });
  size_t best_len = 0;
  bool any = false;
  for (const auto& e : entries_) {
    size_t n = shared_prefix(e.keys, keys);
    if (n == keys.size() && n == e.keys.size()) {
      fail("{}: cannot add leaf '{}': it exists", where_, name);
    }
    if (n == e.keys.size() || n == keys.size()) {
      fail("{}: cannot add leaf '{}': it and leaf '{}' would be both a node and a leaf", where_,
           name, e.name());
    }
    if (n > 0 && n >= best_len) {
      best_len = n;
      any = true;
    }
  }
  OrbaxTreeEntry e;
  e.keys = std::move(keys);
  e.tuple_key = orbax_tuple_key(e.keys);
  e.value_metadata = std::move(value_metadata);
  if (!any) {
    entries_.push_back(std::move(e));
    return;
  }
  // Among the entries below the shared parent, insert in JAX flatten order: sequence indices by
  // number, dict keys by code point (the order Orbax wrote the input in).
  auto before = [](const OrbaxTreeKey& a, const OrbaxTreeKey& b) {
    if (a.type == OrbaxKeyType::kSequence && b.type == OrbaxKeyType::kSequence &&
        is_decimal(a.name) && is_decimal(b.name) && a.name.size() != b.name.size())
      return a.name.size() < b.name.size();
    return a.name < b.name;
  };
  std::optional<size_t> last;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (shared_prefix(entries_[i].keys, e.keys) != best_len) continue;
    if (before(e.keys[best_len], entries_[i].keys[best_len])) {
      entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(i), std::move(e));
      return;
    }
    last = i;
  }
  entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(*last) + 1, std::move(e));
}

void OrbaxTreeMetadata::set_value_metadata(const std::string& name,
                                           nlohmann::ordered_json value_metadata) {
  for (auto& e : entries_) {
    if (e.name() == name) {
      e.value_metadata = std::move(value_metadata);
      return;
    }
  }
  fail("{}: no leaf named '{}'", where_, name);
}

void OrbaxTreeMetadata::add(const std::string& name, nlohmann::ordered_json value_metadata) {
  add(derive_keys(name), std::move(value_metadata));
}

nlohmann::ordered_json OrbaxTreeMetadata::array_value_metadata(const Shape& write_shape,
                                                               const std::string& value_type) {
  ojson v = ojson::object();
  v["value_type"] = value_type;
  v["skip_deserialize"] = false;
  v["write_shape"] = write_shape;
  return v;
}

}  // namespace te::checkpoint
