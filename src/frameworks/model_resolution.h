#pragma once
// The model options of a conversion, from what the user gave and what the checkpoint shows.
//
// Two ways to describe the model:
// - The seed's full description (--num-of-layer, --num-of-head, --head-dim and
//   --mlp-intermediate-dim all given): the flags mean what they always meant (a boolean flag left
//   out is false) and the planner checks them against the arrays with its own messages; only
//   --fw, --direction and --embed-dim, when left out, are taken from the checkpoint.
// - Anything less (no model flag at all, or some): every flag left out is read from the
//   checkpoint (DetectedModel), and every flag given is checked against it first, so that a
//   contradiction is refused before anything is planned, naming the flag, its value, and the array
//   and shape that show otherwise.
// Flags that choose the output rather than describe the input keep their defaults when left out:
// --gated-activation-order, --pax-split-qkv for te2fw from qkv_packed, --te-qkv-layout for fw2te
// with K = N, --t5x-fuse-qkv for fw2te, --pax-mqa-drop-head-axis.
#include <cstdint>
#include <optional>

#include "frameworks/model_detection.h"
#include "rules/model_options.h"

namespace te::frameworks {

struct ModelFlags {
  std::optional<rules::Framework> framework;
  std::optional<rules::Direction> direction;
  std::optional<int64_t> layers, heads, head_dim, mlp_dim, embed_dim, gqa_groups;
  bool pax_repeat = false, pax_split_qkv = false, gated = false;
  bool skip_bias = false, skip_ln = false, t5x_fuse_qkv = false;
  std::optional<rules::QkvLayout> qkv_layout;
  // Everything that is not a model description (weight_only, gen_fp8_meta, gated_order,
  // amax_history_len, mqa_drop_head_axis) is taken from here.
  rules::ModelOptions rest;

  // The seed's four required dimensions are all given.
  bool full_description() const { return layers && heads && head_dim && mlp_dim; }
};

// Resolves the options. `detected` is nullopt when detection failed (then only a full
// description works; `detection_error` is rethrown otherwise). Throws te::Error on a
// contradiction or when a needed value is neither given nor readable.
rules::ModelOptions resolve_model_options(const std::optional<DetectedModel>& detected,
                                          const std::string& detection_error,
                                          const ModelFlags& flags);

// The flags that describe `options` for `te-ckpt convert` (e.g. "--fw=pax --direction=fw2te
// --num-of-layer=2 ..."), the seed's full description.
std::string describe_as_flags(const rules::ModelOptions& options);

}  // namespace te::frameworks
