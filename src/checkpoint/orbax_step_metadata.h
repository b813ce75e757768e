#pragma once
// Two small JSON files of an Orbax checkpoint, both written by Python's json.dumps:
// * `<step>/_CHECKPOINT_METADATA` (orbax-format.md §4.2): item_handlers (a string for a direct
//   checkpoint, or item name → handler type), metrics, performance_metrics,
//   init_timestamp_nsecs, commit_timestamp_nsecs, custom_metadata; every field optional. Kept
//   verbatim (order and unknown fields) except a fresh commit_timestamp_nsecs on output.
// * `<item>/array_metadatas/process_<i>` (§4.4): {"array_metadatas": [{"array_metadata":
//   {"param_name", "write_shape", "chunk_shape", "ext_metadata"}}, ...]}: the arrays one process
//   wrote. Entries are kept verbatim; the editing API renames, removes and adds.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/bytes.h"

namespace te::checkpoint {

// The fields Orbax's step metadata store writes, in its order.
inline const std::vector<std::string> kCheckpointMetadataFields = {
    "item_handlers",          "metrics",        "performance_metrics", "init_timestamp_nsecs",
    "commit_timestamp_nsecs", "custom_metadata"};

class OrbaxCheckpointMetadata {
 public:
  // Throws te::Error naming `where` when the file is not a JSON object.
  static OrbaxCheckpointMetadata parse(std::span<const std::byte> data, const std::string& where);
  static OrbaxCheckpointMetadata parse(const std::string& text, const std::string& where);

  std::string emit() const;  // json.dumps form
  const nlohmann::ordered_json& document() const { return document_; }

  // Item names of an item_handlers object (empty when it is a string or absent).
  std::vector<std::string> item_names() const;
  // The handler type of a direct checkpoint (item_handlers as a string).
  std::optional<std::string> single_handler() const;
  // Which of kCheckpointMetadataFields are absent.
  std::vector<std::string> missing_fields() const;
  std::optional<int64_t> commit_timestamp_nsecs() const;

  // Sets commit_timestamp_nsecs in place; when absent it is inserted where Orbax writes it
  // (after init_timestamp_nsecs, or before custom_metadata, or at the end).
  void set_commit_timestamp_nsecs(int64_t nsecs);

 private:
  nlohmann::ordered_json document_;
};

// The wall clock in nanoseconds since the Unix epoch (what Orbax stores: time.time_ns()).
int64_t unix_time_nsecs();

struct OrbaxArrayMetadataEntry {
  std::string param_name;
  Shape write_shape;
  Shape chunk_shape;
  nlohmann::ordered_json ext_metadata;  // null, or e.g. {"random_key_impl": ...}
};

class OrbaxArrayMetadatas {
 public:
  static OrbaxArrayMetadatas parse(std::span<const std::byte> data, const std::string& where);
  static OrbaxArrayMetadatas parse(const std::string& text, const std::string& where);

  std::string emit() const;  // json.dumps form
  std::vector<OrbaxArrayMetadataEntry> entries() const;
  std::optional<OrbaxArrayMetadataEntry> find(const std::string& param_name) const;

  void rename(const std::string& from, const std::string& to);  // throws when absent
  void remove(const std::string& param_name);                   // no-op when absent
  // Adds (or replaces) an entry in Orbax's field order.
  void set(const OrbaxArrayMetadataEntry& entry);

 private:
  std::string where_;
  nlohmann::ordered_json document_;
};

}  // namespace te::checkpoint
