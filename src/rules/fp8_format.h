#pragma once
// The three on-disk formats of TransformerEngine's FP8 metadata (te-fp8-format.md §1, §3-5) and
// their names: which arrays a TE module holds in each, and which format a checkpoint holds.
//   F17 (TE 0.8-1.7): collection fp8_meta_collection, per module fp8_max [3G,1],
//       fp8_meta_amax [3G,n], fp8_meta_scale [3G,1], fp8_meta_scale_inv [3G,1] (row 3g+t).
//   F18 (TE 1.8-2.2): collection fp8_metas, per GEMM g amax_{i,w,g}_<g> [n], scale_{i,w,g}_<g> [1].
//   F23 (TE 2.3+): collection fp8_metas (or any name), per GEMM {x,kernel,grad}<q>_amax_history
//       [n] and {x,kernel,grad}<q>_scale [1], q empty for one GEMM, _<g> for LayerNormMLP.
// Every array is float32 with a leading [L] under Pax Repeat. Names only: no I/O here.
#include <optional>
#include <string>
#include <vector>

namespace te::rules {

enum class Fp8MetaFormat { kTe17, kTe18, kTe23 };

// "te1.7", "te1.8", "te2.3" (the --fp8-meta-format spelling).
std::string fp8_meta_format_flag(Fp8MetaFormat f);
// "F17 (TE 0.8-1.7, fp8_meta_collection)", for messages and inspect.
std::string fp8_meta_format_label(Fp8MetaFormat f);
std::optional<Fp8MetaFormat> parse_fp8_meta_format(const std::string& text);

// The run's recipe as far as the stored values depend on it (algo is always `max`, as Pax and
// T5X fix it). HYBRID: input/kernel E4M3 (448), grad E5M2 (57344); E4M3: 448 for all three.
struct Fp8Recipe {
  bool hybrid = true;
  int margin = 0;  // TE's recipe margin: scales are M / amax / 2^margin
  // The FP8 maximum of tensor t (0 input, 1 kernel, 2 grad).
  float max_of(int tensor) const { return tensor == 2 && hybrid ? 57344.0f : 448.0f; }
};

inline constexpr const char* kF17Collection = "fp8_meta_collection";
inline constexpr const char* kFp8MetasCollection = "fp8_metas";
// The F17 leaves of one module, in this order.
inline constexpr const char* kF17Leaves[4] = {"fp8_max", "fp8_meta_amax", "fp8_meta_scale",
                                              "fp8_meta_scale_inv"};

// F18 leaf of GEMM g, tensor t: "amax_w_1", "scale_i_0" (history = amax, else scale).
std::string f18_leaf(bool history, int tensor, int gemm);
// F23 leaf of GEMM g of a module with `gemms` GEMMs: "kernel_amax_history", "x_1_scale".
std::string f23_leaf(bool history, int tensor, int gemm, int gemms);
// Every leaf of a module with `gemms` GEMMs in format f (F17: the four, F18/F23: 6 per GEMM).
std::vector<std::string> fp8_module_leaves(Fp8MetaFormat f, int gemms);

// Parsed name of one FP8 array: <root><collection>.<module>.<leaf>.
struct Fp8ArrayName {
  Fp8MetaFormat format;
  std::string root;        // "mdl_vars." (Pax) or "flax_mutables." (T5X)
  std::string collection;  // e.g. "fp8_metas"
  std::string module;      // module path below the collection, e.g. "encoder.layers_0.mlp"
  std::string leaf;        // e.g. "amax_w_1"
  int tensor = -1;         // F18/F23: 0 input, 1 kernel, 2 grad; F17: -1
  int gemm = -1;           // F18/F23: the GEMM index (F23 without postfix: 0); F17: -1
  bool history = false;    // F18/F23: an amax history (else a scale)
  bool postfixed = false;  // F23: the leaf carries a GEMM postfix (_0, _1)
};

// Recognises an FP8 metadata array by its leaf name (§8.1): under "mdl_vars.<collection>." or
// "flax_mutables.<collection>.", never in the weights (mdl_vars.params). nullopt otherwise.
std::optional<Fp8ArrayName> parse_fp8_array_name(const std::string& name);

// The FP8 metadata a listing holds, one entry per (format, collection) found.
struct Fp8Found {
  Fp8MetaFormat format;
  std::string collection;
  size_t arrays = 0;
  std::string example;  // the first array name
};
std::vector<Fp8Found> detect_fp8_formats(const std::vector<std::string>& names);

// The single format a listing holds: nullopt when it has no FP8 metadata. Throws te::Error when
// it holds more than one format or collection (naming an array of each).
std::optional<Fp8Found> detect_fp8_format(const std::vector<std::string>& names);

// "F18 (TE 1.8-2.2, fp8_metas): 24 arrays" for notes and inspect.
std::string describe_fp8_found(const Fp8Found& f);

}  // namespace te::rules
