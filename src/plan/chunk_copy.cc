#include "plan/chunk_copy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "zarr/chunk_payload.h"

namespace te::plan {
namespace {

using transform::ArrayView;
using transform::Rearrangement;

// Product of the sizes of a merged zarr axis' inner V axes (all but the first).
int64_t inner_size(const Rearrangement& r, const std::vector<int>& axis) {
  int64_t inner = 1;
  for (size_t k = 1; k < axis.size(); ++k) inner *= r.axis_sizes[static_cast<size_t>(axis[k])];
  return inner;
}

// ext(a) of the chunks of `view` with chunk shape `chunks` (see chunk_copy.h), or the reason the
// chunks are not boxes of V.
std::optional<std::vector<int64_t>> chunk_extents(const Rearrangement& r, const ArrayView& view,
                                                  const Shape& chunks, std::string& why) {
  std::vector<int64_t> ext(r.axis_sizes.size(), 1);
  for (size_t j = 0; j < view.axes.size(); ++j) {
    const auto& axis = view.axes[j];
    if (axis.empty()) {
      if (chunks[j] != 1) {
        why = fmt::format("chunk {} along a unit axis", chunks[j]);
        return std::nullopt;
      }
      continue;
    }
    const int64_t inner = inner_size(r, axis);
    if (inner == 0 || chunks[j] % inner != 0) {
      why = fmt::format("chunk {} along a merged axis of {} does not hold its inner axes whole",
                        chunks[j], r.shape(view)[j]);
      return std::nullopt;
    }
    ext[static_cast<size_t>(axis[0])] = chunks[j] / inner;
    for (size_t k = 1; k < axis.size(); ++k) {
      ext[static_cast<size_t>(axis[k])] = r.axis_sizes[static_cast<size_t>(axis[k])];
    }
  }
  return ext;
}

// The V axes of ext > 1 from the slowest to the fastest in a chunk's decoded bytes.
std::vector<int> memory_order(const ArrayView& view, const std::vector<int64_t>& ext, char order) {
  std::vector<int> axes;
  auto add = [&](size_t j) {
    for (int a : view.axes[j]) {
      if (ext[static_cast<size_t>(a)] > 1) axes.push_back(a);
    }
  };
  if (order == 'F') {
    for (size_t j = view.axes.size(); j-- > 0;) add(j);
  } else {
    for (size_t j = 0; j < view.axes.size(); ++j) add(j);
  }
  return axes;
}

std::string names_of(const Rearrangement& r, const std::vector<int>& axes) {
  std::vector<std::string> names;
  for (int a : axes) names.push_back(r.axis_names[static_cast<size_t>(a)]);
  return fmt::format("{}", fmt::join(names, " "));
}

}  // namespace

std::optional<std::string> chunk_copy_obstacle(const Rearrangement& r,
                                               const std::vector<zarr::ArrayMetadata>& inputs,
                                               const std::vector<zarr::ArrayMetadata>& outputs) {
  if (inputs.size() != r.inputs.size() || outputs.size() != r.outputs.size() || inputs.empty()) {
    return "internal error: arrays do not match the rearrangement";
  }
  for (const auto* list : {&inputs, &outputs}) {
    for (const auto& m : *list) {
      // A zarr3 chunk is an inner chunk of a shard (a byte range of a stored value) or a value:
      // copied as its payload (zarr/chunk_payload.h), which must be plain compressor output.
      if (!m.is_zarr3()) continue;
      if (auto why = zarr::payload_form_obstacle(m)) return *why;
    }
  }
  const zarr::ArrayMetadata& first = inputs[0];
  const std::string codec = first.codec->to_json().dump();
  std::string why;
  auto reference = chunk_extents(r, r.inputs[0], first.chunks, why);
  if (!reference) return "input " + why;
  const std::vector<int> order = memory_order(r.inputs[0], *reference, first.order);
  auto check = [&](const zarr::ArrayMetadata& m, const ArrayView& view,
                   const char* side) -> std::optional<std::string> {
    if (!(m.dtype == first.dtype)) {
      return fmt::format("dtype differs ({} and {})", first.dtype.zarr, m.dtype.zarr);
    }
    if (std::string c = m.codec->to_json().dump(); c != codec) {
      return fmt::format("codec differs ({} and {})", codec, c);
    }
    if (m.fill_value != first.fill_value) return std::string("fill value differs");
    auto ext = chunk_extents(r, view, m.chunks, why);
    if (!ext) return fmt::format("{} {}", side, why);
    for (size_t a = 0; a < ext->size(); ++a) {
      if ((*ext)[a] != (*reference)[a]) {
        return fmt::format("chunk extent along {} differs ({} and {})", r.axis_names[a],
                           (*reference)[a], (*ext)[a]);
      }
    }
    if (auto o = memory_order(view, *ext, m.order); o != order) {
      return fmt::format("memory order differs ({} and {})", names_of(r, order), names_of(r, o));
    }
    return std::nullopt;
  };
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (auto w = check(inputs[i], r.inputs[i], "input")) return w;
  }
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (auto w = check(outputs[o], r.outputs[o], "output")) return w;
  }
  return std::nullopt;
}

ChunkSource source_chunk(const Rearrangement& r, size_t output, const Shape& output_chunk) {
  // The chunk's index along every V axis (equal extents: one grid of V for every array).
  std::vector<int64_t> v_index(r.axis_sizes.size(), 0);
  const ArrayView& out = r.outputs[output];
  for (size_t j = 0; j < out.axes.size(); ++j) {
    if (!out.axes[j].empty()) v_index[static_cast<size_t>(out.axes[j][0])] = output_chunk[j];
  }
  if (out.fixed_axis >= 0) v_index[static_cast<size_t>(out.fixed_axis)] = out.fixed_index;
  ChunkSource src;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    const ArrayView& in = r.inputs[i];
    if (in.fixed_axis >= 0 && v_index[static_cast<size_t>(in.fixed_axis)] != in.fixed_index) {
      continue;
    }
    src.input = i;
    for (const auto& axis : in.axes) {
      src.chunk.push_back(axis.empty() ? 0 : v_index[static_cast<size_t>(axis[0])]);
    }
    return src;
  }
  return src;  // unreachable for a stack: the output's stack index names one member
}

std::optional<Shape> copyable_chunks(const Rearrangement& r, size_t output,
                                     const std::vector<zarr::ArrayMetadata>& inputs) {
  std::optional<std::vector<int64_t>> ext;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string why;
    auto e = chunk_extents(r, r.inputs[i], inputs[i].chunks, why);
    if (!e || (ext && *e != *ext)) return std::nullopt;
    ext = std::move(e);
  }
  if (!ext) return std::nullopt;
  const ArrayView& out = r.outputs[output];
  if (out.fixed_axis >= 0 && (*ext)[static_cast<size_t>(out.fixed_axis)] != 1) return std::nullopt;
  Shape chunks;
  for (const auto& axis : out.axes) {
    if (axis.empty()) {
      chunks.push_back(1);
      continue;
    }
    for (size_t k = 1; k < axis.size(); ++k) {
      const auto a = static_cast<size_t>(axis[k]);
      if ((*ext)[a] != r.axis_sizes[a]) return std::nullopt;
    }
    chunks.push_back(std::max<int64_t>((*ext)[static_cast<size_t>(axis[0])], 1) *
                     inner_size(r, axis));
  }
  return chunks;
}

}  // namespace te::plan
