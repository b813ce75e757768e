#pragma once
// Runs a TransformJob that the planner marked chunk_copy: every output chunk is the stored value
// of one input chunk (plan/chunk_copy.h), copied under the output chunk's key through
// KvStore::copy_from (file to file: copy_file_range; OCDBT: the stored bytes), never decoded; a
// zarr3 chunk (an inner chunk of a shard, or into a shard of its own) as its payload
// (zarr/chunk_payload.h), held in memory while it moves. A missing input chunk leaves the output
// chunk missing (the fill values agree). With FP8 metadata generation the input chunk is also
// decoded once, for max|W|, and still copied.
#include <atomic>
#include <cstdint>
#include <vector>

#include "exec/amax.h"
#include "exec/block_runner.h"
#include "exec/worker_pool.h"
#include "kvstore/kvstore.h"
#include "plan/plan.h"

namespace te::exec {

struct ChunkCopyCounters {
  std::atomic<uint64_t> stored_bytes{0};   // bytes of chunk values copied
  std::atomic<uint64_t> decoded_bytes{0};  // their elements' bytes (progress; no padding)
  std::atomic<uint64_t> chunks{0};         // chunk values copied (missing ones not counted)
};

// One task group per output array of `job`, one task per output chunk. `arrays` are the job's
// opened inputs and created outputs, whose chunk values go to `out_store` (the store the outputs
// were created in); `amax` (may be null) receives max|W| of outputs[0]. Everything referenced must
// outlive the tasks.
std::vector<TaskGroup> chunk_copy_tasks(const plan::TransformJob& job, const JobArrays& arrays,
                                        kv::KvStore& out_store, AmaxAccumulator* amax,
                                        ChunkCopyCounters& counters);

}  // namespace te::exec
