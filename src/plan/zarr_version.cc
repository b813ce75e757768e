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

// The ext type `a` gets in an index that holds arrays inline, or nullopt when it stays a zarr
// array there.
std::optional<int8_t> into_index_ext_type(const checkpoint::ArrayEntry& a) {
  // Only arrays of another store (an OCDBT database): a zarr folder stays what the index said.
  if (a.is_inline() || a.folder ||
      (a.metadata.dtype.zarr.starts_with('>') && a.metadata.dtype.itemsize > 1))
    return std::nullopt;
  if (a.orbax_value_type == "scalar") return 3;
  if (a.orbax_value_type == "np.ndarray" || a.metadata.rank() == 0) return 1;
  return std::nullopt;
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
    if (inline_in_index && c.fp8_gemm < 0) {
      c.into_index = into_index_ext_type(*c.source);
      if (c.into_index) continue;
    }
    c.recode_to = in_version(c.source->metadata, zarr3, c.target_name);
  }
}

}  // namespace te::plan
