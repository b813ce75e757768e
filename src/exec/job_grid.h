#pragma once
// The block grid a TransformJob runs in (the executor's unit of work, and of the distributed
// split): blocks that cover whole input and output chunks.
#include "plan/plan.h"
#include "transform/rearrangement.h"

namespace te::exec {

// True for the jobs rearranged whole in memory, not by blocks: those with an inline input or
// output (arrays stored in the checkpoint's index).
bool is_small_job(const plan::TransformJob& job);

transform::BlockGrid job_block_grid(const plan::TransformJob& job);

}  // namespace te::exec
