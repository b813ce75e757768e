#include "transform/rearrangement.h"

#include <algorithm>
#include <numeric>

#include "util/checked_math.h"
#include "util/error.h"
#include "util/strided_copy.h"

namespace te::transform {
namespace {

int find_axis(const std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

}  // namespace

Rearrangement Rearrangement::compile(const std::vector<AxisPattern>& inputs,
                                     const std::vector<AxisPattern>& outputs,
                                     const std::string& stack_axis,
                                     const std::map<std::string, int64_t>& sizes) {
  if (inputs.empty() || outputs.empty()) fail("a rule needs at least one input and one output");
  if (inputs.size() > 1 && outputs.size() > 1) fail("a rule cannot both stack and split");
  Rearrangement r;
  auto add_names = [&](const AxisPattern& p) {
    for (const auto& axis : p.axes) {
      for (const auto& name : axis) {
        if (find_axis(r.axis_names, name) < 0) r.axis_names.push_back(name);
      }
    }
  };
  for (const auto& p : inputs) add_names(p);
  for (const auto& p : outputs) add_names(p);
  bool stacking = inputs.size() > 1, splitting = outputs.size() > 1;
  if ((stacking || splitting) && find_axis(r.axis_names, stack_axis) < 0) {
    fail("stacked arrays need the stack axis \"{}\" on the other side", stack_axis);
  }
  for (const auto& name : r.axis_names) {
    if ((stacking || splitting) && name == stack_axis) {
      r.axis_sizes.push_back(static_cast<int64_t>(stacking ? inputs.size() : outputs.size()));
      continue;
    }
    auto it = sizes.find(name);
    if (it == sizes.end()) fail("no size for axis \"{}\"", name);
    r.axis_sizes.push_back(it->second);
  }
  auto make_view = [&](const AxisPattern& p, bool member, int64_t index) {
    ArrayView v;
    for (const auto& axis : p.axes) {
      std::vector<int> ids;
      for (const auto& name : axis) ids.push_back(find_axis(r.axis_names, name));
      v.axes.push_back(std::move(ids));
    }
    if (member) {
      v.fixed_axis = find_axis(r.axis_names, stack_axis);
      if (p.contains(stack_axis)) {
        fail("pattern \"{}\" of a stack member must not contain the stack axis \"{}\"",
             p.to_string(), stack_axis);
      }
      v.fixed_index = index;
    }
    // Every V axis must be in the array, be its stack position, or have size 1.
    for (size_t a = 0; a < r.axis_names.size(); ++a) {
      if (static_cast<int>(a) == v.fixed_axis || p.contains(r.axis_names[a])) continue;
      if (r.axis_sizes[a] != 1) {
        fail("pattern \"{}\" lacks axis \"{}\" of size {}", p.to_string(), r.axis_names[a],
             r.axis_sizes[a]);
      }
    }
    return v;
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    r.inputs.push_back(make_view(inputs[i], stacking, static_cast<int64_t>(i)));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    r.outputs.push_back(make_view(outputs[i], splitting, static_cast<int64_t>(i)));
  }
  return r;
}

Shape Rearrangement::shape(const ArrayView& view) const {
  Shape s;
  for (const auto& axis : view.axes) {
    std::optional<int64_t> n = 1;
    for (int a : axis) {
      if (n) n = checked_mul(*n, axis_sizes[a]);
    }
    if (!n) fail("the dimensions of one axis multiply past 2^63 (axis sizes too large)");
    s.push_back(*n);
  }
  return s;
}

bool Rearrangement::touches(const ArrayView& view, const VBox& box) const {
  if (view.fixed_axis < 0) return true;
  int64_t lo = box.start[view.fixed_axis];
  return view.fixed_index >= lo && view.fixed_index < lo + box.size[view.fixed_axis];
}

void Rearrangement::region(const ArrayView& view, const VBox& box, Shape& start,
                           Shape& size) const {
  start.clear();
  size.clear();
  for (const auto& axis : view.axes) {
    if (axis.empty()) {
      start.push_back(0);
      size.push_back(1);
      continue;
    }
    int64_t inner = 1;
    for (size_t k = 1; k < axis.size(); ++k) {
      int a = axis[k];
      if (box.start[a] != 0 || box.size[a] != axis_sizes[a]) {
        fail("internal error: block does not cover merged axis \"{}\" whole", axis_names[a]);
      }
      inner *= axis_sizes[a];
    }
    start.push_back(box.start[axis[0]] * inner);
    size.push_back(box.size[axis[0]] * inner);
  }
}

std::vector<int64_t> Rearrangement::v_strides(const ArrayView& view, const VBox& box,
                                              size_t itemsize) const {
  Shape start, size;
  region(view, box, start, size);
  auto axis_strides = c_order_strides(size, itemsize);
  std::vector<int64_t> strides(axis_sizes.size(), 0);
  for (size_t j = 0; j < view.axes.size(); ++j) {
    int64_t s = axis_strides[j];
    for (size_t k = view.axes[j].size(); k-- > 0;) {
      int a = view.axes[j][k];
      strides[a] = s;
      s *= (k == 0 ? box.size[a] : axis_sizes[a]);
    }
  }
  return strides;
}

void Rearrangement::copy(const ArrayView& input, const std::byte* input_region,
                         const ArrayView& output, std::byte* output_region, const VBox& box,
                         size_t itemsize) const {
  auto in_strides = v_strides(input, box, itemsize);
  auto out_strides = v_strides(output, box, itemsize);
  Shape extent = box.size;
  int64_t in_off = 0, out_off = 0;
  if (input.fixed_axis >= 0) {
    int f = input.fixed_axis;
    out_off += (input.fixed_index - box.start[f]) * out_strides[f];
    extent[f] = 1;
  }
  if (output.fixed_axis >= 0) {
    int f = output.fixed_axis;
    in_off += (output.fixed_index - box.start[f]) * in_strides[f];
    extent[f] = 1;
  }
  strided_copy(input_region + in_off, in_strides, output_region + out_off, out_strides, extent,
               itemsize);
}

BlockGrid Rearrangement::block_grid(const std::vector<Shape>& input_chunks,
                                    const std::vector<Shape>& output_chunks) const {
  size_t rank = axis_sizes.size();
  std::vector<int64_t> multiple(rank, 1);
  std::vector<bool> whole(rank, false);
  auto constrain = [&](const ArrayView& view, const Shape& chunks) {
    for (size_t j = 0; j < view.axes.size(); ++j) {
      const auto& axis = view.axes[j];
      if (axis.empty()) continue;
      int64_t inner = 1;
      for (size_t k = 1; k < axis.size(); ++k) {
        whole[axis[k]] = true;
        inner *= axis_sizes[axis[k]];
      }
      int64_t c = std::max<int64_t>(chunks[j], 1);
      int64_t m = c / std::gcd(c, inner);  // lcm(c, inner) / inner
      // lcm(multiple, m), saturating: a multiple past the axis size means the whole axis.
      int64_t& mul = multiple[axis[0]];
      mul = checked_mul(mul / std::gcd(mul, m), m).value_or(INT64_MAX);
    }
  };
  for (size_t i = 0; i < inputs.size(); ++i) constrain(inputs[i], input_chunks[i]);
  for (size_t i = 0; i < outputs.size(); ++i) constrain(outputs[i], output_chunks[i]);
  Shape extent(rank), count(rank);
  for (size_t a = 0; a < rank; ++a) {
    extent[a] = (whole[a] || multiple[a] >= axis_sizes[a]) ? std::max<int64_t>(axis_sizes[a], 1)
                                                           : multiple[a];
    count[a] = axis_sizes[a] == 0 ? 0 : (axis_sizes[a] + extent[a] - 1) / extent[a];
  }
  return BlockGrid{axis_sizes, std::move(extent), std::move(count)};
}

std::vector<VBox> Rearrangement::plan_blocks(const std::vector<Shape>& input_chunks,
                                             const std::vector<Shape>& output_chunks) const {
  BlockGrid grid = block_grid(input_chunks, output_chunks);
  std::vector<VBox> blocks;
  for (int64_t i = 0; i < grid.size(); ++i) blocks.push_back(grid.at(i));
  return blocks;
}

int64_t BlockGrid::size() const {
  auto n = checked_product(count);
  if (!n) fail("internal error: the block count of shape {} overflows", shape_string(axis_sizes));
  return *n;
}

VBox BlockGrid::at(int64_t index) const {
  size_t rank = axis_sizes.size();
  VBox b{Shape(rank), Shape(rank)};
  for (size_t a = rank; a-- > 0;) {
    int64_t i = index % count[a];
    index /= count[a];
    b.start[a] = i * extent[a];
    b.size[a] = std::min(extent[a], axis_sizes[a] - b.start[a]);
  }
  return b;
}

int Rearrangement::slab_axis() const {
  if (inputs.empty() || inputs[0].axes.empty() || inputs[0].axes[0].size() != 1) return -1;
  int candidate = inputs[0].axes[0][0];
  auto ok = [&](const ArrayView& v) {
    return !v.axes.empty() && v.axes[0].size() == 1 && v.axes[0][0] == candidate &&
           v.fixed_axis != candidate;
  };
  for (const auto& v : inputs) {
    if (!ok(v)) return -1;
  }
  for (const auto& v : outputs) {
    if (!ok(v)) return -1;
  }
  return candidate;
}

}  // namespace te::transform
