#pragma once
// A T5X checkpoint's msgpack index `checkpoint`, written after the output's arrays: the source's
// index with the leaves of arrays merged, split or renamed away removed, new arrays added (inline
// ones as flax stores them), everything else kept.
#include <filesystem>
#include <memory>
#include <vector>

#include "exec/fp8_arrays.h"
#include "kvstore/kvstore.h"
#include "plan/plan.h"

namespace te::frameworks {

// `inline_outputs`: the plan's inline outputs, each a zarr array under "<name>/". An input without
// a T5X index (an Orbax T5X checkpoint) gets a new one: {"version": 3, "optimizer": {...}}.
void write_t5x_index(const plan::Plan& plan, const std::filesystem::path& out_dir,
                     std::shared_ptr<const kv::KvStore> inline_outputs,
                     const std::vector<exec::WrittenArray>& fp8_arrays);

}  // namespace te::frameworks
