#pragma once
// The mapping between a framework layout and TransformerEngine's, as data: one Rule per parameter
// (or per group of parameters stacked into one), written once in the fw -> te direction. The
// planner reads a rule left-to-right for fw2te and right-to-left for te2fw; the rearrange engine
// executes both readings with the same code, so the directions cannot disagree.
#include <optional>
#include <string>
#include <vector>

namespace te::rules {

// One side of a rule: the arrays (names relative to a layer prefix) and their axis pattern.
// Several names are stacked along the axis "s" that the other side's pattern names. An optional
// axis (transform/pattern.h, e.g. "e g? h" for MQA key/value stored with or without the head
// axis) is read as the stored array's rank says, and written stored unless the options say
// otherwise (--pax-mqa-drop-head-axis). A stack's leading layer axis is not in the patterns
// (LayerStack::stack_axis).
struct RuleSide {
  std::vector<std::string> names;
  std::string pattern;
};

// A TE GEMM whose FP8 metadata is generated from the rule's TE-side kernel.
struct Fp8Gemm {
  std::string module;  // relative to the TE layer prefix, e.g. "attention.qkv" or "mlp"
  int postfix = 0;     // 0, or 1 for the MLP's second GEMM (wo)
};

struct Rule {
  RuleSide fw;
  RuleSide te;
  bool kernel = false;  // a weight matrix: --kernel-chunk-size chunks its "e" axis
  std::optional<Fp8Gemm> fp8;
  // Shown when the rule's framework-side arrays are missing, e.g. "is the QKV split
  // (--pax-split-qkv)?".
  std::string hint;
};

// Rules that are alternatives for one parameter: the first whose source arrays exist (and whose
// shapes fit) applies. Most groups have one rule.
struct RuleGroup {
  std::vector<Rule> alternatives;
};

// A stack of layers sharing one rule list (Pax's transformer; T5X's encoder or decoder).
struct LayerStack {
  std::string fw_prefix;  // with "{i}" for the layer index, e.g. "lm.transformer.x_layers_{i}"
  std::string te_prefix;  // e.g. "lm.transformer.x_layers_{i}.transformerlayer.cld"
  int count = 0;          // instances of the prefix (1 for a Pax repeat stack)
  // Non-empty: the layers lie along this leading axis of every array of the stack (Pax repeat's
  // "l"), on both sides: each rule's patterns get it as their first axis.
  std::string stack_axis;
  std::vector<RuleGroup> groups;
};

// Prefixes the name template with the layer index.
std::string layer_prefix(const std::string& templ, int index);

}  // namespace te::rules
