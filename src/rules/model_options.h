#pragma once
// What the user told te-ckpt about the model (the seed's flags), after validation.
#include <cstdint>
#include <map>
#include <string>

#include "rules/fp8_format.h"

namespace te::rules {

enum class Framework { kPax, kT5x };
// kTeToTe: a TE-side checkpoint stays TE; its FP8 metadata is rewritten into another format.
enum class Direction { kFwToTe, kTeToFw, kTeToTe };
enum class QkvLayout { kQkvPacked, kKvPacked };
// Order of the two branches stacked into TE's gated wi_kernel.
enum class GatedOrder {
  kLinearFirst,     // [ffn_layer1, ffn_layer1_gate]: TE <= 1.7 with Praxis' ('linear', act)
  kActivatedFirst,  // [ffn_layer1_gate, ffn_layer1]: TE >= 1.8
};

// The largest model dimension a flag may give (and N x H): 31 bits, far above any real model and
// small enough that a product of two dimensions never overflows int64.
inline constexpr int64_t kMaxModelDim = (int64_t{1} << 31) - 1;

// The command-line flag that sets ModelOptions::mqa_drop_head_axis, as messages quote it.
inline constexpr const char* kMqaDropHeadAxisFlag = "--pax-mqa-drop-head-axis";

struct ModelOptions {
  Framework framework = Framework::kPax;
  Direction direction = Direction::kFwToTe;
  int64_t layers = 0;      // L
  int64_t heads = 0;       // N
  int64_t head_dim = 0;    // H
  int64_t mlp_dim = 0;     // F
  int64_t embed_dim = 0;   // E; 0 = infer from the arrays (Pax)
  int64_t gqa_groups = 0;  // K; 0 = N
  bool weight_only = false;
  bool skip_ln = false;
  bool skip_bias = false;
  bool gated = false;
  bool pax_repeat = false;
  bool pax_split_qkv = false;
  bool mqa_drop_head_axis = false;  // te2fw, K = 1: write key/value as [E,H] / [H]
  bool t5x_fuse_qkv = false;
  QkvLayout qkv_layout = QkvLayout::kQkvPacked;
  GatedOrder gated_order = GatedOrder::kLinearFirst;
  bool gen_fp8_meta = false;
  int64_t amax_history_len = 1024;
  // te2te: false keeps the source's history length (--amax-history-len not given).
  bool amax_history_len_given = false;
  Fp8MetaFormat fp8_meta_format = Fp8MetaFormat::kTe18;  // --fp8-meta-format
  Fp8Recipe fp8_recipe;                                  // --fp8-format, --fp8-margin
  std::string fp8_collection = kFp8MetasCollection;      // F23's collection (--fp8-collection)

  int64_t kv_heads() const { return gqa_groups > 0 ? gqa_groups : heads; }

  // The sizes of the named axes the rule patterns use: l (layers), e (embed; `embed` overrides
  // embed_dim, e.g. when inferred), n (heads), g (key/value heads), h (head dim), f (MLP dim),
  // d (n * h, T5X's joined heads) and s (3, the q/k/v axis of a combined array).
  std::map<std::string, int64_t> axis_sizes(int64_t embed = 0) const {
    return {{"l", layers},
            {"e", embed > 0 ? embed : embed_dim},
            {"n", heads},
            {"g", kv_heads()},
            {"h", head_dim},
            {"f", mlp_dim},
            {"d", heads * head_dim},
            {"s", 3}};
  }
};

}  // namespace te::rules
