#pragma once
// Pax's model profile (model_profile.h): a Pax listing is a Pax container, or a generic Orbax step
// with names under mdl_vars.; its detection rules (pax_detection.h) and flag rules
// (pax_resolution.h), and how its model reads in the summary.
#include "frameworks/model_profile.h"

namespace te::frameworks {

class PaxModelProfile final : public ModelProfile {
 public:
  rules::Framework framework() const override { return rules::Framework::kPax; }
  ListingClaim claim(const Listing& listing) const override;
  void detect(const ListingIndex& names, DetectedModel& m) const override;
  std::vector<std::string> variants(const DetectedModel& m) const override;
  std::string depth_summary(const DetectedModel& m) const override;
  std::string layer_name_head(const DetectedStack& stack) const override;
  bool any_head_split_fits() const override { return false; }
  bool full_description_needs_embed_dim() const override { return false; }
  void check_flags(const DetectedModel& m, const ModelFlags& f) const override;
  void options_from_detection(const DetectedModel& m, const ModelFlags& f,
                              rules::ModelOptions& o) const override;
  void append_flags(const rules::ModelOptions& o, std::string& s) const override;
};

}  // namespace te::frameworks
