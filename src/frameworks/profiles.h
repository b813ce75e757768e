#pragma once
// The profile of each framework te-ckpt converts.
#include "plan/framework_profile.h"
#include "rules/model_options.h"

namespace te::frameworks {

// The profile of `framework` (a static object: lives for the program).
const plan::FrameworkProfile& profile_for(rules::Framework framework);

}  // namespace te::frameworks
