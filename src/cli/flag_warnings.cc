#include "cli/flag_warnings.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>

namespace te::cli {

std::vector<std::string> ineffective_flag_warnings(const rules::ModelOptions& options,
                                                   const std::set<std::string>& given) {
  std::vector<std::string> out;
  if (options.framework == rules::Framework::kT5x) {
    if (given.count("--use-gated-activations")) {
      out.push_back(
          "--use-gated-activations does nothing with --fw=t5x: a gated MLP is recognised from "
          "its arrays (mlp.wi_0 and mlp.wi_1)");
    }
    if (given.count("--gated-activation-order")) {
      out.push_back(
          "--gated-activation-order does nothing with --fw=t5x: T5X's mlp.wi_0 and mlp.wi_1 are "
          "stacked in that order");
    }
    if (given.count("--skip-bias")) {
      out.push_back("--skip-bias does nothing with --fw=t5x: T5X layers have no biases");
    }
  } else if (given.count("--gated-activation-order") && !options.gated) {
    out.push_back(
        "--gated-activation-order does nothing without --use-gated-activations (the MLP is not "
        "gated)");
  }
  return out;
}

std::optional<std::string> output_name_warning(checkpoint::Format format,
                                               const std::filesystem::path& output) {
  if (format != checkpoint::Format::kPaxLayout1) return std::nullopt;
  std::filesystem::path p = output;
  if (p.filename().empty()) p = p.parent_path();
  std::string name = p.filename().string();
  const std::string prefix = "checkpoint_";
  std::string digits = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : "";
  bool all_digits = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  if (all_digits && digits.size() == 8) return std::nullopt;
  std::string expected = "checkpoint_XXXXXXXX (8 digits)";
  if (all_digits && digits.size() < 8)
    expected = prefix + std::string(8 - digits.size(), '0') + digits;
  return fmt::format(
      "--output-path {}: Pax lists a layout-1.x step folder only when it is named "
      "checkpoint_%08d; name it {}",
      output.string(), expected);
}

}  // namespace te::cli
