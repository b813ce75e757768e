#pragma once
// T5X's part of model resolution (model_resolution.h): its flags against the detected model, its
// options from it, and its flags in describe_as_flags.
#include <string>

#include "frameworks/model_detection.h"
#include "frameworks/model_resolution.h"
#include "rules/model_options.h"

namespace te::frameworks {

// Throws te::Error on a T5X flag the detected model contradicts (--t5x-fuse-qkv on the TE side),
// after the checks every framework shares.
void check_t5x_flags(const DetectedModel& m, const ModelFlags& f);

// Sets the T5X options of `o` (gated, biases, layer norms, fused QKV) from `m`, with the flags
// where the listing leaves a choice.
void t5x_options_from_detection(const DetectedModel& m, const ModelFlags& f,
                                rules::ModelOptions& o);

// Appends the T5X flags that describe `o` (" --t5x-fuse-qkv") to `s`.
void append_t5x_flags(const rules::ModelOptions& o, std::string& s);

}  // namespace te::frameworks
