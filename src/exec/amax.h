#pragma once
// max|W| of converted kernels, for FP8 metadata (amax_w). One AmaxAccumulator per TE GEMM; blocks
// of the kernel report their rows from any thread. NaN or Inf is an error naming the kernel.
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "zarr/dtype.h"

namespace te::exec {

class AmaxAccumulator {
 public:
  // `layers` = 0: one value for the whole kernel; otherwise one per index of the leading axis.
  AmaxAccumulator(std::string kernel, int64_t layers)
      : kernel_(std::move(kernel)), layers_(layers), amax_(layers > 0 ? layers : 1, 0.0f) {}

  // Folds in rows [first_row, first_row + rows) along axis 0 of the kernel; `data` holds them
  // densely (rows * row_elements elements).
  void observe(std::span<const std::byte> data, const zarr::DType& dtype, int64_t first_row,
               int64_t rows);

  // Folds in another process's amax of the same kernel (element-wise maximum).
  void fold_in(const std::vector<float>& other);

  const std::vector<float>& amax() const { return amax_; }
  const std::string& kernel() const { return kernel_; }

 private:
  std::string kernel_;
  int64_t layers_;
  std::mutex mu_;
  std::vector<float> amax_;
};

// Every process's amax of each kernel folded into `amax` (the processes of one run, each with the
// same kernels in the same order): the values go to `maximum_over_processes` as their IEEE bit
// patterns, which order like the values for non-negative floats, so an element-wise maximum of
// the patterns is exact. Throws te::Error when the result has another length.
void combine_amax(std::vector<std::unique_ptr<AmaxAccumulator>>& amax,
                  const std::function<std::vector<uint64_t>(const std::vector<uint64_t>&)>&
                      maximum_over_processes);

// Streams a whole array (stored or inline) chunk by chunk, row by row, into `amax`: the FP8
// metadata of a kernel that is copied unchanged.
void observe_array(const checkpoint::ArrayEntry& entry, AmaxAccumulator& amax);

// max |x| over elements of a floating-point dtype (f2, f4, f8, bfloat16, either byte order).
// Throws te::Error naming `what` for NaN, Inf or a non-float dtype.
float max_abs(std::span<const std::byte> data, const zarr::DType& dtype, const std::string& what);

}  // namespace te::exec
