#pragma once
// What is inconsistent in an Orbax checkpoint, for `inspect` and before a conversion, judged as
// Orbax's restore judges it (orbax-format.md §5.2; Orbax's compatibility fixtures):
// problems (Orbax cannot restore the item: root manifest.ocdbt or d/ missing, a `_METADATA` leaf
// without data, data in another zarr version than `_METADATA` says, no leaf list at all, data
// that no leaf names) and notes (Orbax restores it: `_sharding`, `array_metadatas/`,
// `_CHECKPOINT_METADATA` or some of its fields missing, an item named in `_CHECKPOINT_METADATA`
// that is gone, `_sharding` entries that do not match the leaves).
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/orbax_layout.h"
#include "checkpoint/orbax_placeholder_index.h"
#include "checkpoint/orbax_sharding.h"
#include "checkpoint/orbax_step_metadata.h"
#include "checkpoint/orbax_tree_metadata.h"

namespace te::checkpoint {

enum class OrbaxSeverity { kProblem, kNote };

enum class OrbaxFindingKind {
  kMissingManifest,            // problem: <item>/manifest.ocdbt
  kMissingRootDataFiles,       // problem: <item>/d/
  kDatabaseUnreadable,         // problem: the database could not be opened or listed
  kNoLeafList,                 // problem: neither _METADATA nor a placeholder `checkpoint`
  kLeafWithoutData,            // problem: no <name>/.zarray or <name>/zarr.json (nor any chunk)
  kLeafWithoutMetadataKey,     // problem: chunks under <name>/ but no .zarray / zarr.json
  kFormatMismatch,             // problem: zarr version differs from _METADATA's use_zarr3
  kDataWithoutLeaf,            // problem: <x>/.zarray or <x>/zarr.json that no leaf names
  kMissingStrings,             // problem: a string leaf without _strings.json
  kMissingSharding,            // note
  kShardingMismatch,           // note: entries missing for leaves, or for names that are no leaf
  kMissingArrayMetadatas,      // note
  kMissingCheckpointMetadata,  // note (v0 only; v1 is refused by detect_orbax_layout)
  kMissingCheckpointMetadataField,  // note
  kItemMissing,   // note: named in _CHECKPOINT_METADATA item_handlers, not on disk
  kNoPyTreeItem,  // note: the step holds no PyTree item
};

struct OrbaxFinding {
  OrbaxSeverity severity;
  OrbaxFindingKind kind;
  std::string message;  // one line, naming the file or leaf
};

// What the caller found in an item's array storage: the keys of its root OCDBT database
// (kv::OcdbtStore::list), or for per-array folders the item's own file keys. nullopt keys with
// an error message when the database could not be opened.
struct OrbaxItemKeys {
  std::optional<std::vector<std::string>> keys;
  std::string open_error;
};

// Checks one item. `where` names the item folder in messages. `tree`, `placeholder`, `sharding`
// are the item's parsed files (nullptr when absent).
std::vector<OrbaxFinding> check_orbax_item(const OrbaxItemLayout& item, const std::string& where,
                                           const OrbaxTreeMetadata* tree,
                                           const OrbaxPlaceholderIndex* placeholder,
                                           const OrbaxSharding* sharding,
                                           const OrbaxItemKeys& keys);

// Checks the step-level files; `metadata` is the parsed _CHECKPOINT_METADATA (nullptr if absent).
std::vector<OrbaxFinding> check_orbax_step(const OrbaxLayout& layout, const std::string& where,
                                           const OrbaxCheckpointMetadata* metadata);

bool has_problems(const std::vector<OrbaxFinding>& findings);

}  // namespace te::checkpoint
