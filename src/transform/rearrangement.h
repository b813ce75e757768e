#pragma once
// The rearrange engine's model. A Rearrangement relates input and output arrays through one
// virtual tensor V whose axes are the named axes of the rule's patterns. Each array is a view of
// V: every zarr axis is one V axis or a C-order merge of several, and a member of a stack (one of
// [q, k, v]) sees V at a fixed index of the stack axis. Moving data is then one strided copy per
// (input, output) pair, in either direction, so a rule and its reverse share every line of code.
//
// Work is cut into blocks: boxes of V that are unions of whole chunks of every array involved, so
// each chunk is decoded and encoded exactly once and a block needs no other block's data.
#include <map>
#include <string>
#include <vector>

#include "transform/pattern.h"
#include "util/bytes.h"

namespace te::transform {

struct ArrayView {
  std::vector<std::vector<int>> axes;  // per zarr axis, the V axes merged into it (empty: "1")
  int fixed_axis = -1;                 // the stack axis this array is one member of, or -1
  int64_t fixed_index = 0;             // its position along that axis
};

// A box of V.
struct VBox {
  Shape start;
  Shape size;
};

// The blocks tiling V, enumerated on demand (a whole array's blocks are never listed up front):
// a C-order grid of boxes of `extent`, cut at the far edges of V.
struct BlockGrid {
  Shape axis_sizes;
  Shape extent;                  // block size along each V axis
  Shape count;                   // blocks along each V axis
  int64_t size() const;          // number of blocks (0 when V is empty)
  VBox at(int64_t index) const;  // the index-th block in C order, 0 <= index < size()
};

struct Rearrangement {
  std::vector<std::string> axis_names;
  Shape axis_sizes;
  std::vector<ArrayView> inputs;
  std::vector<ArrayView> outputs;

  // Builds the model of `inputs -> outputs`. More than one input means the inputs are stacked
  // along `stack_axis` (which the outputs must contain); more than one output means the input is
  // split along it. Every named axis needs a size in `sizes` (the stack axis gets the count).
  // Throws te::Error when the patterns do not describe the same elements.
  static Rearrangement compile(const std::vector<AxisPattern>& inputs,
                               const std::vector<AxisPattern>& outputs,
                               const std::string& stack_axis,
                               const std::map<std::string, int64_t>& sizes);

  Shape shape(const ArrayView& view) const;
  int rank() const { return static_cast<int>(axis_sizes.size()); }
  VBox full_box() const { return {Shape(axis_sizes.size(), 0), axis_sizes}; }

  // Whether the array holds any element of `box` (a stack member only holds its own slice).
  bool touches(const ArrayView& view, const VBox& box) const;
  // The array's zarr region covering `box`. Merged axes must be covered whole except their
  // outermost V axis, which block planning guarantees.
  void region(const ArrayView& view, const VBox& box, Shape& start, Shape& size) const;

  // The blocks tiling V for arrays with the given chunk shapes (same order as inputs, then
  // outputs), in C order. Blocks are aligned to every array's chunk grid.
  BlockGrid block_grid(const std::vector<Shape>& input_chunks,
                       const std::vector<Shape>& output_chunks) const;
  // Every block of block_grid() as a list (small arrays and tests only).
  std::vector<VBox> plan_blocks(const std::vector<Shape>& input_chunks,
                                const std::vector<Shape>& output_chunks) const;

  // The V axis that is zarr axis 0 on its own in every array (e.g. the repeat layer axis `l`):
  // blocks can then be streamed slab by slab along it. -1 if there is none.
  int slab_axis() const;

  // Copies the elements of `box` from the input's region buffer to the output's region buffer
  // (dense C-order buffers of the regions `region(view, box)`).
  void copy(const ArrayView& input, const std::byte* input_region, const ArrayView& output,
            std::byte* output_region, const VBox& box, size_t itemsize) const;

 private:
  // Byte strides of every V axis in the array's region buffer for `box` (0 for absent axes).
  std::vector<int64_t> v_strides(const ArrayView& view, const VBox& box, size_t itemsize) const;
};

}  // namespace te::transform
