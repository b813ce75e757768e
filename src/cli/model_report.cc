#include "cli/model_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.h"

namespace te::cli {
namespace {

using frameworks::DetectedDim;
using frameworks::DetectedModel;
using frameworks::Side;

nlohmann::ordered_json dim_json(const DetectedDim& d) {
  return d.known() ? nlohmann::ordered_json(d.value) : nlohmann::ordered_json(nullptr);
}

std::string dim_text(const DetectedDim& d) {
  return d.known() ? std::to_string(d.value) : "? (not in the listing)";
}

// A path as one shell word.
std::string shell_word(const std::string& s) {
  if (s.find_first_of(" \t'\"$`\\!*?[]{}()<>|&;#~") == std::string::npos && !s.empty()) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

const char* framework_name(const DetectedModel& m) {
  return m.framework == rules::Framework::kPax ? "pax" : "t5x";
}

}  // namespace

ModelReport report_model(const checkpoint::Checkpoint& c) {
  ModelReport r;
  try {
    r.model = frameworks::detect_model(frameworks::listing_of(c));
  } catch (const Error& e) {
    r.error = e.what();
  }
  return r;
}

std::string convert_command_for(const DetectedModel& m, const std::string& path) {
  std::string out = m.side == Side::kTe ? "fw" : "te";
  std::string cmd = fmt::format("te-ckpt convert --input-path={} --output-path={}-{}",
                                shell_word(path), shell_word(path), out);
  if (m.framework == rules::Framework::kPax && m.side == Side::kTe && !m.heads.known()) {
    cmd += " --num-of-head=N";  // TE joins heads and head dim: the user's N
  }
  return cmd;
}

std::string model_text(const ModelReport& r, const std::string& path) {
  if (!r.model) return fmt::format("model: not recognised ({})\n", r.error);
  const DetectedModel& m = *r.model;
  std::string t;
  t += fmt::format("model: {} {} layout ({} checkpoint)\n", framework_name(m),
                   m.side == Side::kTe ? "TE" : "framework", checkpoint::format_name(m.format));
  std::vector<std::string> stacks;
  for (const auto& s : m.stacks) stacks.push_back(fmt::format("{} L={}", s.name, s.layers));
  t += fmt::format("  stacks: {}{}\n", fmt::join(stacks, ", "), m.pax_repeat ? " (repeat)" : "");
  t += fmt::format("  L={} E={} N={} H={} K={} F={}", m.layers.value, dim_text(m.embed),
                   dim_text(m.heads), dim_text(m.head_dim), dim_text(m.kv_heads),
                   dim_text(m.mlp_dim));
  if (m.joined_heads.known() && !m.heads.known())
    t += fmt::format(" D=N*H={}", m.joined_heads.value);
  t += "\n";
  t += fmt::format("  variants: {}\n", fmt::join(m.variants(), ", "));
  if (m.optimizer_groups.empty()) t += "  optimizer groups: none\n";
  for (const auto& g : m.optimizer_groups) {
    t += fmt::format("  optimizer group: {}*{} {} ({} arrays)\n", g.prefix, g.suffix,
                     frameworks::optimizer_kind_name(g.kind), g.arrays);
  }
  t += fmt::format("  FP8 metadata: {}\n",
                   m.fp8_present ? fmt::format("{} ({} arrays)", m.fp8_format, m.fp8_arrays)
                                 : std::string("none"));
  t += fmt::format("  convert: {}\n", convert_command_for(m, path));
  return t;
}

nlohmann::ordered_json model_json(const ModelReport& r, const std::string& path) {
  if (!r.model) return {{"recognised", false}, {"error", r.error}};
  const DetectedModel& m = *r.model;
  nlohmann::ordered_json j;
  j["recognised"] = true;
  j["framework"] = framework_name(m);
  j["side"] = m.side == Side::kTe ? "te" : "framework";
  j["container"] = checkpoint::format_name(m.format);
  j["stacks"] = nlohmann::ordered_json::array();
  for (const auto& s : m.stacks) j["stacks"].push_back({{"name", s.name}, {"layers", s.layers}});
  j["repeat"] = m.pax_repeat;
  j["L"] = m.layers.value;
  j["E"] = dim_json(m.embed);
  j["N"] = dim_json(m.heads);
  j["H"] = dim_json(m.head_dim);
  j["K"] = dim_json(m.kv_heads);
  j["F"] = dim_json(m.mlp_dim);
  j["D"] = dim_json(m.joined_heads);
  j["variants"] = m.variants();
  j["optimizer_groups"] = nlohmann::ordered_json::array();
  for (const auto& g : m.optimizer_groups) {
    j["optimizer_groups"].push_back({{"prefix", g.prefix},
                                     {"suffix", g.suffix},
                                     {"kind", frameworks::optimizer_kind_name(g.kind)},
                                     {"arrays", g.arrays}});
  }
  j["fp8_format"] = m.fp8_present ? nlohmann::ordered_json(m.fp8_format) : nullptr;
  j["summary"] = m.summary();
  j["convert_command"] = convert_command_for(m, path);
  return j;
}

}  // namespace te::cli
