#pragma once
#include "rules/model_options.h"
#include "rules/rule.h"

namespace te::rules {

// The T5X <-> TE tables of MAPPING.md section 2: one stack for the encoder, one for the decoder.
// Arrays that keep their name and shape (e.g. attention.out.kernel) have identity rules so that
// FP8 metadata can be generated for their GEMMs; the planner copies them byte for byte.
LayerStack t5x_encoder_stack(const ModelOptions& options);
LayerStack t5x_decoder_stack(const ModelOptions& options);

}  // namespace te::rules
