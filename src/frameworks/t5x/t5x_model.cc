#include "frameworks/t5x/t5x_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "frameworks/t5x/t5x_detection.h"
#include "frameworks/t5x/t5x_resolution.h"

namespace te::frameworks {

using checkpoint::Format;

ListingClaim T5xModelProfile::claim(const Listing& listing) const {
  if (listing.format == Format::kT5x || listing.format == Format::kT5xOrbax)
    return ListingClaim::kOwn;
  // A generic Orbax step says nothing about its producer: T5X's unless its names are another's.
  if (listing.format == Format::kOrbax) return ListingClaim::kFallback;
  return ListingClaim::kNone;
}

void T5xModelProfile::detect(const ListingIndex& names, DetectedModel& m) const {
  detect_t5x_model(names, m);
}

std::vector<std::string> T5xModelProfile::variants(const DetectedModel& m) const {
  std::vector<std::string> v;
  if (m.t5x_fused) v.push_back(*m.t5x_fused ? "fused QKV" : "QKV not fused");
  v.push_back(m.gated ? "gated MLP" : m.side == Side::kFramework ? "single wi" : "MLP not gated");
  v.push_back(m.layer_norms ? "layer norms" : "no layer norms");
  return v;
}

std::string T5xModelProfile::depth_summary(const DetectedModel& m) const {
  std::vector<std::string> parts;
  for (const auto& s : m.stacks) parts.push_back(fmt::format("{} L={}", s.name, s.layers));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string T5xModelProfile::layer_name_head(const DetectedStack& stack) const {
  std::string head = "target.";
  return head.append(stack.name).append(".layers_");
}

void T5xModelProfile::check_flags(const DetectedModel& m, const ModelFlags& f) const {
  check_t5x_flags(m, f);
}

void T5xModelProfile::options_from_detection(const DetectedModel& m, const ModelFlags& f,
                                             rules::ModelOptions& o) const {
  t5x_options_from_detection(m, f, o);
}

void T5xModelProfile::append_flags(const rules::ModelOptions& o, std::string& s) const {
  append_t5x_flags(o, s);
}

}  // namespace te::frameworks
