#include "plan/output_chunking.h"

#include <algorithm>

#include "plan/chunk_copy.h"
#include "util/checked_math.h"

namespace te::plan {

using transform::Rearrangement;

Shape derived_chunks(const Rearrangement& r, const transform::ArrayView& out,
                     const std::vector<const checkpoint::ArrayEntry*>& inputs) {
  std::vector<int64_t> v_chunk = r.axis_sizes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& view = r.inputs[i];
    const Shape& chunks = inputs[i]->metadata.chunks;
    for (size_t j = 0; j < view.axes.size(); ++j) {
      const auto& axis = view.axes[j];
      if (axis.empty()) continue;
      int64_t inner = 1;
      for (size_t k = 1; k < axis.size(); ++k) inner *= r.axis_sizes[axis[k]];
      int a = axis[0];
      int64_t c = chunks[j] % inner == 0 ? chunks[j] / inner : r.axis_sizes[a];
      v_chunk[a] = std::min(v_chunk[a], std::max<int64_t>(c, 1));
    }
  }
  Shape shape = r.shape(out), chunks;
  for (size_t j = 0; j < out.axes.size(); ++j) {
    const auto& axis = out.axes[j];
    int64_t c = 1;
    if (!axis.empty()) {
      c = v_chunk[axis[0]];
      for (size_t k = 1; k < axis.size(); ++k) c *= r.axis_sizes[axis[k]];
    }
    chunks.push_back(std::clamp<int64_t>(c, 1, std::max<int64_t>(shape[j], 1)));
  }
  return chunks;
}

Shape largest_dividing_chunks(const Shape& shape, int64_t max_elements) {
  // Divisors in increasing order, found up to the square root (a dimension may be large).
  std::vector<std::vector<int64_t>> divisors(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    std::vector<int64_t> high;
    for (int64_t d = 1; d <= shape[i] / d; ++d) {
      if (shape[i] % d != 0) continue;
      divisors[i].push_back(d);
      if (d != shape[i] / d) high.push_back(shape[i] / d);
    }
    divisors[i].insert(divisors[i].end(), high.rbegin(), high.rend());
    if (divisors[i].empty()) divisors[i].push_back(1);
  }
  auto product = [&] {
    Shape largest;
    for (const auto& d : divisors) largest.push_back(d.back());
    return checked_product(largest).value_or(INT64_MAX);
  };
  while (product() > max_elements) {
    size_t largest = 0;
    for (size_t i = 1; i < divisors.size(); ++i) {
      if (divisors[i].back() > divisors[largest].back()) largest = i;
    }
    if (divisors[largest].size() == 1) break;
    divisors[largest].pop_back();
  }
  Shape chunks;
  for (const auto& d : divisors) chunks.push_back(d.back());
  return chunks;
}

void apply_kernel_chunk(const rules::Rule& rule, const transform::ArrayView& view,
                        const Rearrangement& r, int64_t kernel_chunk_size, Shape& chunks) {
  if (!rule.kernel) return;
  int e = -1;
  for (size_t a = 0; a < r.axis_names.size(); ++a) {
    if (r.axis_names[a] == "e") e = static_cast<int>(a);
  }
  for (size_t j = 0; j < view.axes.size(); ++j) {
    if (view.axes[j].size() == 1 && view.axes[j][0] == e) {
      chunks[j] = std::min<int64_t>(kernel_chunk_size, std::max<int64_t>(r.axis_sizes[e], 1));
    }
  }
}

std::vector<Shape> copyable_output_chunks(const Rearrangement& r,
                                          const std::vector<zarr::ArrayMetadata>& in_meta,
                                          bool is_inline, const rules::Rule* rechunk_rule,
                                          const PlanSettings& settings) {
  if (!settings.copyable_chunking || is_inline) return {};
  std::vector<Shape> chunks;
  std::vector<zarr::ArrayMetadata> out_meta;
  for (size_t j = 0; j < r.outputs.size(); ++j) {
    auto c = copyable_chunks(r, j, in_meta);
    if (!c) return {};
    Shape tried = *c;
    if (rechunk_rule)
      apply_kernel_chunk(*rechunk_rule, r.outputs[j], r, settings.kernel_chunk_size, tried);
    if (tried != *c) return {};
    out_meta.push_back(
        zarr::ArrayMetadata::make(r.shape(r.outputs[j]), *c, in_meta[0].dtype, in_meta[0].codec));
    chunks.push_back(std::move(*c));
  }
  if (chunk_copy_obstacle(r, in_meta, out_meta)) return {};
  return chunks;
}

void decide_chunk_copy(TransformJob& job, const std::vector<zarr::ArrayMetadata>& in_meta,
                       bool is_inline, const PlanSettings& settings) {
  std::optional<std::string> obstacle;
  if (!settings.chunk_copy) {
    obstacle = "--no-chunk-copy";
  } else if (is_inline) {
    obstacle = "inline arrays of the index";
  } else if (job.fp8_gemm >= 0 && in_meta[0].order == 'F') {
    // max|W| is taken per row of the output from the input's C-order region reads.
    obstacle = "an F-order kernel whose max|W| is generated";
  } else {
    std::vector<zarr::ArrayMetadata> out_meta;
    for (const auto& o : job.outputs) out_meta.push_back(o.metadata);
    obstacle = chunk_copy_obstacle(job.rearrangement, in_meta, out_meta);
  }
  job.chunk_copy = !obstacle;
  job.reencode_reason = obstacle.value_or("");
}

}  // namespace te::plan
