#pragma once
// The Pax detection rules: the model a Pax checkpoint's listing shows (model_detection.h), and
// the layout its arrays are in compared with the flags (FrameworkProfile::layout_mismatch).
#include <optional>
#include <string>
#include <vector>

#include "frameworks/listing_index.h"
#include "frameworks/model_detection.h"

namespace te::frameworks {

// Reads the transformer stack of a Pax listing into `m` (everything but the framework, the
// format, the optimizer groups and FP8): repeat or x_layers_<i>, the side, L, E, N, H, K, F and
// the variants. Throws te::Error naming the arrays when no Pax model fits, or when two readings
// fit (naming both and the flag that decides).
void detect_pax_model(const ListingIndex& names, DetectedModel& m);

// FrameworkProfile::layout_mismatch for Pax: the direction, and repeat or not (--pax-repeat).
std::optional<std::string> pax_layout_mismatch(const std::vector<std::string>& names,
                                               const rules::ModelOptions& options);

}  // namespace te::frameworks
