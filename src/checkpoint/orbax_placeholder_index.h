#pragma once
// The msgpack `checkpoint` file of Orbax < 0.5.21 (orbax-format.md §4.5; T5X's tiny_orbax): the
// flax-style nested tree of the item (maps with string keys, lists as maps with decimal string
// keys), every array leaf replaced by the string "PLACEHOLDER://<param name>"; other values (nil,
// empty maps, scalars) stay as they were saved. Old Orbax indexes this tree with every `_METADATA`
// key path, so a rewritten one must hold exactly the output's leaves.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msgpack/value.h"
#include "util/bytes.h"

namespace te::checkpoint {

inline constexpr std::string_view kPlaceholderPrefix = "PLACEHOLDER://";

struct PlaceholderLeaf {
  std::vector<std::string> path;  // map keys from the root
  std::string name;               // the text after PLACEHOLDER:// (the parameter name)
};

class OrbaxPlaceholderIndex {
 public:
  // Decodes the file; throws te::Error naming `where` when it is not msgpack or not a map.
  static OrbaxPlaceholderIndex parse(std::span<const std::byte> data, const std::string& where);
  // A tree of exactly `leaves` (each path's leaf is PLACEHOLDER://<path joined with '.'>), maps
  // created in the order the leaves come (pass them in `_METADATA` order).
  static OrbaxPlaceholderIndex from_leaves(const std::vector<std::vector<std::string>>& leaves);
  // True when some string leaf of `root` starts with PLACEHOLDER:// (the Orbax form, as opposed
  // to a legacy T5X index).
  static bool has_placeholders(const msgpack::Value& root);

  // Every PLACEHOLDER:// leaf in document order.
  std::vector<PlaceholderLeaf> leaves() const;
  // Rewrites the tree for an output leaf set: placeholder leaves not in `keep` are removed (and
  // maps that the removal left empty), leaves of `keep` that are missing are added (maps created
  // as needed, appended after their siblings), non-placeholder members are kept where they are.
  void rewrite(const std::vector<std::vector<std::string>>& keep);

  const msgpack::Value& root() const { return root_; }
  Bytes encode() const { return msgpack::encode(root_); }

 private:
  std::string where_;
  msgpack::Value root_;
};

}  // namespace te::checkpoint
