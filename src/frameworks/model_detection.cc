#include "frameworks/model_detection.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "frameworks/listing_index.h"
#include "frameworks/profiles.h"
#include "util/error.h"

namespace te::frameworks {
namespace {

using rules::QkvLayout;

// ------------------------------------------------------------------------- optimizer, FP8

void detect_optimizer(const ListingIndex& names, DetectedModel& m) {
  const plan::FrameworkProfile& profile = profile_for(m.framework);
  const std::string root = profile.weight_root();
  const std::string weights = profile.weight_category();
  std::map<std::string, const ListedArray*> params;  // path below root -> weight
  for (const auto& [name, a] : names.all()) {
    if (name.starts_with(weights)) params.emplace(name.substr(root.size()), a);
  }
  std::map<std::pair<std::string, std::string>, OptimizerGroup> groups;
  bool factored = false;  // a v_row / v_col (Pax: vr / vc) that is not a [1] placeholder
  for (const auto& [name, a] : names.all()) {
    if (name.starts_with(root) || name.find("fp8_meta") != std::string::npos) continue;
    // prefix + parameter path (+ "." + slot for per-parameter state).
    for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
      std::string rest = name.substr(dot + 1), slot;
      auto it = params.find(rest);
      if (it == params.end()) {
        size_t last = rest.rfind('.');
        if (last == std::string::npos) continue;
        it = params.find(rest.substr(0, last));
        if (it == params.end()) continue;
        slot = rest.substr(last);
      }
      auto& g = groups[{name.substr(0, dot + 1), slot}];
      if (g.arrays == 0) {
        g.prefix = name.substr(0, dot + 1);
        g.suffix = slot;
        g.example = evidence_of(a);
      }
      ++g.arrays;
      if ((slot == ".v_row" || slot == ".v_col") && a->shape != Shape{1}) factored = true;
      break;
    }
  }
  // Kinds. Adafactor: per-parameter slots v / v_row / v_col (T5X), or Pax's vr / vc groups.
  for (const auto& [key, g] : groups) {
    if (g.prefix.ends_with(".vr.") || g.prefix.ends_with(".vc.")) factored = true;
  }
  for (auto& [key, g] : groups) {
    if (!g.suffix.empty() || g.prefix.ends_with(".vr.") || g.prefix.ends_with(".vc.")) {
      g.kind = factored ? OptimizerKind::kAdafactorFactored : OptimizerKind::kAdafactorUnfactored;
    } else if (g.prefix.ends_with(".m.") || g.prefix.ends_with(".v.") ||
               g.prefix.ends_with("_2.m.") || g.prefix.ends_with("_2.v.")) {
      g.kind = OptimizerKind::kAdamMV;
    } else if (g.prefix.ends_with(".mu.") || g.prefix.ends_with(".nu.")) {
      g.kind = OptimizerKind::kAdamMuNu;
    } else {
      g.kind = OptimizerKind::kMirror;
    }
    // Pax keeps "params." in the group path: show the prefix up to it.
    m.optimizer_groups.push_back(g);
  }
}

void detect_fp8(const ListingIndex& names, DetectedModel& m) {
  for (const auto& [name, a] : names.all()) {
    std::string format;
    if (name.find("fp8_meta_collection.") != std::string::npos) {
      format = "F17";
    } else if (name.find("fp8_metas.") != std::string::npos) {
      format = name.ends_with("_amax_history") || name.ends_with("_scale") ? "F23" : "F18";
    } else {
      continue;
    }
    if (!m.fp8_present) {
      m.fp8_present = true;
      m.fp8_format = format;
      m.fp8_evidence = evidence_of(a);
    } else if (m.fp8_format != format) {
      m.fp8_format = "mixed";
    }
    ++m.fp8_arrays;
  }
}

std::string dim_text(const char* name, const DetectedDim& d) {
  return d.known() ? fmt::format("{}={}", name, d.value) : fmt::format("{}=?", name);
}

}  // namespace

std::string Evidence::text() const {
  return fmt::format("{} {}", array, shape_string(shape));
}

Listing listing_of(const checkpoint::Checkpoint& c) {
  Listing l;
  l.format = c.format;
  for (const auto& a : c.arrays)
    l.arrays.push_back({a.name, a.metadata.shape, a.metadata.dtype.name()});
  return l;
}

std::string optimizer_kind_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kAdamMV:
      return "Adam m/v";
    case OptimizerKind::kAdamMuNu:
      return "Adam/AdamW mu/nu";
    case OptimizerKind::kMirror:
      return "mirror of the parameters";
    case OptimizerKind::kAdafactorFactored:
      return "Adafactor factored (v_row/v_col)";
    case OptimizerKind::kAdafactorUnfactored:
      return "Adafactor unfactored (v, [1] placeholders)";
  }
  return "?";
}

std::vector<std::string> DetectedModel::variants() const {
  return model_profile_for(framework).variants(*this);
}

std::string DetectedModel::summary() const {
  const std::string stacks_text = model_profile_for(framework).depth_summary(*this);
  std::string dims = fmt::format("{} {} {} {}", dim_text("E", embed), dim_text("N", heads),
                                 dim_text("H", head_dim), dim_text("K", kv_heads));
  if (!heads.known() && joined_heads.known()) dims += fmt::format(" D={}", joined_heads.value);
  if (!kv_heads.known() && joined_kv_heads.known() && qkv_layout == QkvLayout::kKvPacked)
    dims += fmt::format(" K*H={}", joined_kv_heads.value);
  dims.append(" ").append(dim_text("F", mlp_dim));
  std::string opt = "no optimizer state";
  if (!optimizer_groups.empty()) {
    std::set<std::string> kinds;
    for (const auto& g : optimizer_groups) kinds.insert(optimizer_kind_name(g.kind));
    opt = fmt::format("optimizer {} ({} groups)", fmt::join(kinds, ", "), optimizer_groups.size());
  }
  std::string fp8 = fp8_present ? fmt::format("FP8 metadata {}", fp8_format) : "no FP8 metadata";
  const std::string name = profile_for(framework).name();
  return fmt::format("{} {} layout, {}, {}, {}, {}, {}", name, side == Side::kTe ? "TE" : name,
                     stacks_text, dims, fmt::join(variants(), ", "), opt, fp8);
}

DetectedModel detect_model(const Listing& listing) {
  using checkpoint::Format;
  DetectedModel m;
  m.format = listing.format;
  if (listing.format == Format::kZarrArray) {
    fail("a single zarr array is not a model checkpoint: give the checkpoint folder");
  }
  ListingIndex names(listing);
  const ModelProfile* chosen = nullptr;
  ListingClaim strongest = ListingClaim::kNone;
  for (const ModelProfile* p : all_model_profiles()) {
    ListingClaim c = p->claim(listing);
    if (c > strongest) {
      chosen = p;
      strongest = c;
    }
  }
  if (!chosen) {
    fail("no framework te-ckpt knows claims this {} checkpoint", checkpoint::format_name(m.format));
  }
  m.framework = chosen->framework();
  chosen->detect(names, m);
  detect_optimizer(names, m);
  detect_fp8(names, m);
  return m;
}

}  // namespace te::frameworks
