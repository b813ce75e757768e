#include "rules/fp8_format.h"

#include <fmt/format.h>

#include <cctype>

#include "util/error.h"

namespace te::rules {
namespace {

constexpr const char* kF18Tensor[3] = {"i", "w", "g"};
constexpr const char* kF23Tensor[3] = {"x", "kernel", "grad"};

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "amax_w_1" / "scale_g_0".
bool parse_f18_leaf(const std::string& leaf, Fp8ArrayName& out) {
  std::string rest;
  if (leaf.rfind("amax_", 0) == 0) {
    out.history = true;
    rest = leaf.substr(5);
  } else if (leaf.rfind("scale_", 0) == 0) {
    out.history = false;
    rest = leaf.substr(6);
  } else {
    return false;
  }
  if (rest.size() < 3 || rest[1] != '_' || !all_digits(rest.substr(2))) return false;
  for (int t = 0; t < 3; ++t) {
    if (rest[0] == kF18Tensor[t][0]) out.tensor = t;
  }
  if (out.tensor < 0 || rest.size() > 6) return false;
  out.gemm = std::stoi(rest.substr(2));
  return true;
}

// "kernel_amax_history" / "x_1_scale".
bool parse_f23_leaf(const std::string& leaf, Fp8ArrayName& out) {
  std::string rest;
  for (int t = 0; t < 3; ++t) {
    std::string p = kF23Tensor[t];
    if (leaf.rfind(p + "_", 0) == 0) {
      out.tensor = t;
      rest = leaf.substr(p.size());
    }
  }
  if (out.tensor < 0) return false;
  for (const char* kind : {"_amax_history", "_scale"}) {
    std::string k = kind;
    if (rest.size() < k.size() || rest.compare(rest.size() - k.size(), k.size(), k) != 0) continue;
    out.history = k == "_amax_history";
    std::string q = rest.substr(0, rest.size() - k.size());
    if (q.empty()) {
      out.gemm = 0;
      return true;
    }
    if (q[0] != '_' || !all_digits(q.substr(1)) || q.size() > 5) return false;
    out.gemm = std::stoi(q.substr(1));
    out.postfixed = true;
    return true;
  }
  return false;
}

}  // namespace

std::string fp8_meta_format_flag(Fp8MetaFormat f) {
  switch (f) {
    case Fp8MetaFormat::kTe17:
      return "te1.7";
    case Fp8MetaFormat::kTe18:
      return "te1.8";
    case Fp8MetaFormat::kTe23:
      return "te2.3";
  }
  return "?";
}

std::string fp8_meta_format_label(Fp8MetaFormat f) {
  switch (f) {
    case Fp8MetaFormat::kTe17:
      return "F17 (TE 0.8-1.7, fp8_meta_collection)";
    case Fp8MetaFormat::kTe18:
      return "F18 (TE 1.8-2.2, amax_*/scale_*)";
    case Fp8MetaFormat::kTe23:
      return "F23 (TE 2.3+, *_amax_history/*_scale)";
  }
  return "?";
}

std::optional<Fp8MetaFormat> parse_fp8_meta_format(const std::string& text) {
  for (auto f : {Fp8MetaFormat::kTe17, Fp8MetaFormat::kTe18, Fp8MetaFormat::kTe23}) {
    if (text == fp8_meta_format_flag(f)) return f;
  }
  return std::nullopt;
}

std::string f18_leaf(bool history, int tensor, int gemm) {
  return fmt::format("{}_{}_{}", history ? "amax" : "scale", kF18Tensor[tensor], gemm);
}

std::string f23_leaf(bool history, int tensor, int gemm, int gemms) {
  std::string q = gemms > 1 ? fmt::format("_{}", gemm) : "";
  return fmt::format("{}{}_{}", kF23Tensor[tensor], q, history ? "amax_history" : "scale");
}

std::vector<std::string> fp8_module_leaves(Fp8MetaFormat f, int gemms) {
  std::vector<std::string> out;
  if (f == Fp8MetaFormat::kTe17) return {std::begin(kF17Leaves), std::end(kF17Leaves)};
  for (int g = 0; g < gemms; ++g) {
    for (bool history : {true, false}) {
      for (int t = 0; t < 3; ++t) {
        out.push_back(f == Fp8MetaFormat::kTe18 ? f18_leaf(history, t, g)
                                                : f23_leaf(history, t, g, gemms));
      }
    }
  }
  return out;
}

std::optional<Fp8ArrayName> parse_fp8_array_name(const std::string& name) {
  Fp8ArrayName out{};
  for (const char* root : {"mdl_vars.", "flax_mutables."}) {
    if (name.rfind(root, 0) == 0) out.root = root;
  }
  if (out.root.empty()) return std::nullopt;
  size_t coll_end = name.find('.', out.root.size());
  size_t leaf_start = name.rfind('.');
  if (coll_end == std::string::npos || leaf_start <= coll_end) return std::nullopt;
  out.collection = name.substr(out.root.size(), coll_end - out.root.size());
  if (out.root == "mdl_vars." && out.collection == "params") return std::nullopt;
  out.module = name.substr(coll_end + 1, leaf_start - coll_end - 1);
  out.leaf = name.substr(leaf_start + 1);
  for (const char* leaf : kF17Leaves) {
    if (out.leaf == leaf) {
      out.format = Fp8MetaFormat::kTe17;
      return out;
    }
  }
  Fp8ArrayName probe = out;
  if (parse_f18_leaf(out.leaf, probe)) {
    probe.format = Fp8MetaFormat::kTe18;
    return probe;
  }
  probe = out;
  if (parse_f23_leaf(out.leaf, probe)) {
    probe.format = Fp8MetaFormat::kTe23;
    return probe;
  }
  return std::nullopt;
}

std::vector<Fp8Found> detect_fp8_formats(const std::vector<std::string>& names) {
  std::vector<Fp8Found> found;
  for (const auto& n : names) {
    auto p = parse_fp8_array_name(n);
    if (!p) continue;
    Fp8Found* hit = nullptr;
    for (auto& f : found) {
      if (f.format == p->format && f.collection == p->collection) hit = &f;
    }
    if (!hit) hit = &found.emplace_back(Fp8Found{p->format, p->collection, 0, n});
    hit->arrays++;
  }
  return found;
}

std::optional<Fp8Found> detect_fp8_format(const std::vector<std::string>& names) {
  auto found = detect_fp8_formats(names);
  if (found.empty()) return std::nullopt;
  if (found.size() > 1) {
    fail(
        "the checkpoint holds FP8 metadata in more than one format or collection: {} (e.g. {}) "
        "and {} (e.g. {}); expected one",
        describe_fp8_found(found[0]), found[0].example, describe_fp8_found(found[1]),
        found[1].example);
  }
  return found[0];
}

std::string describe_fp8_found(const Fp8Found& f) {
  return fmt::format("{} in collection {}: {} array{}", fp8_meta_format_label(f.format),
                     f.collection, f.arrays, f.arrays == 1 ? "" : "s");
}

}  // namespace te::rules
