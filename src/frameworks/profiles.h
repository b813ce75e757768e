#pragma once
// The profile of each framework te-ckpt converts.
#include "checkpoint/checkpoint.h"
#include "exec/container_profile.h"
#include "plan/framework_profile.h"
#include "rules/model_options.h"

namespace te::frameworks {

// The profile of `framework` (a static object: lives for the program).
const plan::FrameworkProfile& profile_for(rules::Framework framework);

// The container profile of a checkpoint in `format` (its framework's, or the generic one for a
// format of no framework; a static object: lives for the program).
const exec::ContainerProfile& container_profile_for(checkpoint::Format format);

}  // namespace te::frameworks
