#pragma once
// `<item>/_sharding` of an Orbax PyTree checkpoint (orbax-format.md §4.3): one JSON object, written
// by TensorStore's json driver (compact, keys sorted), whose keys are
// base64.urlsafe_b64encode(param name) with '=' padding (raw names before Orbax 2023-10) and whose
// values are JSON *strings* holding json.dumps of the sharding description: NamedSharding
// (sharding_type, shape = mesh shape, axis_names, partition_spec with one entry per array
// dimension, ...) or SingleDeviceSharding (device_str).
//
// Rule for a new leaf derived from a source leaf (derive_entry): SingleDeviceSharding is copied;
// a NamedSharding is copied when the rank is unchanged and every sharded dimension of the new
// shape is divisible by the product of the mesh axes it is sharded over; otherwise the new leaf
// gets the source's NamedSharding with "partition_spec": [] (replicated on the same mesh: Orbax
// reads an empty PartitionSpec as fully replicated, and the restoring framework passes its own
// shardings anyway). Any other sharding type is copied only for an unchanged shape; else there is
// no safe entry (nullopt) and the caller drops the whole file, which Orbax accepts when shardings
// are given (T5X, Pax, MaxText give them).
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"

namespace te::checkpoint {

// base64 with the URL-safe alphabet (-, _) and '=' padding, as Python's urlsafe_b64encode.
std::string base64url_encode(std::string_view data);
// nullopt when `text` is not padded URL-safe base64.
std::optional<std::string> base64url_decode(std::string_view text);

struct OrbaxShardingEntry {
  std::string name;   // the parameter name
  std::string key;    // the key as stored (base64 of name, or the raw name in old files)
  std::string value;  // the JSON text of the sharding description
};

class OrbaxSharding {
 public:
  // Throws te::Error naming `where` when the file is not a JSON object of strings.
  static OrbaxSharding parse(std::span<const std::byte> data, const std::string& where);
  static OrbaxSharding parse(const std::string& text, const std::string& where);

  // Compact JSON with keys sorted by bytes (TensorStore's form).
  std::string emit() const;

  const std::vector<OrbaxShardingEntry>& entries() const { return entries_; }
  const OrbaxShardingEntry* find(const std::string& name) const;

  // Renames an entry (its key becomes the base64 of the new name). Throws when absent.
  void rename(const std::string& from, const std::string& to);
  // Removes the entry of `name`; no-op when absent.
  void remove(const std::string& name);
  // Sets the sharding JSON text of `name` (adds the entry when absent, base64 key).
  void set(const std::string& name, std::string value);

  // The entry text for a new leaf of shape `new_shape` derived from the leaf `source` of shape
  // `source_shape` (rule in the file comment); nullopt when `source` has no entry or no safe
  // entry exists.
  std::optional<std::string> derive_entry(const std::string& source, const Shape& source_shape,
                                          const Shape& new_shape) const;
  // The entry text for a new leaf that has no source array (FP8 metadata): the first
  // SingleDeviceSharding entry, else the first NamedSharding entry with "partition_spec": []
  // (replicated on that mesh: Orbax reads an empty PartitionSpec as fully replicated); nullopt
  // when the file has neither.
  std::optional<std::string> replicated_entry() const;
  // Adds (or replaces) `name` with derive_entry(...); returns false when there was nothing safe
  // to write.
  bool add_derived(const std::string& name, const std::string& source, const Shape& source_shape,
                   const Shape& new_shape);

 private:
  std::string where_;
  std::vector<OrbaxShardingEntry> entries_;
};

}  // namespace te::checkpoint
