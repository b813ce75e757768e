#pragma once
// The T5X detection rules: the model a T5X checkpoint's listing shows (model_detection.h), and
// the layout its arrays are in compared with the flags (FrameworkProfile::layout_mismatch).
#include <optional>
#include <string>
#include <vector>

#include "frameworks/listing_index.h"
#include "frameworks/model_detection.h"

namespace te::frameworks {

// Reads the encoder and decoder stacks of a T5X listing into `m` (everything but the framework,
// the format, the optimizer groups and FP8): the stacks and L, the side, E, D (N and H where the
// relative position bias shows N), F and the variants. Throws te::Error naming the arrays when no
// T5X model fits, or when two readings fit.
void detect_t5x_model(const ListingIndex& names, DetectedModel& m);

// FrameworkProfile::layout_mismatch for T5X: the direction, and on the TE side fused QKV or not
// (--t5x-fuse-qkv).
std::optional<std::string> t5x_layout_mismatch(const std::vector<std::string>& names,
                                               const rules::ModelOptions& options);

}  // namespace te::frameworks
