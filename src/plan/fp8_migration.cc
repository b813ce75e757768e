#include "plan/fp8_migration.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "kvstore/file/file_links.h"
#include "plan/fp8_output.h"
#include "util/error.h"

namespace te::plan {
namespace {

using checkpoint::ArrayEntry;
using checkpoint::Checkpoint;
using checkpoint::Format;
using rules::Fp8MetaFormat;

void check_checkpoint(const Checkpoint& c, const rules::ModelOptions& o,
                      const FrameworkProfile& profile) {
  if (!profile.accepts_format(c.format)) {
    fail("{}: --fw={} needs {}, but this is a {} checkpoint", c.path.string(), profile.flag(),
         profile.expected_checkpoint(), checkpoint::format_name(c.format));
  }
  if (!c.problems.empty()) {
    fail("{}: the checkpoint is inconsistent: {}", c.path.string(), c.problems.front());
  }
  std::string fw = profile.framework_side_weight(c);
  if (!fw.empty()) {
    fail(
        "--direction=te2te rewrites the FP8 metadata of a TE-side checkpoint, but this checkpoint "
        "is in {} layout: found {}; convert it with --direction=fw2te --gen-fp8-meta "
        "--fp8-meta-format={}",
        profile.name(), fw, rules::fp8_meta_format_flag(o.fp8_meta_format));
  }
}

// The collection TE uses for `format` when the format fixes it.
std::optional<std::string> fixed_collection(Fp8MetaFormat f) {
  if (f == Fp8MetaFormat::kTe17) return rules::kF17Collection;
  if (f == Fp8MetaFormat::kTe18) return rules::kFp8MetasCollection;
  return std::nullopt;  // F23: any name from TE 2.7 on
}

// Fills gemms and layers of a source module and checks its arrays (all present, float32, shapes
// consistent).
void check_source_module(Fp8Module& m, Fp8MetaFormat format, const std::string& where) {
  auto entry = [&](const std::string& leaf) -> const ArrayEntry& {
    auto it = m.source.find(leaf);
    if (it == m.source.end()) {
      fail("FP8 module {}: no array {}.{} ({} needs all of {} per module{})", where, where, leaf,
           rules::fp8_meta_format_label(format), format == Fp8MetaFormat::kTe17 ? 4 : 6,
           format == Fp8MetaFormat::kTe17 ? "" : " GEMM");
    }
    return *it->second;
  };
  for (const auto& [leaf, a] : m.source) {
    if (a->metadata.dtype.zarr != "<f4") {
      fail("{}: FP8 metadata must be float32 (<f4), found {} ({})", a->name,
           a->metadata.dtype.name(), a->metadata.dtype.zarr);
    }
  }
  const int history_rank = format == Fp8MetaFormat::kTe17 ? 2 : 1;
  const ArrayEntry& first_history =
      entry(format == Fp8MetaFormat::kTe17 ? "fp8_meta_amax"
            : format == Fp8MetaFormat::kTe18
                ? rules::f18_leaf(true, 0, 0)
                : rules::f23_leaf(true, 0, 0, m.source.count("x_amax_history") ? 1 : 2));
  const Shape& hs = first_history.metadata.shape;
  if (hs.size() != static_cast<size_t>(history_rank) &&
      hs.size() != static_cast<size_t>(history_rank + 1)) {
    fail("{}: an FP8 amax history has rank {} or {} (a leading [L] under repeat), found shape {}",
         first_history.name, history_rank, history_rank + 1, shape_string(hs));
  }
  Shape lead(hs.begin(), hs.end() - history_rank);
  m.layers = lead.empty() ? 0 : lead[0];
  const int64_t n = hs.back();
  if (n < 1)
    fail("{}: the FP8 amax history is empty (shape {})", first_history.name, shape_string(hs));
  if (format == Fp8MetaFormat::kTe17) {
    const int64_t rows = hs[hs.size() - 2];
    if (rows % 3 != 0 || rows == 0) {
      fail("{}: expected 3 rows per GEMM (input, kernel, grad), found {} rows", first_history.name,
           rows);
    }
    m.gemms = static_cast<int>(rows / 3);
  } else {
    int max_gemm = -1;
    bool postfixed = false;
    for (const auto& [leaf, a] : m.source) {
      auto p = rules::parse_fp8_array_name(a->name);
      max_gemm = std::max(max_gemm, p->gemm);
      postfixed |= p->postfixed;
    }
    m.gemms = max_gemm + 1;
    if (format == Fp8MetaFormat::kTe23 && postfixed != (m.gemms > 1)) {
      fail(
          "FP8 module {}: F23 names carry a GEMM postfix (_0, _1) exactly when the module has "
          "more than one GEMM (LayerNormMLP), found {} GEMM(s) {} postfix",
          where, m.gemms, postfixed ? "with" : "without");
    }
  }
  // Every leaf of the format, with the same leading axes and history length.
  for (const auto& leaf : rules::fp8_module_leaves(format, m.gemms)) {
    const ArrayEntry& a = entry(leaf);
    Shape want = lead;
    bool history =
        leaf == "fp8_meta_amax" || leaf.ends_with("_amax_history") || leaf.rfind("amax_", 0) == 0;
    if (format == Fp8MetaFormat::kTe17) want.push_back(3 * m.gemms);
    want.push_back(history ? n : 1);
    if (a.metadata.shape != want) {
      fail("{}: expected shape {} (like {}), found {}", a.name, shape_string(want),
           first_history.name, shape_string(a.metadata.shape));
    }
  }
  if (m.source.size() != rules::fp8_module_leaves(format, m.gemms).size()) {
    std::set<std::string> known;
    for (const auto& l : rules::fp8_module_leaves(format, m.gemms)) known.insert(l);
    for (const auto& [leaf, a] : m.source) {
      if (!known.count(leaf))
        fail("{}: not an array of a {}-GEMM module in {}", a->name, m.gemms,
             rules::fp8_meta_format_label(format));
    }
  }
}

}  // namespace

Plan plan_fp8_migration(const Checkpoint& ckpt, const rules::ModelOptions& o,
                        const PlanSettings& settings, const FrameworkProfile& profile) {
  check_checkpoint(ckpt, o, profile);
  std::vector<std::string> names;
  for (const auto& a : ckpt.arrays) names.push_back(a.name);
  auto found = rules::detect_fp8_format(names);
  if (!found) {
    fail(
        "{}: no FP8 metadata found (no fp8_meta_collection, amax_*/scale_* or *_amax_history "
        "arrays): --direction=te2te rewrites existing FP8 metadata; to generate it, convert the "
        "framework checkpoint with --direction=fw2te --gen-fp8-meta",
        ckpt.path.string());
  }
  if (auto fixed = fixed_collection(found->format); fixed && *fixed != found->collection) {
    fail(
        "{}: {} metadata in the unknown collection {}: TE keeps this format in {} (is this a "
        "TE checkpoint?)",
        found->example, rules::fp8_meta_format_label(found->format), found->collection, *fixed);
  }
  Plan plan;
  plan.options = o;
  plan.source = &ckpt;
  plan.fp8.format = o.fp8_meta_format;
  plan.fp8.recipe = o.fp8_recipe;
  plan.fp8.collection = fp8_collection_written(o);
  plan.fp8.source_format = found->format;
  std::set<std::string> fp8_names;
  for (const auto& a : ckpt.arrays) {
    auto p = rules::parse_fp8_array_name(a.name);
    if (!p) continue;
    if (p->root != profile.fp8_root()) {
      fail("{}: FP8 metadata of a {} checkpoint lives under {}", a.name, profile.name(),
           profile.fp8_root());
    }
    fp8_names.insert(a.name);
    Fp8Module* m = nullptr;
    for (auto& existing : plan.fp8.modules) {
      if (existing.module == p->module) m = &existing;
    }
    if (!m) {
      m = &plan.fp8.modules.emplace_back();
      m->root = p->root;
      m->module = p->module;
      m->codec = settings.codec  ? settings.codec
                 : a.is_inline() ? zarr::make_deflate_codec(true, 1)
                                 : a.metadata.codec;
    }
    m->source[p->leaf] = &a;
  }
  int64_t source_n = 0;
  for (auto& m : plan.fp8.modules) {
    check_source_module(m, found->format, m.root + found->collection + "." + m.module);
    const auto* h =
        m.source.at(found->format == Fp8MetaFormat::kTe17   ? "fp8_meta_amax"
                    : found->format == Fp8MetaFormat::kTe18 ? rules::f18_leaf(true, 0, 0)
                                                            : rules::f23_leaf(true, 0, 0, m.gemms));
    int64_t n = h->metadata.shape.back();
    if (!o.amax_history_len_given && source_n != 0 && n != source_n) {
      fail(
          "{}: amax history length {} differs from {} elsewhere in the checkpoint; pass "
          "--amax-history-len to choose one",
          h->name, n, source_n);
    }
    source_n = n;
  }
  plan.fp8.history_len = o.amax_history_len_given ? o.amax_history_len : source_n;
  for (const auto& a : ckpt.arrays) {
    if (fp8_names.count(a.name)) {
      plan.dropped.push_back(a.name);
    } else {
      plan.copies.push_back({&a, a.name, -1});
    }
  }
  for (const auto& c : plan.copies) {
    if (c.source->folder) kv::check_links_within(*c.source->folder, ckpt.path);
  }
  for (const auto& f : ckpt.other_entries) {
    kv::check_links_within(ckpt.path / f, ckpt.path);
    plan.file_copies.push_back(f);
  }
  plan.notes.push_back(fmt::format(
      "FP8 metadata migrated: {} -> {} arrays of {} (collection {}, amax history {} -> {})",
      rules::describe_fp8_found(*found), plan.fp8.array_names().size(),
      rules::fp8_meta_format_label(plan.fp8.format), plan.fp8.collection, source_n,
      plan.fp8.history_len));
  std::set<std::string> seen;
  for (const auto& n : plan.output_names()) {
    if (!seen.insert(n).second)
      fail("{}: the output would hold two arrays named {}", ckpt.path.string(), n);
  }
  return plan;
}

}  // namespace te::plan
