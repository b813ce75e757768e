#include "checkpoint/orbax_sharding.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "checkpoint/python_text.h"
#include "util/error.h"

namespace te::checkpoint {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
  size_t i = kAlphabet.find(c);
  return i == std::string_view::npos ? -1 : static_cast<int>(i);
}

// Product of the mesh axis sizes a partition_spec entry names (1 for null).
std::optional<int64_t> axes_size(const nlohmann::ordered_json& spec_entry,
                                 const nlohmann::ordered_json& axis_names,
                                 const nlohmann::ordered_json& mesh_shape) {
  if (spec_entry.is_null()) return 1;
  std::vector<std::string> names;
  if (spec_entry.is_string()) {
    names.push_back(spec_entry.get<std::string>());
  } else if (spec_entry.is_array()) {
    for (const auto& n : spec_entry) {
      if (!n.is_string()) return std::nullopt;
      names.push_back(n.get<std::string>());
    }
  } else {
    return std::nullopt;
  }
  if (!axis_names.is_array() || !mesh_shape.is_array() || axis_names.size() != mesh_shape.size())
    return std::nullopt;
  int64_t product = 1;
  for (const auto& name : names) {
    bool found = false;
    for (size_t i = 0; i < axis_names.size(); ++i) {
      if (axis_names[i].is_string() && axis_names[i].get<std::string>() == name &&
          mesh_shape[i].is_number_integer()) {
        product *= mesh_shape[i].get<int64_t>();
        found = true;
      }
    }
    if (!found) return std::nullopt;
  }
  return product;
}

}  // namespace

std::string base64url_encode(std::string_view data) {
  std::string out;
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=') {
        if (!last || k < 2) return std::nullopt;
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      int s = sextet(c);
      if (s < 0) return std::nullopt;
      v = v << 6 | static_cast<uint32_t>(s);
    }
    out += static_cast<char>((v >> 16) & 0xFF);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(v & 0xFF);
  }
  // Canonical form only (unused bits zero), so decode(encode(x)) is the identity both ways.
  if (base64url_encode(out) != text) return std::nullopt;
  return out;
}

OrbaxSharding OrbaxSharding::parse(std::span<const std::byte> data, const std::string& where) {
  return parse(to_string(data), where);
}

OrbaxSharding OrbaxSharding::parse(const std::string& text, const std::string& where) {
  OrbaxSharding s;
  s.where_ = where;
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a JSON document ({})", where, e.what());
  }
  if (!doc.is_object()) fail("{}: expected a JSON object of parameter → sharding", where);
  for (const auto& [key, value] : doc.items()) {
    if (!value.is_string()) {
      fail("{}: the sharding of key '{}' is not a JSON string: {}", where, key, value.dump());
    }
    OrbaxShardingEntry e;
    e.key = key;
    std::optional<std::string> name = base64url_decode(key);
    if (name) {
      try {
        decode_utf8(*name, where);
      } catch (const Error&) {
        name.reset();
      }
    }
    e.name = name ? *name : key;  // raw names before Orbax 2023-10-03
    e.value = value.get<std::string>();
    s.entries_.push_back(std::move(e));
  }
  return s;
}

std::string OrbaxSharding::emit() const {
  nlohmann::json doc = nlohmann::json::object();  // std::map: sorted keys, as TensorStore writes
  for (const auto& e : entries_) doc[e.key] = e.value;
  return doc.dump();
}

const OrbaxShardingEntry* OrbaxSharding::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

void OrbaxSharding::rename(const std::string& from, const std::string& to) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const OrbaxShardingEntry& e) { return e.name == from; });
  if (it == entries_.end()) fail("{}: no sharding entry for '{}' to rename", where_, from);
  if (from != to) remove(to);
  it = std::find_if(entries_.begin(), entries_.end(),
                    [&](const OrbaxShardingEntry& e) { return e.name == from; });
  it->name = to;
  it->key = base64url_encode(to);
}

void OrbaxSharding::remove(const std::string& name) {
  std::erase_if(entries_, [&](const OrbaxShardingEntry& e) { return e.name == name; });
}

void OrbaxSharding::set(const std::string& name, std::string value) {
  for (auto& e : entries_) {
    if (e.name == name) {
      e.value = std::move(value);
      return;
    }
  }
  entries_.push_back({name, base64url_encode(name), std::move(value)});
}

std::optional<std::string> OrbaxSharding::derive_entry(const std::string& source,
                                                       const Shape& source_shape,
                                                       const Shape& new_shape) const {
  const OrbaxShardingEntry* src = find(source);
  if (!src) return std::nullopt;
  nlohmann::ordered_json desc;
  try {
    desc = nlohmann::ordered_json::parse(src->value);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (!desc.is_object()) return std::nullopt;
  std::string type = desc.contains("sharding_type") && desc["sharding_type"].is_string()
                         ? desc["sharding_type"].get<std::string>()
                         : std::string();
  if (type == "SingleDeviceSharding") return src->value;
  if (type != "NamedSharding") {
    if (source_shape == new_shape) return src->value;
    return std::nullopt;
  }
  auto spec = desc.find("partition_spec");
  bool copy = spec != desc.end() && spec->is_array() && new_shape.size() == source_shape.size() &&
              spec->size() <= new_shape.size();
  if (copy) {
    for (size_t d = 0; d < spec->size() && copy; ++d) {
      std::optional<int64_t> n =
          axes_size((*spec)[d], desc.value("axis_names", nlohmann::ordered_json()),
                    desc.value("shape", nlohmann::ordered_json()));
      copy = n && *n > 0 && new_shape[d] % *n == 0;
    }
  }
  if (copy) return src->value;
  desc["partition_spec"] = nlohmann::ordered_json::array();
  return python_json_dumps_ascii(desc);
}

std::optional<std::string> OrbaxSharding::replicated_entry() const {
  for (const char* wanted : {"SingleDeviceSharding", "NamedSharding"}) {
    for (const auto& e : entries_) {
      nlohmann::ordered_json desc;
      try {
        desc = nlohmann::ordered_json::parse(e.value);
      } catch (const nlohmann::json::exception&) {
        continue;
      }
      if (!desc.is_object() || desc.value("sharding_type", nlohmann::ordered_json()) != wanted)
        continue;
      if (desc.contains("partition_spec")) {
        desc["partition_spec"] = nlohmann::ordered_json::array();
        return python_json_dumps_ascii(desc);
      }
      return e.value;
    }
  }
  return std::nullopt;
}

bool OrbaxSharding::add_derived(const std::string& name, const std::string& source,
                                const Shape& source_shape, const Shape& new_shape) {
  std::optional<std::string> value = derive_entry(source, source_shape, new_shape);
  if (!value) return false;
  set(name, std::move(*value));
  return true;
}

}  // namespace te::checkpoint
