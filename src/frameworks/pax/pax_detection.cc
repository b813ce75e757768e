#include "frameworks/pax/pax_detection.h"

#include <fmt/format.h>

#include "frameworks/layout_mismatch.h"
#include "util/error.h"

namespace te::frameworks {

using rules::QkvLayout;

namespace {

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

void detect_pax_model(const ListingIndex& names, DetectedModel& m) {
  const std::string cat = "mdl_vars.params.";
  const std::string repeat_prefix = cat + "lm.transformer.repeat.sub.x_layers_0.";
  const std::string plain_head = cat + "lm.transformer.x_layers_";
  const ListedArray* repeat = names.first_with_prefix(repeat_prefix);
  DetectedStack plain = count_layers(names, plain_head, "transformer");
  if (repeat && plain.layers > 0) {
    fail(
        "two readings fit this Pax checkpoint: a repeat stack ({}) and separate layers ({}); "
        "--pax-repeat decides, but te-ckpt converts one of them: remove the other",
        repeat->name, plain.evidence.array);
  }
  if (!repeat && plain.layers == 0) {
    fail(
        "no Pax transformer layers found: expected arrays named {}0.* or {}* (is this a Pax "
        "model te-ckpt knows?)",
        plain_head, repeat_prefix);
  }
  m.pax_repeat = repeat != nullptr;
  const std::string layer0 = m.pax_repeat ? repeat_prefix : plain_head + "0.";
  m.repeat_evidence = evidence_of(m.pax_repeat ? repeat : names.first_with_prefix(layer0));
  const size_t lead = m.pax_repeat ? 1 : 0;

  const std::string te0 = layer0 + "transformerlayer.cld.";
  const ListedArray* te_any = names.first_with_prefix(te0);
  const ListedArray* fw_any = nullptr;
  for (const char* p : {"self_attention.", "ff_layer.", "layer_norm."}) {
    if (!fw_any) fw_any = names.first_with_prefix(layer0 + p);
  }
  if (te_any && fw_any) {
    fail(
        "two readings fit this Pax checkpoint: TE layout ({}) and Pax layout ({}) in one layer "
        "(half converted?); --direction cannot decide that: convert from a clean checkpoint",
        te_any->name, fw_any->name);
  }
  if (!te_any && !fw_any) {
    fail("{}: no attention or MLP arrays under {}*", m.repeat_evidence.array, layer0);
  }
  m.side = te_any ? Side::kTe : Side::kFramework;
  m.side_evidence = evidence_of(te_any ? te_any : fw_any);
  auto get = [&](const std::string& rel) {
    return names.find((m.side == Side::kTe ? te0 : layer0) + rel);
  };
  auto any_of = [&](std::initializer_list<const char*> rels) -> const ListedArray* {
    for (const char* r : rels) {
      if (auto* a = get(r)) return a;
    }
    return nullptr;
  };
  const ListedArray* first = nullptr;  // an array with the [L] axis
  if (m.side == Side::kFramework) {
    if (auto* w = get("self_attention.combined_qkv.w")) {
      expect_rank(w, 4 + lead, "combined_qkv.w ([3,E,N,H])");
      m.split_qkv = false;
      m.qkv_evidence = evidence_of(w);
      m.embed = dim_at(w, lead + 1);
      m.heads = dim_at(w, lead + 2);
      m.head_dim = dim_at(w, lead + 3);
      m.kv_heads = m.heads;
      m.qkv_layout = QkvLayout::kQkvPacked;
      first = w;
    } else if (auto* q = get("self_attention.query.w")) {
      expect_rank(q, 3 + lead, "query.w ([E,N,H])");
      m.split_qkv = true;
      m.qkv_evidence = evidence_of(q);
      m.embed = dim_at(q, lead);
      m.heads = dim_at(q, lead + 1);
      m.head_dim = dim_at(q, lead + 2);
      first = q;
      const ListedArray* k = get("self_attention.key.w");
      if (!k) fail("{} exists but {}self_attention.key.w does not", q->name, layer0);
      if (k->shape.size() == 2 + lead) {
        m.mqa_no_head_axis = true;
        m.kv_heads = m.heads;
        m.kv_heads.value = 1;
        m.kv_heads.evidence = evidence_of(k);
        m.kv_heads.axis = -1;
      } else {
        expect_rank(k, 3 + lead, "key.w ([E,K,H] or [E,H])");
        m.kv_heads = dim_at(k, lead + 1);
      }
      // K < N needs TE's kv_packed; K = N fits both (a choice, qkv_packed by default).
      if (m.kv_heads.value != m.heads.value) m.qkv_layout = QkvLayout::kKvPacked;
    } else {
      fail("{}: no self_attention.combined_qkv.w or self_attention.query.w under {}*",
           m.side_evidence.array, layer0);
    }
    const ListedArray* w1 = get("ff_layer.ffn_layer1.linear.w");
    if (!w1) fail("no {}ff_layer.ffn_layer1.linear.w (the MLP's first weight)", layer0);
    expect_rank(w1, 2 + lead, "ffn_layer1.linear.w ([E,F])");
    m.mlp_dim = dim_at(w1, lead + 1);
    const ListedArray* gate = get("ff_layer.ffn_layer1_gate.linear.w");
    m.gated = gate != nullptr;
    m.mlp_evidence = evidence_of(gate ? gate : w1);
    const ListedArray* b =
        any_of({"self_attention.combined_qkv.b", "self_attention.query.b", "self_attention.post.b",
                "ff_layer.ffn_layer1.bias.b", "ff_layer.ffn_layer2.bias.b"});
    m.biases = b != nullptr;
    m.bias_evidence = b ? evidence_of(b) : evidence_of(get("self_attention.post.w"));
    const ListedArray* ln = any_of({"layer_norm.scale", "ff_layer.layer_norm.scale"});
    m.layer_norms = ln != nullptr;
    m.ln_evidence = ln ? evidence_of(ln) : evidence_of(first);
  } else {
    if (auto* qkv = get("attention.qkv.kernel")) {
      expect_rank(qkv, 3 + lead, "attention.qkv.kernel ([E,3,D])");
      m.qkv_layout = QkvLayout::kQkvPacked;
      m.qkv_evidence = evidence_of(qkv);
      m.embed = dim_at(qkv, lead);
      m.joined_heads = dim_at(qkv, lead + 2);
      m.joined_kv_heads = m.joined_heads;
      first = qkv;
    } else if (auto* q = get("attention.query.kernel")) {
      expect_rank(q, 2 + lead, "attention.query.kernel ([E,D])");
      m.qkv_layout = QkvLayout::kKvPacked;
      m.split_qkv = true;
      m.qkv_evidence = evidence_of(q);
      m.embed = dim_at(q, lead);
      m.joined_heads = dim_at(q, lead + 1);
      const ListedArray* kv = get("attention.kv.kernel");
      if (!kv) fail("{} exists but {}attention.kv.kernel does not", q->name, te0);
      expect_rank(kv, 3 + lead, "attention.kv.kernel ([E,2,K*H])");
      m.joined_kv_heads = dim_at(kv, lead + 2);
      first = q;
    } else {
      fail("{}: no attention.qkv.kernel or attention.query.kernel under {}*", m.side_evidence.array,
           te0);
    }
    const ListedArray* wi = get("mlp.wi_kernel");
    if (!wi) fail("no {}mlp.wi_kernel (the MLP's first weight)", te0);
    expect_rank(wi, 3 + lead, "mlp.wi_kernel ([E,A,F])");
    m.mlp_dim = dim_at(wi, lead + 2);
    m.gated = wi->shape[lead + 1] == 2;
    m.single_wi = !m.gated;
    m.mlp_evidence = evidence_of(wi);
    const ListedArray* b =
        any_of({"attention.qkv.bias", "attention.query.bias", "attention.out.bias", "mlp.wo_bias"});
    m.biases = b != nullptr;
    m.bias_evidence = b ? evidence_of(b) : evidence_of(get("attention.out.kernel"));
    const ListedArray* ln = any_of({"attention.qkv.scale", "attention.query.scale", "mlp.scale"});
    m.layer_norms = ln != nullptr;
    m.ln_evidence = ln ? evidence_of(ln) : evidence_of(first);
  }
  DetectedStack s = plain;
  if (m.pax_repeat) {
    s = DetectedStack{"transformer", first->shape[0], evidence_of(first)};
  }
  m.layers = dim_at(first, m.pax_repeat ? 0 : -1);
  m.layers.value = s.layers;
  m.layers.evidence = s.evidence;
  m.stacks.push_back(s);
}

std::optional<std::string> pax_layout_mismatch(const std::vector<std::string>& names,
                                               const rules::ModelOptions& o) {
  const std::string cat = "mdl_vars.params.";
  std::string te =
      first_name(names, cat, [](auto& n) { return contains(n, ".transformerlayer.cld."); });
  std::string fw = first_name(names, cat, [](auto& n) {
    return contains(n, "lm.transformer.") && !contains(n, ".transformerlayer.") &&
           (contains(n, ".self_attention.") || contains(n, ".ff_layer.") ||
            contains(n, ".layer_norm."));
  });
  if (auto m = direction_mismatch(te, fw, o, "Pax")) return m;
  std::string repeat = first_name(
      names, cat, [](auto& n) { return contains(n, "lm.transformer.repeat.sub.x_layers_0."); });
  std::string plain =
      first_name(names, cat, [](auto& n) { return contains(n, "lm.transformer.x_layers_0."); });
  if (!o.pax_repeat && !repeat.empty() && plain.empty()) {
    return fmt::format(
        "found {} under lm.transformer.repeat: this is a repeat checkpoint; add --pax-repeat",
        repeat);
  }
  if (o.pax_repeat && repeat.empty() && !plain.empty()) {
    return fmt::format(
        "found {}, not under lm.transformer.repeat: this is not a repeat checkpoint; drop "
        "--pax-repeat",
        plain);
  }
  return std::nullopt;
}

}  // namespace te::frameworks
