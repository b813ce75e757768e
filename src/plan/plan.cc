#include "plan/plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "kvstore/file/file_links.h"
#include "plan/array_listing.h"
#include "plan/fp8_migration.h"
#include "plan/fp8_output.h"
#include "plan/optimizer_groups.h"
#include "plan/output_chunking.h"
#include "plan/rule_binding.h"
#include "util/checked_math.h"
#include "util/error.h"
#include "zarr/v3_array_metadata.h"

namespace te::plan {
namespace {

using checkpoint::ArrayEntry;
using checkpoint::Checkpoint;
using rules::Direction;
using transform::AxisPattern;
using transform::Rearrangement;

class Planner {
 public:
  Planner(const Checkpoint& ckpt, const rules::ModelOptions& o, const PlanSettings& settings,
          const FrameworkProfile& profile)
      : ckpt_(ckpt), o_(o), settings_(settings), profile_(profile), listing_(ckpt) {
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
    weight_category_ = profile_.weight_category();
    fp8_root_ = profile_.fp8_root();
    stacks_ = make_stacks(o_);
    if (profile_.stacks_optional() && stacks_.empty())
      fail("{}: {}", ckpt_.path.string(), profile_.no_stacks_message());
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

  const ArrayEntry* find(const std::string& name) const { return listing_.find(name); }
  bool any_with_prefix(const std::string& prefix) const { return listing_.any_with_prefix(prefix); }

  void check_format() {
    if (!profile_.accepts_format(ckpt_.format)) {
      fail("{}: --fw={} needs {}, but this is a {} checkpoint", ckpt_.path.string(),
           profile_.flag(), profile_.expected_checkpoint(), checkpoint::format_name(ckpt_.format));
    }
  }

  // The layer stacks the options describe (optional stacks: those present).
  std::vector<rules::LayerStack> make_stacks(const rules::ModelOptions& o) const {
    std::vector<rules::LayerStack> stacks = profile_.layer_stacks(o);
    if (!profile_.stacks_optional()) return stacks;
    std::vector<rules::LayerStack> present;
    for (auto& s : stacks) {
      if (stack_present(s)) present.push_back(std::move(s));
    }
    return present;
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
          for (auto it = listing_.by_name().lower_bound(prefix);
               it != listing_.by_name().end() && starts_with(it->first, prefix); ++it) {
            if (ends_with(it->first, cat.suffix) && !consumed_.count(it->first))
              found.push_back(it->first);
          }
        }
      }
    }
    if (found.empty()) return;
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    const std::string target = fw2te() ? "TE" : profile_.name();
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
    binder_ =
        std::make_unique<RuleBinder>(ckpt_, listing_, o_, sizes_, profile_.missing_layer_hint(o_),
                                     profile_.layers_on_stack_axis(o_));
  }

  // E from the first source array with a standalone "e" axis (E may differ from N*H), or 0.
  int64_t infer_embed_dim() const {
    for (const auto& stack : stacks_) {
      for (const auto& group : stack.groups) {
        for (const auto& rule : group.alternatives) {
          auto pattern = stacked_pattern(src_side(rule), stack).resolved(true);
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
    std::vector<std::string> layer_names;
    for (const auto& stack : stacks_) {
      std::string layer0 = rules::layer_prefix(src_prefix(stack), 0) + ".";
      for (const auto& group : stack.groups) {
        for (const auto& rule : group.alternatives) {
          for (const auto& name : src_side(rule).names) layer_names.push_back(layer0 + name);
        }
      }
    }
    WeightTree weights;
    weights.category = weight_category_;
    weights.root = profile_.weight_root();
    weights.dropped_with_weight_only = profile_.dropped_with_weight_only();
    categories_ = plan::find_categories(listing_, layer_names, weights, o_.weight_only, consumed_,
                                        plan_.dropped, dropped_optimizer_);
    if (o_.weight_only && dropped_optimizer_ > 0) {
      plan_.notes.push_back(fmt::format(
          "--weight-only: {} optimizer-state arrays left out of the output", dropped_optimizer_));
    }
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
          chosen = binder_->bind(rule, stack, cat, src, i, why);
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
          if (auto m = profile_.layout_mismatch(names, o_)) fail("{}: {}", ckpt_.path.string(), *m);
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
    if (cat.placeholders) {
      for (auto& c :
           placeholder_copies(b.inputs, dst_side(rule).names, cat, dst_prefix_i, plan_.dropped))
        plan_.copies.push_back(std::move(c));
      merged_placeholders_ += b.inputs.size() - 1;
      return;
    }
    int fp8 = -1;
    if (o_.gen_fp8_meta && fw2te() && rule.fp8 && cat.prefix == weight_category_ &&
        cat.suffix.empty()) {
      Fp8Gemm g;
      g.root = fp8_root_;
      g.module = dst_prefix_i + "." + rule.fp8->module;
      g.postfix = rule.fp8->postfix;
      g.layers = profile_.layers_on_stack_axis(o_) ? o_.layers : 0;
      g.kernel = cat.name(dst_prefix_i + "." + dst_side(rule).names[0]);
      g.codec = settings_.codec ? settings_.codec : b.inputs[0]->metadata.codec;
      // A model stored inline in an index: the FP8 arrays get the index's codec (gzip level 1).
      if (b.inputs[0]->is_inline() && !settings_.codec) g.codec = zarr::make_deflate_codec(true, 1);
      fp8 = static_cast<int>(plan_.fp8_gemms.size());
      plan_.fp8_gemms.push_back(std::move(g));
    }
    const auto& dst_names = dst_side(rule).names;
    const auto& r = b.rearrangement;
    bool identity = b.inputs.size() == 1 && dst_names.size() == 1 &&
                    b.input_patterns[0].to_string() == b.output_patterns[0].to_string();
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
        copyable_output_chunks(r, in_meta, is_inline, rechunk ? &rule : nullptr, settings_);
    for (size_t j = 0; j < dst_names.size(); ++j) {
      const auto& view = r.outputs[j];
      Shape shape = r.shape(view);
      Shape chunks;
      if (is_inline) {
        chunks = shape;
      } else if (!copyable.empty()) {
        chunks = copyable[j];
      } else {
        chunks = profile_.merged_output_chunks(shape, first.metadata.dtype.itemsize,
                                               derived_chunks(r, view, b.inputs));
      }
      if (rechunk && !is_inline)
        apply_kernel_chunk(rule, view, r, settings_.kernel_chunk_size, chunks);
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
    const std::string out_pattern = b.output_patterns[0].to_string();
    std::string out_text = dst_names.size() > 1
                               ? fmt::format("[{}] {}", fmt::join(dst_names, ", "), out_pattern)
                               : out_pattern;
    job.rule = in_text + " -> " + out_text;
    decide_chunk_copy(job, in_meta, is_inline, settings_);
    plan_.jobs.push_back(std::move(job));
  }

  void check_layer_count(const rules::LayerStack& stack) {
    if (profile_.layers_on_stack_axis(o_)) return;  // the [L] axis is shape-checked
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
      for (const auto& [name, entry] : listing_.by_name()) {
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
  const FrameworkProfile& profile_;
  Plan plan_;
  ArrayListing listing_;
  std::unique_ptr<RuleBinder> binder_;
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
               const PlanSettings& settings, const FrameworkProfile& profile) {
  if (options.direction == Direction::kTeToTe)
    return plan_fp8_migration(source, options, settings, profile);
  return Planner(source, options, settings, profile).run();
}

}  // namespace te::plan
