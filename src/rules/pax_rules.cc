#include "rules/pax_rules.h"

namespace te::rules {

LayerStack pax_layer_stack(const ModelOptions& o) {
  const bool kv_packed = o.qkv_layout == QkvLayout::kKvPacked;
  const bool bias = !o.skip_bias, ln = !o.skip_ln;
  const char* kSkipLn = "does the model have no layer norm in its layers (--skip-ln)?";
  const char* kSkipBias = "does the model have no biases (--skip-bias)?";
  const char* kSplit = "is this a split-QKV checkpoint (--pax-split-qkv)?";
  const char* kCombined = "is the QKV combined (drop --pax-split-qkv)?";
  const char* kGated = "is the MLP gated (--use-gated-activations)?";
  const char* kNotGated = "is the MLP not gated (drop --use-gated-activations)?";

  std::vector<RuleGroup> g;
  auto add = [&](bool when, Rule rule) {
    if (when) g.push_back({{std::move(rule)}});
  };
  // The attention block's layer norm lives on the first attention GEMM.
  const std::string attn_ln = kv_packed ? "attention.query" : "attention.qkv";
  add(ln, {{{"layer_norm.scale"}, "e"}, {{attn_ln + ".scale"}, "e"}, false, {}, kSkipLn});
  add(ln && bias,
      {{{"layer_norm.bias"}, "e"}, {{attn_ln + ".ln_bias"}, "e"}, false, {}, kSkipBias});

  if (!o.pax_split_qkv) {
    add(true, {{{"self_attention.combined_qkv.w"}, "s e n h"},
               {{"attention.qkv.kernel"}, "e s (n h)"},
               true,
               Fp8Gemm{"attention.qkv", 0},
               kSplit});
    add(bias, {{{"self_attention.combined_qkv.b"}, "s n h"},
               {{"attention.qkv.bias"}, "s (n h)"},
               false,
               {},
               kSkipBias});
  } else if (!kv_packed) {
    add(true,
        {{{"self_attention.query.w", "self_attention.key.w", "self_attention.value.w"}, "e n h"},
         {{"attention.qkv.kernel"}, "e s (n h)"},
         true,
         Fp8Gemm{"attention.qkv", 0},
         kCombined});
    add(bias,
        {{{"self_attention.query.b", "self_attention.key.b", "self_attention.value.b"}, "n h"},
         {{"attention.qkv.bias"}, "s (n h)"},
         false,
         {},
         kSkipBias});
  } else {
    add(true, {{{"self_attention.query.w"}, "e n h"},
               {{"attention.query.kernel"}, "e (n h)"},
               true,
               Fp8Gemm{"attention.query", 0},
               kCombined});
    add(bias, {{{"self_attention.query.b"}, "n h"},
               {{"attention.query.bias"}, "(n h)"},
               false,
               {},
               kSkipBias});
    // Multi-query attention (K = 1) may store key/value without the head axis.
    add(true, {{{"self_attention.key.w", "self_attention.value.w"}, "e g? h"},
               {{"attention.kv.kernel"}, "e s (g h)"},
               true,
               Fp8Gemm{"attention.kv", 0},
               kCombined});
    add(bias, {{{"self_attention.key.b", "self_attention.value.b"}, "g? h"},
               {{"attention.kv.bias"}, "s (g h)"},
               false,
               {},
               kSkipBias});
  }
  add(true, {{{"self_attention.post.w"}, "e n h"},
             {{"attention.out.kernel"}, "(n h) e"},
             true,
             Fp8Gemm{"attention.out", 0},
             ""});
  add(bias,
      {{{"self_attention.post.b"}, "e"}, {{"attention.out.bias"}, "e"}, false, {}, kSkipBias});

  add(ln, {{{"ff_layer.layer_norm.scale"}, "e"}, {{"mlp.scale"}, "e"}, false, {}, kSkipLn});
  add(ln && bias,
      {{{"ff_layer.layer_norm.bias"}, "e"}, {{"mlp.ln_bias"}, "e"}, false, {}, kSkipBias});
  if (o.gated) {
    bool linear_first = o.gated_order == GatedOrder::kLinearFirst;
    auto pair = [&](const std::string& a, const std::string& b) {
      return linear_first ? std::vector<std::string>{a, b} : std::vector<std::string>{b, a};
    };
    add(true, {{pair("ff_layer.ffn_layer1.linear.w", "ff_layer.ffn_layer1_gate.linear.w"), "e f"},
               {{"mlp.wi_kernel"}, "e s f"},
               true,
               Fp8Gemm{"mlp", 0},
               kNotGated});
    add(bias, {{pair("ff_layer.ffn_layer1.bias.b", "ff_layer.ffn_layer1_gate.bias.b"), "f"},
               {{"mlp.wi_bias"}, "s f"},
               false,
               {},
               kSkipBias});
  } else {
    add(true, {{{"ff_layer.ffn_layer1.linear.w"}, "e f"},
               {{"mlp.wi_kernel"}, "e 1 f"},
               true,
               Fp8Gemm{"mlp", 0},
               kGated});
    add(bias,
        {{{"ff_layer.ffn_layer1.bias.b"}, "f"}, {{"mlp.wi_bias"}, "1 f"}, false, {}, kSkipBias});
  }
  add(true, {{{"ff_layer.ffn_layer2.linear.w"}, "f e"},
             {{"mlp.wo_kernel"}, "f e"},
             true,
             Fp8Gemm{"mlp", 1},
             ""});
  add(bias, {{{"ff_layer.ffn_layer2.bias.b"}, "e"}, {{"mlp.wo_bias"}, "e"}, false, {}, kSkipBias});

  LayerStack stack;
  stack.fw_prefix =
      o.pax_repeat ? "lm.transformer.repeat.sub.x_layers_0" : "lm.transformer.x_layers_{i}";
  stack.te_prefix = stack.fw_prefix;
  stack.te_prefix.append(".transformerlayer.cld");
  stack.count = o.pax_repeat ? 1 : static_cast<int>(o.layers);
  // Repeat stacks the layers along a leading axis of every layer array.
  if (o.pax_repeat) stack.stack_axis.assign(1, 'l');
  stack.groups = std::move(g);
  return stack;
}

}  // namespace te::rules
