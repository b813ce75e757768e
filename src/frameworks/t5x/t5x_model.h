#pragma once
// T5X's model profile (model_profile.h): a T5X listing is a T5X container, or a generic Orbax step
// no other framework claims; its detection rules (t5x_detection.h) and flag rules
// (t5x_resolution.h), and how its model reads in the summary.
#include "frameworks/model_profile.h"

namespace te::frameworks {

class T5xModelProfile final : public ModelProfile {
 public:
  rules::Framework framework() const override { return rules::Framework::kT5x; }
  ListingClaim claim(const Listing& listing) const override;
  void detect(const ListingIndex& names, DetectedModel& m) const override;
  std::vector<std::string> variants(const DetectedModel& m) const override;
  std::string depth_summary(const DetectedModel& m) const override;
  std::string layer_name_head(const DetectedStack& stack) const override;
  // T5X keeps D = N*H joined on both sides.
  bool any_head_split_fits() const override { return true; }
  // T5X's rules need E, which the four seed dimensions do not give.
  bool full_description_needs_embed_dim() const override { return true; }
  void check_flags(const DetectedModel& m, const ModelFlags& f) const override;
  void options_from_detection(const DetectedModel& m, const ModelFlags& f,
                              rules::ModelOptions& o) const override;
  void append_flags(const rules::ModelOptions& o, std::string& s) const override;
};

}  // namespace te::frameworks
