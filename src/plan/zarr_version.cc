#include "plan/zarr_version.h"

#include <fmt/format.h>

#include "plan/chunk_copy.h"
#include "zarr/v3_array_metadata.h"

namespace te::plan {
namespace {

// `m` stored in the requested version, or nullopt when it already is. zarr3 -> v2 keeps the
// executor chunk (the inner chunk of a shard) and the compression's v2 form.
std::optional<zarr::ArrayMetadata> in_version(const zarr::ArrayMetadata& m, bool zarr3,
                                              const std::string& name) {
  if (m.is_zarr3() == zarr3) return std::nullopt;
  if (zarr3) return zarr::v3::v3_equivalent_of(m, name);
  return zarr::ArrayMetadata::make(m.shape, m.chunks, m.dtype, m.codec);
}

}  // namespace

void retarget_zarr_version(Plan& plan, bool zarr3, bool inline_in_index) {
  for (auto& job : plan.jobs) {
    bool changed = false;
    for (auto& o : job.outputs) {
      if (o.is_inline && inline_in_index) continue;
      if (auto m = in_version(o.metadata, zarr3, o.name)) {
        o.metadata = std::move(*m);
        changed = true;
      }
    }
    if (!changed || !job.chunk_copy) continue;
    // A copy in the other version too when the payloads carry over (plan/chunk_copy.h).
    std::vector<zarr::ArrayMetadata> in_meta, out_meta;
    for (const auto* in : job.inputs) in_meta.push_back(in->metadata);
    for (const auto& o : job.outputs) out_meta.push_back(o.metadata);
    if (auto why = chunk_copy_obstacle(job.rearrangement, in_meta, out_meta)) {
      job.chunk_copy = false;
      job.reencode_reason = fmt::format("written as {}: {}", zarr3 ? "zarr3" : "zarr v2", *why);
    }
  }
  for (auto& c : plan.copies) {
    if (c.source->is_inline() && inline_in_index) continue;
    c.recode_to = in_version(c.source->metadata, zarr3, c.target_name);
  }
}

}  // namespace te::plan
