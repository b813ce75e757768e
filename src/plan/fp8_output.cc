#include "plan/fp8_output.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.h"

namespace te::plan {

std::string fp8_collection_written(const rules::ModelOptions& o) {
  switch (o.fp8_meta_format) {
    case rules::Fp8MetaFormat::kTe17:
      return rules::kF17Collection;
    case rules::Fp8MetaFormat::kTe18:
      return rules::kFp8MetasCollection;
    case rules::Fp8MetaFormat::kTe23:
      return o.fp8_collection;
  }
  return rules::kFp8MetasCollection;
}

std::vector<Fp8Module> fp8_modules_of(const std::vector<Fp8Gemm>& gemms) {
  std::vector<Fp8Module> modules;
  for (size_t i = 0; i < gemms.size(); ++i) {
    const auto& g = gemms[i];
    Fp8Module* m = nullptr;
    for (auto& existing : modules) {
      if (existing.root == g.root && existing.module == g.module) m = &existing;
    }
    if (!m) {
      m = &modules.emplace_back();
      m->root = g.root;
      m->module = g.module;
      m->layers = g.layers;
      m->codec = g.codec;
    }
    if (g.postfix != static_cast<int>(m->generated_from.size())) {
      fail("internal error: GEMM {} of FP8 module {} planned out of order", g.postfix, g.module);
    }
    m->generated_from.push_back(static_cast<int>(i));
    m->gemms = static_cast<int>(m->generated_from.size());
  }
  return modules;
}

std::string Fp8Output::array_name(const Fp8Module& m, const std::string& leaf) const {
  return fmt::format("{}{}.{}.{}", m.root, collection, m.module, leaf);
}

std::vector<std::string> Fp8Output::array_names() const {
  std::vector<std::string> names;
  for (const auto& m : modules) {
    for (const auto& leaf : rules::fp8_module_leaves(format, m.gemms))
      names.push_back(array_name(m, leaf));
  }
  return names;
}

std::string describe_fp8_output(const Plan& plan) {
  const Fp8Output& f = plan.fp8;
  if (f.modules.empty()) return "";
  std::string out = fmt::format(
      "{} FP8 metadata arrays {} in {} (collection {}, amax history {}, {}, margin {}):\n",
      f.array_names().size(), f.source_format ? "migrated" : "generated",
      rules::fp8_meta_format_label(f.format), f.collection, f.history_len,
      f.recipe.hybrid ? "HYBRID" : "E4M3", f.recipe.margin);
  if (f.source_format) {
    out += fmt::format("  from {}\n", rules::fp8_meta_format_label(*f.source_format));
  }
  for (const auto& m : f.modules) {
    std::string lead = m.layers > 0 ? fmt::format("{},", m.layers) : "";
    std::vector<std::string> kernels;
    for (int i : m.generated_from) kernels.push_back(plan.fp8_gemms[static_cast<size_t>(i)].kernel);
    out += fmt::format("  + {}{}.{}.{{{}}} float32 [{}...]", m.root, f.collection, m.module,
                       fmt::join(rules::fp8_module_leaves(f.format, m.gemms), ","), lead);
    if (!kernels.empty()) out += fmt::format(", kernel amax from {}", fmt::join(kernels, ", "));
    out += "\n";
  }
  return out;
}

}  // namespace te::plan
