#include "frameworks/pax/pax_resolution.h"

#include <fmt/format.h>

#include "util/error.h"

namespace te::frameworks {

using rules::QkvLayout;

void check_pax_flags(const DetectedModel& m, const ModelFlags& f) {
  if (f.pax_repeat && !m.pax_repeat) {
    fail(
        "--pax-repeat was given, but found {}, not under lm.transformer.repeat: this is not a "
        "repeat checkpoint; drop --pax-repeat",
        m.repeat_evidence.array);
  }
  if (m.side == Side::kFramework && f.pax_split_qkv && !*m.split_qkv) {
    fail("--pax-split-qkv was given, but {} is {}: the QKV is combined; drop --pax-split-qkv",
         m.qkv_evidence.array, shape_string(m.qkv_evidence.shape));
  }
  if (f.gated && !m.gated) {
    fail("--use-gated-activations was given, but {} is {}: the MLP is not gated; drop it",
         m.mlp_evidence.array, shape_string(m.mlp_evidence.shape));
  }
  if (f.qkv_layout && m.qkv_layout && *f.qkv_layout != *m.qkv_layout &&
      (m.side == Side::kTe || *m.qkv_layout == QkvLayout::kKvPacked)) {
    const bool kv = *m.qkv_layout == QkvLayout::kKvPacked;
    fail("--te-qkv-layout={}, but {} is {}: {}; pass --te-qkv-layout={} (or leave it out)",
         kv ? "qkv_packed" : "kv_packed", m.qkv_evidence.array, shape_string(m.qkv_evidence.shape),
         m.side == Side::kTe ? (kv ? "the TE side is kv_packed" : "the TE side is qkv_packed")
                             : "fewer key/value heads than heads need kv_packed",
         kv ? "kv_packed" : "qkv_packed");
  }
}

void pax_options_from_detection(const DetectedModel& m, const ModelFlags& f,
                                rules::ModelOptions& o) {
  o.pax_repeat = m.pax_repeat;
  o.gated = m.gated;
  o.skip_bias = !m.biases;
  o.skip_ln = !m.layer_norms;
  if (m.side == Side::kFramework) {
    o.pax_split_qkv = *m.split_qkv;
    int64_t k = m.kv_heads.value;
    o.qkv_layout = f.qkv_layout.value_or(m.qkv_layout.value_or(QkvLayout::kQkvPacked));
    o.gqa_groups = (k != o.heads || o.qkv_layout == QkvLayout::kKvPacked) ? k : 0;
  } else {
    o.qkv_layout = *m.qkv_layout;
    o.pax_split_qkv = o.qkv_layout == QkvLayout::kKvPacked || f.pax_split_qkv;
    if (o.qkv_layout == QkvLayout::kKvPacked) {
      const int64_t kh = m.joined_kv_heads.value;
      if (o.head_dim <= 0 || kh % o.head_dim != 0) {
        fail("{} is {}: K*H = {} is not a multiple of the head dim {}",
             m.joined_kv_heads.evidence.array, shape_string(m.joined_kv_heads.evidence.shape), kh,
             o.head_dim);
      }
      o.gqa_groups = kh / o.head_dim;
      if (f.gqa_groups && *f.gqa_groups != o.gqa_groups) {
        fail("--num-gqa-groups={}, but {} is {}: K*H = {} with H={}: {} key/value heads",
             *f.gqa_groups, m.joined_kv_heads.evidence.array,
             shape_string(m.joined_kv_heads.evidence.shape), kh, o.head_dim, o.gqa_groups);
      }
    }
  }
}

void append_pax_flags(const rules::ModelOptions& o, std::string& s) {
  if (o.pax_repeat) s += " --pax-repeat";
  if (o.pax_split_qkv) s += " --pax-split-qkv";
  if (o.qkv_layout == QkvLayout::kKvPacked) {
    s += fmt::format(" --te-qkv-layout=kv_packed --num-gqa-groups={}", o.kv_heads());
  }
  if (o.gated) s += " --use-gated-activations";
  if (o.skip_bias) s += " --skip-bias";
}

}  // namespace te::frameworks
