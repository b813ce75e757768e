#include "plan/model_detection.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "util/error.h"

namespace te::plan {
namespace {

using rules::Framework;
using rules::QkvLayout;

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}
bool ends_with(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

// Arrays by name, with lookups relative to a prefix.
class Names {
 public:
  explicit Names(const Listing& l) {
    for (const auto& a : l.arrays) by_name_[a.name] = &a;
  }
  const ListedArray* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  const ListedArray* first_with_prefix(const std::string& prefix) const {
    auto it = by_name_.lower_bound(prefix);
    return it != by_name_.end() && starts_with(it->first, prefix) ? it->second : nullptr;
  }
  // Indices i with some array named `head` + i + "." + ..., e.g. head "target.encoder.layers_".
  std::map<int64_t, const ListedArray*> layer_indices(const std::string& head) const {
    std::map<int64_t, const ListedArray*> out;
    for (auto it = by_name_.lower_bound(head); it != by_name_.end() && starts_with(it->first, head);
         ++it) {
      size_t i = head.size(), j = i;
      while (j < it->first.size() && std::isdigit(static_cast<unsigned char>(it->first[j]))) ++j;
      if (j == i || j >= it->first.size() || it->first[j] != '.' || j - i > 9) continue;
      if (j - i > 1 && it->first[i] == '0') continue;
      out.emplace(std::stoll(it->first.substr(i, j - i)), it->second);
    }
    return out;
  }
  const std::map<std::string, const ListedArray*>& all() const { return by_name_; }

 private:
  std::map<std::string, const ListedArray*> by_name_;
};

Evidence ev(const ListedArray* a) {
  return a ? Evidence{a->name, a->shape} : Evidence{};
}

DetectedDim dim(const ListedArray* a, int axis, int64_t factor = 1) {
  DetectedDim d;
  d.evidence = ev(a);
  d.axis = axis;
  if (a && axis >= 0 && axis < static_cast<int>(a->shape.size()) && factor > 0)
    d.value = a->shape[axis] / factor;
  return d;
}

// Checks that `a` has rank `rank`; throws naming it otherwise.
void expect_rank(const ListedArray* a, size_t rank, const char* what) {
  if (a->shape.size() != rank) {
    fail("{} is {}: expected rank {} for {}", a->name, shape_string(a->shape), rank, what);
  }
}

// Layers of one stack named `<head><i>.`: the indices must run 0..L-1.
DetectedStack count_layers(const Names& names, const std::string& head, const std::string& stack) {
  auto idx = names.layer_indices(head);
  DetectedStack s{stack, 0, {}};
  if (idx.empty()) return s;
  int64_t expect = 0;
  for (const auto& [i, a] : idx) {
    if (i != expect) {
      fail("{}: the layers are not numbered 0..{}: found {}{}.* but no {}{}.*", a->name,
           idx.rbegin()->first, head, i, head, expect);
    }
    ++expect;
  }
  s.layers = expect;
  s.evidence = ev(idx.rbegin()->second);
  return s;
}

// -------------------------------------------------------------------------------------- Pax

void detect_pax(const Names& names, DetectedModel& m) {
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
  m.repeat_evidence = ev(m.pax_repeat ? repeat : names.first_with_prefix(layer0));
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
  m.side_evidence = ev(te_any ? te_any : fw_any);
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
      m.qkv_evidence = ev(w);
      m.embed = dim(w, lead + 1);
      m.heads = dim(w, lead + 2);
      m.head_dim = dim(w, lead + 3);
      m.kv_heads = m.heads;
      m.qkv_layout = QkvLayout::kQkvPacked;
      first = w;
    } else if (auto* q = get("self_attention.query.w")) {
      expect_rank(q, 3 + lead, "query.w ([E,N,H])");
      m.split_qkv = true;
      m.qkv_evidence = ev(q);
      m.embed = dim(q, lead);
      m.heads = dim(q, lead + 1);
      m.head_dim = dim(q, lead + 2);
      first = q;
      const ListedArray* k = get("self_attention.key.w");
      if (!k) fail("{} exists but {}self_attention.key.w does not", q->name, layer0);
      if (k->shape.size() == 2 + lead) {
        m.mqa_no_head_axis = true;
        m.kv_heads = m.heads;
        m.kv_heads.value = 1;
        m.kv_heads.evidence = ev(k);
        m.kv_heads.axis = -1;
      } else {
        expect_rank(k, 3 + lead, "key.w ([E,K,H] or [E,H])");
        m.kv_heads = dim(k, lead + 1);
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
    m.mlp_dim = dim(w1, lead + 1);
    const ListedArray* gate = get("ff_layer.ffn_layer1_gate.linear.w");
    m.gated = gate != nullptr;
    m.mlp_evidence = ev(gate ? gate : w1);
    const ListedArray* b =
        any_of({"self_attention.combined_qkv.b", "self_attention.query.b", "self_attention.post.b",
                "ff_layer.ffn_layer1.bias.b", "ff_layer.ffn_layer2.bias.b"});
    m.biases = b != nullptr;
    m.bias_evidence = b ? ev(b) : ev(get("self_attention.post.w"));
    const ListedArray* ln = any_of({"layer_norm.scale", "ff_layer.layer_norm.scale"});
    m.layer_norms = ln != nullptr;
    m.ln_evidence = ln ? ev(ln) : ev(first);
  } else {
    if (auto* qkv = get("attention.qkv.kernel")) {
      expect_rank(qkv, 3 + lead, "attention.qkv.kernel ([E,3,D])");
      m.qkv_layout = QkvLayout::kQkvPacked;
      m.qkv_evidence = ev(qkv);
      m.embed = dim(qkv, lead);
      m.joined_heads = dim(qkv, lead + 2);
      m.joined_kv_heads = m.joined_heads;
      first = qkv;
    } else if (auto* q = get("attention.query.kernel")) {
      expect_rank(q, 2 + lead, "attention.query.kernel ([E,D])");
      m.qkv_layout = QkvLayout::kKvPacked;
      m.split_qkv = true;
      m.qkv_evidence = ev(q);
      m.embed = dim(q, lead);
      m.joined_heads = dim(q, lead + 1);
      const ListedArray* kv = get("attention.kv.kernel");
      if (!kv) fail("{} exists but {}attention.kv.kernel does not", q->name, te0);
      expect_rank(kv, 3 + lead, "attention.kv.kernel ([E,2,K*H])");
      m.joined_kv_heads = dim(kv, lead + 2);
      first = q;
    } else {
      fail("{}: no attention.qkv.kernel or attention.query.kernel under {}*", m.side_evidence.array,
           te0);
    }
    const ListedArray* wi = get("mlp.wi_kernel");
    if (!wi) fail("no {}mlp.wi_kernel (the MLP's first weight)", te0);
    expect_rank(wi, 3 + lead, "mlp.wi_kernel ([E,A,F])");
    m.mlp_dim = dim(wi, lead + 2);
    m.gated = wi->shape[lead + 1] == 2;
    m.single_wi = !m.gated;
    m.mlp_evidence = ev(wi);
    const ListedArray* b =
        any_of({"attention.qkv.bias", "attention.query.bias", "attention.out.bias", "mlp.wo_bias"});
    m.biases = b != nullptr;
    m.bias_evidence = b ? ev(b) : ev(get("attention.out.kernel"));
    const ListedArray* ln = any_of({"attention.qkv.scale", "attention.query.scale", "mlp.scale"});
    m.layer_norms = ln != nullptr;
    m.ln_evidence = ln ? ev(ln) : ev(first);
  }
  DetectedStack s = plain;
  if (m.pax_repeat) {
    s = DetectedStack{"transformer", first->shape[0], ev(first)};
  }
  m.layers = dim(first, m.pax_repeat ? 0 : -1);
  m.layers.value = s.layers;
  m.layers.evidence = s.evidence;
  m.stacks.push_back(s);
}

// -------------------------------------------------------------------------------------- T5X

void detect_t5x(const Names& names, DetectedModel& m) {
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
  m.side_evidence = ev(te ? te : fw);
  const std::string p = cat + m.stacks[0].name + ".layers_0.";
  const std::string attn = m.stacks[0].name == "encoder" ? "attention." : "self_attention.";
  const ListedArray* q = names.find(p + attn + "query.kernel");
  const ListedArray* qkv = names.find(p + attn + "qkv.kernel");
  if (m.side == Side::kTe) {
    m.t5x_fused = qkv != nullptr;
    if (qkv) {
      expect_rank(qkv, 3, "qkv.kernel ([E,3,D])");
      m.embed = dim(qkv, 0);
      m.joined_heads = dim(qkv, 2);
      m.qkv_evidence = ev(qkv);
    }
  }
  if (!m.qkv_evidence.array.size()) {
    if (!q) fail("no {}{}query.kernel (the self-attention's query)", p, attn);
    expect_rank(q, 2, "query.kernel ([E,D])");
    m.embed = dim(q, 0);
    m.joined_heads = dim(q, 1);
    m.qkv_evidence = ev(q);
  }
  const ListedArray* wi = te ? te : fw;
  if (m.side == Side::kTe) {
    expect_rank(wi, 3, "mlp.wi_kernel ([E,A,F])");
    m.mlp_dim = dim(wi, 2);
    m.gated = wi->shape[1] == 2;
  } else {
    expect_rank(wi, 2, "mlp.wi kernel ([E,F])");
    m.mlp_dim = dim(wi, 1);
    m.gated = ends_with(wi->name, "wi_0.kernel");
  }
  m.single_wi = !m.gated;
  m.mlp_evidence = ev(wi);
  // N: the relative position bias [N, buckets]; H = D / N.
  for (const char* s : {"encoder", "decoder"}) {
    const ListedArray* rel = names.find(cat + s + ".relpos_bias.rel_embedding");
    if (rel && rel->shape.size() == 2 && rel->shape[0] > 0 &&
        m.joined_heads.value % rel->shape[0] == 0) {
      m.heads = dim(rel, 0);
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
  m.ln_evidence = ln ? ev(ln) : ev(q ? q : qkv);
}

// ------------------------------------------------------------------------- optimizer, FP8

void detect_optimizer(const Names& names, DetectedModel& m) {
  const bool pax = m.framework == Framework::kPax;
  const std::string root = pax ? "mdl_vars." : "target.";
  const std::string weights = pax ? "mdl_vars.params." : "target.";
  std::map<std::string, const ListedArray*> params;  // path below root -> weight
  for (const auto& [name, a] : names.all()) {
    if (starts_with(name, weights)) params.emplace(name.substr(root.size()), a);
  }
  std::map<std::pair<std::string, std::string>, OptimizerGroup> groups;
  bool factored = false;  // a v_row / v_col (Pax: vr / vc) that is not a [1] placeholder
  for (const auto& [name, a] : names.all()) {
    if (starts_with(name, root) || name.find("fp8_meta") != std::string::npos) continue;
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
        g.example = ev(a);
      }
      ++g.arrays;
      if ((slot == ".v_row" || slot == ".v_col") && a->shape != Shape{1}) factored = true;
      break;
    }
  }
  // Kinds. Adafactor: per-parameter slots v / v_row / v_col (T5X), or Pax's vr / vc groups.
  for (const auto& [key, g] : groups) {
    if (ends_with(g.prefix, ".vr.") || ends_with(g.prefix, ".vc.")) factored = true;
  }
  for (auto& [key, g] : groups) {
    if (!g.suffix.empty() || ends_with(g.prefix, ".vr.") || ends_with(g.prefix, ".vc.")) {
      g.kind = factored ? OptimizerKind::kAdafactorFactored : OptimizerKind::kAdafactorUnfactored;
    } else if (ends_with(g.prefix, ".m.") || ends_with(g.prefix, ".v.") ||
               ends_with(g.prefix, "_2.m.") || ends_with(g.prefix, "_2.v.")) {
      g.kind = OptimizerKind::kAdamMV;
    } else if (ends_with(g.prefix, ".mu.") || ends_with(g.prefix, ".nu.")) {
      g.kind = OptimizerKind::kAdamMuNu;
    } else {
      g.kind = OptimizerKind::kMirror;
    }
    // Pax keeps "params." in the group path: show the prefix up to it.
    m.optimizer_groups.push_back(g);
  }
}

void detect_fp8(const Names& names, DetectedModel& m) {
  for (const auto& [name, a] : names.all()) {
    std::string format;
    if (name.find("fp8_meta_collection.") != std::string::npos) {
      format = "F17";
    } else if (name.find("fp8_metas.") != std::string::npos) {
      format = ends_with(name, "_amax_history") || ends_with(name, "_scale") ? "F23" : "F18";
    } else {
      continue;
    }
    if (!m.fp8_present) {
      m.fp8_present = true;
      m.fp8_format = format;
      m.fp8_evidence = ev(a);
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
  std::vector<std::string> v;
  if (framework == Framework::kPax) {
    v.push_back(pax_repeat ? "repeat" : "no repeat");
    if (side == Side::kFramework) {
      v.push_back(*split_qkv ? "split QKV" : "combined QKV");
      if (mqa_no_head_axis) v.push_back("key/value without head axis");
    }
    if (side == Side::kTe || qkv_layout == QkvLayout::kKvPacked)
      v.push_back(qkv_layout == QkvLayout::kKvPacked ? "kv_packed" : "qkv_packed");
  } else if (t5x_fused) {
    v.push_back(*t5x_fused ? "fused QKV" : "QKV not fused");
  }
  v.push_back(gated                                                        ? "gated MLP"
              : (framework == Framework::kT5x && side == Side::kFramework) ? "single wi"
                                                                           : "MLP not gated");
  if (framework == Framework::kPax) v.push_back(biases ? "biases" : "no biases");
  v.push_back(layer_norms ? "layer norms" : "no layer norms");
  return v;
}

std::string DetectedModel::summary() const {
  std::string stacks_text;
  if (framework == Framework::kT5x) {
    std::vector<std::string> parts;
    for (const auto& s : stacks) parts.push_back(fmt::format("{} L={}", s.name, s.layers));
    stacks_text = fmt::format("{}", fmt::join(parts, ", "));
  } else {
    stacks_text = fmt::format("L={}", layers.value);
  }
  std::string dims = fmt::format("{} {} {} {}", dim_text("E", embed), dim_text("N", heads),
                                 dim_text("H", head_dim), dim_text("K", kv_heads));
  if (!heads.known() && joined_heads.known()) dims += fmt::format(" D={}", joined_heads.value);
  if (!kv_heads.known() && joined_kv_heads.known() && qkv_layout == QkvLayout::kKvPacked)
    dims += fmt::format(" K*H={}", joined_kv_heads.value);
  dims += " " + dim_text("F", mlp_dim);
  std::string opt = "no optimizer state";
  if (!optimizer_groups.empty()) {
    std::set<std::string> kinds;
    for (const auto& g : optimizer_groups) kinds.insert(optimizer_kind_name(g.kind));
    opt = fmt::format("optimizer {} ({} groups)", fmt::join(kinds, ", "), optimizer_groups.size());
  }
  std::string fp8 = fp8_present ? fmt::format("FP8 metadata {}", fp8_format) : "no FP8 metadata";
  return fmt::format("{} {} layout, {}, {}, {}, {}, {}",
                     framework == Framework::kPax ? "Pax" : "T5X",
                     side == Side::kTe ? "TE" : (framework == Framework::kPax ? "Pax" : "T5X"),
                     stacks_text, dims, fmt::join(variants(), ", "), opt, fp8);
}

DetectedModel detect_model(const Listing& listing) {
  using checkpoint::Format;
  DetectedModel m;
  m.format = listing.format;
  if (listing.format == Format::kZarrArray) {
    fail("a single zarr array is not a model checkpoint: give the checkpoint folder");
  }
  Names names(listing);
  if (listing.format == Format::kT5x || listing.format == Format::kT5xOrbax) {
    m.framework = Framework::kT5x;
  } else if (listing.format == Format::kOrbax) {
    // A generic Orbax step says nothing about its producer; Pax names its tree mdl_vars.
    m.framework = Framework::kT5x;
    for (const auto& a : listing.arrays) {
      if (a.name.rfind("mdl_vars.", 0) == 0) m.framework = Framework::kPax;
    }
  } else {
    m.framework = Framework::kPax;
  }
  if (m.framework == Framework::kPax) {
    detect_pax(names, m);
  } else {
    detect_t5x(names, m);
  }
  detect_optimizer(names, m);
  detect_fp8(names, m);
  return m;
}

}  // namespace te::plan
