#pragma once
#include "rules/model_options.h"
#include "rules/rule.h"

namespace te::rules {

// The Pax (Praxis) <-> TE table of MAPPING.md section 1, with the rows the options select.
// With --pax-repeat every pattern gets the leading layer axis "l".
LayerStack pax_layer_stack(const ModelOptions& options);

}  // namespace te::rules
