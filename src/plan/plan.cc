#include "plan/plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "kvstore/file/file_links.h"
#include "plan/chunk_copy.h"
#include "plan/fp8_migration.h"
#include "plan/fp8_output.h"
#include "plan/layout_check.h"
#include "rules/pax_rules.h"
#include "rules/t5x_rules.h"
#include "util/checked_math.h"
#include "util/error.h"
#include "zarr/v3_array_metadata.h"

namespace te::plan {
namespace {

using checkpoint::ArrayEntry;
using checkpoint::Checkpoint;
using rules::Direction;
using rules::Framework;
using transform::AxisPattern;
using transform::Rearrangement;

std::vector<std::string> split_alternatives(const std::string& pattern) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t bar = pattern.find('|', start);
    out.push_back(
        pattern.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) return out;
    start = bar + 1;
  }
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Chunk shape of an output derived from its inputs' chunk grids, so that blocks map one input
// chunk (or one stack of them) to one output chunk wherever the pattern allows.
Shape derived_chunks(const Rearrangement& r, const transform::ArrayView& out,
                     const std::vector<const ArrayEntry*>& inputs) {
  std::vector<int64_t> v_chunk = r.axis_sizes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& view = r.inputs[i];
    const Shape& chunks = inputs[i]->metadata.chunks;
    for (size_t j = 0; j < view.axes.size(); ++j) {
      const auto& axis = view.axes[j];
      if (axis.empty()) continue;
      int64_t inner = 1;
      for (size_t k = 1; k < axis.size(); ++k) inner *= r.axis_sizes[axis[k]];
      int a = axis[0];
      int64_t c = chunks[j] % inner == 0 ? chunks[j] / inner : r.axis_sizes[a];
      v_chunk[a] = std::min(v_chunk[a], std::max<int64_t>(c, 1));
    }
  }
  Shape shape = r.shape(out), chunks;
  for (size_t j = 0; j < out.axes.size(); ++j) {
    const auto& axis = out.axes[j];
    int64_t c = 1;
    if (!axis.empty()) {
      c = v_chunk[axis[0]];
      for (size_t k = 1; k < axis.size(); ++k) c *= r.axis_sizes[axis[k]];
    }
    chunks.push_back(std::clamp<int64_t>(c, 1, std::max<int64_t>(shape[j], 1)));
  }
  return chunks;
}

// A tree of arrays that mirrors the weights: the array of the weight at path P (below the weight
// root) is `prefix + P + suffix`. The weights themselves and optimizer subtrees such as
// `state.param_states.1.0.mu.` have no suffix; T5X's Adafactor keeps its state per parameter,
// `state.param_states.<P>.v` (suffix ".v"). A category of [1] placeholders (unfactored Adafactor's
// m, v_row, v_col) does not follow its weight's shape: every output weight gets a copy of the
// placeholder of its rule's first input, and the rule's inputs must hold identical placeholders.
struct Category {
  std::string prefix;
  std::string suffix;
  bool placeholders = false;

  std::string name(const std::string& path) const { return prefix + path + suffix; }
  bool operator==(const Category& o) const { return prefix == o.prefix && suffix == o.suffix; }
};

class Planner {
 public:
  Planner(const Checkpoint& ckpt, const rules::ModelOptions& o, const PlanSettings& settings)
      : ckpt_(ckpt), o_(o), settings_(settings) {
    for (const auto& a : ckpt.arrays) by_name_[a.name] = &a;
    plan_.options = o;
    plan_.source = &ckpt;
    plan_.fp8.history_len = o.amax_history_len;
    plan_.fp8.format = o.fp8_meta_format;
    plan_.fp8.recipe = o.fp8_recipe;
    plan_.fp8.collection = fp8_collection_written(o);
  }

  Plan run() {
    check_format();
    if (!ckpt_.problems.empty()) {
      fail("{}: the checkpoint is inconsistent: {}", ckpt_.path.string(), ckpt_.problems.front());
    }
    const bool pax = o_.framework == Framework::kPax;
    weight_category_ = pax ? "mdl_vars.params." : "target.";
    fp8_root_ = pax ? "mdl_vars." : "flax_mutables.";
    stacks_ = make_stacks(o_);
    if (!pax) {
      if (stacks_.empty()) {
        fail(
            "{}: no encoder or decoder layers found (expected arrays named {}encoder.layers_0.* "
            "or {}decoder.layers_0.*)",
            ckpt_.path.string(), weight_category_, weight_category_);
      }
    }
    set_sizes();
    find_categories();
    for (const auto& cat : categories_) {
      for (const auto& stack : stacks_) plan_stack(cat, stack);
    }
    for (const auto& stack : stacks_) check_layer_count(stack);
    check_skipped_rules();
    check_unmapped();
    finish();
    return std::move(plan_);
  }

 private:
  bool fw2te() const { return o_.direction == Direction::kFwToTe; }
  const std::string& src_prefix(const rules::LayerStack& s) const {
    return fw2te() ? s.fw_prefix : s.te_prefix;
  }
  const std::string& dst_prefix(const rules::LayerStack& s) const {
    return fw2te() ? s.te_prefix : s.fw_prefix;
  }
  const rules::RuleSide& src_side(const rules::Rule& r) const { return fw2te() ? r.fw : r.te; }
  const rules::RuleSide& dst_side(const rules::Rule& r) const { return fw2te() ? r.te : r.fw; }

  const ArrayEntry* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  bool any_with_prefix(const std::string& prefix) const {
    auto it = by_name_.lower_bound(prefix);
    return it != by_name_.end() && starts_with(it->first, prefix);
  }

  void check_format() {
    using checkpoint::Format;
    bool pax_format = ckpt_.format == Format::kPaxLayout0 || ckpt_.format == Format::kPaxLayout1 ||
                      ckpt_.format == Format::kPaxOrbax || ckpt_.format == Format::kOrbax;
    if (o_.framework == Framework::kPax && !pax_format) {
      fail("{}: --fw=pax needs a Pax checkpoint, but this is a {} checkpoint", ckpt_.path.string(),
           checkpoint::format_name(ckpt_.format));
    }
    if (o_.framework == Framework::kT5x && ckpt_.format != Format::kT5x &&
        ckpt_.format != Format::kT5xOrbax && ckpt_.format != Format::kOrbax) {
      fail(
          "{}: --fw=t5x needs a T5X checkpoint folder (with its msgpack index `checkpoint`), but "
          "this is a {} checkpoint",
          ckpt_.path.string(), checkpoint::format_name(ckpt_.format));
    }
  }

  // The layer stacks the options describe (T5X: the encoder and decoder stacks present).
  std::vector<rules::LayerStack> make_stacks(const rules::ModelOptions& o) const {
    if (o.framework == Framework::kPax) return {rules::pax_layer_stack(o)};
    std::vector<rules::LayerStack> stacks;
    for (auto s : {rules::t5x_encoder_stack(o), rules::t5x_decoder_stack(o)}) {
      if (stack_present(s)) stacks.push_back(std::move(s));
    }
    return stacks;
  }

  // "a, b, c and 5 more" for messages.
  static std::string some_names(const std::vector<std::string>& names) {
    const size_t shown = std::min<size_t>(names.size(), 3);
    std::string text = fmt::format("{}", fmt::join(names.begin(), names.begin() + shown, ", "));
    if (names.size() > shown) text += fmt::format(" and {} more", names.size() - shown);
    return text;
  }

  // The arrays of every category and layer of `stacks` named by `names` (relative to the layer),
  // that exist and that no rule consumed.
  std::vector<std::string> unconsumed(const std::vector<rules::LayerStack>& stacks,
                                      const std::set<std::string>& names) const {
    std::vector<std::string> found;
    for (const auto& cat : categories_) {
      for (const auto& stack : stacks) {
        for (int i = 0; i < stack.count; ++i) {
          for (const auto& name : names) {
            std::string full = cat.name(rules::layer_prefix(src_prefix(stack), i) + "." + name);
            if (find(full) && !consumed_.count(full)) found.push_back(full);
          }
        }
      }
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  // --skip-ln / --skip-bias leave rules out. When the arrays such a rule would convert exist, the
  // output would hold them under their framework names next to the converted layer (a
  // half-converted checkpoint): refuse, naming them and the flag.
  void check_skipped_rules() {
    if (!o_.skip_ln && !o_.skip_bias) return;
    auto source_names = [&](const std::vector<rules::LayerStack>& stacks) {
      std::set<std::string> names;
      for (const auto& stack : stacks) {
        for (const auto& group : stack.groups) {
          for (const auto& rule : group.alternatives) {
            for (const auto& n : src_side(rule).names) names.insert(n);
          }
        }
      }
      return names;
    };
    std::set<std::string> attributed = source_names(stacks_);
    struct Variant {
      bool ln, bias;
      const char* flags;
    };
    for (const Variant v : {Variant{true, false, "--skip-ln"}, Variant{false, true, "--skip-bias"},
                            Variant{true, true, "--skip-ln and --skip-bias"}}) {
      if ((v.ln && !o_.skip_ln) || (v.bias && !o_.skip_bias)) continue;
      rules::ModelOptions full = o_;
      if (v.ln) full.skip_ln = false;
      if (v.bias) full.skip_bias = false;
      std::set<std::string> skipped;
      for (const auto& n : source_names(make_stacks(full))) {
        if (attributed.insert(n).second) skipped.insert(n);
      }
      std::vector<std::string> found = unconsumed(stacks_, skipped);
      if (!found.empty()) {
        fail(
            "{} was given, but the checkpoint holds arrays that the skipped rules convert ({}): "
            "{}; drop {} (the output would hold them unconverted)",
            v.flags, found.size(), some_names(found), v.flags);
      }
    }
  }

  // Arrays under a converted layer that no rule consumed: the target layer has no such
  // parameter. Refused, or with --copy-unmapped copied unchanged under their names, with a
  // warning.
  void check_unmapped() {
    std::vector<std::string> found;
    for (const auto& cat : categories_) {
      for (const auto& stack : stacks_) {
        for (int i = 0; i < stack.count; ++i) {
          std::string prefix = cat.prefix + rules::layer_prefix(src_prefix(stack), i) + ".";
          for (auto it = by_name_.lower_bound(prefix);
               it != by_name_.end() && starts_with(it->first, prefix); ++it) {
            if (ends_with(it->first, cat.suffix) && !consumed_.count(it->first))
              found.push_back(it->first);
          }
        }
      }
    }
    if (found.empty()) return;
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    const char* target = fw2te() ? "TE" : o_.framework == Framework::kPax ? "Pax" : "T5X";
    if (!settings_.copy_unmapped) {
      fail(
          "no rule converts {} (arrays under converted layers: {}): the {} layer has no such "
          "parameter; pass --copy-unmapped to copy such arrays unchanged under their own names",
          some_names(found), found.size(), target);
    }
    plan_.warnings.push_back(fmt::format(
        "--copy-unmapped: arrays under converted layers copied unchanged ({}), the {} layer has "
        "no such parameter: {}",
        found.size(), target, some_names(found)));
  }

  bool stack_present(const rules::LayerStack& s) const {
    return any_with_prefix(weight_category_ + rules::layer_prefix(src_prefix(s), 0) + ".");
  }

  void set_sizes() {
    int64_t e = o_.embed_dim;
    if (e == 0) e = infer_embed_dim();
    sizes_ = o_.axis_sizes(e);
  }

  // E from the first source array with a standalone "e" axis (Pax; E may differ from N*H), or 0.
  int64_t infer_embed_dim() const {
    for (const auto& stack : stacks_) {
      for (const auto& group : stack.groups) {
        for (const auto& rule : group.alternatives) {
          auto pattern =
              transform::parse_axis_pattern(split_alternatives(src_side(rule).pattern)[0]);
          for (size_t j = 0; j < pattern.axes.size(); ++j) {
            if (pattern.axes[j] != std::vector<std::string>{"e"}) continue;
            for (const auto& name : src_side(rule).names) {
              const ArrayEntry* a =
                  find(weight_category_ + rules::layer_prefix(src_prefix(stack), 0) + "." + name);
              if (a && a->metadata.rank() == pattern.rank()) return a->metadata.shape[j];
            }
          }
        }
      }
    }
    return 0;  // no layer array at all: planning reports the first missing array with a hint
  }

  // The weight category and every optimizer-state group that mirrors it.
  void find_categories() {
    std::set<std::string> found;
    // Per-parameter state (T5X Adafactor): (prefix, ".slot") -> whether every array is [1].
    struct Slot {
      bool placeholders = true;  // every array of the slot is [1]
      std::string shaped;        // an array of the slot that is not [1]
    };
    std::map<std::pair<std::string, std::string>, Slot> slots;
    for (const auto& stack : stacks_) {
      std::string layer0 = rules::layer_prefix(src_prefix(stack), 0) + ".";
      for (const auto& group : stack.groups) {
        for (const auto& rule : group.alternatives) {
          for (const auto& name : src_side(rule).names) {
            std::string suffix = layer0 + name;
            for (const auto& [array_name, entry] : by_name_) {
              if (ends_with(array_name, suffix)) {
                found.insert(array_name.substr(0, array_name.size() - suffix.size()));
              } else if (size_t at = array_name.find(suffix + "."); at != std::string::npos) {
                std::string prefix = array_name.substr(0, at);
                std::string slot = array_name.substr(at + suffix.size());
                if (slot.find('.', 1) != std::string::npos ||
                    (!prefix.empty() && prefix.back() != '.'))
                  adafactor(array_name);  // deeper state below a parameter: no rule for it
                Slot& s = slots[{prefix, slot}];
                if (entry->metadata.shape != Shape{1}) {
                  s.placeholders = false;
                  s.shaped = array_name;
                }
              }
            }
          }
        }
      }
    }
    categories_.push_back({weight_category_, "", false});
    for (const auto& [key, s] : slots) {
      // Factored statistics (v_row / v_col of their own shapes) cannot follow the weight.
      if ((key.second == ".v_row" || key.second == ".v_col") && !s.placeholders)
        adafactor(s.shaped);
      if (o_.weight_only) continue;  // dropped with its subtree below
      categories_.push_back({key.first, key.second, s.placeholders});
    }
    for (const auto& cat : found) {
      if (cat == weight_category_ || (!cat.empty() && cat.back() != '.')) continue;
      if (cat.find("fp8_meta") != std::string::npos) continue;
      for (const char* factored : {".vr.", ".vc.", ".v_row.", ".v_col."}) {
        if (cat.find(factored) != std::string::npos ||
            starts_with(cat, std::string(factored).substr(1))) {
          adafactor(cat + "...");
        }
      }
      if (o_.weight_only) {
        drop_category(cat);
      } else {
        categories_.push_back({cat, "", false});
      }
    }
    if (o_.weight_only) drop_mirrors();
    if (o_.weight_only && o_.framework == Framework::kT5x) drop_category("state.param_states.");
    if (o_.weight_only && dropped_optimizer_ > 0) {
      plan_.notes.push_back(fmt::format(
          "--weight-only: {} optimizer-state arrays left out of the output", dropped_optimizer_));
    }
  }

  void adafactor(const std::string& name) {
    if (o_.weight_only) return;
    fail(
        "{}: Adafactor factored optimizer state cannot be converted like its weight; pass "
        "--weight-only to convert the weights and leave the optimizer state out",
        name);
  }

  // --weight-only: every array outside the weights whose name ends with a weight's path (the
  // optimizer moments of non-layer weights too, e.g. Pax's opt_states_0.no_prefix_2.m.params.*).
  void drop_mirrors() {
    const std::string root = o_.framework == Framework::kPax ? "mdl_vars." : "target.";
    std::set<std::string> weight_paths;
    for (const auto& [name, entry] : by_name_) {
      if (starts_with(name, weight_category_)) weight_paths.insert(name.substr(root.size()));
    }
    for (const auto& [name, entry] : by_name_) {
      if (starts_with(name, root) || consumed_.count(name)) continue;
      for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
        if (weight_paths.count(name.substr(dot + 1))) {
          consumed_.insert(name);
          plan_.dropped.push_back(name);
          ++dropped_optimizer_;
          break;
        }
      }
    }
  }

  void drop_category(const std::string& cat) {
    for (const auto& [name, entry] : by_name_) {
      if (!starts_with(name, cat) || consumed_.count(name)) continue;
      if (entry->metadata.rank() == 0) continue;  // counters and steps stay
      consumed_.insert(name);
      plan_.dropped.push_back(name);
      ++dropped_optimizer_;
    }
  }

  struct Binding {
    const rules::Rule* rule;
    std::vector<const ArrayEntry*> inputs;
    std::vector<AxisPattern> input_patterns;
    Rearrangement rearrangement;
  };

  // Tries one rule for one layer: every source exists and has the expected shape.
  std::optional<Binding> bind(const rules::Rule& rule, const Category& cat,
                              const std::string& prefix, int layer, std::string& why) {
    Binding b{&rule, {}, {}, {}};
    for (const auto& name : src_side(rule).names) {
      std::string full = cat.name(prefix + "." + name);
      const ArrayEntry* a = find(full);
      std::error_code ec;
      if (!a && !ckpt_.t5x_index && fs::is_directory(ckpt_.array_root / full, ec)) {
        fail("{}: the folder exists but is not a zarr array (no .zarray in it)",
             (ckpt_.array_root / full).string());
      }
      if (!a) {
        why = fmt::format("no array {}", full);
        if (!rule.hint.empty()) why += ": " + rule.hint;
        if (!any_with_prefix(cat.prefix + prefix + ".")) {
          std::string guess;
          if (layer > 0) {
            guess =
                fmt::format("; does the checkpoint have only {} layers (--num-of-layer)?", layer);
          } else if (o_.framework == Framework::kPax) {
            guess = o_.pax_repeat ? "; is this not a repeat checkpoint (drop --pax-repeat)?"
                                  : "; is this a repeat checkpoint (--pax-repeat)?";
          }
          why +=
              fmt::format(" (nothing is named {}{}.*{}{})", cat.prefix, prefix, cat.suffix, guess);
        }
        return std::nullopt;
      }
      b.inputs.push_back(a);
    }
    if (cat.placeholders) return b;  // no shape to follow (emit_placeholders)
    std::vector<std::string> alternatives = split_alternatives(src_side(rule).pattern);
    for (const ArrayEntry* a : b.inputs) {
      std::optional<AxisPattern> chosen;
      for (const auto& alt : alternatives) {
        auto p = transform::parse_axis_pattern(alt);
        if (p.rank() == a->metadata.rank()) {
          chosen = p;
          break;
        }
      }
      if (!chosen) chosen = transform::parse_axis_pattern(alternatives[0]);
      b.input_patterns.push_back(*chosen);
    }
    auto dst_alts = split_alternatives(dst_side(rule).pattern);
    size_t dst_choice = (o_.pax_mqa_drop_head_axis && dst_alts.size() > 1) ? 1 : 0;
    std::vector<AxisPattern> outputs;
    for (size_t i = 0; i < dst_side(rule).names.size(); ++i) {
      outputs.push_back(transform::parse_axis_pattern(dst_alts[dst_choice]));
    }
    try {
      b.rearrangement = Rearrangement::compile(b.input_patterns, outputs, "s", sizes_);
    } catch (const Error& e) {
      fail_axis_mismatch(b, outputs, e);
    }
    for (size_t i = 0; i < b.inputs.size(); ++i) {
      Shape expected = b.rearrangement.shape(b.rearrangement.inputs[i]);
      if (expected != b.inputs[i]->metadata.shape) {
        why =
            fmt::format("{}: expected shape {} (pattern \"{}\" with {}), found {}",
                        b.inputs[i]->name, shape_string(expected), b.input_patterns[i].to_string(),
                        dims_text(), shape_string(b.inputs[i]->metadata.shape));
        return std::nullopt;
      }
    }
    for (size_t i = 1; i < b.inputs.size(); ++i) {
      if (!(b.inputs[i]->metadata.dtype == b.inputs[0]->metadata.dtype)) {
        // Same name, different byte order (<f4, >f4): show the zarr spelling too.
        const auto& d0 = b.inputs[0]->metadata.dtype;
        const auto& di = b.inputs[i]->metadata.dtype;
        bool same_name = d0.name() == di.name();
        auto text = [&](const zarr::DType& d) {
          return same_name ? fmt::format("{} ({})", d.name(), d.zarr) : d.name();
        };
        fail("{} is {} but {} is {}: arrays combined by one rule must have the same dtype{}",
             b.inputs[0]->name, text(d0), b.inputs[i]->name, text(di),
             same_name ? " and byte order (te-ckpt moves bytes, it does not swap them)" : "");
      }
    }
    return b;
  }

  // A rule's patterns do not fit the flags' axis sizes (the only case: a key/value array without
  // the head axis, which holds one key/value head, and --num-gqa-groups > 1).
  [[noreturn]] void fail_axis_mismatch(const Binding& b, const std::vector<AxisPattern>& outputs,
                                       const Error& e) const {
    const int64_t k = o_.kv_heads();
    for (size_t i = 0; i < b.inputs.size(); ++i) {
      if (!b.input_patterns[i].contains("g") && k != 1 &&
          src_side(*b.rule).pattern.find('g') != std::string::npos) {
        fail(
            "{}: stored as {} (pattern \"{}\", key/value without a head axis: one key/value head), "
            "but {} asks for {} key/value heads; pass --num-gqa-groups=1",
            b.inputs[i]->name, shape_string(b.inputs[i]->metadata.shape),
            b.input_patterns[i].to_string(),
            o_.gqa_groups > 0 ? fmt::format("--num-gqa-groups={}", k)
                              : fmt::format("--num-of-head={} (no --num-gqa-groups)", k),
            k);
      }
    }
    for (size_t j = 0; j < outputs.size(); ++j) {
      if (!outputs[j].contains("g") && k != 1 && o_.pax_mqa_drop_head_axis) {
        fail(
            "--pax-mqa-drop-head-axis writes {} without a head axis (pattern \"{}\"), which holds "
            "one key/value head, but --num-gqa-groups={}: drop the flag or pass "
            "--num-gqa-groups=1",
            dst_side(*b.rule).names[j], outputs[j].to_string(), o_.gqa_groups);
      }
    }
    std::vector<std::string> names;
    for (const auto* a : b.inputs) names.push_back(a->name);
    fail("{}: {} ({})", fmt::join(names, ", "), e.what(), dims_text());
  }

  std::string dims_text() const {
    std::string t = fmt::format("E={} N={} H={} F={}", sizes_.at("e"), sizes_.at("n"),
                                sizes_.at("h"), sizes_.at("f"));
    if (o_.kv_heads() != o_.heads) t += fmt::format(" K={}", o_.kv_heads());
    if (o_.pax_repeat) t += fmt::format(" L={}", sizes_.at("l"));
    return t;
  }

  void plan_stack(const Category& cat, const rules::LayerStack& stack) {
    for (int i = 0; i < stack.count; ++i) {
      std::string src = rules::layer_prefix(src_prefix(stack), i);
      std::string dst = rules::layer_prefix(dst_prefix(stack), i);
      for (const auto& group : stack.groups) {
        std::optional<Binding> chosen;
        std::string first_why;
        for (const auto& rule : group.alternatives) {
          std::string why;
          chosen = bind(rule, cat, src, i, why);
          if (chosen) break;
          if (first_why.empty() ||
              (first_why.starts_with("no array") && !why.starts_with("no array"))) {
            first_why = why;
          }
        }
        if (!chosen) {
          // The layout first: wrong flags make every array look missing.
          std::vector<std::string> names;
          for (const auto& a : ckpt_.arrays) names.push_back(a.name);
          if (auto m = layout_mismatch(names, o_)) fail("{}: {}", ckpt_.path.string(), *m);
          fail("{}", first_why);
        }
        emit(*chosen, cat, dst);
      }
    }
  }

  void emit(Binding& b, const Category& cat, const std::string& dst_prefix_i) {
    const rules::Rule& rule = *b.rule;
    for (const ArrayEntry* a : b.inputs) {
      if (!consumed_.insert(a->name).second)
        fail("internal error: {} is used by two rules", a->name);
    }
    if (cat.placeholders) return emit_placeholders(b, cat, dst_prefix_i);
    int fp8 = -1;
    if (o_.gen_fp8_meta && fw2te() && rule.fp8 && cat.prefix == weight_category_ &&
        cat.suffix.empty()) {
      Fp8Gemm g;
      g.root = fp8_root_;
      g.module = dst_prefix_i + "." + rule.fp8->module;
      g.postfix = rule.fp8->postfix;
      g.layers = o_.pax_repeat ? o_.layers : 0;
      g.kernel = cat.name(dst_prefix_i + "." + dst_side(rule).names[0]);
      g.codec = settings_.codec ? settings_.codec : b.inputs[0]->metadata.codec;
      // A model stored inline in a T5X index: the FP8 arrays get T5X's own codec (gzip level 1).
      if (b.inputs[0]->is_inline() && !settings_.codec) g.codec = zarr::make_deflate_codec(true, 1);
      fp8 = static_cast<int>(plan_.fp8_gemms.size());
      plan_.fp8_gemms.push_back(std::move(g));
    }
    const auto& dst_names = dst_side(rule).names;
    const auto& r = b.rearrangement;
    bool identity = b.inputs.size() == 1 && dst_names.size() == 1 &&
                    b.input_patterns[0].to_string() ==
                        transform::parse_axis_pattern(split_alternatives(dst_side(rule).pattern)[0])
                            .to_string();
    bool rechunk = settings_.kernel_chunk_size > 0 && rule.kernel;
    bool recode = settings_.codec != nullptr;
    if (identity && !rechunk && !recode) {
      plan_.copies.push_back({b.inputs[0], cat.name(dst_prefix_i + "." + dst_names[0]), fp8});
      return;
    }
    TransformJob job;
    job.inputs = b.inputs;
    job.rearrangement = r;
    job.fp8_gemm = fp8;
    std::vector<std::string> in_patterns;
    for (const auto& p : b.input_patterns) in_patterns.push_back(p.to_string());
    std::string in_text =
        b.inputs.size() > 1
            ? fmt::format("[{}] {}", fmt::join(src_side(rule).names, ", "), in_patterns[0])
            : in_patterns[0];
    const ArrayEntry& first = *b.inputs[0];
    bool is_inline = false;
    std::vector<zarr::ArrayMetadata> in_meta;
    for (const auto* in : b.inputs) {
      is_inline |= in->is_inline();
      in_meta.push_back(in->metadata);
    }
    const std::vector<Shape> copyable =
        copyable_output_chunks(r, in_meta, is_inline, rechunk ? &rule : nullptr);
    for (size_t j = 0; j < dst_names.size(); ++j) {
      const auto& view = r.outputs[j];
      Shape shape = r.shape(view);
      Shape chunks;
      if (is_inline) {
        chunks = shape;
      } else if (!copyable.empty()) {
        chunks = copyable[j];
      } else if (o_.framework == Framework::kT5x) {
        chunks = t5x_chunk_shape(
            shape, (int64_t{64} << 20) / static_cast<int64_t>(first.metadata.dtype.itemsize));
      } else {
        chunks = derived_chunks(r, view, b.inputs);
      }
      if (rechunk && !is_inline) apply_kernel_chunk(rule, view, r, chunks);
      auto codec = is_inline ? zarr::make_null_codec()
                             : (settings_.codec ? settings_.codec : first.metadata.codec);
      const std::string out_name = cat.name(dst_prefix_i + "." + dst_names[j]);
      // A zarr3 source gives a zarr3 output in its form (v3_array_metadata.h).
      auto metadata = first.metadata.v3
                          ? zarr::v3::derive_v3_array(*first.metadata.v3, shape, chunks,
                                                      settings_.codec.get(), out_name)
                          : zarr::ArrayMetadata::make(shape, chunks, first.metadata.dtype, codec);
      job.outputs.push_back({out_name, std::move(metadata), is_inline});
    }
    auto dst_alts = split_alternatives(dst_side(rule).pattern);
    std::string out_text =
        dst_names.size() > 1 ? fmt::format("[{}] {}", fmt::join(dst_names, ", "), dst_alts[0])
                             : dst_alts[(o_.pax_mqa_drop_head_axis && dst_alts.size() > 1) ? 1 : 0];
    job.rule = in_text + " -> " + out_text;
    decide_chunk_copy(job, in_meta, is_inline);
    plan_.jobs.push_back(std::move(job));
  }

  // A rule's [1] placeholders (unfactored Adafactor's m, v_row, v_col): each output weight gets a
  // copy of the first input's placeholder, the others are merged into it, which is exact (and
  // round-trips) only when every input holds the same bytes.
  void emit_placeholders(const Binding& b, const Category& cat, const std::string& dst_prefix_i) {
    const ArrayEntry& first = *b.inputs[0];
    const Bytes value = first.open().read_all();
    for (size_t i = 1; i < b.inputs.size(); ++i) {
      const ArrayEntry& other = *b.inputs[i];
      if (!(other.metadata.dtype == first.metadata.dtype) || other.open().read_all() != value) {
        fail(
            "{} and {} are Adafactor [1] placeholders of weights that one rule combines, but they "
            "differ ({} and {}): the output has one placeholder for both; pass --weight-only to "
            "leave the optimizer state out",
            first.name, other.name, placeholder_text(first), placeholder_text(other));
      }
      plan_.dropped.push_back(other.name);
      ++merged_placeholders_;
    }
    for (const auto& name : dst_side(*b.rule).names)
      plan_.copies.push_back({&first, cat.name(dst_prefix_i + "." + name), -1});
  }

  static std::string placeholder_text(const ArrayEntry& a) {
    const Bytes v = a.open().read_all();
    if (a.metadata.dtype.name() == "float32" && v.size() == 4) {
      float f;
      std::memcpy(&f, v.data(), 4);
      return fmt::format("{} {}", a.metadata.dtype.name(), f);
    }
    std::string hex;
    for (std::byte c : v) hex += fmt::format("{:02x}", static_cast<unsigned>(c));
    return fmt::format("{} bytes {}", a.metadata.dtype.name(), hex);
  }

  // --output-chunking=copyable: the output chunks that make the job's chunks copies of its input
  // chunks (same extents, same memory order, the source's codec), one shape per output; empty
  // when there are none (or merge chunking is asked for).
  // `rechunk_rule`: the rule whose kernels --kernel-chunk-size rechunks (applied before judging).
  std::vector<Shape> copyable_output_chunks(const Rearrangement& r,
                                            const std::vector<zarr::ArrayMetadata>& in_meta,
                                            bool is_inline, const rules::Rule* rechunk_rule) const {
    if (!settings_.copyable_chunking || is_inline) return {};
    std::vector<Shape> chunks;
    std::vector<zarr::ArrayMetadata> out_meta;
    for (size_t j = 0; j < r.outputs.size(); ++j) {
      auto c = copyable_chunks(r, j, in_meta);
      if (!c) return {};
      Shape tried = *c;
      if (rechunk_rule) apply_kernel_chunk(*rechunk_rule, r.outputs[j], r, tried);
      if (tried != *c) return {};
      out_meta.push_back(
          zarr::ArrayMetadata::make(r.shape(r.outputs[j]), *c, in_meta[0].dtype, in_meta[0].codec));
      chunks.push_back(std::move(*c));
    }
    if (chunk_copy_obstacle(r, in_meta, out_meta)) return {};
    return chunks;
  }

  void decide_chunk_copy(TransformJob& job, const std::vector<zarr::ArrayMetadata>& in_meta,
                         bool is_inline) const {
    std::optional<std::string> obstacle;
    if (!settings_.chunk_copy) {
      obstacle = "--no-chunk-copy";
    } else if (is_inline) {
      obstacle = "inline arrays of the index";
    } else if (job.fp8_gemm >= 0 && in_meta[0].order == 'F') {
      // max|W| is taken per row of the output from the input's C-order region reads.
      obstacle = "an F-order kernel whose max|W| is generated";
    } else {
      std::vector<zarr::ArrayMetadata> out_meta;
      for (const auto& o : job.outputs) out_meta.push_back(o.metadata);
      obstacle = chunk_copy_obstacle(job.rearrangement, in_meta, out_meta);
    }
    job.chunk_copy = !obstacle;
    job.reencode_reason = obstacle.value_or("");
  }

  // --kernel-chunk-size: chunk a kernel along its embedding ("e") axis.
  void apply_kernel_chunk(const rules::Rule& rule, const transform::ArrayView& view,
                          const Rearrangement& r, Shape& chunks) const {
    if (!rule.kernel) return;
    int e = -1;
    for (size_t a = 0; a < r.axis_names.size(); ++a) {
      if (r.axis_names[a] == "e") e = static_cast<int>(a);
    }
    for (size_t j = 0; j < view.axes.size(); ++j) {
      if (view.axes[j].size() == 1 && view.axes[j][0] == e) {
        chunks[j] =
            std::min<int64_t>(settings_.kernel_chunk_size, std::max<int64_t>(r.axis_sizes[e], 1));
      }
    }
  }

  void check_layer_count(const rules::LayerStack& stack) {
    if (o_.framework == Framework::kPax && o_.pax_repeat) return;  // the [L] axis is shape-checked
    std::string beyond =
        weight_category_ + rules::layer_prefix(src_prefix(stack), stack.count) + ".";
    if (any_with_prefix(beyond)) {
      fail("{}: found arrays named {}* but --num-of-layer={}: the checkpoint has more layers",
           ckpt_.path.string(), beyond, stack.count);
    }
  }

  void finish() {
    // TE -> framework: FP8 metadata (of any format) has no place in the framework model.
    if (!fw2te()) {
      std::vector<std::string> fp8;
      for (const auto& [name, entry] : by_name_) {
        if (rules::parse_fp8_array_name(name) && consumed_.insert(name).second) {
          plan_.dropped.push_back(name);
          fp8.push_back(name);
        }
      }
      if (!fp8.empty()) {
        std::vector<std::string> formats;
        for (const auto& f : rules::detect_fp8_formats(fp8))
          formats.push_back(rules::describe_fp8_found(f));
        plan_.notes.push_back(
            fmt::format("{} FP8 metadata arrays dropped (the framework model has none): {}",
                        fp8.size(), fmt::join(formats, "; ")));
      }
    }
    if (merged_placeholders_ > 0) {
      plan_.notes.push_back(fmt::format(
          "{} Adafactor [1] placeholders left out: each is equal to, and merged into, the "
          "placeholder of the weight its rule combines it into",
          merged_placeholders_));
    }
    plan_.fp8.modules = fp8_modules_of(plan_.fp8_gemms);
    for (const auto& a : ckpt_.arrays) {
      if (!consumed_.count(a.name)) plan_.copies.push_back({&a, a.name, -1});
    }
    // Array folders are copied as trees: their links are judged now, so a dry run refuses them.
    for (const auto& c : plan_.copies) {
      if (c.source->folder) kv::check_links_within(*c.source->folder, ckpt_.path);
    }
    for (const auto& f : ckpt_.other_entries) {
      kv::check_links_within(ckpt_.path / f, ckpt_.path);
      plan_.file_copies.push_back(f);
    }
    // Generated FP8 arrays must not collide with anything.
    std::set<std::string> names;
    for (const auto& n : plan_.output_names()) {
      if (!names.insert(n).second) {
        fail("{}: the output would hold two arrays named {} (is the checkpoint already converted?)",
             ckpt_.path.string(), n);
      }
    }
  }

  const Checkpoint& ckpt_;
  rules::ModelOptions o_;
  PlanSettings settings_;
  Plan plan_;
  std::map<std::string, const ArrayEntry*> by_name_;
  std::vector<rules::LayerStack> stacks_;
  std::map<std::string, int64_t> sizes_;
  std::string weight_category_, fp8_root_;
  std::vector<Category> categories_;
  size_t merged_placeholders_ = 0;
  std::set<std::string> consumed_;
  size_t dropped_optimizer_ = 0;
};

}  // namespace

std::vector<std::string> Plan::output_names() const {
  std::vector<std::string> names;
  for (const auto& j : jobs) {
    for (const auto& o : j.outputs) names.push_back(o.name);
  }
  for (const auto& c : copies) names.push_back(c.target_name);
  for (auto& n : fp8.array_names()) names.push_back(std::move(n));
  return names;
}

Plan make_plan(const Checkpoint& source, const rules::ModelOptions& options,
               const PlanSettings& settings) {
  if (options.direction == Direction::kTeToTe) return plan_fp8_migration(source, options, settings);
  return Planner(source, options, settings).run();
}

Shape t5x_chunk_shape(const Shape& shape, int64_t max_elements) {
  // Divisors in increasing order, found up to the square root (a dimension may be large).
  std::vector<std::vector<int64_t>> divisors(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    std::vector<int64_t> high;
    for (int64_t d = 1; d <= shape[i] / d; ++d) {
      if (shape[i] % d != 0) continue;
      divisors[i].push_back(d);
      if (d != shape[i] / d) high.push_back(shape[i] / d);
    }
    divisors[i].insert(divisors[i].end(), high.rbegin(), high.rend());
    if (divisors[i].empty()) divisors[i].push_back(1);
  }
  auto product = [&] {
    Shape largest;
    for (const auto& d : divisors) largest.push_back(d.back());
    return checked_product(largest).value_or(INT64_MAX);
  };
  while (product() > max_elements) {
    size_t largest = 0;
    for (size_t i = 1; i < divisors.size(); ++i) {
      if (divisors[i].back() > divisors[largest].back()) largest = i;
    }
    if (divisors[largest].size() == 1) break;
    divisors[largest].pop_back();
  }
  Shape chunks;
  for (const auto& d : divisors) chunks.push_back(d.back());
  return chunks;
}

std::string describe(const Plan& plan) {
  std::string out;
  auto codec_text = [](const zarr::ArrayMetadata& m) {
    if (m.v3) return "zarr3 " + zarr::v3::describe_v3_codecs(*m.v3);
    return m.codec->id() == "null" ? std::string("raw") : m.codec->to_json().dump();
  };
  out += fmt::format("{} conversion jobs:\n", plan.jobs.size());
  uint64_t copied_bytes = 0, reencoded_bytes = 0;
  size_t copy_jobs = 0;
  for (const auto& job : plan.jobs) {
    if (job.chunk_copy) {
      int64_t chunks = 0;
      for (const auto& o : job.outputs) chunks += o.metadata.num_chunks();
      for (const auto* in : job.inputs) copied_bytes += in->stored_bytes;
      ++copy_jobs;
      out += fmt::format("  {}  [copy {} chunks]\n", job.rule, chunks);
    } else {
      for (const auto* in : job.inputs) {
        reencoded_bytes +=
            static_cast<uint64_t>(num_elements(in->metadata.shape)) * in->metadata.dtype.itemsize;
      }
      out += fmt::format("  {}  [re-encode: {}]\n", job.rule, job.reencode_reason);
    }
    for (const auto* in : job.inputs) {
      out += fmt::format("    < {} {} {}{}\n", in->name, in->metadata.dtype.name(),
                         shape_string(in->metadata.shape), in->is_inline() ? " (inline)" : "");
    }
    for (const auto& o : job.outputs) {
      out += fmt::format("    > {} {} {} chunks {} {}{}\n", o.name, o.metadata.dtype.name(),
                         shape_string(o.metadata.shape), shape_string(o.metadata.chunks),
                         codec_text(o.metadata), o.is_inline ? " (inline)" : "");
    }
  }
  out += fmt::format(
      "chunk copies: {} jobs, {} stored bytes copied; re-encoded: {} jobs, {} decoded bytes\n",
      copy_jobs, copied_bytes, plan.jobs.size() - copy_jobs, reencoded_bytes);
  out += fmt::format("{} arrays copied unchanged:\n", plan.copies.size());
  for (const auto& c : plan.copies) {
    const std::string recoded =
        c.recode_to
            ? fmt::format(" (re-encoded as {})", c.recode_to->is_zarr3() ? "zarr3" : "zarr v2")
            : "";
    if (c.target_name == c.source->name) {
      out += fmt::format("  = {} {} {}{}\n", c.source->name, c.source->metadata.dtype.name(),
                         shape_string(c.source->metadata.shape), recoded);
    } else {
      out += fmt::format("  = {} -> {} {} {}{}\n", c.source->name, c.target_name,
                         c.source->metadata.dtype.name(), shape_string(c.source->metadata.shape),
                         recoded);
    }
  }
  out += describe_fp8_output(plan);
  if (!plan.file_copies.empty()) {
    out += fmt::format("{} other files copied:\n", plan.file_copies.size());
    for (const auto& f : plan.file_copies) out += fmt::format("  = {}\n", f.string());
  }
  if (!plan.dropped.empty()) {
    out += fmt::format("{} arrays left out:\n", plan.dropped.size());
    for (const auto& d : plan.dropped) out += fmt::format("  - {}\n", d);
  }
  for (const auto& n : plan.notes) out += fmt::format("note: {}\n", n);
  for (const auto& w : plan.warnings) out += fmt::format("warning: {}\n", w);
  return out;
}

}  // namespace te::plan
