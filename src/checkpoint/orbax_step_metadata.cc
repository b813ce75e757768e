#include "checkpoint/orbax_step_metadata.h"

#include <algorithm>
#include <chrono>

#include "checkpoint/python_text.h"
#include "util/error.h"

namespace te::checkpoint {
namespace {

using ojson = nlohmann::ordered_json;

ojson parse_object(const std::string& text, const std::string& where) {
  ojson doc;
  try {
    doc = ojson::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a JSON document ({})", where, e.what());
  }
  if (!doc.is_object()) fail("{}: expected a JSON object", where);
  return doc;
}

Shape shape_of(const ojson& j) {
  Shape s;
  if (!j.is_array()) return s;
  for (const auto& d : j)
    if (d.is_number_integer()) s.push_back(d.get<int64_t>());
  return s;
}

}  // namespace

OrbaxCheckpointMetadata OrbaxCheckpointMetadata::parse(std::span<const std::byte> data,
                                                       const std::string& where) {
  return parse(to_string(data), where);
}

OrbaxCheckpointMetadata OrbaxCheckpointMetadata::parse(const std::string& text,
                                                       const std::string& where) {
  OrbaxCheckpointMetadata m;
  m.document_ = parse_object(text, where);
  return m;
}

std::string OrbaxCheckpointMetadata::emit() const {
  return python_json_dumps_ascii(document_);
}

std::vector<std::string> OrbaxCheckpointMetadata::item_names() const {
  std::vector<std::string> names;
  auto it = document_.find("item_handlers");
  if (it != document_.end() && it->is_object())
    for (const auto& [k, v] : it->items()) names.push_back(k);
  return names;
}

std::optional<std::string> OrbaxCheckpointMetadata::single_handler() const {
  auto it = document_.find("item_handlers");
  if (it != document_.end() && it->is_string()) return it->get<std::string>();
  return std::nullopt;
}

std::vector<std::string> OrbaxCheckpointMetadata::missing_fields() const {
  std::vector<std::string> missing;
  for (const auto& f : kCheckpointMetadataFields)
    if (!document_.contains(f)) missing.push_back(f);
  return missing;
}

std::optional<int64_t> OrbaxCheckpointMetadata::commit_timestamp_nsecs() const {
  auto it = document_.find("commit_timestamp_nsecs");
  if (it != document_.end() && it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

void OrbaxCheckpointMetadata::set_commit_timestamp_nsecs(int64_t nsecs) {
  if (document_.contains("commit_timestamp_nsecs")) {
    document_["commit_timestamp_nsecs"] = nsecs;
    return;
  }
  // Rebuild in order (ordered_json cannot insert in the middle).
  ojson out = ojson::object();
  bool done = false;
  bool after_init = document_.contains("init_timestamp_nsecs");
  for (const auto& [k, v] : document_.items()) {
    if (!done && !after_init && k == "custom_metadata") {
      out["commit_timestamp_nsecs"] = nsecs;
      done = true;
    }
    out[k] = v;
    if (!done && after_init && k == "init_timestamp_nsecs") {
      out["commit_timestamp_nsecs"] = nsecs;
      done = true;
    }
  }
  if (!done) out["commit_timestamp_nsecs"] = nsecs;
  document_ = std::move(out);
}

int64_t unix_time_nsecs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

OrbaxArrayMetadatas OrbaxArrayMetadatas::parse(std::span<const std::byte> data,
                                               const std::string& where) {
  return parse(to_string(data), where);
}

OrbaxArrayMetadatas OrbaxArrayMetadatas::parse(const std::string& text, const std::string& where) {
  OrbaxArrayMetadatas m;
  m.where_ = where;
  m.document_ = parse_object(text, where);
  auto list = m.document_.find("array_metadatas");
  if (list == m.document_.end() || !list->is_array()) {
    fail("{}: no \"array_metadatas\" list", where);
  }
  for (const auto& item : *list) {
    if (!item.is_object() || !item.contains("array_metadata") ||
        !item["array_metadata"].is_object() || !item["array_metadata"].contains("param_name") ||
        !item["array_metadata"]["param_name"].is_string()) {
      fail("{}: an element is not {{\"array_metadata\": {{\"param_name\": ..., ...}}}}: {}", where,
           item.dump());
    }
  }
  return m;
}

std::string OrbaxArrayMetadatas::emit() const {
  return python_json_dumps_ascii(document_);
}

std::vector<OrbaxArrayMetadataEntry> OrbaxArrayMetadatas::entries() const {
  std::vector<OrbaxArrayMetadataEntry> out;
  for (const auto& item : document_["array_metadatas"]) {
    const ojson& a = item["array_metadata"];
    OrbaxArrayMetadataEntry e;
    e.param_name = a["param_name"].get<std::string>();
    if (a.contains("write_shape")) e.write_shape = shape_of(a["write_shape"]);
    if (a.contains("chunk_shape")) e.chunk_shape = shape_of(a["chunk_shape"]);
    if (a.contains("ext_metadata")) e.ext_metadata = a["ext_metadata"];
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<OrbaxArrayMetadataEntry> OrbaxArrayMetadatas::find(
    const std::string& param_name) const {
  for (auto& e : entries())
    if (e.param_name == param_name) return e;
  return std::nullopt;
}

void OrbaxArrayMetadatas::rename(const std::string& from, const std::string& to) {
  for (auto& item : document_["array_metadatas"]) {
    if (item["array_metadata"]["param_name"] == from) {
      if (from != to) remove(to);
      for (auto& again : document_["array_metadatas"])
        if (again["array_metadata"]["param_name"] == from)
          again["array_metadata"]["param_name"] = to;
      return;
    }
  }
  fail("{}: no array metadata for '{}' to rename", where_, from);
}

void OrbaxArrayMetadatas::remove(const std::string& param_name) {
  auto& list = document_["array_metadatas"];
  ojson kept = ojson::array();
  for (auto& item : list)
    if (item["array_metadata"]["param_name"] != param_name) kept.push_back(item);
  list = std::move(kept);
}

void OrbaxArrayMetadatas::set(const OrbaxArrayMetadataEntry& entry) {
  ojson a = ojson::object();
  a["param_name"] = entry.param_name;
  a["write_shape"] = entry.write_shape;
  a["chunk_shape"] = entry.chunk_shape;
  a["ext_metadata"] = entry.ext_metadata;
  for (auto& item : document_["array_metadatas"]) {
    if (item["array_metadata"]["param_name"] == entry.param_name) {
      item["array_metadata"] = std::move(a);
      return;
    }
  }
  ojson item = ojson::object();
  item["array_metadata"] = std::move(a);
  document_["array_metadatas"].push_back(std::move(item));
}

}  // namespace te::checkpoint
