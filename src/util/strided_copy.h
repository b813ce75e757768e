#pragma once
// Copies an N-dimensional box of elements between two strided layouts. This is the one data
// movement primitive of te-ckpt: region reads, edge-chunk cropping, Fortran-order chunks and every
// rearrangement pattern reduce to it.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace te {

// Copies the box `extent` (elements per dimension) from `src` to `dst`. Strides are in bytes, one
// per dimension, and may be any non-negative values (a zero stride repeats an element). Elements
// are `itemsize` bytes and are moved as bytes. Dimensions contiguous in both layouts are merged
// into long memcpy runs; a transpose of the two innermost layouts is copied in cache tiles.
void strided_copy(const std::byte* src, const std::vector<int64_t>& src_strides, std::byte* dst,
                  const std::vector<int64_t>& dst_strides, const std::vector<int64_t>& extent,
                  size_t itemsize);

// Byte strides of a dense C-order (row-major) array of `shape`.
std::vector<int64_t> c_order_strides(const std::vector<int64_t>& shape, size_t itemsize);

}  // namespace te
