#include "frameworks/t5x/t5x_resolution.h"

#include "util/error.h"

namespace te::frameworks {

void check_t5x_flags(const DetectedModel& m, const ModelFlags& f) {
  if (m.side == Side::kTe && f.t5x_fuse_qkv && !*m.t5x_fused) {
    fail(
        "--t5x-fuse-qkv was given, but found {} (query, key and value apart): the TE side is not "
        "fused; drop --t5x-fuse-qkv",
        m.qkv_evidence.array);
  }
}

void t5x_options_from_detection(const DetectedModel& m, const ModelFlags& f,
                                rules::ModelOptions& o) {
  o.gated = f.gated;
  o.skip_bias = f.skip_bias;
  o.skip_ln = !m.layer_norms;
  o.t5x_fuse_qkv = m.side == Side::kTe ? *m.t5x_fused : f.t5x_fuse_qkv;
}

void append_t5x_flags(const rules::ModelOptions& o, std::string& s) {
  if (o.t5x_fuse_qkv) {
    s += " --t5x-fuse-qkv";
  }
}

}  // namespace te::frameworks
