#pragma once
// Pax's part of model resolution (model_resolution.h): its flags against the detected model, its
// options from it, and its flags in describe_as_flags.
#include <string>

#include "frameworks/model_detection.h"
#include "frameworks/model_resolution.h"
#include "rules/model_options.h"

namespace te::frameworks {

// Throws te::Error on a Pax flag the detected model contradicts (--pax-repeat, --pax-split-qkv,
// --use-gated-activations, --te-qkv-layout), after the checks every framework shares.
void check_pax_flags(const DetectedModel& m, const ModelFlags& f);

// Sets the Pax options of `o` (repeat, gated, biases, layer norms, QKV layout, K) from `m`, with
// the flags where the listing leaves a choice. Throws te::Error where K cannot be read.
void pax_options_from_detection(const DetectedModel& m, const ModelFlags& f,
                                rules::ModelOptions& o);

// Appends the Pax flags that describe `o` (" --pax-repeat", ...) to `s`.
void append_pax_flags(const rules::ModelOptions& o, std::string& s);

}  // namespace te::frameworks
