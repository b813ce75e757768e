#include "exec/job_grid.h"

namespace te::exec {

bool is_small_job(const plan::TransformJob& job) {
  bool small = job.outputs[0].is_inline;
  for (const auto* in : job.inputs) small |= in->is_inline();
  return small;
}

transform::BlockGrid job_block_grid(const plan::TransformJob& job) {
  std::vector<Shape> in_chunks, out_chunks;
  for (const auto* in : job.inputs) in_chunks.push_back(in->metadata.chunks);
  for (const auto& o : job.outputs) out_chunks.push_back(o.metadata.chunks);
  return job.rearrangement.block_grid(in_chunks, out_chunks);
}

}  // namespace te::exec
