#include "frameworks/t5x/t5x_detection.h"

#include <fmt/format.h>

#include "frameworks/layout_mismatch.h"
#include "util/error.h"

namespace te::frameworks {

using rules::Direction;

void detect_t5x_model(const ListingIndex& names, DetectedModel& m) {
  const std::string cat = "target.";
  for (const char* stack : {"encoder", "decoder"}) {
    DetectedStack s = count_layers(names, cat + stack + ".layers_", stack);
    if (s.layers > 0) m.stacks.push_back(s);
  }
  if (m.stacks.empty()) {
    fail(
        "no T5X encoder or decoder layers found (expected arrays named {}encoder.layers_0.* or "
        "{}decoder.layers_0.*)",
        cat, cat);
  }
  m.layers.value = m.stacks[0].layers;
  m.layers.evidence = m.stacks[0].evidence;
  // The side: TE's mlp.wi_kernel or T5X's wi_0 / wi.
  const ListedArray *te = nullptr, *fw = nullptr;
  for (const auto& s : m.stacks) {
    std::string p = cat + s.name + ".layers_0.";
    if (!te) te = names.find(p + "mlp.wi_kernel");
    if (!fw) fw = names.find(p + "mlp.wi_0.kernel");
    if (!fw) fw = names.find(p + "mlp.wi.kernel");
  }
  if (te && fw) {
    fail(
        "two readings fit this T5X checkpoint: TE layout ({}) and T5X layout ({}) (half "
        "converted?); --direction cannot decide that: convert from a clean checkpoint",
        te->name, fw->name);
  }
  if (!te && !fw) {
    fail("{}: no mlp.wi_kernel, mlp.wi_0.kernel or mlp.wi.kernel in layer 0",
         m.stacks[0].evidence.array);
  }
  m.side = te ? Side::kTe : Side::kFramework;
  m.side_evidence = evidence_of(te ? te : fw);
  const std::string p = cat + m.stacks[0].name + ".layers_0.";
  const std::string attn = m.stacks[0].name == "encoder" ? "attention." : "self_attention.";
  const ListedArray* q = names.find(p + attn + "query.kernel");
  const ListedArray* qkv = names.find(p + attn + "qkv.kernel");
  if (m.side == Side::kTe) {
    m.t5x_fused = qkv != nullptr;
    if (qkv) {
      expect_rank(qkv, 3, "qkv.kernel ([E,3,D])");
      m.embed = dim_at(qkv, 0);
      m.joined_heads = dim_at(qkv, 2);
      m.qkv_evidence = evidence_of(qkv);
    }
  }
  if (!m.qkv_evidence.array.size()) {
    if (!q) fail("no {}{}query.kernel (the self-attention's query)", p, attn);
    expect_rank(q, 2, "query.kernel ([E,D])");
    m.embed = dim_at(q, 0);
    m.joined_heads = dim_at(q, 1);
    m.qkv_evidence = evidence_of(q);
  }
  const ListedArray* wi = te ? te : fw;
  if (m.side == Side::kTe) {
    expect_rank(wi, 3, "mlp.wi_kernel ([E,A,F])");
    m.mlp_dim = dim_at(wi, 2);
    m.gated = wi->shape[1] == 2;
  } else {
    expect_rank(wi, 2, "mlp.wi kernel ([E,F])");
    m.mlp_dim = dim_at(wi, 1);
    m.gated = wi->name.ends_with("wi_0.kernel");
  }
  m.single_wi = !m.gated;
  m.mlp_evidence = evidence_of(wi);
  // N: the relative position bias [N, buckets]; H = D / N.
  for (const char* s : {"encoder", "decoder"}) {
    const ListedArray* rel = names.find(cat + s + ".relpos_bias.rel_embedding");
    if (rel && rel->shape.size() == 2 && rel->shape[0] > 0 &&
        m.joined_heads.value % rel->shape[0] == 0) {
      m.heads = dim_at(rel, 0);
      m.head_dim = m.joined_heads;
      m.head_dim.value = m.joined_heads.value / m.heads.value;
      break;
    }
  }
  m.kv_heads = m.heads;
  m.biases = false;  // T5X layers have no biases
  const std::string ln_name =
      m.side == Side::kTe ? "mlp.scale" : std::string("pre_mlp_layer_norm.scale");
  const ListedArray* ln = names.find(p + ln_name);
  m.layer_norms = ln != nullptr;
  m.ln_evidence = ln ? evidence_of(ln) : evidence_of(q ? q : qkv);
}

std::optional<std::string> t5x_layout_mismatch(const std::vector<std::string>& names,
                                               const rules::ModelOptions& o) {
  const std::string cat = "target.";
  std::string te = first_name(names, cat, [](auto& n) { return n.ends_with(".mlp.wi_kernel"); });
  std::string fw = first_name(names, cat, [](auto& n) {
    return n.ends_with(".mlp.wi_0.kernel") || n.ends_with(".mlp.wi.kernel");
  });
  if (auto m = direction_mismatch(te, fw, o, "T5X")) return m;
  if (o.direction != Direction::kTeToFw || te.empty()) return std::nullopt;
  std::string fused = first_name(names, cat, [](auto& n) {
    return n.ends_with("attention.qkv.kernel") || n.ends_with("attention.kv.kernel");
  });
  std::string apart = first_name(names, cat, [](auto& n) {
    return n.ends_with("self_attention.key.kernel") || n.ends_with(".attention.key.kernel");
  });
  if (!o.t5x_fuse_qkv && !fused.empty() && apart.empty()) {
    return fmt::format("found {}: the TE side is fused; add --t5x-fuse-qkv", fused);
  }
  if (o.t5x_fuse_qkv && fused.empty() && !apart.empty()) {
    return fmt::format(
        "found {} (query, key and value apart): the TE side is not fused; drop --t5x-fuse-qkv",
        apart);
  }
  return std::nullopt;
}

}  // namespace te::frameworks
