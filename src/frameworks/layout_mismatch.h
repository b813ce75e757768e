#pragma once
// What every framework's layout-mismatch rules share (FrameworkProfile::layout_mismatch): finding
// a weight by a name test, and the message of a wrong --direction.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rules/model_options.h"

namespace te::frameworks {

// The first of `names` that starts with `category` and for which `match` holds, or "".
std::string first_name(const std::vector<std::string>& names, const std::string& category,
                       const std::function<bool(const std::string&)>& match);

// The message for a --direction the arrays contradict, or nullopt. `te`: an array only the TE
// layout has (or ""); `fw`: an array only the framework layout has (or ""); `fw_name`: the
// framework's name in messages.
std::optional<std::string> direction_mismatch(const std::string& te, const std::string& fw,
                                              const rules::ModelOptions& options,
                                              const std::string& fw_name);

}  // namespace te::frameworks
