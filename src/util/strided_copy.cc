#include "util/strided_copy.h"

#include <algorithm>
#include <cstring>

namespace te {
namespace {

struct Dim {
  int64_t extent, src, dst;
};

template <size_t N>
void copy_elements(const std::byte* src, int64_t src_stride, std::byte* dst, int64_t dst_stride,
                   int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    std::memcpy(dst, src, N);
    src += src_stride;
    dst += dst_stride;
  }
}

void copy_run(const std::byte* src, int64_t src_stride, std::byte* dst, int64_t dst_stride,
              int64_t count, size_t itemsize) {
  if (src_stride == static_cast<int64_t>(itemsize) && dst_stride == src_stride) {
    std::memcpy(dst, src, static_cast<size_t>(count) * itemsize);
    return;
  }
  switch (itemsize) {
    case 1:
      return copy_elements<1>(src, src_stride, dst, dst_stride, count);
    case 2:
      return copy_elements<2>(src, src_stride, dst, dst_stride, count);
    case 4:
      return copy_elements<4>(src, src_stride, dst, dst_stride, count);
    case 8:
      return copy_elements<8>(src, src_stride, dst, dst_stride, count);
    default:
      for (int64_t i = 0; i < count; ++i) {
        std::memcpy(dst + i * dst_stride, src + i * src_stride, itemsize);
      }
  }
}

// A 2-D copy of rows × cols where the source is contiguous along rows and the destination along
// cols (a transpose), done in square tiles so both sides stay in cache.
void copy_transposed(const std::byte* src, int64_t src_row, int64_t src_col, std::byte* dst,
                     int64_t dst_row, int64_t dst_col, int64_t rows, int64_t cols,
                     size_t itemsize) {
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    int64_t r1 = std::min(rows, r0 + kTile);
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      int64_t c1 = std::min(cols, c0 + kTile);
      for (int64_t r = r0; r < r1; ++r) {
        copy_run(src + r * src_row + c0 * src_col, src_col, dst + r * dst_row + c0 * dst_col,
                 dst_col, c1 - c0, itemsize);
      }
    }
  }
}

}  // namespace

std::vector<int64_t> c_order_strides(const std::vector<int64_t>& shape, size_t itemsize) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = static_cast<int64_t>(itemsize);
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

void strided_copy(const std::byte* src, const std::vector<int64_t>& src_strides, std::byte* dst,
                  const std::vector<int64_t>& dst_strides, const std::vector<int64_t>& extent,
                  size_t itemsize) {
  // Drop unit dimensions, then merge neighbours that are contiguous in both layouts.
  std::vector<Dim> dims;
  for (size_t i = 0; i < extent.size(); ++i) {
    if (extent[i] == 0) return;
    if (extent[i] != 1) dims.push_back({extent[i], src_strides[i], dst_strides[i]});
  }
  std::vector<Dim> merged;
  for (const Dim& d : dims) {
    if (!merged.empty()) {
      Dim& outer = merged.back();
      if (outer.src == d.src * d.extent && outer.dst == d.dst * d.extent) {
        outer = {outer.extent * d.extent, d.src, d.dst};
        continue;
      }
    }
    merged.push_back(d);
  }
  const int64_t item = static_cast<int64_t>(itemsize);
  if (merged.empty()) {
    std::memcpy(dst, src, itemsize);
    return;
  }
  // Choose the kernel for the innermost one or two dimensions.
  size_t inner = 1;
  const Dim& last = merged.back();
  bool transposed = false;
  if (merged.size() >= 2 && last.dst == item && last.src != item) {
    const Dim& prev = merged[merged.size() - 2];
    transposed = prev.src == item;
    if (transposed) inner = 2;
  }
  size_t outer_rank = merged.size() - inner;
  std::vector<int64_t> index(outer_rank, 0);
  for (;;) {
    int64_t so = 0, doff = 0;
    for (size_t i = 0; i < outer_rank; ++i) {
      so += index[i] * merged[i].src;
      doff += index[i] * merged[i].dst;
    }
    if (transposed) {
      const Dim& rows = merged[outer_rank];
      copy_transposed(src + so, rows.src, last.src, dst + doff, rows.dst, last.dst, rows.extent,
                      last.extent, itemsize);
    } else {
      copy_run(src + so, last.src, dst + doff, last.dst, last.extent, itemsize);
    }
    size_t i = outer_rank;
    while (i > 0) {
      --i;
      if (++index[i] < merged[i].extent) break;
      index[i] = 0;
      if (i == 0) return;
    }
    if (outer_rank == 0) return;
  }
}

}  // namespace te
