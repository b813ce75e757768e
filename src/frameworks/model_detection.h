#pragma once
// The model a checkpoint holds, read from its listing alone (array names, shapes and dtypes; no
// chunk data): the framework, which side it is on (framework layout or TE layout), the layer
// stacks and their depth, every dimension the names and shapes show, the variants (combined or
// split QKV, TE qkv_packed or kv_packed, T5X fused QKV on the TE side, gated MLP, biases, layer
// norms), the optimizer groups that mirror the parameters, and FP8 metadata.
//
// What the listing cannot show stays unknown (0 or nullopt) and is left to a flag with its
// documented default: the gated branch order (TE's version decides), Pax's N and H on the TE side
// (TE joins them into D = N*H), the framework layout a TE checkpoint goes back to (Pax combined or
// split QKV for qkv_packed), and the TE layout a framework checkpoint goes to (T5X fused QKV,
// Pax kv_packed when K = N). Each detected fact keeps the array that showed it, so that a flag
// that contradicts it can be refused with that array and its shape.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "rules/model_options.h"
#include "util/bytes.h"

namespace te::frameworks {

// One array of a listing.
struct ListedArray {
  std::string name;
  Shape shape;
  std::string dtype;  // e.g. "float32", "bfloat16"
};

struct Listing {
  checkpoint::Format format = checkpoint::Format::kPaxLayout0;
  std::vector<ListedArray> arrays;
};

// The listing of an opened checkpoint (names, shapes, dtypes).
Listing listing_of(const checkpoint::Checkpoint& checkpoint);

enum class Side { kFramework, kTe };

// The array whose name or shape showed a fact.
struct Evidence {
  std::string array;
  Shape shape;
  std::string text() const;  // "name [a,b,c]"
};

// A dimension read from one axis of an array: value * factor == shape[axis] (factor > 1 where an
// axis joins it with another, e.g. TE's D = N * H). value 0: not known from the listing.
struct DetectedDim {
  int64_t value = 0;
  Evidence evidence;
  int axis = -1;
  bool known() const { return value > 0; }
};

struct DetectedStack {
  std::string name;  // "transformer" (Pax), "encoder" or "decoder" (T5X)
  int64_t layers = 0;
  Evidence evidence;  // the last layer's first array, or the repeat array with the [L] axis
};

enum class OptimizerKind {
  kAdamMV,               // Pax Adam: <group>.m.params.*, <group>.v.params.*
  kAdamMuNu,             // optax adam/adamw: ...mu.*, ...nu.*
  kMirror,               // another group with the parameters' names and shapes
  kAdafactorFactored,    // v_row / v_col (or Pax vr / vc) with factored shapes
  kAdafactorUnfactored,  // v with the parameter's shape, m / v_row / v_col [1] placeholders
};
std::string optimizer_kind_name(OptimizerKind kind);

// A group of optimizer state that mirrors the parameters: a prefix (e.g. "opt_states_0_2.m.",
// "state.param_states.1.0.mu.") in front of the parameter names, or, for Adafactor's per-parameter
// slots, a prefix and a slot suffix (e.g. "state.param_states." + parameter + ".v").
struct OptimizerGroup {
  std::string prefix;
  std::string suffix;  // empty for prefix groups
  OptimizerKind kind = OptimizerKind::kMirror;
  int64_t arrays = 0;  // arrays of the group that mirror a parameter
  Evidence example;
};

struct DetectedModel {
  rules::Framework framework = rules::Framework::kPax;
  checkpoint::Format format = checkpoint::Format::kPaxLayout0;
  Side side = Side::kFramework;
  Evidence side_evidence;  // an array only that side has

  bool pax_repeat = false;
  Evidence repeat_evidence;  // an array under the repeat (or the x_layers_<i>) prefix
  std::vector<DetectedStack> stacks;

  DetectedDim layers;           // L (the common depth of every stack)
  DetectedDim embed;            // E
  DetectedDim heads;            // N
  DetectedDim head_dim;         // H
  DetectedDim kv_heads;         // K
  DetectedDim mlp_dim;          // F
  DetectedDim joined_heads;     // D = N * H (T5X; Pax TE side)
  DetectedDim joined_kv_heads;  // K * H (Pax TE kv_packed)

  // Pax: split query/key/value (framework side; on the TE side kv_packed implies it, qkv_packed
  // leaves it to --pax-split-qkv).
  std::optional<bool> split_qkv;
  Evidence qkv_evidence;  // the attention's first array (combined_qkv.w, query.w, qkv.kernel)
  // Pax TE side; on the framework side the layout K < N needs (nullopt where K = N: a choice).
  std::optional<rules::QkvLayout> qkv_layout;
  bool mqa_no_head_axis = false;  // Pax key/value stored as [E,H]
  // T5X TE side: fused (qkv.kernel) or not; nullopt on the framework side (a choice).
  std::optional<bool> t5x_fused;
  bool gated = false;
  bool single_wi = false;  // T5X: one wi (not wi_0 / wi_1); TE: wi_kernel [E,1,F]
  Evidence mlp_evidence;
  bool biases = false;
  Evidence bias_evidence;  // a bias array found (or, without biases, the array that would be one)
  bool layer_norms = false;
  Evidence ln_evidence;

  std::vector<OptimizerGroup> optimizer_groups;

  bool fp8_present = false;
  std::string fp8_format;  // "F17", "F18", "F23" or "unknown"
  Evidence fp8_evidence;
  int64_t fp8_arrays = 0;

  // One line, e.g. "Pax TE layout, L=8, E=512 N=? H=? K=? D=384 F=1024, repeat, qkv_packed, ...".
  std::string summary() const;
  // The variant words of the summary: "combined QKV", "gated MLP", "no biases", ...
  std::vector<std::string> variants() const;
};

// Reads the model from a listing. Throws te::Error naming the arrays when the listing holds no
// model te-ckpt knows, or when two readings fit (naming both and the flag that decides).
DetectedModel detect_model(const Listing& listing);

}  // namespace te::frameworks
