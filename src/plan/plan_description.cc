#include "plan/plan_description.h"

#include <fmt/format.h>

#include "plan/fp8_output.h"
#include "zarr/v3_array_metadata.h"

namespace te::plan {

std::string describe(const Plan& plan) {
  std::string out;
  auto codec_text = [](const zarr::ArrayMetadata& m) {
    if (m.v3) return "zarr3 " + zarr::v3::describe_v3_codecs(*m.v3);
    return m.codec->id() == "null" ? std::string("raw") : m.codec->to_json().dump();
  };
  out += fmt::format("{} conversion jobs:\n", plan.jobs.size());
  uint64_t copied_bytes = 0, reencoded_bytes = 0;
  size_t copy_jobs = 0;
  for (const auto& job : plan.jobs) {
    if (job.chunk_copy) {
      int64_t chunks = 0;
      for (const auto& o : job.outputs) chunks += o.metadata.num_chunks();
      for (const auto* in : job.inputs) copied_bytes += in->stored_bytes;
      ++copy_jobs;
      out += fmt::format("  {}  [copy {} chunks]\n", job.rule, chunks);
    } else {
      for (const auto* in : job.inputs) {
        reencoded_bytes +=
            static_cast<uint64_t>(num_elements(in->metadata.shape)) * in->metadata.dtype.itemsize;
      }
      out += fmt::format("  {}  [re-encode: {}]\n", job.rule, job.reencode_reason);
    }
    for (const auto* in : job.inputs) {
      out += fmt::format("    < {} {} {}{}\n", in->name, in->metadata.dtype.name(),
                         shape_string(in->metadata.shape), in->is_inline() ? " (inline)" : "");
    }
    for (const auto& o : job.outputs) {
      out += fmt::format("    > {} {} {} chunks {} {}{}\n", o.name, o.metadata.dtype.name(),
                         shape_string(o.metadata.shape), shape_string(o.metadata.chunks),
                         codec_text(o.metadata), o.is_inline ? " (inline)" : "");
    }
  }
  out += fmt::format(
      "chunk copies: {} jobs, {} stored bytes copied; re-encoded: {} jobs, {} decoded bytes\n",
      copy_jobs, copied_bytes, plan.jobs.size() - copy_jobs, reencoded_bytes);
  out += fmt::format("{} arrays copied unchanged:\n", plan.copies.size());
  for (const auto& c : plan.copies) {
    const std::string recoded =
        c.recode_to
            ? fmt::format(" (re-encoded as {})", c.recode_to->is_zarr3() ? "zarr3" : "zarr v2")
            : "";
    if (c.target_name == c.source->name) {
      out += fmt::format("  = {} {} {}{}\n", c.source->name, c.source->metadata.dtype.name(),
                         shape_string(c.source->metadata.shape), recoded);
    } else {
      out += fmt::format("  = {} -> {} {} {}{}\n", c.source->name, c.target_name,
                         c.source->metadata.dtype.name(), shape_string(c.source->metadata.shape),
                         recoded);
    }
  }
  out += describe_fp8_output(plan);
  if (!plan.file_copies.empty()) {
    out += fmt::format("{} other files copied:\n", plan.file_copies.size());
    for (const auto& f : plan.file_copies) out += fmt::format("  = {}\n", f.string());
  }
  if (!plan.dropped.empty()) {
    out += fmt::format("{} arrays left out:\n", plan.dropped.size());
    for (const auto& d : plan.dropped) out += fmt::format("  - {}\n", d);
  }
  for (const auto& n : plan.notes) out += fmt::format("note: {}\n", n);
  for (const auto& w : plan.warnings) out += fmt::format("warning: {}\n", w);
  return out;
}

}  // namespace te::plan
