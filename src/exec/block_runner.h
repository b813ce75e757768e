#pragma once
// Executes one block of a TransformJob: decode the input chunks the block covers, rearrange, and
// encode the output chunks it covers. When every array of the job has the same V axis as its
// zarr axis 0 (a repeat stack's layer axis), the block is streamed slab by slab along it, so the
// bytes in memory do not grow with the number of layers even when one chunk holds the whole stack.
#include <atomic>
#include <cstdint>
#include <vector>

#include "exec/amax.h"
#include "plan/plan.h"
#include "zarr/array.h"

namespace te::exec {

struct JobArrays {
  std::vector<zarr::ZarrArray> inputs;   // same order as TransformJob::inputs
  std::vector<zarr::ZarrArray> outputs;  // same order as TransformJob::outputs (created)
};

struct BlockCounters {
  std::atomic<uint64_t> decoded_bytes{0};     // input bytes processed (progress)
  std::atomic<uint64_t> stored_bytes{0};      // compressed bytes written
  const std::atomic<bool>* cancel = nullptr;  // polled between slabs
};

// Bytes a block holds at once (buffers of its slabs plus one chunk row buffer per array).
// `stream_slabs` = false decodes each block's chunks whole even where slabs are possible (the
// reference path that tests compare the streaming path with).
uint64_t block_memory(const plan::TransformJob& job, const transform::VBox& block,
                      bool stream_slabs);

// Decoded bytes a block reads and writes (its share of the codec work).
uint64_t block_cost(const plan::TransformJob& job, const transform::VBox& block);

void run_block(const plan::TransformJob& job, const JobArrays& arrays, const transform::VBox& block,
               AmaxAccumulator* amax, BlockCounters& counters, bool stream_slabs);

}  // namespace te::exec
