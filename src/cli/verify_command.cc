// `te-ckpt verify SOURCE CONVERTED [--json]`: converts SOURCE again, with the options read from
// both checkpoints (SOURCE's model; CONVERTED's choices: TE layout, Pax split QKV, FP8 metadata
// and its history length, weight-only), and compares CONVERTED with that expected conversion as
// it is made: every chunk the executor writes is compared with the same chunk of CONVERTED and
// dropped (exec/comparing_store.h), so only the expected index, metadata and other files reach
// the temporary folder in $TMPDIR; then the rest is compared (exec/checkpoint_comparison.h).
// Exit 0 only when everything matches. The expected arrays are encoded uncompressed: only their
// values are compared, so that side skips the codec's encode and decode.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "cli/container_spelling.h"
#include "exec/checkpoint_comparison.h"
#include "exec/comparing_store.h"
#include "exec/executor.h"
#include "exec/output_container.h"
#include "frameworks/model_detection.h"
#include "frameworks/model_resolution.h"
#include "frameworks/profiles.h"
#include "plan/plan.h"
#include "plan/zarr_version.h"
#include "util/error.h"
#include "zarr/codec.h"

namespace te::cli {
namespace {

namespace fs = std::filesystem;

// A temporary folder removed when it goes out of scope.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / fmt::format("te-ckpt-verify-{}", ::getpid());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The --output-format that gives CONVERTED's container.
exec::OutputFormat container_of(const checkpoint::Checkpoint& converted) {
  if (!checkpoint::is_orbax_format(converted.format)) return exec::OutputFormat::kZarr;
  for (const auto& a : converted.arrays) {
    if (a.metadata.is_zarr3()) return exec::OutputFormat::kOcdbtZarr3;
  }
  return exec::OutputFormat::kOcdbt;
}

// The options that made CONVERTED from SOURCE, as far as the two listings tell.
frameworks::ModelFlags flags_for(const frameworks::DetectedModel& src,
                                 const frameworks::DetectedModel& out,
                                 const std::string& gated_order) {
  frameworks::ModelFlags f;
  f.rest.gated_order = gated_order == "activated_first" ? rules::GatedOrder::kActivatedFirst
                                                        : rules::GatedOrder::kLinearFirst;
  if (src.framework != out.framework) {
    fail("SOURCE is a {} checkpoint but CONVERTED a {} one", checkpoint::format_name(src.format),
         checkpoint::format_name(out.format));
  }
  if (src.side == out.side) {
    fail("SOURCE and CONVERTED are both in {} layout: CONVERTED is not a conversion of SOURCE",
         src.side == frameworks::Side::kTe ? "TE" : "framework");
  }
  const frameworks::DetectedModel& fw = src.side == frameworks::Side::kFramework ? src : out;
  const frameworks::DetectedModel& te = src.side == frameworks::Side::kTe ? src : out;
  if (!src.heads.known() && fw.heads.known()) f.heads = fw.heads.value;
  if (src.side == frameworks::Side::kFramework) {
    if (te.qkv_layout) f.qkv_layout = *te.qkv_layout;
    if (te.t5x_fused) f.t5x_fuse_qkv = *te.t5x_fused;
    if (out.fp8_present) {
      f.rest.gen_fp8_meta = true;
      f.rest.amax_history_len = 0;
    }
  } else {
    f.pax_split_qkv = fw.split_qkv.value_or(false);
    f.rest.mqa_drop_head_axis = fw.mqa_no_head_axis;
  }
  f.rest.weight_only = !src.optimizer_groups.empty() && out.optimizer_groups.empty();
  return f;
}

int run_verify(const std::string& source_path, const std::string& converted_path, bool json,
               const std::string& gated_order) {
  checkpoint::Checkpoint source = checkpoint::open_checkpoint(source_path);
  checkpoint::Checkpoint converted = checkpoint::open_checkpoint(converted_path);
  frameworks::DetectedModel src = frameworks::detect_model(frameworks::listing_of(source));
  frameworks::DetectedModel out = frameworks::detect_model(frameworks::listing_of(converted));
  frameworks::ModelFlags flags = flags_for(src, out, gated_order);
  if (flags.rest.gen_fp8_meta) {
    // The history length of the FP8 metadata found.
    for (const auto& a : converted.arrays) {
      if (a.name.find("fp8_metas.") != std::string::npos &&
          a.name.find(".amax_i_") != std::string::npos && !a.metadata.shape.empty()) {
        flags.rest.amax_history_len = a.metadata.shape.back();
        break;
      }
    }
    if (flags.rest.amax_history_len == 0)
      fail("{}: FP8 metadata without amax_i arrays", converted_path);
  }
  rules::ModelOptions options = frameworks::resolve_model_options(src, "", flags);
  plan::PlanSettings settings;
  settings.codec = zarr::make_null_codec();  // values are compared, not stored bytes
  plan::Plan plan =
      plan::make_plan(source, options, settings, frameworks::profile_for(options.framework));
  // The expected output is written in CONVERTED's container (--output-format of the conversion).
  const exec::ContainerProfile& container_profile =
      frameworks::container_profile_for(source.format);
  const exec::OutputContainer container =
      exec::choose_output_container(source, container_of(converted), container_profile);
  plan::retarget_zarr_version(plan, container.zarr3,
                              container.profile->index_holds_inline_arrays(container));
  spell_for_container(plan, source.format, container.format);
  TempDir temp;
  exec::ExecSettings exec_settings;
  exec_settings.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  exec_settings.container = container;
  std::map<std::string, zarr::ArrayMetadata> planned;
  for (const auto& job : plan.jobs) {
    for (const auto& o : job.outputs) planned.emplace(o.name, o.metadata);
  }
  for (const auto& c : plan.copies) planned.emplace(c.target_name, c.metadata());
  std::shared_ptr<exec::ComparingStore> comparing;
  exec_settings.wrap_array_store = [&](std::shared_ptr<kv::KvStore> inner) {
    comparing = std::make_shared<exec::ComparingStore>(std::move(inner), converted, planned);
    return comparing;
  };
  exec::execute(plan, temp.path, exec_settings);
  checkpoint::Checkpoint expected = checkpoint::open_checkpoint(temp.path);
  exec::ComparisonReport report =
      exec::compare_checkpoints(expected, converted, container_profile, comparing->results());
  const std::string model = src.summary();
  if (json) {
    nlohmann::ordered_json j;
    j["source"] = source_path;
    j["converted"] = converted_path;
    j["model"] = model;
    j["options"] = frameworks::describe_as_flags(options);
    j["arrays_compared"] = report.arrays_compared;
    j["bytes_compared"] = report.bytes_compared;
    j["problems"] = report.problems;
    j["ok"] = report.problems.empty();
    fmt::print("{}\n", j.dump(2));
  } else {
    for (const auto& p : report.problems) fmt::print("problem: {}\n", p);
    fmt::print("{}: {} arrays compared ({} bytes decoded) against {} converted with {}: {}\n",
               converted_path, report.arrays_compared, report.bytes_compared, source_path,
               frameworks::describe_as_flags(options),
               report.problems.empty() ? std::string("everything matches")
                                       : fmt::format("{} problems", report.problems.size()));
  }
  return report.problems.empty() ? 0 : 1;
}

}  // namespace

Runner add_verify_command(CLI::App& app) {
  auto source = std::make_shared<std::string>();
  auto converted = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto order = std::make_shared<std::string>("linear_first");
  app.add_option("source", *source, "the checkpoint that was converted")->required();
  app.add_option("converted", *converted, "its conversion")->required();
  app.add_flag("--json", *json, "machine-readable report");
  app.add_option("--gated-activation-order", *order,
                 "the order the conversion used for a gated MLP (not visible in a listing)")
      ->check(CLI::IsMember({"linear_first", "activated_first"}));
  return [=] { return run_verify(*source, *converted, *json, *order); };
}

}  // namespace te::cli
