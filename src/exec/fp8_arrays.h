#pragma once
// Writes the FP8 metadata arrays a Plan asks for (MAPPING.md, "FP8 metadata"): per TE GEMM,
// amax_{i,w,g}_<p> (zeros, except amax_w_<p>[..., 0] = max|W| of the layer's kernel) and
// scale_{i,w,g}_<p> (ones), float32, with a leading [L] axis under repeat.
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exec/amax.h"
#include "plan/plan.h"

namespace te::exec {

// One array written: its name and metadata.
using WrittenArray = std::pair<std::string, zarr::ArrayMetadata>;

// `amax[g]` holds the kernel maxima of plan.fp8_gemms[g]. Arrays go to `array_root / name`.
std::vector<WrittenArray> write_fp8_arrays(
    const plan::Plan& plan, const std::vector<std::unique_ptr<AmaxAccumulator>>& amax,
    const std::filesystem::path& array_root);

}  // namespace te::exec
