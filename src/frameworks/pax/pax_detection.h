#pragma once
// The Pax detection rules: the model a Pax checkpoint's listing shows (model_detection.h).
#include "frameworks/listing_index.h"
#include "frameworks/model_detection.h"

namespace te::frameworks {

// Reads the transformer stack of a Pax listing into `m` (everything but the framework, the
// format, the optimizer groups and FP8): repeat or x_layers_<i>, the side, L, E, N, H, K, F and
// the variants. Throws te::Error naming the arrays when no Pax model fits, or when two readings
// fit (naming both and the flag that decides).
void detect_pax_model(const ListingIndex& names, DetectedModel& m);

}  // namespace te::frameworks
