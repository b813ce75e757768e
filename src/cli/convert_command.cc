// `te-ckpt convert`: the original converter's command line, plus te-ckpt's own options.
#include <fmt/core.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "checkpoint/checkpoint.h"
#include "cli/byte_size.h"
#include "cli/commands.h"
#include "cli/container_spelling.h"
#include "cli/convert_run.h"
#include "cli/distributed_run.h"
#include "cli/flag_warnings.h"
#include "cli/usage_error.h"
#include "dist/communicator.h"
#include "exec/executor.h"
#include "frameworks/model_detection.h"
#include "frameworks/model_resolution.h"
#include "frameworks/profiles.h"
#include "kvstore/file/output_transaction.h"
#include "plan/format_only_plan.h"
#include "plan/plan.h"
#include "plan/plan_description.h"
#include "plan/zarr_version.h"
#include "util/error.h"
#include "util/parse_number.h"

namespace te::cli {

namespace fs = std::filesystem;

std::atomic<bool> g_cancel{false};

namespace {

extern "C" void on_signal(int) {
  g_cancel = true;
}

// Bounds of the integer flags (model dimensions: rules::kMaxModelDim).
using rules::kMaxModelDim;
constexpr int64_t kMaxAmaxHistory = 65536;
constexpr int64_t kMaxJobs = 1024;
constexpr int64_t kMaxFp8Margin = 64;
// The flags that choose the container and run the conversion (format-only conversions take only
// these; --compressor and --compression-level are then refused by name).
const std::set<std::string> kContainerFlags = {
    "input-path",        "output-path", "output-format", "dry-run",
    "overwrite",         "jobs",        "memory-limit",  "compressor",
    "compression-level", "quiet",       "no-streaming",  "no-chunk-copy",
    "output-chunking",   "help"};
// The flags that shape FP8 metadata, for "given but does nothing" warnings.
constexpr const char* kFp8Flags[] = {"--fp8-meta-format", "--fp8-format", "--fp8-margin",
                                     "--fp8-collection", "--amax-history-len"};

// te-fp8-format.md §9.4: which formats each framework restores, and F23's collection name.
void check_fp8_options(const ConvertFlags& f, const rules::ModelOptions& o) {
  const bool te2te = o.direction == rules::Direction::kTeToTe;
  const bool given_format = f.fp8_flags_given.count("--fp8-meta-format") > 0;
  if (te2te && o.gen_fp8_meta) {
    fail(
        "--gen-fp8-meta generates FP8 metadata with --direction=fw2te; --direction=te2te "
        "rewrites the FP8 metadata the checkpoint holds (drop --gen-fp8-meta)");
  }
  if (te2te && !given_format) {
    fail(
        "--direction=te2te needs --fp8-meta-format (te1.7, te1.8 or te2.3): the format to "
        "rewrite the checkpoint's FP8 metadata into");
  }
  if ((o.gen_fp8_meta || te2te) && o.framework == rules::Framework::kPax &&
      o.fp8_meta_format == rules::Fp8MetaFormat::kTe23) {
    fail(
        "--fp8-meta-format=te2.3 is not available with --fw=pax: TE 2.3 removed the Praxis "
        "layers (TransformerEngine PR #1694), so no Pax run restores F23 metadata; Pax "
        "containers need te1.8 (from 2024-06-13) or te1.7 (before)");
  }
  const std::string& c = f.fp8_collection;
  if (c.empty() || c.find_first_of("./\\ ") != std::string::npos || c == "params" ||
      c == rules::kF17Collection) {
    fail(
        "--fp8-collection=\"{}\": unknown collection name: expected one flax collection key "
        "(no '.', '/' or blank; not params or fp8_meta_collection), e.g. fp8_metas or "
        "_overwrite_with_gradient",
        c);
  }
  if (f.fp8_flags_given.count("--fp8-collection") &&
      o.fp8_meta_format != rules::Fp8MetaFormat::kTe23 && c != rules::kFp8MetasCollection) {
    fail(
        "--fp8-collection={} is an unknown collection for --fp8-meta-format={}: TE before 2.3 "
        "always uses {} (only te2.3 takes a collection name)",
        c, rules::fp8_meta_format_flag(o.fp8_meta_format),
        o.fp8_meta_format == rules::Fp8MetaFormat::kTe17 ? rules::kF17Collection
                                                         : rules::kFp8MetasCollection);
  }
}

// Warnings about the FP8 flags: F23 for T5X is unconfirmed (§12.1); flags that do nothing.
std::vector<std::string> fp8_warnings(const ConvertFlags& f, const rules::ModelOptions& o) {
  std::vector<std::string> out;
  const bool writes = o.gen_fp8_meta || o.direction == rules::Direction::kTeToTe;
  if (writes && o.fp8_meta_format == rules::Fp8MetaFormat::kTe23) {
    out.push_back(
        "--fp8-meta-format=te2.3 with --fw=t5x is unconfirmed (te-fp8-format.md §12.1): no T5X "
        "run with TE >= 2.3 and FP8 was ever observed, and the F23 variables have no logical "
        "axes, so T5X may restore them from the index, or fail on a tree mismatch while "
        "partitioning; check a restore before training");
  }
  if (!writes) {
    for (const char* flag : kFp8Flags) {
      if (f.fp8_flags_given.count(flag)) {
        out.push_back(fmt::format(
            "{} does nothing without --gen-fp8-meta (fw2te) or --direction=te2te", flag));
      }
    }
  }
  return out;
}

int64_t model_dim(const std::string& text, const char* flag) {
  return parse_int_flag(text, flag, 1, kMaxModelDim);
}

// "None" or empty means unset (the original tool's default spelling): 0.
int64_t optional_int(const std::string& text, const char* flag) {
  if (text.empty() || text == "None" || text == "none") return 0;
  return model_dim(text, flag);
}

std::optional<int64_t> given_dim(const std::string& text, const char* flag) {
  if (text.empty()) return std::nullopt;
  return model_dim(text, flag);
}

// N x H (TE's joined head axis) within the model bound: checked on the flags as given, before the
// checkpoint is read, and again on the resolved options (N or H may come from the checkpoint).
void check_joined_heads(int64_t heads, int64_t head_dim) {
  if (heads * head_dim > kMaxModelDim) {
    fail("--num-of-head={} x --head-dim={} = {} is too large (at most {})", heads, head_dim,
         heads * head_dim, kMaxModelDim);
  }
}

// The flags as given (nullopt / false: left out). Integer flags are parsed and range-checked here.
frameworks::ModelFlags to_model_flags(const ConvertFlags& f, bool qkv_layout_given) {
  frameworks::ModelFlags m;
  if (!f.fw.empty()) m.framework = f.fw == "pax" ? rules::Framework::kPax : rules::Framework::kT5x;
  if (!f.direction.empty()) {
    m.direction = f.direction == "te2fw"   ? rules::Direction::kTeToFw
                  : f.direction == "te2te" ? rules::Direction::kTeToTe
                                           : rules::Direction::kFwToTe;
  }
  m.layers = given_dim(f.layers, "--num-of-layer");
  m.heads = given_dim(f.heads, "--num-of-head");
  m.head_dim = given_dim(f.head_dim, "--head-dim");
  m.mlp_dim = given_dim(f.mlp_dim, "--mlp-intermediate-dim");
  if (m.heads && m.head_dim) check_joined_heads(*m.heads, *m.head_dim);
  if (int64_t e = optional_int(f.embed_dim, "--embed-dim")) m.embed_dim = e;
  if (int64_t k = optional_int(f.gqa_groups, "--num-gqa-groups")) m.gqa_groups = k;
  m.pax_repeat = f.pax_repeat;
  m.pax_split_qkv = f.pax_split_qkv;
  m.gated = f.gated;
  m.skip_bias = f.skip_bias;
  m.skip_ln = f.skip_ln;
  m.t5x_fuse_qkv = f.t5x_fuse_qkv;
  if (qkv_layout_given) {
    m.qkv_layout =
        f.qkv_layout == "kv_packed" ? rules::QkvLayout::kKvPacked : rules::QkvLayout::kQkvPacked;
  }
  rules::ModelOptions& o = m.rest;
  o.weight_only = f.weight_only;
  o.mqa_drop_head_axis = f.mqa_drop_head_axis;
  o.gated_order = f.gated_order == "activated_first" ? rules::GatedOrder::kActivatedFirst
                                                     : rules::GatedOrder::kLinearFirst;
  o.gen_fp8_meta = f.gen_fp8_meta;
  o.amax_history_len = parse_int_flag(f.amax_history_len, "--amax-history-len", 1, kMaxAmaxHistory);
  o.amax_history_len_given = f.fp8_flags_given.count("--amax-history-len") > 0;
  o.fp8_meta_format = *rules::parse_fp8_meta_format(f.fp8_meta_format);  // CLI11 checked it
  o.fp8_recipe.hybrid = f.fp8_format == "hybrid";
  o.fp8_recipe.margin =
      static_cast<int>(parse_int_flag(f.fp8_margin, "--fp8-margin", 0, kMaxFp8Margin));
  o.fp8_collection = f.fp8_collection;
  return m;
}

// The checks between flags, made on the resolved options (given or read from the checkpoint).
void validate_options(const rules::ModelOptions& o, const ConvertFlags& f) {
  check_joined_heads(o.heads, o.head_dim);
  check_fp8_options(f, o);
  bool pax = o.framework == rules::Framework::kPax;
  if (o.qkv_layout == rules::QkvLayout::kKvPacked) {
    if (!o.pax_split_qkv)
      fail("--te-qkv-layout=kv_packed needs --pax-split-qkv (Pax keeps q, k, v apart for GQA)");
    if (o.gqa_groups == 0) fail("--te-qkv-layout=kv_packed needs --num-gqa-groups");
  }
  if (o.gqa_groups > 0 && o.heads % o.gqa_groups != 0) {
    fail("--num-gqa-groups={} must divide --num-of-head={}", o.gqa_groups, o.heads);
  }
  if (o.qkv_layout == rules::QkvLayout::kQkvPacked && o.kv_heads() != o.heads) {
    fail(
        "--num-gqa-groups={} differs from --num-of-head={}: grouped-query attention needs "
        "--te-qkv-layout=kv_packed",
        o.gqa_groups, o.heads);
  }
  if (o.gen_fp8_meta && o.direction == rules::Direction::kTeToFw) {
    fail(
        "--gen-fp8-meta only applies to --direction=fw2te: the framework model has no FP8 "
        "metadata");
  }
  if (!pax) {
    for (auto [set, flag] :
         {std::pair{o.pax_repeat, "--pax-repeat"},
          {o.pax_split_qkv, "--pax-split-qkv"},
          {o.qkv_layout == rules::QkvLayout::kKvPacked, "--te-qkv-layout=kv_packed"},
          {o.mqa_drop_head_axis, "--pax-mqa-drop-head-axis"}}) {
      if (set) fail("{} only applies to --fw=pax", flag);
    }
    if (optional_int(f.kernel_chunk_size, "--kernel-chunk-size") > 0) {
      fail(
          "--kernel-chunk-size only applies to --fw=pax (T5X output uses T5X's own 64 MiB "
          "chunking)");
    }
  } else if (o.t5x_fuse_qkv) {
    fail("--t5x-fuse-qkv only applies to --fw=pax");
  }
}

// The seed's flags checked before the checkpoint is opened, as the seed did, when they describe
// the whole model.
void validate_seed_flags(const frameworks::ModelFlags& m, const ConvertFlags& f) {
  if (!m.full_description() || !m.framework || !m.direction) return;
  frameworks::ModelFlags seed = m;
  if (!seed.embed_dim) seed.embed_dim = 1;  // T5X: read from the checkpoint when left out
  validate_options(frameworks::resolve_model_options(std::nullopt, "", seed), f);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", b, units[u]);
}

// A format-only conversion changes only the container: --output-format given and no flag but
// the container and run flags (every other flag describes or changes the model, and makes it a
// conversion).
bool is_format_only(const ConvertFlags& f) {
  return f.output_format != "keep" && !f.conversion_flag_given;
}

// The format-only conversion: the plan copies every array; the rest is convert's transaction.
plan::Plan format_only_plan(const ConvertFlags& f, const checkpoint::Checkpoint& source) {
  if (f.compressor != "keep" || !f.compression_level.empty()) {
    fail(
        "--compressor/--compression-level: a format-only conversion (--output-format={} without "
        "--direction) copies every chunk's stored bytes unchanged; give --direction to convert "
        "and re-encode",
        f.output_format);
  }
  const bool t5x =
      source.format == checkpoint::Format::kT5x || source.format == checkpoint::Format::kT5xOrbax;
  return plan::make_format_only_plan(source, t5x ? rules::Framework::kT5x : rules::Framework::kPax);
}

}  // namespace

uint64_t peak_rss_bytes() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

// Everything up to the lock: flags, checkpoint, model, plan, output path checks (and the dry
// run's listing). Notes and warnings are printed where `speak` (rank 0 of a distributed run).
PreparedRun prepare_run(const ConvertFlags& f, const std::set<std::string>& explicit_flags,
                        bool qkv_layout_given, bool speak) {
  if (f.direction == "fw2tw" && speak) {
    fmt::print(
        stderr,
        "te-ckpt: note: --direction=fw2tw (a typo in the original README) is read as fw2te\n");
  }
  frameworks::ModelFlags model_flags = to_model_flags(f, qkv_layout_given);
  validate_seed_flags(model_flags, f);
  plan::PlanSettings settings;
  settings.kernel_chunk_size = optional_int(f.kernel_chunk_size, "--kernel-chunk-size");
  settings.copy_unmapped = f.copy_unmapped;
  settings.chunk_copy = !f.no_chunk_copy;
  settings.copyable_chunking = f.output_chunking == "copyable";
  std::optional<int64_t> level;
  if (!f.compression_level.empty()) {
    level = parse_int_flag(f.compression_level, "--compression-level", INT32_MIN, INT32_MAX);
  }
  if (f.compressor != "keep") {
    settings.codec = zarr::codec_from_name(f.compressor, level);
  } else if (level) {
    fail(
        "--compression-level={} needs --compressor=gzip, zlib or zstd (with --compressor=keep "
        "every array keeps its own codec and level)",
        *level);
  }
  // 0 (the default) means one thread per core.
  const int jobs = static_cast<int>(parse_int_flag(f.jobs, "--jobs", 0, kMaxJobs));

  // Every check of the real run is made before the plan is printed, so that --dry-run fails
  // exactly where convert would (only the lock is not taken).
  uint64_t limit = parse_byte_size(f.memory_limit, "--memory-limit");
  auto start = std::chrono::steady_clock::now();
  auto source_ptr = std::make_unique<checkpoint::Checkpoint>(checkpoint::open_checkpoint(f.input));
  checkpoint::Checkpoint& source = *source_ptr;
  const exec::OutputFormat requested =
      *exec::parse_output_format(f.output_format);  // CLI11 checked
  const bool format_only = is_format_only(f);
  std::string model_line, direction_text = "format-only", fw_text;
  plan::Plan plan;
  std::optional<exec::OutputContainer> container;
  if (format_only) {
    container = exec::choose_output_container(source, requested,
                                              frameworks::container_profile_for(source.format));
    plan = format_only_plan(f, source);
    plan::retarget_zarr_version(plan, container->zarr3,
                                container->profile->index_holds_inline_arrays(*container));
    spell_for_container(plan, source.format, container->format);
    fw_text = plan.options.framework == rules::Framework::kPax ? "pax" : "t5x";
    model_line = "not read (format-only conversion: every array copied under its own name)";
  } else {
    std::optional<frameworks::DetectedModel> detected;
    std::string detection_error;
    try {
      detected = frameworks::detect_model(frameworks::listing_of(source));
    } catch (const Error& e) {
      detection_error = e.what();
    }
    rules::ModelOptions options =
        frameworks::resolve_model_options(detected, detection_error, model_flags);
    validate_options(options, f);
    model_line =
        detected ? detected->summary() : "not read from the listing (" + detection_error + ")";
    direction_text = options.direction == rules::Direction::kFwToTe   ? "fw2te"
                     : options.direction == rules::Direction::kTeToTe ? "te2te"
                                                                      : "te2fw";
    fw_text = options.framework == rules::Framework::kPax ? "pax" : "t5x";
    container = exec::choose_output_container(source, requested,
                                              frameworks::container_profile_for(source.format));
    if (speak) {
      for (const auto& w : ineffective_flag_warnings(options, explicit_flags))
        fmt::print(stderr, "te-ckpt: warning: {}\n", w);
      for (const auto& w : fp8_warnings(f, options))
        fmt::print(stderr, "te-ckpt: warning: {}\n", w);
    }
    plan = plan::make_plan(source, options, settings, frameworks::profile_for(options.framework));
    plan::retarget_zarr_version(plan, container->zarr3,
                                container->profile->index_holds_inline_arrays(*container));
    spell_for_container(plan, source.format, container->format);
  }
  if (!f.output.empty()) {
    kv::check_output_path(f.input, f.output, f.overwrite);
    if (auto w = output_name_warning(container->format, f.output); w && speak) {
      fmt::print(stderr, "te-ckpt: warning: {}\n", *w);
    }
  }
  if (f.dry_run) {
    fmt::print("{} {} checkpoint {}: {} -> {}\n", fw_text, checkpoint::format_name(source.format),
               f.input, direction_text, f.output.empty() ? "(no output)" : f.output);
    fmt::print("model: {}\n", model_line);
    fmt::print("output: {}\n", container->describe(f.output.empty() ? "OUTPUT" : f.output));
    fmt::print("{}", plan::describe(plan));
    PreparedRun done;
    done.dry_run_done = true;
    return done;
  }
  if (f.output.empty()) fail("--output-path is required");
  if (speak) {
    for (const auto& n : plan.notes) fmt::print(stderr, "te-ckpt: note: {}\n", n);
    for (const auto& w : plan.warnings) fmt::print(stderr, "te-ckpt: warning: {}\n", w);
  }
  PreparedRun run;
  run.source = std::move(source_ptr);
  run.plan = std::move(plan);
  run.container = *container;
  run.model_line = model_line;
  run.direction_text = direction_text;
  run.limit = limit;
  run.jobs = jobs;
  run.start = start;
  return run;
}

void catch_termination_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);  // a closed terminal or dropped ssh session
}

exec::ExecSettings exec_settings_of(const ConvertFlags& f, const PreparedRun& run) {
  exec::ExecSettings exec_settings;
  exec_settings.threads =
      run.jobs > 0 ? run.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  exec_settings.memory_limit = run.limit > 0 ? run.limit : UINT64_MAX;
  exec_settings.cancel = &g_cancel;
  exec_settings.stream_slabs = !f.no_streaming;
  exec_settings.container = run.container;
  return exec_settings;
}

// The progress bar, redrawn in place on stderr.
void print_progress(std::chrono::steady_clock::time_point start, uint64_t done, uint64_t total) {
  static std::mutex progress_mu;
  std::lock_guard lock(progress_mu);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double rate = secs > 0 ? done / secs : 0;
  double left = rate > 0 && total > done ? (total - done) / rate : 0;
  int width = 30,
      filled = total ? static_cast<int>(width * std::min(1.0, double(done) / total)) : width;
  fmt::print(stderr, "\r[{}{}] {} / {}  {}/s  {:.0f}s left   ", std::string(filled, '#'),
             std::string(width - filled, '.'), human_bytes(done), human_bytes(total),
             human_bytes(rate), left);
}

void print_summary(const ConvertFlags& f, const PreparedRun& run, const exec::ExecResult& r,
                   uint64_t peak_rss) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - run.start).count();
  if (!f.quiet) {
    fmt::print("model: {} ({})\n", run.model_line, run.direction_text);
    // "processed" is the progress bar's count; read and wrote are bytes on disk.
    fmt::print(
        "converted {} arrays, copied {} arrays and {} files, generated {} FP8 arrays, left out {}; "
        "processed {} (decoded bytes converted + stored bytes of arrays copied); read {}, wrote {} "
        "(stored bytes, index included) in {:.2f} s; peak memory {}\n",
        r.arrays_converted, r.arrays_copied, r.files_copied, r.fp8_arrays, run.plan.dropped.size(),
        human_bytes(static_cast<double>(r.bytes_processed)),
        human_bytes(static_cast<double>(r.bytes_read)),
        human_bytes(static_cast<double>(r.bytes_written)), secs,
        human_bytes(static_cast<double>(peak_rss)));
    fmt::print(
        "chunk copies: {} jobs, {} chunks, {} stored bytes copied; re-encoded {} decoded bytes\n",
        r.jobs_chunk_copied, r.chunks_copied,
        human_bytes(static_cast<double>(r.bytes_chunk_copied)),
        human_bytes(static_cast<double>(r.bytes_reencoded)));
  }
}

namespace {

// One process does everything (no launcher, or one rank).
int run_here(const ConvertFlags& f, const PreparedRun& run) {
  const plan::Plan& plan = run.plan;
  catch_termination_signals();
  kv::OutputTransaction transaction(f.input, f.output, f.overwrite);
  exec::ExecSettings exec_settings = exec_settings_of(f, run);
  bool show_progress = !f.quiet && ::isatty(STDERR_FILENO);
  if (show_progress) {
    exec_settings.progress = [start = run.start](uint64_t done, uint64_t total) {
      print_progress(start, done, total);
    };
  }
  exec::ExecResult r;
  try {
    r = exec::execute(plan, transaction.temp_dir(), exec_settings);
    if (g_cancel) fail("interrupted");
    transaction.commit();
  } catch (const Error& e) {
    if (show_progress) fmt::print(stderr, "\n");
    if (g_cancel) {
      fmt::print(stderr, "te-ckpt: interrupted; the partial output was removed\n");
      return 130;
    }
    throw;
  }
  if (show_progress) fmt::print(stderr, "\n");
  for (const auto& w : r.warnings) fmt::print(stderr, "te-ckpt: warning: {}\n", w);
  print_summary(f, run, r, peak_rss_bytes());
  return 0;
}

int run_convert(const ConvertFlags& f, const std::set<std::string>& explicit_flags,
                bool qkv_layout_given) {
  // Under mpirun or srun this is one of several ranks (a dry run stays one process).
  std::unique_ptr<dist::Communicator> comm =
      f.dry_run ? dist::single_process() : dist::join_launched_job();
  if (comm->size() > 1) return run_distributed(f, *comm, explicit_flags, qkv_layout_given);
  PreparedRun run = prepare_run(f, explicit_flags, qkv_layout_given, true);
  if (run.dry_run_done) return 0;
  return run_here(f, run);
}

}  // namespace

Runner add_convert_command(CLI::App& app, bool dry_run_only) {
  auto f = std::make_shared<ConvertFlags>();
  f->dry_run = dry_run_only;
  app.add_option("--input-path", f->input,
                 "the path to load a source checkpoint for this conversion")
      ->required();
  auto* out =
      app.add_option("--output-path", f->output, "the path to store the converted checkpoint");
  if (!dry_run_only) out->required();
  app.add_option("--fw", f->fw,
                 "the framework that stored (or will load) the checkpoint (default: read from it)")
      ->check(CLI::IsMember({"pax", "t5x"}));
  app.add_option("--direction", f->direction,
                 "fw2te: framework to TE; te2fw: TE to framework (default: to the other side); "
                 "te2te: rewrite a TE checkpoint's FP8 metadata into --fp8-meta-format (weights "
                 "copied)")
      ->check(CLI::IsMember({"fw2te", "te2fw", "te2te", "fw2tw"}));
  app.add_option("--num-of-layer", f->layers,
                 "number of Transformer layers (per stack for T5X; default: read from the "
                 "checkpoint, as every model flag left out)");
  app.add_option("--num-of-head", f->heads,
                 "number of attention heads (needed for a Pax TE-layout checkpoint, which joins "
                 "heads and head dim)");
  app.add_option("--head-dim", f->head_dim, "attention head dimension");
  app.add_option("--mlp-intermediate-dim", f->mlp_dim, "MLP (FFN) intermediate dimension");
  app.add_option(
      "--embed-dim", f->embed_dim,
      "model (embedding) dimension; required with --fw=t5x, inferred from the arrays for pax "
      "(and checked when given)");
  app.add_option(
      "--kernel-chunk-size", f->kernel_chunk_size,
      "chunk converted kernels along their embedding axis with this size (pax only; None: "
      "keep the source's chunking)");
  app.add_option("--num-gqa-groups", f->gqa_groups,
                 "number of key/value heads for GQA/MQA (default: heads)");
  app.add_flag("--weight-only", f->weight_only,
               "convert only the weights; optimizer-state arrays are left out of the output");
  app.add_flag("--skip-ln", f->skip_ln, "the layers have no layer norm");
  app.add_flag("--skip-bias", f->skip_bias, "the model has no biases");
  app.add_flag("--use-gated-activations", f->gated, "the MLP is gated (Pax ffn_layer1_gate)");
  app.add_option("--gated-activation-order", f->gated_order,
                 "order of the gated MLP's two branches in TE's wi_kernel: linear_first "
                 "([ffn_layer1, ffn_layer1_gate], TE <= 1.7) or activated_first (TE >= 1.8)")
      ->check(CLI::IsMember({"linear_first", "activated_first"}));
  app.add_flag("--pax-repeat", f->pax_repeat,
               "the Pax checkpoint uses Repeat (layers stacked on a leading axis)");
  app.add_flag("--pax-split-qkv", f->pax_split_qkv,
               "Pax stores query/key/value separately (no combined_qkv)");
  app.add_option(
         "--te-qkv-layout", f->qkv_layout,
         "TE attention layout: qkv_packed (qkv.kernel [E,3,D]) or kv_packed (query + kv, for GQA)")
      ->check(CLI::IsMember({"qkv_packed", "kv_packed"}));
  app.add_flag("--pax-mqa-drop-head-axis", f->mqa_drop_head_axis,
               "te2fw with one key/value head: write Pax key/value without the head axis ([E,H])");
  app.add_flag("--t5x-fuse-qkv", f->t5x_fuse_qkv, "the TE side uses fused QKV (fused_qkv_params)");
  app.add_option("--output-format", f->output_format,
                 "the output's container: keep (the input's; the default), zarr (per-array zarr v2 "
                 "folders with the framework's index), ocdbt (Orbax, zarr v2 in OCDBT), "
                 "ocdbt-zarr3 (not yet); without --direction and model flags only the container "
                 "changes (format-only conversion, chunks copied byte for byte)")
      ->check(CLI::IsMember({"keep", "zarr", "ocdbt", "ocdbt-zarr3"}));
  app.add_flag("--gen-fp8-meta", f->gen_fp8_meta,
               "fw2te: generate FP8 metadata (in --fp8-meta-format) so FP8 runs can restore");
  app.add_option("--fp8-meta-format", f->fp8_meta_format,
                 "FP8 metadata format written: te1.7 (TE <= 1.7, fp8_meta_collection), te1.8 "
                 "(TE 1.8-2.2, amax_*/scale_*; the default), te2.3 (TE >= 2.3, "
                 "*_amax_history/*_scale; T5X only)")
      ->check(CLI::IsMember({"te1.7", "te1.8", "te2.3"}));
  app.add_option("--fp8-format", f->fp8_format,
                 "the run's FP8 recipe format: hybrid (E4M3 forward, E5M2 grad; default) or e4m3")
      ->check(CLI::IsMember({"hybrid", "e4m3"}));
  app.add_option("--fp8-margin", f->fp8_margin, "the run's FP8 recipe margin, 0 to 64 (default 0)");
  app.add_option("--fp8-collection", f->fp8_collection,
                 "te2.3: the flax collection of the FP8 metadata (default fp8_metas)");
  app.add_option("--amax-history-len", f->amax_history_len,
                 "FP8 amax history length (default 1024; te2te: the checkpoint's)");
  if (!dry_run_only)
    app.add_flag("--dry-run", f->dry_run, "print the plan and check everything; write nothing");
  app.add_flag("--overwrite", f->overwrite,
               "replace a non-empty --output-path (atomically, at the end)");
  app.add_option("--jobs,-j", f->jobs, "worker threads, 0 to 1024 (default 0: one per core)");
  app.add_option("--memory-limit", f->memory_limit,
                 std::string("cap on bytes in flight (default: none): ") + kByteSizeSpellings);
  app.add_option("--compressor", f->compressor,
                 "codec of converted arrays: keep (the source's), gzip, zlib, zstd or none")
      ->check(CLI::IsMember({"keep", "gzip", "zlib", "zstd", "none"}));
  app.add_option("--compression-level", f->compression_level,
                 "level for --compressor: gzip and zlib 0-9, zstd libzstd's range (default 1)");
  app.add_flag("--copy-unmapped", f->copy_unmapped,
               "copy arrays under a converted layer that no rule converts (parameters the target "
               "layer does not have, e.g. Praxis per_dim_scale) unchanged under their own names, "
               "with a warning; without it they are an error");
  app.add_flag("--no-chunk-copy", f->no_chunk_copy,
               "decode and encode every converted chunk, even where its stored bytes could be "
               "copied unchanged (for testing and comparison)");
  app.add_option("--output-chunking", f->output_chunking,
                 "chunks of converted arrays: copyable (the source's chunks wherever that lets "
                 "chunks be copied unchanged, chunk 1 along a new stack axis; the default) or "
                 "merge (the chunking of te-ckpt before: T5X's _choose_chunk_shape, Pax stacks "
                 "whole along the stack axis)")
      ->check(CLI::IsMember({"copyable", "merge"}));
  app.add_flag("--quiet,-q", f->quiet, "no progress bar and no summary");
  app.add_flag("--no-streaming", f->no_streaming,
               "decode whole chunks even where slab streaming is possible (for testing)")
      ->group("Debugging");
  // The integer flags are read as text (parsed strictly by to_model_flags); show them as INT.
  for (const char* name :
       {"--num-of-layer", "--num-of-head", "--head-dim", "--mlp-intermediate-dim",
        "--amax-history-len", "--fp8-margin", "--jobs", "--compression-level"}) {
    app.get_option(name)->type_name("INT");
  }
  for (const char* name : {"--embed-dim", "--kernel-chunk-size", "--num-gqa-groups"}) {
    app.get_option(name)->type_name("INT or None");
  }
  app.footer(kExitStatusHelp);
  return [f, &app] {
    std::set<std::string> given;
    for (const char* flag : kFrameworkSpecificFlags) {
      if (app.count(flag) > 0) given.insert(flag);
    }
    for (const char* flag : kFp8Flags) {
      if (app.count(flag) > 0) f->fp8_flags_given.insert(flag);
    }
    for (const CLI::Option* option : app.get_options()) {
      if (option->count() == 0 || option->get_lnames().empty()) continue;
      if (!kContainerFlags.count(option->get_lnames().front())) f->conversion_flag_given = true;
    }
    return run_convert(*f, given, app.count("--te-qkv-layout") > 0);
  };
}

}  // namespace te::cli
