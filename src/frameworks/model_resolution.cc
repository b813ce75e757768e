#include "frameworks/model_resolution.h"

#include <fmt/format.h>

#include "frameworks/profiles.h"
#include "util/error.h"

namespace te::frameworks {
namespace {

using rules::Direction;
using rules::Framework;
using rules::QkvLayout;

// `e` with axis `axis` set to `value`: the shape a flag's value would need.
std::string would_need(const DetectedDim& d, int64_t value, int64_t factor = 1) {
  Shape s = d.evidence.shape;
  if (d.axis >= 0 && d.axis < static_cast<int>(s.size())) s[d.axis] = value * factor;
  return shape_string(s);
}

// A dimension flag against the detected value (where the listing shows it).
void check_dim(const char* flag, const std::optional<int64_t>& given, const DetectedDim& d,
               const char* meaning) {
  if (!given || !d.known() || *given == d.value) return;
  if (d.axis < 0) {
    fail("{}={}, but {} is {}: {} {}", flag, *given, d.evidence.array,
         shape_string(d.evidence.shape), d.value, meaning);
  }
  fail("{}={}, but {} is {}: {} {}; {}={} would need {}", flag, *given, d.evidence.array,
       shape_string(d.evidence.shape), d.value, meaning, flag, *given, would_need(d, *given));
}

std::string fw_name(Framework f) {
  return profile_for(f).name();
}

// Checks every given flag against the detected model (the flags-light way of describing it).
void check_contradictions(const DetectedModel& m, const ModelFlags& f) {
  if (f.framework && *f.framework != m.framework) return;  // the planner names the format
  const ModelProfile& profile = model_profile_for(m.framework);
  if (f.direction) {
    if (*f.direction == Direction::kFwToTe && m.side == Side::kTe) {
      fail(
          "--direction=fw2te, but this checkpoint is already in TE layout: found {}; to convert "
          "it to {} pass --direction=te2fw (or leave --direction out)",
          m.side_evidence.array, fw_name(m.framework));
    }
    if (*f.direction == Direction::kTeToFw && m.side == Side::kFramework) {
      fail(
          "--direction=te2fw, but this checkpoint is in {} layout, not TE: found {}; to convert "
          "it to TE pass --direction=fw2te (or leave --direction out)",
          fw_name(m.framework), m.side_evidence.array);
    }
  }
  if (f.layers && *f.layers != m.layers.value) {
    if (m.layers.axis >= 0) {  // L read from a stack axis
      fail("--num-of-layer={}, but {} is {}: {} layers; --num-of-layer={} would need {}", *f.layers,
           m.layers.evidence.array, shape_string(m.layers.evidence.shape), m.layers.value,
           *f.layers, would_need(m.layers, *f.layers));
    }
    for (const auto& s : m.stacks) {
      if (s.layers == *f.layers) continue;
      const std::string head = profile.layer_name_head(s);
      if (*f.layers > s.layers) {
        fail("--num-of-layer={}, but the checkpoint's {} has {} layers: no {}{}.* (the last is {})",
             *f.layers, s.name, s.layers, head, s.layers, s.evidence.array);
      }
      fail("--num-of-layer={}, but the checkpoint's {} has {} layers: found {}{}.* ({})", *f.layers,
           s.name, s.layers, head, *f.layers, s.evidence.array);
    }
  }
  check_dim("--embed-dim", f.embed_dim, m.embed, "= E");
  check_dim("--num-of-head", f.heads, m.heads, "heads");
  check_dim("--head-dim", f.head_dim, m.head_dim, "= the head dim");
  check_dim("--mlp-intermediate-dim", f.mlp_dim, m.mlp_dim, "= the MLP dim");
  if (m.side == Side::kFramework)
    check_dim("--num-gqa-groups", f.gqa_groups, m.kv_heads, "key/value heads");
  // N and H where the listing shows only their product.
  const DetectedDim& d = m.joined_heads;
  if (d.known() && !m.heads.known()) {
    auto joined = [&](const char* flag, int64_t v) {
      if (d.value % v != 0) {
        fail("{}={}, but {} is {}: D = N*H = {} is not a multiple of {}", flag, v, d.evidence.array,
             shape_string(d.evidence.shape), d.value, v);
      }
    };
    if (f.heads) joined("--num-of-head", *f.heads);
    if (f.head_dim) joined("--head-dim", *f.head_dim);
    if (f.heads && f.head_dim && *f.heads * *f.head_dim != d.value) {
      fail("--num-of-head={} x --head-dim={} = {}, but {} is {}: D = N*H = {}", *f.heads,
           *f.head_dim, *f.heads * *f.head_dim, d.evidence.array, shape_string(d.evidence.shape),
           d.value);
    }
  }
  profile.check_flags(m, f);
}

// The options from the detected model, with the given flags where the listing leaves a choice.
rules::ModelOptions from_detection(const DetectedModel& m, const ModelFlags& f) {
  rules::ModelOptions o = f.rest;
  const ModelProfile& profile = model_profile_for(m.framework);
  o.framework = f.framework.value_or(m.framework);
  o.direction = m.side == Side::kFramework ? Direction::kFwToTe : Direction::kTeToFw;
  o.layers = m.layers.value;
  for (const auto& s : m.stacks) {
    if (s.layers != m.layers.value) {
      fail(
          "the checkpoint's {} has {} layers but its {} has {} ({}): te-ckpt converts stacks of "
          "one depth",
          m.stacks[0].name, m.stacks[0].layers, s.name, s.layers, s.evidence.array);
    }
  }
  o.embed_dim = m.embed.value;
  o.mlp_dim = m.mlp_dim.value;
  if (m.heads.known()) {
    o.heads = m.heads.value;
    o.head_dim = m.head_dim.value;
  } else {
    const DetectedDim& d = m.joined_heads;
    if (f.heads) {
      o.heads = *f.heads;
      o.head_dim = d.value / *f.heads;
    } else if (f.head_dim) {
      o.head_dim = *f.head_dim;
      o.heads = d.value / *f.head_dim;
    } else if (profile.any_head_split_fits()) {
      o.heads = 1;
      o.head_dim = d.value;
    } else {
      fail(
          "two readings fit {} {}: the TE layout joins heads and head dim (D = N*H = {}), so it "
          "could be N={} H={} or N={} H={} among others; --num-of-head (or --head-dim) decides",
          d.evidence.array, shape_string(d.evidence.shape), d.value, d.value, 1, 1, d.value);
    }
  }
  profile.options_from_detection(m, f, o);
  return o;
}

// The seed's meaning of the flags: every flag as given, a boolean left out is false.
rules::ModelOptions from_flags(const std::optional<DetectedModel>& m,
                               const std::string& detection_error, const ModelFlags& f) {
  rules::ModelOptions o = f.rest;
  if (!f.framework && !m) fail("--fw is needed: {}", detection_error);
  if (!f.direction && !m) fail("--direction is needed: {}", detection_error);
  o.framework = f.framework ? *f.framework : m->framework;
  o.direction = f.direction                   ? *f.direction
                : m->side == Side::kFramework ? Direction::kFwToTe
                                              : Direction::kTeToFw;
  o.layers = *f.layers;
  o.heads = *f.heads;
  o.head_dim = *f.head_dim;
  o.mlp_dim = *f.mlp_dim;
  o.embed_dim = f.embed_dim.value_or(0);
  if (o.embed_dim == 0 && model_profile_for(o.framework).full_description_needs_embed_dim()) {
    if (!m || m->framework != o.framework || !m->embed.known())
      fail("--embed-dim is required with --fw={}", profile_for(o.framework).flag());
    o.embed_dim = m->embed.value;
  }
  o.gqa_groups = f.gqa_groups.value_or(0);
  o.pax_repeat = f.pax_repeat;
  o.pax_split_qkv = f.pax_split_qkv;
  o.gated = f.gated;
  o.skip_bias = f.skip_bias;
  o.skip_ln = f.skip_ln;
  o.t5x_fuse_qkv = f.t5x_fuse_qkv;
  o.qkv_layout = f.qkv_layout.value_or(QkvLayout::kQkvPacked);
  return o;
}

}  // namespace

rules::ModelOptions resolve_model_options(const std::optional<DetectedModel>& detected,
                                          const std::string& detection_error,
                                          const ModelFlags& flags) {
  if (flags.full_description()) return from_flags(detected, detection_error, flags);
  if (!detected) fail("{}", detection_error);
  if (flags.framework && *flags.framework != detected->framework) {
    // The planner refuses the format first, with its own message.
    rules::ModelOptions o = flags.rest;
    o.framework = *flags.framework;
    o.layers = o.heads = o.head_dim = o.mlp_dim = o.embed_dim = 1;
    return o;
  }
  check_contradictions(*detected, flags);
  return from_detection(*detected, flags);
}

std::string describe_as_flags(const rules::ModelOptions& o) {
  std::string s = fmt::format(
      "--fw={} --direction={} --num-of-layer={} --num-of-head={} --head-dim={} "
      "--mlp-intermediate-dim={} --embed-dim={}",
      profile_for(o.framework).flag(), o.direction == Direction::kFwToTe ? "fw2te" : "te2fw",
      o.layers, o.heads, o.head_dim, o.mlp_dim, o.embed_dim);
  model_profile_for(o.framework).append_flags(o, s);
  if (o.skip_ln) s += " --skip-ln";
  return s;
}

}  // namespace te::frameworks
