#pragma once
// The profiles of each framework te-ckpt converts: the one place that lists the frameworks.
#include <vector>

#include "checkpoint/checkpoint.h"
#include "exec/container_profile.h"
#include "frameworks/model_profile.h"
#include "plan/framework_profile.h"
#include "rules/model_options.h"

namespace te::frameworks {

// The profile of `framework` (a static object: lives for the program).
const plan::FrameworkProfile& profile_for(rules::Framework framework);

// Every framework's model profile, in the order detection asks them (static objects: live for the
// program), and the one of `framework`.
const std::vector<const ModelProfile*>& all_model_profiles();
const ModelProfile& model_profile_for(rules::Framework framework);

// The container profile of a checkpoint in `format` (its framework's, or the generic one for a
// format of no framework; a static object: lives for the program).
const exec::ContainerProfile& container_profile_for(checkpoint::Format format);

}  // namespace te::frameworks
