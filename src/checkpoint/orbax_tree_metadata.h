#pragma once
// `<item>/_METADATA` of an Orbax PyTree checkpoint (orbax-format.md §4.1): the list of leaves
// (tree_metadata, in JAX flatten order), each with its key path (key_metadata: key name and key
// type 1 = sequence index, 2 = dict key or attribute) and value_metadata (value_type,
// skip_deserialize, write_shape, ...), plus top-level flags (use_ocdbt, use_zarr3,
// store_array_data_equal_to_fill_value, custom_metadata, value_metadata_tree, and any other
// member).
//
// Parsing keeps every member verbatim and in order; emit() writes Python's json.dumps form, so an
// unchanged parsed file is written back byte for byte. The editing API (rename, add, remove) keeps
// the flags, the key types and the value metadata of untouched leaves.
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/bytes.h"

namespace te::checkpoint {

enum class OrbaxKeyType : int { kSequence = 1, kDict = 2 };

// One component of a leaf's key path.
struct OrbaxTreeKey {
  std::string name;  // the key as text ("0" for a list index)
  OrbaxKeyType type = OrbaxKeyType::kDict;
  // How the key is stored in key_metadata: newer Orbax writes list indices as JSON integers,
  // older as strings. Kept for re-emission; new keys copy their siblings' form.
  bool stored_as_integer = false;
  bool operator==(const OrbaxTreeKey&) const = default;
};

struct OrbaxTreeEntry {
  std::string tuple_key;           // the tree_metadata key, e.g. "('b', 'c')"
  std::vector<OrbaxTreeKey> keys;  // from key_metadata
  nlohmann::ordered_json value_metadata = nlohmann::ordered_json::object();

  // The parameter name: the key names joined with '.' (Orbax's param_name_from_keypath).
  std::string name() const;
  std::string value_type() const;  // "" when absent
  bool skip_deserialize() const;   // true for empty nodes (None, {}, [], ...)
  std::optional<Shape> write_shape() const;
};

// The tree_metadata key Orbax writes for a key path: repr(tuple(str(k) for k in keys)).
std::string orbax_tuple_key(const std::vector<OrbaxTreeKey>& keys);

class OrbaxTreeMetadata {
 public:
  // Parses a `_METADATA` file; throws te::Error naming `where` when it is not JSON, has no
  // tree_metadata object, or an entry lacks key_metadata / value_metadata or has a bad key type.
  static OrbaxTreeMetadata parse(std::span<const std::byte> data, const std::string& where);
  static OrbaxTreeMetadata parse(const std::string& text, const std::string& where);

  // Python json.dumps form of the whole document (one line, no trailing newline).
  std::string emit() const;

  const std::vector<OrbaxTreeEntry>& entries() const { return entries_; }
  // The entry whose name() is `name`, or nullptr.
  const OrbaxTreeEntry* find(const std::string& name) const;
  // Array leaves: entries that are not skip_deserialize empty nodes, in order.
  std::vector<const OrbaxTreeEntry*> leaves() const;

  // Top-level flags (absent → Orbax's defaults: use_ocdbt unknown, use_zarr3 false,
  // store_array_data_equal_to_fill_value false).
  std::optional<bool> use_ocdbt() const;
  bool use_zarr3() const;
  bool store_array_data_equal_to_fill_value() const;
  // Members other than tree_metadata, verbatim and in order.
  const nlohmann::ordered_json& document() const { return document_; }
  // Sets a top-level member (kept in place when present, appended otherwise).
  void set_flag(const std::string& member, nlohmann::ordered_json value);

  // Renames leaf `from` to the key path `to` (same position, same value metadata).
  void rename(const std::string& from, std::vector<OrbaxTreeKey> to);
  // Renames to `new_name`, a dotted name whose components follow the old name's key types where
  // the prefix is shared and otherwise are derived as for add(). Names with '.' inside a
  // component cannot be expressed this way: use the key-path overload.
  void rename(const std::string& from, const std::string& new_name);
  // Replaces a leaf's value_metadata (e.g. a new write_shape); throws when absent.
  void set_value_metadata(const std::string& name, nlohmann::ordered_json value_metadata);
  // Removes a leaf; throws te::Error when it is not there.
  void remove(const std::string& name);
  // Adds a leaf among the entries that share the longest key-path prefix with it, at its place in
  // JAX flatten order (dict keys by code point, list indices by number), or at the end when it
  // shares no prefix. An empty node (skip_deserialize) it goes below is removed. Throws te::Error
  // when the name exists or a path would be both a node and a leaf.
  void add(std::vector<OrbaxTreeKey> keys, nlohmann::ordered_json value_metadata);
  // Adds a leaf named by a dotted name: each component takes the key type (and key form) of the
  // existing entries that share the prefix up to it (siblings); a component that is new at its
  // level is a list index (type 1) when all its siblings are sequence keys and it is a decimal
  // number, else a dict key (type 2).
  void add(const std::string& name, nlohmann::ordered_json value_metadata);
  // Key path derived for a dotted name as add(name, ...) would.
  std::vector<OrbaxTreeKey> derive_keys(const std::string& name) const;

  // The value_metadata Orbax writes for an array leaf.
  static nlohmann::ordered_json array_value_metadata(const Shape& write_shape,
                                                     const std::string& value_type = "jax.Array");

 private:
  std::string where_;
  nlohmann::ordered_json document_;  // the whole file; tree_metadata rebuilt from entries_ on emit
  std::vector<OrbaxTreeEntry> entries_;
};

}  // namespace te::checkpoint
