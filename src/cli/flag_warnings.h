#pragma once
// Warnings about flags that are accepted but do nothing for the chosen framework, and about an
// output name the framework will not recognise. They go to stderr as "te-ckpt: warning: ..."; the
// conversion still runs (the flags are harmless, and the original tool accepted them).
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "rules/model_options.h"

namespace te::cli {

// The flags whose effect depends on the framework; the caller reports which were given.
inline constexpr const char* kFrameworkSpecificFlags[] = {"--gated-activation-order",
                                                          "--use-gated-activations", "--skip-bias"};

// One message per given flag that has no effect with `options`.
std::vector<std::string> ineffective_flag_warnings(const rules::ModelOptions& options,
                                                   const std::set<std::string>& given);

// A Pax layout-1.x output must be named checkpoint_%08d for Pax to list it as a step.
std::optional<std::string> output_name_warning(checkpoint::Format format,
                                               const std::filesystem::path& output);

}  // namespace te::cli
