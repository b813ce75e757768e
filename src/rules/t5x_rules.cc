#include "rules/t5x_rules.h"

namespace te::rules {
namespace {

const char* kSkipLn = "does the model have no layer norm in its layers (--skip-ln)?";
const char* kFused = "is the TE side fused (--t5x-fuse-qkv)?";

void add(std::vector<RuleGroup>& g, bool when, Rule rule) {
  if (when) g.push_back({{std::move(rule)}});
}

Rule identity(const std::string& name, const std::string& pattern, Fp8Gemm fp8) {
  return {{{name}, pattern}, {{name}, pattern}, true, fp8, ""};
}

// Self-attention (encoder "attention", decoder "self_attention") with its layer norm.
void add_self_attention(std::vector<RuleGroup>& g, const ModelOptions& o, const std::string& ln,
                        const std::string& attn) {
  const bool fused = o.t5x_fuse_qkv;
  add(g, !o.skip_ln,
      {{{ln + ".scale"}, "e"},
       {{attn + (fused ? ".qkv" : ".query") + ".scale"}, "e"},
       false,
       {},
       kSkipLn});
  if (fused) {
    add(g, true,
        {{{attn + ".query.kernel", attn + ".key.kernel", attn + ".value.kernel"}, "e d"},
         {{attn + ".qkv.kernel"}, "e s d"},
         true,
         Fp8Gemm{attn + ".qkv", 0},
         ""});
  } else {
    for (const char* p : {"query", "key", "value"}) {
      add(g, true, identity(attn + "." + p + ".kernel", "e d", {attn + "." + p, 0}));
    }
  }
  add(g, true, identity(attn + ".out.kernel", "d e", {attn + ".out", 0}));
}

void add_mlp(std::vector<RuleGroup>& g, const ModelOptions& o) {
  add(g, !o.skip_ln,
      {{{"pre_mlp_layer_norm.scale"}, "e"}, {{"mlp.scale"}, "e"}, false, {}, kSkipLn});
  // Gated (wi_0, wi_1) or single-activation (wi) MLP, whichever the checkpoint holds.
  g.push_back({{Rule{{{"mlp.wi_0.kernel", "mlp.wi_1.kernel"}, "e f"},
                     {{"mlp.wi_kernel"}, "e s f"},
                     true,
                     Fp8Gemm{"mlp", 0},
                     ""},
                Rule{{{"mlp.wi.kernel"}, "e f"},
                     {{"mlp.wi_kernel"}, "e 1 f"},
                     true,
                     Fp8Gemm{"mlp", 0},
                     ""}}});
  add(g, true,
      {{{"mlp.wo.kernel"}, "f e"}, {{"mlp.wo_kernel"}, "f e"}, true, Fp8Gemm{"mlp", 1}, ""});
}

}  // namespace

LayerStack t5x_encoder_stack(const ModelOptions& o) {
  LayerStack s{"encoder.layers_{i}", "encoder.layers_{i}", static_cast<int>(o.layers), "", {}};
  add_self_attention(s.groups, o, "pre_attention_layer_norm", "attention");
  add_mlp(s.groups, o);
  return s;
}

LayerStack t5x_decoder_stack(const ModelOptions& o) {
  LayerStack s{"decoder.layers_{i}", "decoder.layers_{i}", static_cast<int>(o.layers), "", {}};
  add_self_attention(s.groups, o, "pre_self_attention_layer_norm", "self_attention");
  const std::string x = "encoder_decoder_attention";
  add(s.groups, !o.skip_ln,
      {{{"pre_cross_attention_layer_norm.scale"}, "e"},
       {{x + ".query.scale"}, "e"},
       false,
       {},
       kSkipLn});
  add(s.groups, true, identity(x + ".query.kernel", "e d", {x + ".query", 0}));
  if (o.t5x_fuse_qkv) {
    add(s.groups, true,
        {{{x + ".key.kernel", x + ".value.kernel"}, "e d"},
         {{x + ".kv.kernel"}, "e s d"},
         true,
         Fp8Gemm{x + ".kv", 0},
         kFused});
  } else {
    add(s.groups, true, identity(x + ".key.kernel", "e d", {x + ".key", 0}));
    add(s.groups, true, identity(x + ".value.kernel", "e d", {x + ".value", 0}));
  }
  add(s.groups, true, identity(x + ".out.kernel", "d e", {x + ".out", 0}));
  add_mlp(s.groups, o);
  return s;
}

}  // namespace te::rules
