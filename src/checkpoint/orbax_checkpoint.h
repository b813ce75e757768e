#pragma once
// Opening an Orbax step or item folder as a Checkpoint (orbax-format.md §1, §3, §4, §5): the
// layout is detected from the folder's file listing, the primary PyTree item's `_METADATA` names
// the arrays (names are never derived by splitting keys), and each array is read from the item's
// root OCDBT database only, as Orbax restores it (zarr v2 `.zarray` or zarr3 `zarr.json` arrays,
// as `use_zarr3` says). What Orbax could not restore (a leaf without
// data, a missing root manifest, ...) becomes Checkpoint::problems; what it tolerates, notes.
#include "checkpoint/checkpoint.h"

namespace te::checkpoint {

// Lists `ckpt.path` into `ckpt` when it is an Orbax folder and returns true; returns false,
// touching nothing, when it is not one. Throws te::Error with one line naming the folder for an
// Orbax folder te-ckpt cannot read: an unfinished step (`.orbax-checkpoint-tmp` name), a v1
// checkpoint without `_CHECKPOINT_METADATA`, a malformed `_METADATA`, arrays in per-array
// folders (the pre-OCDBT layout), an item without `_METADATA`.
bool open_orbax_checkpoint(Checkpoint& ckpt);

}  // namespace te::checkpoint
