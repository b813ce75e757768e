#include "frameworks/pax/pax_model.h"

#include <fmt/format.h>

#include "frameworks/pax/pax_detection.h"
#include "frameworks/pax/pax_resolution.h"

namespace te::frameworks {

using checkpoint::Format;
using rules::QkvLayout;

ListingClaim PaxModelProfile::claim(const Listing& listing) const {
  if (listing.format == Format::kPaxLayout0 || listing.format == Format::kPaxLayout1 ||
      listing.format == Format::kPaxOrbax) {
    return ListingClaim::kOwn;
  }
  if (listing.format == Format::kOrbax) {
    // A generic Orbax step says nothing about its producer; Pax names its tree mdl_vars.
    for (const auto& a : listing.arrays) {
      if (a.name.rfind("mdl_vars.", 0) == 0) return ListingClaim::kOwn;
    }
  }
  return ListingClaim::kNone;
}

void PaxModelProfile::detect(const ListingIndex& names, DetectedModel& m) const {
  detect_pax_model(names, m);
}

std::vector<std::string> PaxModelProfile::variants(const DetectedModel& m) const {
  std::vector<std::string> v;
  v.push_back(m.pax_repeat ? "repeat" : "no repeat");
  if (m.side == Side::kFramework) {
    v.push_back(*m.split_qkv ? "split QKV" : "combined QKV");
    if (m.mqa_no_head_axis) v.push_back("key/value without head axis");
  }
  if (m.side == Side::kTe || m.qkv_layout == QkvLayout::kKvPacked)
    v.push_back(m.qkv_layout == QkvLayout::kKvPacked ? "kv_packed" : "qkv_packed");
  v.push_back(m.gated ? "gated MLP" : "MLP not gated");
  v.push_back(m.biases ? "biases" : "no biases");
  v.push_back(m.layer_norms ? "layer norms" : "no layer norms");
  return v;
}

std::string PaxModelProfile::depth_summary(const DetectedModel& m) const {
  return fmt::format("L={}", m.layers.value);
}

std::string PaxModelProfile::layer_name_head(const DetectedStack&) const {
  return "mdl_vars.params.lm.transformer.x_layers_";
}

void PaxModelProfile::check_flags(const DetectedModel& m, const ModelFlags& f) const {
  check_pax_flags(m, f);
}

void PaxModelProfile::options_from_detection(const DetectedModel& m, const ModelFlags& f,
                                             rules::ModelOptions& o) const {
  pax_options_from_detection(m, f, o);
}

void PaxModelProfile::append_flags(const rules::ModelOptions& o, std::string& s) const {
  append_pax_flags(o, s);
}

}  // namespace te::frameworks
