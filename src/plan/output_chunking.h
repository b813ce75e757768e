#pragma once
// The chunk shapes of a job's outputs: derived from the inputs' chunk grids, chosen so that the
// job's chunks are copies of its input chunks (--output-chunking=copyable), bounded in size
// (a framework's policy), or cut along the embedding axis (--kernel-chunk-size); and whether the
// job then runs as chunk copies.
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "plan/plan.h"
#include "rules/rule.h"
#include "transform/rearrangement.h"

namespace te::plan {

// Chunk shape of an output derived from its inputs' chunk grids, so that blocks map one input
// chunk (or one stack of them) to one output chunk wherever the pattern allows.
Shape derived_chunks(const transform::Rearrangement& r, const transform::ArrayView& out,
                     const std::vector<const checkpoint::ArrayEntry*>& inputs);

// The largest chunk of at most `max_elements` that evenly divides `shape`, shrinking the largest
// dimension's divisor first (the chunk policy a framework profile may use for its outputs).
Shape largest_dividing_chunks(const Shape& shape, int64_t max_elements);

// --kernel-chunk-size: chunks a kernel rule's output along its embedding ("e") axis; other rules
// keep `chunks`.
void apply_kernel_chunk(const rules::Rule& rule, const transform::ArrayView& view,
                        const transform::Rearrangement& r, int64_t kernel_chunk_size,
                        Shape& chunks);

// --output-chunking=copyable: the output chunks that make the job's chunks copies of its input
// chunks (same extents, same memory order, the source's codec), one shape per output; empty
// when there are none (or merge chunking is asked for).
// `rechunk_rule`: the rule whose kernels --kernel-chunk-size rechunks (applied before judging).
std::vector<Shape> copyable_output_chunks(const transform::Rearrangement& r,
                                          const std::vector<zarr::ArrayMetadata>& in_meta,
                                          bool is_inline, const rules::Rule* rechunk_rule,
                                          const PlanSettings& settings);

// Sets job.chunk_copy, or job.reencode_reason saying why the job decodes and encodes.
void decide_chunk_copy(TransformJob& job, const std::vector<zarr::ArrayMetadata>& in_meta,
                       bool is_inline, const PlanSettings& settings);

}  // namespace te::plan
