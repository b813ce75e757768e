#pragma once
// In-memory listings (names and shapes only) of Pax and T5X models, framework or TE side, for
// every variant the test generators (tests/py/paxgen.py, t5xgen.py) produce. Built from
// MAPPING.md's tables, independently of the rules: detection and planning tests check the rules
// against them.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "frameworks/model_detection.h"

namespace te::frameworks::listings {

using checkpoint::Format;

struct PaxModel {
  int64_t L = 2, N = 4, H = 4, E = 16, F = 32, K = 0;
  bool repeat = false, split = false, kv_packed = false, mqa_no_head = false, gated = false;
  bool skip_bias = false, skip_ln = false, opt = true;
  int64_t kv() const { return K ? K : N; }
};

// Pax layer arrays (MAPPING.md 1), framework or TE side.
inline Listing pax_listing(const PaxModel& m, bool te) {
  Listing l;
  l.format = Format::kPaxLayout0;
  std::vector<std::pair<std::string, Shape>> layer;
  const int64_t E = m.E, N = m.N, H = m.H, F = m.F, K = m.kv(), D = N * H;
  auto add = [&](const std::string& n, Shape s) { layer.push_back({n, std::move(s)}); };
  if (!te) {
    if (!m.skip_ln) {
      add("layer_norm.scale", {E});
      if (!m.skip_bias) add("layer_norm.bias", {E});
      add("ff_layer.layer_norm.scale", {E});
      if (!m.skip_bias) add("ff_layer.layer_norm.bias", {E});
    }
    if (m.split) {
      Shape kvw = m.mqa_no_head ? Shape{E, H} : Shape{E, K, H};
      Shape kvb = m.mqa_no_head ? Shape{H} : Shape{K, H};
      add("self_attention.query.w", {E, N, H});
      add("self_attention.key.w", kvw);
      add("self_attention.value.w", kvw);
      if (!m.skip_bias) {
        add("self_attention.query.b", {N, H});
        add("self_attention.key.b", kvb);
        add("self_attention.value.b", kvb);
      }
    } else {
      add("self_attention.combined_qkv.w", {3, E, N, H});
      if (!m.skip_bias) add("self_attention.combined_qkv.b", {3, N, H});
    }
    add("self_attention.post.w", {E, N, H});
    if (!m.skip_bias) add("self_attention.post.b", {E});
    add("ff_layer.ffn_layer1.linear.w", {E, F});
    if (!m.skip_bias) add("ff_layer.ffn_layer1.bias.b", {F});
    if (m.gated) {
      add("ff_layer.ffn_layer1_gate.linear.w", {E, F});
      if (!m.skip_bias) add("ff_layer.ffn_layer1_gate.bias.b", {F});
    }
    add("ff_layer.ffn_layer2.linear.w", {F, E});
    if (!m.skip_bias) add("ff_layer.ffn_layer2.bias.b", {E});
  } else {
    const std::string t = "transformerlayer.cld.";
    const std::string attn = m.kv_packed ? "attention.query" : "attention.qkv";
    if (!m.skip_ln) {
      add(t + attn + ".scale", {E});
      if (!m.skip_bias) add(t + attn + ".ln_bias", {E});
      add(t + "mlp.scale", {E});
      if (!m.skip_bias) add(t + "mlp.ln_bias", {E});
    }
    if (m.kv_packed) {
      add(t + "attention.query.kernel", {E, D});
      add(t + "attention.kv.kernel", {E, 2, K * H});
      if (!m.skip_bias) {
        add(t + "attention.query.bias", {D});
        add(t + "attention.kv.bias", {2, K * H});
      }
    } else {
      add(t + "attention.qkv.kernel", {E, 3, D});
      if (!m.skip_bias) add(t + "attention.qkv.bias", {3, D});
    }
    add(t + "attention.out.kernel", {D, E});
    if (!m.skip_bias) add(t + "attention.out.bias", {E});
    add(t + "mlp.wi_kernel", {E, m.gated ? 2 : 1, F});
    if (!m.skip_bias) add(t + "mlp.wi_bias", {m.gated ? 2 : 1, F});
    add(t + "mlp.wo_kernel", {F, E});
    if (!m.skip_bias) add(t + "mlp.wo_bias", {E});
  }
  auto put = [&](const std::string& name, Shape s) { l.arrays.push_back({name, s, "float32"}); };
  std::vector<std::string> prefixes;
  if (m.repeat) {
    prefixes.push_back("lm.transformer.repeat.sub.x_layers_0.");
  } else {
    for (int64_t i = 0; i < m.L; ++i)
      prefixes.push_back("lm.transformer.x_layers_" + std::to_string(i) + ".");
  }
  std::vector<std::string> groups = {"mdl_vars."};
  if (m.opt) {
    std::string g =
        m.repeat ? "opt_states_0.p#" + std::to_string(m.L) + "#i-1_2." : "opt_states_0_2.";
    groups.push_back(g + "m.");
    groups.push_back(g + "v.");
  }
  for (const auto& g : groups) {
    for (const auto& p : prefixes) {
      for (const auto& [n, s] : layer) {
        Shape full = s;
        if (m.repeat) full.insert(full.begin(), m.L);
        put(g + "params." + p + n, full);
      }
    }
    put(g + "params.lm.embedding_lookup.emb_var", {24, E});
    put(g + "params.lm.final_ln.scale", {E});
  }
  put("step", {});
  return l;
}

struct T5xModel {
  int64_t L = 2, N = 4, H = 3, E = 8, F = 16;
  bool encoder = true, decoder = true, gated = true, skip_ln = false;
  std::string optimizer = "adamw";  // adamw, adam, adafactor, none
};

inline Listing t5x_listing(const T5xModel& m, bool te, bool fused) {
  Listing l;
  l.format = Format::kT5x;
  std::vector<std::pair<std::string, Shape>> params;
  const int64_t E = m.E, D = m.N * m.H, F = m.F;
  auto add = [&](const std::string& n, Shape s) { params.push_back({n, std::move(s)}); };
  add("token_embedder.embedding", {32, E});
  for (const char* stack : {"encoder", "decoder"}) {
    bool enc = std::string(stack) == "encoder";
    if ((enc && !m.encoder) || (!enc && !m.decoder)) continue;
    add(std::string(stack) + ".relpos_bias.rel_embedding", {m.N, 32});
    add(std::string(stack) + (enc ? ".encoder_norm.scale" : ".decoder_norm.scale"), {E});
    for (int64_t i = 0; i < m.L; ++i) {
      std::string p = std::string(stack) + ".layers_" + std::to_string(i) + ".";
      std::vector<std::string> atts =
          enc ? std::vector<std::string>{"attention"}
              : std::vector<std::string>{"self_attention", "encoder_decoder_attention"};
      for (const auto& a : atts) {
        bool cross = a == "encoder_decoder_attention";
        std::string ln = a == "attention"        ? "pre_attention_layer_norm"
                         : a == "self_attention" ? "pre_self_attention_layer_norm"
                                                 : "pre_cross_attention_layer_norm";
        if (!m.skip_ln) {
          add(te ? p + a + "." + (fused && !cross ? "qkv" : "query") + ".scale" : p + ln + ".scale",
              {E});
        }
        if (te && fused && !cross) {
          add(p + a + ".qkv.kernel", {E, 3, D});
        } else if (te && fused) {
          add(p + a + ".query.kernel", {E, D});
          add(p + a + ".kv.kernel", {E, 2, D});
        } else {
          for (const char* w : {"query", "key", "value"}) add(p + a + "." + w + ".kernel", {E, D});
        }
        add(p + a + ".out.kernel", {D, E});
      }
      if (!m.skip_ln) add(te ? p + "mlp.scale" : p + "pre_mlp_layer_norm.scale", {E});
      if (te) {
        add(p + "mlp.wi_kernel", {E, m.gated ? 2 : 1, F});
        add(p + "mlp.wo_kernel", {F, E});
      } else {
        if (m.gated) {
          add(p + "mlp.wi_0.kernel", {E, F});
          add(p + "mlp.wi_1.kernel", {E, F});
        } else {
          add(p + "mlp.wi.kernel", {E, F});
        }
        add(p + "mlp.wo.kernel", {F, E});
      }
    }
  }
  for (const auto& [n, s] : params) {
    l.arrays.push_back({"target." + n, s, "float32"});
    if (m.optimizer == "adamw" || m.optimizer == "adam") {
      std::string pre =
          m.optimizer == "adamw" ? "state.param_states.1.0." : "state.param_states.0.";
      l.arrays.push_back({pre + "mu." + n, s, "float32"});
      l.arrays.push_back({pre + "nu." + n, s, "float32"});
    } else if (m.optimizer == "adafactor") {
      std::string pre = "state.param_states." + n + ".";
      l.arrays.push_back({pre + "m", {1}, "float32"});
      l.arrays.push_back({pre + "v", s, "float32"});
      l.arrays.push_back({pre + "v_col", {1}, "float32"});
      l.arrays.push_back({pre + "v_row", {1}, "float32"});
    } else if (m.optimizer == "adafactor-factored") {
      std::string pre = "state.param_states." + n + ".";
      l.arrays.push_back({pre + "m", {1}, "float32"});
      l.arrays.push_back({pre + "v", {1}, "float32"});
      // As t5xgen writes it: rank >= 2 factored, a vector keeps an unfactored v.
      bool vec = s.size() < 2;
      l.arrays.push_back({pre + "v_col", vec ? Shape{1} : Shape{s.back()}, "float32"});
      l.arrays.push_back({pre + "v_row", vec ? Shape{1} : Shape{s.front()}, "float32"});
    }
  }
  l.arrays.push_back({"state.step", {}, "int32"});
  return l;
}

}  // namespace te::frameworks::listings
