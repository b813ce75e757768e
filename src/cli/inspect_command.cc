// `te-ckpt inspect PATH [--json]`: what PATH is, and its arrays.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <array>
#include <nlohmann/json.hpp>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/store_arrays.h"
#include "cli/commands.h"
#include "cli/model_report.h"
#include "kvstore/open_spec.h"
#include "rules/fp8_format.h"
#include "util/checked_math.h"
#include "util/error.h"
#include "zarr/v3_array_metadata.h"

namespace te::cli {
namespace {

// "1 array", "2 arrays".
std::string count_text(size_t n, const char* noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

// The T5X index as an indented tree: maps by key, each leaf with what it holds.
void print_index_tree(const checkpoint::T5xIndex& index) {
  const msgpack::Value* version = index.root().find("version");
  const auto* number = version ? std::get_if<uint64_t>(&version->v) : nullptr;
  fmt::print("index tree (version {}):\n", number ? std::to_string(*number) : std::string("?"));
  std::vector<std::string> printed;  // the map path of the previous leaf
  for (const auto& leaf : index.leaves()) {
    std::vector<std::string> keys;
    for (size_t start = 0;;) {
      size_t dot = leaf.path.find('.', start);
      keys.push_back(
          leaf.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    size_t common = 0;
    while (common + 1 < keys.size() && common < printed.size() && printed[common] == keys[common])
      ++common;
    for (size_t d = common; d + 1 < keys.size(); ++d) fmt::print("  {:{}}{}\n", "", 2 * d, keys[d]);
    std::string what;
    if (leaf.spec) {
      what = fmt::format("-> {}/ {} {}", leaf.spec->folder, leaf.spec->dtype_name,
                         shape_string(leaf.spec->shape));
    } else if (leaf.inline_array) {
      what = fmt::format("inline {} {}", leaf.inline_array->dtype.name(),
                         shape_string(leaf.inline_array->shape));
    } else {
      what = "value";
    }
    fmt::print("  {:{}}{}: {}\n", "", 2 * (keys.size() - 1), keys.back(), what);
    printed.assign(keys.begin(), keys.end() - 1);
  }
}

// Prints rows with each column as wide as its longest cell; `right` columns are right-aligned.
template <size_t N>
void print_table(const std::vector<std::array<std::string, N>>& rows,
                 const std::array<bool, N>& right) {
  std::array<size_t, N> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < N; ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < N; ++i) {
      if (i) line += "  ";
      line += right[i] ? fmt::format("{:>{}}", row[i], width[i])
                       : fmt::format("{:<{}}", row[i], width[i]);
    }
    fmt::print("{}\n", line);
  }
}

// The zarr arrays of the OCDBT databases at `path` (a database folder, or a folder of items each
// holding one). Array names are the keys' prefixes, after the item's folder name.
// When `path` is also an Orbax checkpoint te-ckpt converts, its layout and what Orbax would find
// inconsistent (problems) or tolerate (notes) are shown with the database listing.
int run_inspect_ocdbt(const std::string& path,
                      const std::vector<std::pair<std::string, std::filesystem::path>>& databases,
                      bool json) {
  std::optional<checkpoint::Checkpoint> orbax;
  try {
    checkpoint::Checkpoint c = checkpoint::open_checkpoint(path);
    if (checkpoint::is_orbax_format(c.format)) orbax = std::move(c);
  } catch (const Error&) {
    // Not a checkpoint te-ckpt converts (yet): the databases are listed all the same.
  }
  const std::vector<std::string> no_findings;
  const auto& problems = orbax ? orbax->problems : no_findings;
  const auto& notes = orbax ? orbax->notes : no_findings;
  std::vector<checkpoint::StoreArray> arrays;
  for (const auto& [item, folder] : databases) {
    auto store = kv::open_local_store(folder);
    for (auto a : checkpoint::list_store_arrays(*store)) {
      a.name = item + a.name;
      arrays.push_back(std::move(a));
    }
  }
  if (json) {
    nlohmann::ordered_json out;
    out["format"] = "ocdbt";
    out["databases"] = nlohmann::ordered_json::array();
    for (const auto& [item, folder] : databases)
      out["databases"].push_back({{"item", item}, {"path", folder.string()}});
    out["arrays"] = nlohmann::ordered_json::array();
    for (const auto& a : arrays) {
      out["arrays"].push_back(
          {{"name", a.name},
           {"zarr_format", a.zarr_format},
           {"shape", a.shape},
           {"dtype", a.dtype},
           {"chunks", a.chunks},
           {"inner_chunks", a.inner_chunks ? nlohmann::ordered_json(*a.inner_chunks)
                                           : nlohmann::ordered_json(nullptr)},
           {"codec", a.codec},
           {"stored_bytes", a.stored_bytes}});
    }
    if (orbax) out["layout"] = orbax->layout_description;
    out["problems"] = problems;
    out["notes"] = notes;
    fmt::print("{}\n", out.dump(2));
    return problems.empty() ? 0 : 2;
  }
  fmt::print("{}: OCDBT database{}, {}\n", path, databases.size() == 1 ? "" : "s",
             count_text(arrays.size(), "array"));
  std::vector<std::array<std::string, 7>> rows;
  rows.push_back({"name", "zarr", "shape", "dtype", "chunks", "codec", "stored"});
  uint64_t stored = 0;
  for (const auto& a : arrays) {
    rows.push_back({a.name, fmt::format("v{}", a.zarr_format), shape_string(a.shape), a.dtype,
                    !a.inner_chunks ? shape_string(a.chunks)
                                    : fmt::format("shard {} inner {}", shape_string(a.chunks),
                                                  shape_string(*a.inner_chunks)),
                    a.codec, std::to_string(a.stored_bytes)});
    stored += a.stored_bytes;
  }
  print_table(rows, {false, false, false, false, false, false, true});
  fmt::print("total: {}, {} bytes stored\n", count_text(arrays.size(), "array"), stored);
  for (const auto& [item, folder] : databases)
    fmt::print("database: {}\n", item.empty() ? folder.string() : item + " " + folder.string());
  if (orbax) fmt::print("layout: {}\n", orbax->layout_description);
  for (const auto& n : notes) fmt::print("note: {}\n", n);
  for (const auto& p : problems) fmt::print("problem: {}\n", p);
  return problems.empty() ? 0 : 2;
}

int run_inspect(const std::string& path, bool json) {
  auto databases = checkpoint::find_ocdbt_databases(path);
  if (!databases.empty()) return run_inspect_ocdbt(path, databases, json);
  checkpoint::Checkpoint c = checkpoint::open_checkpoint(path);
  std::vector<std::string> names;
  for (const auto& a : c.arrays) names.push_back(a.name);
  const auto fp8 = rules::detect_fp8_formats(names);
  if (json) {
    nlohmann::ordered_json out;
    out["format"] = checkpoint::format_name(c.format);
    // The pre-OCDBT Orbax layout (per-array folders) is listed here, not as a database.
    if (!c.layout_description.empty()) out["layout"] = c.layout_description;
    out["arrays"] = nlohmann::ordered_json::array();
    for (const auto& a : c.arrays) {
      out["arrays"].push_back(
          {{"name", a.name},
           {"shape", a.metadata.shape},
           {"dtype", a.metadata.dtype.name()},
           {"chunks", a.metadata.chunks},
           {"compressor", a.is_inline() ? nlohmann::json(nullptr) : a.metadata.codec->to_json()},
           {"zarr3_codecs", a.metadata.v3 ? nlohmann::json(a.metadata.v3->codecs.to_json())
                                          : nlohmann::json(nullptr)},
           {"stored_bytes", a.stored_bytes},
           {"inline", a.is_inline()}});
    }
    out["files"] = nlohmann::ordered_json::array();
    for (const auto& f : c.other_entries) out["files"].push_back(f.string());
    out["problems"] = c.problems;
    out["fp8_metadata"] = nlohmann::ordered_json::array();
    for (const auto& f : fp8) {
      out["fp8_metadata"].push_back({{"format", rules::fp8_meta_format_flag(f.format)},
                                     {"collection", f.collection},
                                     {"arrays", f.arrays}});
    }
    out["model"] = model_json(report_model(c), path);
    fmt::print("{}\n", out.dump(2));
    return c.problems.empty() ? 0 : 2;
  }
  fmt::print("{}: {} checkpoint, {}\n", path, checkpoint::format_name(c.format),
             count_text(c.arrays.size(), "array"));
  if (!c.layout_description.empty()) fmt::print("layout: {}\n", c.layout_description);
  // Each column as wide as its longest cell, so long shapes and names stay aligned.
  std::vector<std::array<std::string, 6>> rows;
  rows.push_back({"name", "shape", "dtype", "chunks", "codec", "stored"});
  uint64_t stored = 0, logical = 0;
  for (const auto& a : c.arrays) {
    const auto& m = a.metadata;
    rows.push_back({a.name, shape_string(m.shape), m.dtype.name(),
                    a.is_inline() ? "inline" : shape_string(m.chunks),
                    a.is_inline() ? "-"
                    : m.v3        ? "zarr3 " + zarr::v3::describe_v3_codecs(*m.v3)
                                  : checkpoint::v2_codec_name(m),
                    std::to_string(a.stored_bytes)});
    stored += a.stored_bytes;
    // Each array's size was checked when it was opened (ArrayMetadata::check_sizes); the sum of
    // many saturates rather than wraps.
    auto bytes = checked_product(m.shape, static_cast<int64_t>(m.dtype.itemsize));
    if (!bytes || __builtin_add_overflow(logical, static_cast<uint64_t>(*bytes), &logical))
      logical = UINT64_MAX;
  }
  std::array<size_t, 6> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {:>{}}\n", row[0], width[0], row[1],
               width[1], row[2], width[2], row[3], width[3], row[4], width[4], row[5], width[5]);
  }
  fmt::print("total: {}, {} bytes stored, {} bytes decoded\n", count_text(c.arrays.size(), "array"),
             stored, logical);
  for (const auto& f : fp8) {
    fmt::print("FP8 metadata: {} (--fp8-meta-format={})\n", rules::describe_fp8_found(f),
               rules::fp8_meta_format_flag(f.format));
  }
  if (c.t5x_index) print_index_tree(*c.t5x_index);
  for (const auto& f : c.other_entries) fmt::print("file: {}\n", f.string());
  for (const auto& p : c.problems) fmt::print("problem: {}\n", p);
  fmt::print("{}", model_text(report_model(c), path));
  return c.problems.empty() ? 0 : 2;
}

}  // namespace

Runner add_inspect_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  app.add_option("path", *path,
                 "checkpoint folder, T5X index file, zarr array, or OCDBT database folder (one "
                 "holding manifest.ocdbt, or an Orbax step folder whose items hold one)")
      ->required();
  app.add_flag("--json", *json, "machine-readable output");
  return [path, json] { return run_inspect(*path, *json); };
}

}  // namespace te::cli
